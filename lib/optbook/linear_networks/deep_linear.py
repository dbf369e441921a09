"""Linear networks: saddles without bad minima (sec. 8.2.3), with exact answers to check against.

Two results the book cites, reproduced with their exact theory:

* Baldi & Hornik (1989): for the linear autoencoder ``x -> B A x`` with ``p`` hidden units every
  critical point projects onto a subset ``I`` of the data covariance's eigenvectors
  (``|I| <= p``). `autoencoder_critical_points` builds every one of them, checks that the
  gradient vanishes there, and reads its index off the exact dense Hessian, after removing the
  flat directions that the ``GL(p)`` symmetry ``(A, B) -> (C A, B C^-1)`` creates.
* Saxe, McClelland & Ganguli (2013): a deep linear network trained by gradient descent on data
  with singular values ``s`` learns mode ``alpha`` along ``u(t) = s e^{2st/tau} /
  (e^{2st/tau} - 1 + s/u0)`` (their eq. 12): a plateau, then a sigmoidal rise, stronger modes
  first. `simulate_linear_net` trains many such networks in one batched tensor computation
  and records the mode strengths ``u_alpha = p_alpha^T W q_alpha`` (``p_alpha``, ``q_alpha``: the
  output and input singular vectors of the data; Saxe et al. call them u^alpha, v^alpha); `saxe_mode_strength` and
  `deep_mode_strength` give the theory curves; `mode_flow` is the (a, b) phase portrait.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .._validate import (check_float_tensor, check_fraction, check_nonnegative, check_positive, check_positive_int,
                         check_real, check_real_array, check_seed, check_tensor, check_vector)
from ..curvature import gradient, hessian
from ..params import LossFn
from ..spectrum import morse_index
from .config import LINEAR_NETWORKS
from ..runs import Runs, first_divergence
from ..training import gradient_descent_many

__all__ = [
    "random_orthogonal",
    "covariance_with_spectrum",
    "split_autoencoder",
    "autoencoder_loss",
    "subset_cost",
    "predicted_index",
    "gauge_directions",
    "CriticalPoint",
    "critical_point_params",
    "random_gauge",
    "autoencoder_critical_points",
    "staircase_inversions",
    "staircase_is_monotone",
    "autoencoder_random_starts",
    "hierarchical_data",
    "Modes",
    "data_modes",
    "saxe_mode_strength",
    "saxe_half_time",
    "deep_mode_strength",
    "blow_up_time",
    "half_learning_times",
    "linear_net_init",
    "simulate_linear_net",
    "widget_grid",
    "distinct_groups",
    "learned_in_order",
    "stable_step_limit",
    "RunVerdict",
    "run_verdict",
    "mode_flow",
    "mode_trajectory",
    "hyperbolas",
    "mode_endpoint",
    "linear_net_loss",
    "origin_hessian_eigenvalues",
]


# ---------------------------------------------------------------------------------------------
# Baldi & Hornik (1989): the linear autoencoder
# ---------------------------------------------------------------------------------------------


def _check_seed(seed: object) -> int:
    return check_seed("seed", seed)


def _check_subset(subset: object, n: int) -> tuple[int, ...]:
    """``subset`` as a tuple of distinct eigenvector indices in [0, n) (it may be empty), else raise."""
    if not isinstance(subset, (tuple, list, range)):
        raise TypeError(f"subset must be a tuple of eigenvector indices, got {type(subset).__name__}")
    for i, k in enumerate(subset):
        check_positive_int(f"subset[{i}]", k, minimum=0)
        if k >= n:
            raise ValueError(f"subset[{i}] must be < {n} (the number of eigenvalues), got {k}")
    if len(set(subset)) != len(subset):
        raise ValueError(f"subset must not repeat an index, got {tuple(subset)}")
    return tuple(int(k) for k in subset)


def random_orthogonal(n: int, seed: int = 0) -> Tensor:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian matrix with the sign fix)."""
    check_positive_int("n", n)
    generator = torch.Generator().manual_seed(_check_seed(seed))
    q, r = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=generator))
    return q * torch.sign(torch.diagonal(r))


def covariance_with_spectrum(eigenvalues: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Covariance Q diag(lambda) Q^T in a random eigenbasis Q; returns (Sigma, Q), lambda sorted descending."""
    check_vector("eigenvalues", eigenvalues)
    lam = eigenvalues.to(torch.float64)
    if bool((lam <= 0).any()):
        raise ValueError("eigenvalues must all be > 0")
    if not bool((lam[:-1] > lam[1:]).all()):
        raise ValueError("eigenvalues must be distinct and sorted in descending order")
    q = random_orthogonal(lam.numel(), seed)
    return (q * lam) @ q.T, q


def _check_covariance(sigma: object) -> Tensor:
    check_tensor("sigma", sigma, ndim=2)
    if sigma.shape[0] != sigma.shape[1]:
        raise ValueError(f"sigma must be square, got shape {tuple(sigma.shape)}")
    if not torch.allclose(sigma, sigma.T, atol=1e-10 * float(sigma.abs().max())):
        raise ValueError("sigma must be symmetric")
    return sigma.to(torch.float64)


def _check_hidden(p: object, n: int) -> int:
    check_positive_int("p", p)
    if p >= n:
        raise ValueError(f"p (hidden units) must be smaller than the input dimension {n}, got {p}")
    return int(p)


def split_autoencoder(theta: Tensor, n: int, p: int) -> tuple[Tensor, Tensor]:
    """Split theta = [vec A, vec B] into the encoder A (p x n) and the decoder B (n x p)."""
    check_float_tensor("theta", theta)
    check_positive_int("n", n)
    check_positive_int("p", p)
    return _split_autoencoder(theta, n, p)


def _split_autoencoder(theta: Tensor, n: int, p: int) -> tuple[Tensor, Tensor]:
    """`split_autoencoder` without the value checks (the loss runs it under vmap and autograd)."""
    if theta.shape[-1] != 2 * n * p:
        raise ValueError(f"theta must have 2*n*p = {2 * n * p} entries, got {theta.shape[-1]}")
    a, b = theta.split([p * n, n * p], dim=-1)
    return a.reshape(*theta.shape[:-1], p, n), b.reshape(*theta.shape[:-1], n, p)


def autoencoder_loss(sigma: Tensor, p: int) -> LossFn:
    """J(A, B) = 1/2 tr[(I - BA) Sigma (I - BA)^T]: the mean reconstruction error of data with covariance Sigma."""
    sigma = _check_covariance(sigma)
    n = sigma.shape[0]
    p = _check_hidden(p, n)
    eye = torch.eye(n, dtype=torch.float64)

    def loss(theta: Tensor) -> Tensor:
        a, b = _split_autoencoder(theta, n, p)
        residual = eye.to(theta.dtype) - b @ a
        return 0.5 * torch.trace(residual @ sigma.to(theta.dtype) @ residual.T)

    return loss


def subset_cost(eigenvalues: Tensor, subset: tuple[int, ...]) -> float:
    """Baldi & Hornik's cost of the projection onto the eigenvectors in ``subset``: 1/2 sum of the others."""
    check_float_tensor("eigenvalues", eigenvalues, ndim=1)
    subset = _check_subset(subset, eigenvalues.numel())
    keep = torch.ones(eigenvalues.numel(), dtype=torch.bool)
    keep[list(subset)] = False
    return 0.5 * float(eigenvalues[keep].sum())


def predicted_index(eigenvalues: Tensor, subset: tuple[int, ...], p: int) -> int:
    """Number of descent directions at the critical point ``subset``.

    Each kept eigenvector may be swapped for a larger one that is left out, and each of the
    ``p - |I|`` idle hidden units may pick up any of the ``n - |I|`` left-out directions.
    """
    check_float_tensor("eigenvalues", eigenvalues, ndim=1)
    n = eigenvalues.numel()
    subset = _check_subset(subset, n)
    p = _check_hidden(p, n)
    if len(subset) > p:
        raise ValueError(f"subset has {len(subset)} eigenvectors, more than p={p} hidden units")
    out = [j for j in range(n) if j not in subset]
    swaps = sum(int(eigenvalues[j] > eigenvalues[i]) for i in subset for j in out)
    return swaps + (p - len(subset)) * (n - len(subset))


def gauge_directions(theta: Tensor, n: int, p: int) -> Tensor:
    """Orthonormal basis (rows) of the tangent of the orbit (C A, B C^-1): directions (X A, -B X), X in gl(p)."""
    check_vector("theta", theta)
    a, b = split_autoencoder(theta.to(torch.float64), n, p)
    tangents = []
    for i, j in itertools.product(range(p), range(p)):
        x = torch.zeros(p, p, dtype=torch.float64)
        x[i, j] = 1.0
        tangents.append(torch.cat([(x @ a).reshape(-1), (-b @ x).reshape(-1)]))
    basis, singular, _ = torch.linalg.svd(torch.stack(tangents).T, full_matrices=False)
    rank = int((singular > 1e-9 * max(float(singular[0]), 1e-300)).sum()) if singular.numel() else 0
    return basis[:, :rank].T


@dataclass(frozen=True)
class CriticalPoint:
    """One Baldi-Hornik critical point: its subset I, where it is, and what the exact Hessian says."""

    subset: tuple[int, ...]
    theta: Tensor
    cost: float
    predicted_cost: float
    grad_norm: float
    eigenvalues: Tensor  # all Hessian eigenvalues, ascending
    index: int  # negative Hessian eigenvalues (descent directions)
    n_zero: int  # eigenvalues that are zero to rounding
    gauge_dim: int  # dimension of the symmetry orbit through the point: p^2 - (p - |I|)^2
    gauge_curvature: float  # |H T| / |H| over the orbit directions T: 0 if they are truly flat
    transverse_gap: float  # smallest |eigenvalue| of H off the orbit, over the largest: > 0 if nondegenerate
    predicted_index: int

    @property
    def is_minimum(self) -> bool:
        return self.index == 0

    @property
    def index_fraction(self) -> float:
        """The index fraction alpha: the index (a count) over the number of eigenvalues."""
        return self.index / self.eigenvalues.numel()


def critical_point_params(q: Tensor, subset: tuple[int, ...], p: int, gauge: Tensor | None = None) -> Tensor:
    """theta of the critical point for ``subset``: A = C [U_I^T; 0], B = [U_I, 0] C^-1 (C: any invertible p x p)."""
    check_float_tensor("q", q, ndim=2)
    n = q.shape[0]
    if q.shape != (n, n):
        raise ValueError(f"q must be a square matrix of eigenvectors, got shape {tuple(q.shape)}")
    subset = _check_subset(subset, n)
    check_positive_int("p", p)
    if len(subset) > p:
        raise ValueError(f"subset has {len(subset)} eigenvectors, more than p={p} hidden units")
    if gauge is not None:
        check_float_tensor("gauge", gauge, ndim=2)
    c = torch.eye(p, dtype=torch.float64) if gauge is None else gauge.to(torch.float64)
    if c.shape != (p, p):
        raise ValueError(f"gauge must be {p} x {p}, got {tuple(c.shape)}")
    u = torch.zeros(n, p, dtype=torch.float64)
    u[:, : len(subset)] = q[:, list(subset)]
    a = c @ u.T
    b = u @ torch.linalg.inv(c)
    return torch.cat([a.reshape(-1), b.reshape(-1)])


def random_gauge(p: int, generator: torch.Generator) -> Tensor:
    """A random invertible p x p matrix with singular values in [0.5, 2] (moves the point along its orbit)."""
    check_positive_int("p", p)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    u, _, vt = torch.linalg.svd(torch.randn(p, p, dtype=torch.float64, generator=generator))
    scales = 2.0 ** (2 * torch.rand(p, dtype=torch.float64, generator=generator) - 1)
    return (u * scales) @ vt


def autoencoder_critical_points(
    eigenvalues: Tensor, p: int, seed: int = 0, random_gauges: bool = True, zero_tol: float = 1e-8
) -> list[CriticalPoint]:
    """Every critical point of the linear autoencoder, sorted by cost, each with its exact-Hessian index.

    The eigenbasis is random (``seed``), and with ``random_gauges`` each point is moved to a
    random place on its symmetry orbit, so nothing relies on coordinates being aligned. The
    index counts Hessian eigenvalues below ``-zero_tol * max|lambda|``; ``n_zero`` counts those
    within that band, which must be the orbit's dimension (checked by the tests).
    """
    sigma, q = covariance_with_spectrum(eigenvalues, seed)
    lam = eigenvalues.to(torch.float64)
    n = lam.numel()
    p = _check_hidden(p, n)
    if check_positive("zero_tol", zero_tol) >= 1:
        raise ValueError(f"zero_tol must be < 1 (a fraction of the largest |eigenvalue|), got {zero_tol}")
    loss = autoencoder_loss(sigma, p)
    generator = torch.Generator().manual_seed(_check_seed(seed) + 1)
    points = []
    for size in range(p + 1):
        for subset in itertools.combinations(range(n), size):
            c = random_gauge(p, generator) if random_gauges else None
            theta = critical_point_params(q, subset, p, c)
            h = hessian(loss, theta)
            h = 0.5 * (h + h.T)
            eigs = torch.linalg.eigvalsh(h)
            scale = float(eigs.abs().max())
            tangent = gauge_directions(theta, n, p)
            if tangent.shape[0]:
                gauge_curv = float(torch.linalg.matrix_norm(h @ tangent.T, ord=2)) / scale
                complement = torch.linalg.svd(tangent, full_matrices=True).Vh[tangent.shape[0]:]
            else:
                gauge_curv, complement = 0.0, torch.eye(2 * n * p, dtype=torch.float64)
            transverse = torch.linalg.eigvalsh(complement @ h @ complement.T)
            points.append(
                CriticalPoint(
                    subset=subset,
                    theta=theta,
                    cost=float(loss(theta)),
                    predicted_cost=subset_cost(lam, subset),
                    grad_norm=float(gradient(loss, theta).norm()),
                    eigenvalues=eigs,
                    index=morse_index(eigs, tol=zero_tol),
                    n_zero=int((eigs.abs() <= zero_tol * scale).sum()),
                    gauge_dim=tangent.shape[0],
                    gauge_curvature=gauge_curv,
                    transverse_gap=float(transverse.abs().min()) / scale,
                    predicted_index=predicted_index(lam, subset, p),
                )
            )
    return sorted(points, key=lambda point: (point.cost, point.index))


def staircase_inversions(points: list[CriticalPoint], rtol: float = 1e-9) -> int:
    """Number of pairs of critical points in which the costlier one has the lower index."""
    _check_points(points)
    check_nonnegative("rtol", rtol)
    count = 0
    for first, second in itertools.combinations(points, 2):
        low, high = sorted((first, second), key=lambda point: point.cost)
        if high.cost - low.cost > rtol * max(abs(high.cost), 1.0) and high.index < low.index:
            count += 1
    return count


def staircase_is_monotone(points: list[CriticalPoint], rtol: float = 1e-9) -> bool:
    """True if a higher cost never comes with a lower index (cost and index rise together)."""
    _check_points(points)
    check_nonnegative("rtol", rtol)
    return staircase_inversions(points, rtol) == 0


def _check_points(points: object) -> None:
    """Raise unless ``points`` is a list or tuple of `CriticalPoint` (it may be empty: no pairs to compare)."""
    if not isinstance(points, (list, tuple)):
        raise TypeError(f"points must be a list of CriticalPoint, got {type(points).__name__}")
    for i, point in enumerate(points):
        if not isinstance(point, CriticalPoint):
            raise TypeError(f"points[{i}] must be a CriticalPoint, got {type(point).__name__}")


def autoencoder_random_starts(
    eigenvalues: Tensor, p: int, n_starts: int = 64, scale: float | Sequence[float] = 0.5, lr: float = 0.05,
    steps: int = 1000, seed: int = 0, record_every: int = 10,
) -> Runs:
    """Gradient descent on the autoencoder from Gaussian starts (std ``scale``), all batched in one vmap.

    With a list of scales, ``n_starts`` runs start at each scale (columns grouped by scale).
    """
    sigma, _ = covariance_with_spectrum(eigenvalues, seed)
    n = sigma.shape[0]
    p = _check_hidden(p, n)
    check_positive_int("n_starts", n_starts)
    if not isinstance(scale, (int, float, list, tuple)):
        raise TypeError(f"scale must be a number or a list of numbers, got {type(scale).__name__}")
    scales = [scale] if isinstance(scale, (int, float)) else list(scale)
    if not scales:
        raise ValueError("scale must be a number or a non-empty list of numbers")
    for value in scales:
        check_positive("scale", value)
    generator = torch.Generator().manual_seed(_check_seed(seed) + 2)
    starts = torch.cat([
        value * torch.randn(n_starts, 2 * n * p, dtype=torch.float64, generator=generator) for value in scales
    ])
    return gradient_descent_many(autoencoder_loss(sigma, p), starts, lr=lr, steps=steps, record_every=record_every)


# ---------------------------------------------------------------------------------------------
# Saxe, McClelland & Ganguli (2013): learning dynamics of deep linear networks
# ---------------------------------------------------------------------------------------------


def hierarchical_data(levels: int = 3) -> tuple[Tensor, Tensor]:
    """Items at the leaves of a binary tree (one-hot inputs) and one binary feature per tree node.

    With ``levels=3``: 8 items and 15 features (1 + 2 + 4 + 8), as in Saxe et al.'s
    hierarchical example; the input-output correlation has singular values sqrt(15), sqrt(7),
    sqrt(3) (twice) and 1 (four times). Returns (inputs [items, items], targets [items, features]).
    """
    check_positive_int("levels", levels)
    if levels > 6:
        raise ValueError(f"levels must be at most 6 (the data grows as 2^levels), got {levels}")
    items = 2**levels
    columns = []
    for depth in range(levels + 1):
        block = items // 2**depth
        for node in range(2**depth):
            feature = torch.zeros(items, dtype=torch.float64)
            feature[node * block : (node + 1) * block] = 1.0
            columns.append(feature)
    return torch.eye(items, dtype=torch.float64), torch.stack(columns, dim=1)


@dataclass(frozen=True)
class Modes:
    """The SVD of the input-output correlation Sigma31 = U diag(s) V^T, nonzero singular values only."""

    u: Tensor  # [outputs, r]
    s: Tensor  # [r], descending
    v: Tensor  # [inputs, r]


def data_modes(inputs: Tensor, targets: Tensor) -> Modes:
    """Modes of Sigma31 = Y^T X for whitened inputs (Sigma11 = X^T X = I, as Saxe et al. assume)."""
    check_tensor("inputs", inputs, ndim=2)
    check_tensor("targets", targets, ndim=2)
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"inputs and targets need the same number of rows, got {inputs.shape[0]} and {targets.shape[0]}")
    x, y = inputs.to(torch.float64), targets.to(torch.float64)
    gram = x.T @ x
    if not torch.allclose(gram, torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-8):
        raise ValueError("inputs must be whitened (X^T X = I) for the mode decomposition to decouple")
    u, s, vt = torch.linalg.svd(y.T @ x, full_matrices=False)
    keep = s > 1e-9 * float(s[0])
    return Modes(u[:, keep], s[keep], vt[keep].T)


def _positive_values(name: str, value: object, ndim: int | None = None) -> np.ndarray:
    """``value`` (a number, array or tensor) as a float64 array of finite numbers > 0, else raise naming it."""
    array = check_real_array(name, value, ndim=ndim)
    if (array <= 0).any():
        raise ValueError(f"{name} must hold numbers > 0")
    return array


def _check_strengths(s: object, u0: object) -> tuple[np.ndarray, np.ndarray]:
    """Singular values ``s`` and initial strengths ``u0``: finite, > 0 and broadcasting together."""
    s_values = _positive_values("s", s)
    u0_values = _positive_values("u0", u0)
    try:
        np.broadcast_shapes(s_values.shape, u0_values.shape)
    except ValueError:
        raise ValueError(f"u0 (shape {u0_values.shape}) must broadcast against s (shape {s_values.shape})") from None
    return s_values, u0_values


def saxe_mode_strength(t: Tensor, s: Tensor, u0: Tensor, tau: float = 1.0) -> Tensor:
    """Saxe et al.'s eq. 12: u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0), for a two-layer net from u0 > 0.

    Broadcasts ``t`` [T] against ``s`` and ``u0`` [modes]; returns [T, modes].
    """
    check_real_array("t", t, ndim=1)
    _check_strengths(s, u0)
    check_positive("tau", tau)
    s, u0 = torch.as_tensor(s, dtype=torch.float64), torch.as_tensor(u0, dtype=torch.float64)
    if bool((u0 <= 0).any()) or bool((s <= 0).any()):
        raise ValueError("s and u0 must be > 0")
    t = torch.as_tensor(t, dtype=torch.float64)[:, None]
    growth = torch.exp(-2 * s * t / tau)  # divide through by e^{2st/tau}: no overflow at late times
    return s / (1 - growth + growth * s / u0)


def saxe_half_time(s: Tensor, u0: Tensor, tau: float = 1.0) -> Tensor:
    """Saxe et al.'s eq. 11 with u_f = s/2: the time a two-layer mode takes to reach half its strength."""
    _check_strengths(s, u0)
    check_positive("tau", tau)
    s, u0 = torch.as_tensor(s, dtype=torch.float64), torch.as_tensor(u0, dtype=torch.float64)
    if bool((u0 <= 0).any()) or bool((u0 >= s / 2).any()):
        raise ValueError("u0 must lie in (0, s/2)")
    return tau / (2 * s) * torch.log((s - u0) / u0)


def deep_mode_strength(t: Tensor, s: Tensor, u0: Tensor, depth: int, tau: float = 1.0) -> Tensor:
    """Mode strength of a depth-D linear net from a balanced start: tau du/dt = D u^{2-2/D} (s - u) (Saxe et al.).

    ``depth`` counts weight matrices (D = N_l - 1). Solved through the exact inverse t(u): in
    the variable w = log(u / (s - u)) the equation reads dt/dw = tau u^{2/D - 1} / (D s), a
    smooth integrand, integrated by the trapezoidal rule on a fine grid and inverted by
    interpolation. For D = 2 this is eq. 12 exactly. Returns [T, modes].
    """
    check_positive_int("depth", depth, minimum=2)
    check_positive("tau", tau)
    check_vector("t", t)
    s_values, u0_values = _check_strengths(s, u0)
    if u0_values.size not in (1, s_values.size) or u0_values.ndim > 1:
        raise ValueError(f"u0 must be a number or have one entry per mode of s ({s_values.size}), "
                         f"got shape {u0_values.shape}")
    s = torch.as_tensor(s, dtype=torch.float64).reshape(-1)
    u0 = torch.as_tensor(u0, dtype=torch.float64).expand_as(s)
    if bool((u0 <= 0).any()) or bool((u0 >= s).any()):
        raise ValueError("u0 must lie in (0, s)")
    times = t.to(torch.float64).numpy()
    if bool((np.diff(times) < 0).any()) or times[0] < 0:
        raise ValueError("t must be >= 0 and non-decreasing")
    out = np.empty((times.size, s.numel()))
    for i, (s_i, u0_i) in enumerate(zip(s.tolist(), u0.tolist())):
        w = np.linspace(math.log(u0_i / (s_i - u0_i)), 40.0, 40001)
        u = s_i / (1 + np.exp(-w))
        rate = tau * u ** (2 / depth - 1) / (depth * s_i)
        elapsed = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(w))])
        out[:, i] = np.interp(times, elapsed, u)
    return torch.from_numpy(out)


def blow_up_time(s: Tensor | float, u0: Tensor | float, depth: int, tau: float = 1.0) -> Tensor:
    """When a small mode of a depth-D net (D >= 3) rises: the finite-time blow-up of tau du/dt = D s u^{2-2/D}.

    Dropping the factor (s - u) while u << s, the solution u(t) = [u0^{-(1-2/D)} - (D - 2) s t / tau]^{-D/(D-2)}
    is hyperbolic: it reaches infinity at t* = tau u0^{-(1-2/D)} / ((D - 2) s), a power of 1/u0,
    where the two-layer mode grows exponentially and rises after a time logarithmic in 1/u0.
    """
    check_positive_int("depth", depth, minimum=3)
    check_positive("tau", tau)
    _check_strengths(s, u0)
    s, u0 = torch.as_tensor(s, dtype=torch.float64), torch.as_tensor(u0, dtype=torch.float64)
    if bool((u0 <= 0).any()) or bool((s <= 0).any()):
        raise ValueError("s and u0 must be > 0")
    return tau * u0 ** (-(1 - 2 / depth)) / ((depth - 2) * s)


def half_learning_times(strength: Tensor, s: Tensor, steps: Tensor) -> Tensor:
    """First recorded step at which each mode reaches half its final strength s/2 (inf if never).

    ``strength`` is [T, ..., modes] over the recorded ``steps`` [T]; linear interpolation
    between records.
    """
    check_tensor("strength", strength, finite=False)
    check_tensor("steps", steps, ndim=1)
    if strength.shape[0] != steps.numel():
        raise ValueError(f"strength must have one row per recorded step (len(steps) = {steps.numel()}), "
                         f"got shape {tuple(strength.shape)}")
    s_values = _positive_values("s", s)
    try:
        fits = np.broadcast_shapes(tuple(strength.shape[1:]), s_values.shape) == tuple(strength.shape[1:])
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"s (shape {s_values.shape}) must broadcast against strength's [..., modes] "
                         f"{tuple(strength.shape[1:])}")
    above = strength >= s / 2
    reached = above.any(0)
    first = above.to(torch.int64).argmax(0)
    prev = (first - 1).clamp(min=0)
    steps = steps.to(torch.float64)
    u_hi = strength.gather(0, first.unsqueeze(0)).squeeze(0)
    u_lo = strength.gather(0, prev.unsqueeze(0)).squeeze(0)
    t_hi, t_lo = steps[first], steps[prev]
    frac = torch.where(u_hi > u_lo, (s / 2 - u_lo) / (u_hi - u_lo), torch.ones_like(u_hi))
    t_half = t_lo + frac.clamp(0, 1) * (t_hi - t_lo)
    return torch.where(reached, t_half, torch.full_like(t_half, math.inf))


def _chain(weights: list[Tensor]) -> Tensor:
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return product


def _check_init(modes: object, n_runs: object, depth: object, width: object, init_scales: object) -> None:
    """`linear_net_init`'s argument checks."""
    if not isinstance(modes, Modes):
        raise TypeError(f"modes must be a Modes (from data_modes), got {type(modes).__name__}")
    check_positive_int("n_runs", n_runs)
    check_positive_int("depth", depth, minimum=2)
    check_positive_int("width", width)
    check_float_tensor("init_scales", init_scales, ndim=1)
    if init_scales.numel() not in (1, n_runs) or bool((init_scales <= 0).any()):
        raise ValueError(f"init_scales must hold numbers > 0, one or one per run ({n_runs}), got {init_scales.tolist()}")


def linear_net_init(
    modes: Modes, n_runs: int, depth: int, width: int, init_scales: Tensor, seed: int = 0,
    decoupled_u0: float | None = None,
) -> list[Tensor]:
    """Starting weights [R, out, in] per layer: Gaussian N(0, scale^2 / fan_in), or decoupled.

    A decoupled start (Saxe et al.) puts every mode on its own hidden direction with the same
    strength per layer, so that W = U diag(u0) V^T and each mode follows its scalar equation
    exactly: W1 = R1 diag(a) V^T, Wl = Rl diag(a) R(l-1)^T, WD = U diag(a) R(D-1)^T, a = u0^(1/D),
    with random orthonormal hidden frames Rl.
    """
    _check_init(modes, n_runs, depth, width, init_scales)
    generator = torch.Generator().manual_seed(_check_seed(seed))
    n_in, n_out, rank = modes.v.shape[0], modes.u.shape[0], modes.s.numel()
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    if decoupled_u0 is None:
        return [
            torch.randn(n_runs, sizes[i + 1], sizes[i], dtype=torch.float64, generator=generator)
            * (init_scales[:, None, None] / math.sqrt(sizes[i]))
            for i in range(depth)
        ]
    check_positive("decoupled_u0", decoupled_u0)
    if width < rank:
        raise ValueError(f"a decoupled start needs width >= {rank} (the number of modes), got {width}")
    a = decoupled_u0 ** (1 / depth)
    frames = [
        torch.stack([random_orthogonal(width, int(torch.randint(0, 2**31, (1,), generator=generator)))[:, :rank]
                     for _ in range(n_runs)])
        for _ in range(depth - 1)
    ]
    weights = [a * frames[0] @ modes.v.T.expand(n_runs, rank, n_in)]
    for i in range(1, depth - 1):
        weights.append(a * frames[i] @ frames[i - 1].transpose(1, 2))
    weights.append(a * modes.u.expand(n_runs, n_out, rank) @ frames[-1].transpose(1, 2))
    return weights


def _per_run_settings(
    init_scales: Tensor | float, lrs: Tensor | float, n_runs: int | None
) -> tuple[Tensor, Tensor, int]:
    """`simulate_linear_net`'s initial scales and step sizes checked and expanded to one per run, and R."""
    check_real_array("init_scales", init_scales)
    check_real_array("lrs", lrs)
    scales = torch.as_tensor(init_scales, dtype=torch.float64).reshape(-1)
    rates = torch.as_tensor(lrs, dtype=torch.float64).reshape(-1)
    for name, values in (("init_scales", scales), ("lrs", rates)):
        if not bool(torch.isfinite(values).all()) or bool((values <= 0).any()):
            raise ValueError(f"{name} must be finite and > 0")
    runs = n_runs if n_runs is not None else max(scales.numel(), rates.numel())
    check_positive_int("n_runs", runs)
    for name, values in (("init_scales", scales), ("lrs", rates)):
        if values.numel() not in (1, runs):
            raise ValueError(f"{name} must be a scalar or have one entry per run ({runs}), got {values.numel()}")
    return scales.expand(runs).clone(), rates.expand(runs).clone(), runs


def _gradient_step(weights: list[Tensor], error: Tensor, lr: Tensor) -> list[Tensor]:
    """One gradient-descent step on every layer, with error = Sigma31 - W_D...W_1 and lr of shape [R, 1, 1]."""
    depth = len(weights)
    # dJ/dW_l = -(W_D..W_{l+1})^T E (W_{l-1}..W_1)^T
    below = [None] * depth
    acc = None
    for i in range(depth):
        below[i] = acc
        acc = weights[i] if acc is None else weights[i] @ acc
    above = None
    new = [None] * depth
    for i in reversed(range(depth)):
        back = error if above is None else above.transpose(1, 2) @ error
        grad = -(back if below[i] is None else back @ below[i].transpose(1, 2))
        new[i] = weights[i] - lr * grad
        above = weights[i] if above is None else above @ weights[i]
    return new


LINEAR_NET_BLOWUP = 1e6  # a cost above this counts as divergence (no step size is hidden)


def simulate_linear_net(
    inputs: Tensor, targets: Tensor, *, depth: int = 2, width: int = 16, init_scales: Tensor | float = 0.1,
    lrs: Tensor | float = 0.01, steps: int = 2000, record_every: int = 10, seed: int = 0,
    n_runs: int | None = None, decoupled_u0: float | None = None,
) -> Runs:
    """Full-batch gradient descent on J = 1/2 sum_items |y - W_D...W_1 x|^2 for R nets at once.

    ``init_scales`` and ``lrs`` are scalars or [R] tensors (one value per run), so a whole grid
    of settings trains in one batched computation. With tau = 1/lr and t = step, Saxe et al.'s
    continuous-time equations describe the runs. Gradients are the exact closed form of the
    chain (checked against autograd in the tests); diverging runs keep their non-finite values.

    Returns a `optbook.Runs`: ``loss`` [T, R], the series ``"strength"`` [T, R, modes] (the mode
    strengths u_alpha = p_alpha^T W q_alpha of the end-to-end map W), ``diverged_at`` (cost
    non-finite or above `LINEAR_NET_BLOWUP`) and in ``settings`` the modes, depth, per-run step
    sizes ``lrs`` and ``init_scales``, and ``initial_u0`` [R, modes] (two layers; nan otherwise).
    """
    modes = data_modes(inputs, targets)
    check_positive_int("depth", depth, minimum=2)
    check_positive_int("width", width)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    scales, rates, runs = _per_run_settings(init_scales, lrs, n_runs)
    weights = linear_net_init(modes, runs, depth, width, scales, seed, decoupled_u0)
    x, y = inputs.to(torch.float64), targets.to(torch.float64)
    sigma31 = y.T @ x  # [out, in]
    two_layer_u0 = None
    if depth == 2:
        z = 0.5 * (weights[0] @ modes.v + weights[1].transpose(1, 2) @ modes.u)  # [R, width, modes]
        two_layer_u0 = (z**2).sum(1)
    recorded, strengths, losses = [], [], []
    lr = rates[:, None, None]
    with torch.no_grad():
        for step in range(steps + 1):
            product = _chain(weights)
            error = sigma31 - product  # with X^T X = I the cost is 1/2 |Sigma31 - W|^2 + const
            if step % record_every == 0 or step == steps:
                recorded.append(step)
                strengths.append(torch.einsum("oa,roi,ia->ra", modes.u, product, modes.v))
                residual = y - x @ product.transpose(1, 2)
                losses.append(0.5 * (residual**2).sum((1, 2)))
            if step == steps:
                break
            weights = _gradient_step(weights, error, lr)
    steps_t, loss = torch.tensor(recorded), torch.stack(losses)
    initial_u0 = two_layer_u0 if two_layer_u0 is not None else torch.full((runs, modes.s.numel()), math.nan)
    return Runs(
        steps_t, loss, series={"strength": torch.stack(strengths)},  # [T, R, modes]: u_alpha = p_alpha^T W q_alpha
        diverged_at=first_divergence(steps_t, loss, blowup=LINEAR_NET_BLOWUP),
        settings={"modes": modes, "depth": depth, "lrs": rates, "init_scales": scales,
                  "initial_u0": initial_u0},  # [R, modes]: ||(W21 v + W32^T u)/2||^2 (two layers), else nan
    )




def widget_grid(
    inputs: Tensor, targets: Tensor, depth: int, seed: int = 0, scales: Sequence[float] = LINEAR_NETWORKS.widget_scales,
    rates: Sequence[float] = LINEAR_NETWORKS.widget_rates, steps: int = LINEAR_NETWORKS.widget_steps, record_every: int = 5, width: int = 16,
) -> tuple[Runs, list[tuple[float, float]]]:
    """Every (initial scale, step size) pair of the grid at one depth, trained in one batch; returns the runs and the pairs."""
    _positive_values("scales", scales, ndim=1)
    _positive_values("rates", rates, ndim=1)
    pairs = [(float(scale), float(rate)) for scale in scales for rate in rates]
    runs = simulate_linear_net(
        inputs, targets, depth=depth, width=width, init_scales=torch.tensor([p[0] for p in pairs], dtype=torch.float64),
        lrs=torch.tensor([p[1] for p in pairs], dtype=torch.float64), steps=steps, record_every=record_every, seed=seed)
    return runs, pairs


def distinct_groups(s: Tensor, rtol: float = 1e-6) -> list[list[int]]:
    """Indices of modes grouped by equal singular value (the tree data has repeated ones)."""
    check_float_tensor("s", s, ndim=1)
    check_nonnegative("rtol", rtol)
    groups: list[list[int]] = []
    for i, value in enumerate(s.tolist()):
        if groups and abs(s[groups[-1][0]].item() - value) <= rtol * abs(value):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def learned_in_order(t_half: Tensor, s: Tensor) -> bool:
    """True if every mode of a larger singular value reaches half strength before every mode of a smaller one."""
    check_tensor("t_half", t_half, finite=False)
    check_float_tensor("s", s, ndim=1)
    if t_half.shape[-1] != s.numel() or bool(torch.isnan(t_half).any()):
        raise ValueError(f"t_half must be [..., modes] with modes = len(s) = {s.numel()} and no nan (inf: never), "
                         f"got shape {tuple(t_half.shape)}")
    groups = distinct_groups(s)
    for stronger, weaker in zip(groups[:-1], groups[1:]):
        if not float(t_half[..., stronger].max()) < float(t_half[..., weaker].min()):
            return False
    return bool(torch.isfinite(t_half).all())


def stable_step_limit(s_max: float, depth: int) -> float:
    """Largest step size at which gradient descent can settle at a global minimum: 2 / (D s^{2-2/D}).

    At a minimum W = Sigma31 the Hessian's largest eigenvalue is at least D s_max^{2-2/D}, with
    equality at the balanced minimum (every layer contributes s^{1/D} to the strongest mode; by the
    AM-GM inequality any other split is sharper). Above this step no minimum is stable: the run
    oscillates or diverges.
    """
    check_positive("s_max", s_max)
    check_positive_int("depth", depth, minimum=2)
    return 2.0 / (depth * s_max ** (2.0 - 2.0 / depth))


@dataclass(frozen=True)
class RunVerdict:
    """What one run did, in words that agree with its curves: diverged, oscillating, or how far it learned."""

    kind: str  # "diverged", "oscillating", "plateau" (no mode half-learned) or "learning"
    learned: int  # modes that stay within ``tol`` of s over the last window
    rising: int  # modes half-learned but not yet settled
    first_plateau: float  # recorded step at which the strongest mode reaches s/2 (inf if never)
    swing: tuple[float, float]  # smallest and largest u/s over the last window
    text: str


def _check_verdict(strength: object, loss: object, s: object, steps: object, window: object, tol: object,
                   lr: object, depth: object) -> None:
    """`run_verdict`'s argument checks (strength and loss may hold nan or inf: a diverged run)."""
    check_real_array("strength", strength, finite=False)
    records = check_real_array("loss", loss, finite=False).size
    _positive_values("s", s)
    recorded = check_real_array("steps", steps, ndim=1).size
    if recorded != records:
        raise ValueError(f"steps must have one entry per record of loss ({records}), got {recorded}")
    check_fraction("window", window)
    check_positive("tol", tol)
    if lr is not None:
        check_positive("lr", lr)
    if depth is not None:
        check_positive_int("depth", depth, minimum=2)


def run_verdict(
    strength: Tensor | np.ndarray, loss: Tensor | np.ndarray, s: Tensor, steps: Tensor | np.ndarray,
    window: float = 0.1, tol: float = 0.05, lr: float | None = None, depth: int | None = None,
) -> RunVerdict:
    """Verdict on one run from its mode strengths [T, modes] and cost [T] over the recorded ``steps`` [T].

    Diverged: the cost became non-finite or exceeded 1e6. Oscillating: over the last ``window`` of
    the records some mode's u/s moves back and forth (its total variation exceeds twice its net
    change plus ``tol``), which a mode that rises or settles never does. Otherwise a mode is learned
    when u/s stays within ``tol`` of 1 over the whole window. With ``lr`` and ``depth`` the text
    names the stability limit `stable_step_limit` when the step exceeds it.
    """
    _check_verdict(strength, loss, s, steps, window, tol, lr, depth)
    u = torch.as_tensor(strength, dtype=torch.float64)
    cost = torch.as_tensor(loss, dtype=torch.float64).reshape(-1)
    s = torch.as_tensor(s, dtype=torch.float64).reshape(-1)
    if u.ndim != 2 or u.shape[1] != s.numel() or u.shape[0] != cost.numel() or u.shape[0] < 3:
        raise ValueError(f"strength must be [T, modes] with T = len(loss) >= 3 and modes = len(s), got {tuple(u.shape)}")
    steps = torch.as_tensor(steps, dtype=torch.float64).reshape(-1)
    beyond = ""
    if lr is not None and depth is not None:
        limit = stable_step_limit(float(s.max()), depth)
        if lr > limit:
            beyond = f": lr {lr:g} > {limit:.3f}, the largest stable step at depth {depth}"
    if not bool(torch.isfinite(cost).all()) or float(cost.max()) > 1e6:
        return RunVerdict("diverged", 0, 0, math.inf, (math.nan, math.nan), "diverged" + (beyond or ": the cost blew up"))
    ratio = u / s
    k = max(3, int(round(window * ratio.shape[0])))
    last = ratio[-k:]
    swing = (float(last.min()), float(last.max()))
    variation = last.diff(dim=0).abs().sum(0)
    net = (last[-1] - last[0]).abs()
    first = float(half_learning_times(u[:, :1], s[:1], steps)[0])
    if bool((variation > 2 * net + tol).any()):
        text = f"oscillates: u/s swings between {swing[0]:.2f} and {swing[1]:.2f}, it never settles" + beyond
        return RunVerdict("oscillating", 0, 0, first, swing, text)
    settled = int(((last - 1).abs() <= tol).all(0).sum())
    half = int((ratio >= 0.5).any(0).sum())
    rising = max(half - settled, 0)
    if not math.isfinite(first):
        return RunVerdict("plateau", settled, rising, first, swing, f"still on the plateau after {int(steps[-1])} steps")
    text = f"first plateau {first:.0f} steps; {settled} of {s.numel()} modes learned"
    if rising:
        text += f", {rising} still rising"
    return RunVerdict("learning", settled, rising, first, swing, text)


# ---------------------------------------------------------------------------------------------
# One mode's phase portrait: tau a' = b (s - a b), tau b' = a (s - a b)
# ---------------------------------------------------------------------------------------------


def mode_flow(a: Tensor | np.ndarray, b: Tensor | np.ndarray, s: float = 1.0) -> tuple:
    """The velocity field (da/dt, db/dt) of one mode (tau = 1): gradient descent on (s - ab)^2 / 2."""
    a_values, b_values = check_real_array("a", a), check_real_array("b", b)
    kinds = {type(a).__name__, type(b).__name__}
    if isinstance(a, (Tensor, np.ndarray)) and isinstance(b, (Tensor, np.ndarray)) and len(kinds) > 1:
        raise TypeError(f"a and b must both be tensors or both arrays, got {type(a).__name__} and {type(b).__name__}")
    try:
        np.broadcast_shapes(a_values.shape, b_values.shape)
    except ValueError:
        raise ValueError(f"b (shape {b_values.shape}) must broadcast against a (shape {a_values.shape})") from None
    check_positive("s", s)
    return _mode_flow(a, b, s)


def _mode_flow(a: Tensor | np.ndarray, b: Tensor | np.ndarray, s: float) -> tuple:
    """`mode_flow` without the checks (the integrator calls it at every stage)."""
    residual = s - a * b
    return b * residual, a * residual


def mode_trajectory(
    a0: float | np.ndarray, b0: float | np.ndarray, s: float = 1.0, t_max: float = 10.0, n_points: int = 400
) -> np.ndarray:
    """The (a, b) path of one mode from (a0, b0), by RK4 with tau = 1; returns [n_points, 2, *starts].

    ``a0`` and ``b0`` may be arrays of starts (all integrated at once). a^2 - b^2 is conserved
    along each path (the hyperbolas of the phase portrait); a start on the line a = -b flows
    into the saddle at the origin.
    """
    a_values, b_values = check_real_array("a0", a0), check_real_array("b0", b0)
    try:
        a0, b0 = np.broadcast_arrays(a_values, b_values)
    except ValueError:
        raise ValueError(f"b0 (shape {b_values.shape}) must broadcast against a0 (shape {a_values.shape})") from None
    check_positive("s", s)
    check_positive("t_max", t_max)
    check_positive_int("n_points", n_points, minimum=2)
    sub = 10
    h = t_max / ((n_points - 1) * sub)
    state = np.stack([a0, b0]).astype(float)

    def rate(z: np.ndarray) -> np.ndarray:
        return np.stack(_mode_flow(z[0], z[1], s))

    path = [state.copy()]
    for _ in range(n_points - 1):
        for _ in range(sub):
            k1 = rate(state)
            k2 = rate(state + 0.5 * h * k1)
            k3 = rate(state + 0.5 * h * k2)
            k4 = rate(state + h * k3)
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(state.copy())
    return np.array(path)


def hyperbolas(levels: np.ndarray, extent: float, n_points: int = 200) -> list[np.ndarray]:
    """Curves a^2 - b^2 = c for each level c inside the square |a|, |b| <= extent: the mode's trajectories."""
    check_real_array("levels", levels)
    check_positive("extent", extent)
    check_positive_int("n_points", n_points, minimum=2)
    t = np.linspace(-extent, extent, n_points)
    curves = []
    for c in np.asarray(levels, dtype=float).reshape(-1):
        for sign in (1.0, -1.0):
            if c >= 0:
                curve = np.stack([sign * np.sqrt(c + t**2), t], axis=1)  # branches a = +-sqrt(c + b^2)
            else:
                curve = np.stack([t, sign * np.sqrt(-c + t**2)], axis=1)  # branches b = +-sqrt(a^2 - c)
            curves.append(curve[(np.abs(curve) <= extent).all(1)])
    return curves


def mode_endpoint(a0: float, b0: float, s: float = 1.0) -> tuple[float, float]:
    """Where the flow from (a0, b0) ends: on ab = s with a^2 - b^2 = a0^2 - b0^2 (the origin if a0 = -b0)."""
    check_real("a0", a0)
    check_real("b0", b0)
    check_positive("s", s)
    c = a0 * a0 - b0 * b0
    if a0 + b0 == 0:
        return 0.0, 0.0
    sign = 1.0 if a0 + b0 > 0 else -1.0
    a2 = 0.5 * (c + math.sqrt(c * c + 4 * s * s))  # a^2 from a^2 - s^2/a^2 = c
    a = sign * math.sqrt(a2)
    return a, s / a


def linear_net_loss(inputs: Tensor, targets: Tensor, depth: int, width: int) -> LossFn:
    """J(theta) = 1/2 sum_items |y - W_D...W_1 x|^2 with theta the flat vector of all D weight matrices."""
    check_tensor("inputs", inputs, ndim=2)
    check_tensor("targets", targets, ndim=2)
    check_positive_int("depth", depth, minimum=2)
    check_positive_int("width", width)
    x, y = inputs.to(torch.float64), targets.to(torch.float64)
    sizes = [x.shape[1]] + [width] * (depth - 1) + [y.shape[1]]
    shapes = [(sizes[i + 1], sizes[i]) for i in range(depth)]
    counts = [rows * cols for rows, cols in shapes]

    def loss(theta: Tensor) -> Tensor:
        if theta.shape[-1] != sum(counts):
            raise ValueError(f"theta must have {sum(counts)} entries, got {theta.shape[-1]}")
        weights = [piece.reshape(shape) for piece, shape in zip(theta.split(counts), shapes)]
        residual = y.to(theta.dtype) - x.to(theta.dtype) @ _chain(weights).T
        return 0.5 * (residual**2).sum()

    return loss


def origin_hessian_eigenvalues(inputs: Tensor, targets: Tensor, depth: int, width: int = 8) -> Tensor:
    """Exact Hessian eigenvalues of a depth-D linear net at theta = 0 (all weights zero).

    For D = 2 the origin is a strict saddle (eigenvalues +-s_alpha, one pair per mode and hidden
    unit); for D >= 3 every second derivative vanishes there: a degenerate critical point whose
    flatness a second-order method cannot see.
    """
    loss = linear_net_loss(inputs, targets, depth, width)
    sizes = [inputs.shape[1]] + [width] * (depth - 1) + [targets.shape[1]]
    size = sum(sizes[i] * sizes[i + 1] for i in range(depth))
    h = hessian(loss, torch.zeros(size, dtype=torch.float64))
    return torch.linalg.eigvalsh(0.5 * (h + h.T))
