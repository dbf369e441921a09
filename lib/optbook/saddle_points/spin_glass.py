"""Critical points of a random function with exact theory: the spherical 3-spin glass.

H(s) = N^-1 sum_ijk J_ijk s_i s_j s_k with J_ijk ~ N(0, 1) on the sphere |s|^2 = N, the model of
Auffinger, Ben Arous & Cerny (2013) and Choromanska et al. (2015) (Bray & Dean 2007 derived the
same kind of law for Gaussian random fields on R^N). At a critical point of energy eps = H/N the
Riemannian Hessian is a GOE matrix whose semicircle (radius 2 sqrt(p(p-1)) = 2 sqrt 6) is centred
at -p eps = -3 eps, so the index fraction alpha (the index, i.e. the count of negative
eigenvalues, divided by N - 1) is alpha(eps) = F_sc(3 eps / (2 sqrt 6)), F_sc the semicircle's
CDF: it rises with the energy, and minima (alpha = 0) exist only below eps = -2 sqrt(2/3) = -1.633.

`find_critical_points` finds many of them at once: a batch of random starts, each given its
own number of projected gradient-descent steps (a longer warm-up reaches lower energy), then
Riemannian Newton on the sphere, which converges to the nearest critical point of any index.
Everything is batched over starts: one einsum per step for all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .config import SADDLE_POINTS, SaddlePointsSetup
from .._validate import (check_float_tensor, check_int_sequence, check_positive, check_positive_int, check_real,
                         check_real_array, check_seed, check_tensor)

P_SPIN = 3
SEMICIRCLE_RADIUS = 2 * math.sqrt(P_SPIN * (P_SPIN - 1))  # 2 sqrt 6
THRESHOLD_ENERGY = -2 * math.sqrt((P_SPIN - 1) / P_SPIN)  # E_inf = -1.633: below it, minima
GROUND_STATE_ENERGY = -1.657  # E_0 for p = 3 (Crisanti & Sommers; quoted by Choromanska et al.)
_PERMUTATIONS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def couplings(n_spins: int, seed: int = 0) -> Tensor:
    """The disorder: J_ijk ~ N(0, 1), symmetrized over the 6 index orders (same H, simpler derivatives)."""
    check_positive_int("n_spins", n_spins, minimum=2)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    j = torch.randn(n_spins, n_spins, n_spins, generator=generator, dtype=torch.float64)
    return sum(j.permute(*order) for order in _PERMUTATIONS) / 6


def _check_couplings(couplings_: object) -> int:
    """The number of spins N of a [N, N, N] floating-point coupling tensor (N >= 2), else raise."""
    check_float_tensor("couplings", couplings_, ndim=3)
    n = couplings_.shape[0]
    if tuple(couplings_.shape) != (n, n, n) or n < 2:
        raise ValueError(f"couplings must be a cube [N, N, N] with N >= 2, got {tuple(couplings_.shape)}")
    return n


def _check_states(couplings_: Tensor, spins: Tensor) -> Tensor:
    n = _check_couplings(couplings_)
    check_tensor("spins", spins, ndim=2)
    if spins.shape[-1] != n:
        raise ValueError(f"spins must have {n} columns, one per spin of couplings [N, N, N], got {spins.shape[-1]}")
    return spins.to(torch.float64)


def energy(couplings_: Tensor, spins: Tensor) -> Tensor:
    """Energy per spin eps = H(s)/N for each row of ``spins`` [B, N]."""
    s = _check_states(couplings_, spins)
    n = s.shape[-1]
    return torch.einsum("ijk,bi,bj,bk->b", couplings_, s, s, s) / n**2


def on_sphere(spins: Tensor) -> Tensor:
    """Rescale each row to |s|^2 = N (the retraction back onto the sphere)."""
    check_tensor("spins", spins, ndim=2)
    norms = spins.norm(dim=-1, keepdim=True)
    if bool((norms == 0).any()):
        raise ValueError("spins has a zero row, which has no direction on the sphere")
    return spins * math.sqrt(spins.shape[-1]) / norms


def _euclidean_gradient(j: Tensor, s: Tensor) -> Tensor:
    return 3 * torch.einsum("ijk,bj,bk->bi", j, s, s) / s.shape[-1]


def riemannian_gradient(couplings_: Tensor, spins: Tensor) -> Tensor:
    """The gradient of H projected on the sphere's tangent space at each row."""
    s = _check_states(couplings_, spins)
    g = _euclidean_gradient(couplings_, s)
    return g - (g * s).sum(-1, keepdim=True) * s / s.shape[-1]


def riemannian_hessian(couplings_: Tensor, spins: Tensor) -> Tensor:
    """P (Hess H) P - (s.grad H / N) P at each row, P the tangent projector: [B, N, N].

    The normal direction s is an exact zero eigenvector; the other N - 1 eigenvalues are the
    curvatures along the sphere that decide the index.
    """
    s = _check_states(couplings_, spins)
    n = s.shape[-1]
    g = _euclidean_gradient(couplings_, s)
    hess = 6 * torch.einsum("ijk,bk->bij", couplings_, s) / n
    multiplier = (g * s).sum(-1) / n
    proj = torch.eye(n, dtype=torch.float64) - s[:, :, None] * s[:, None, :] / n
    return proj @ hess @ proj - multiplier[:, None, None] * proj


def tangent_eigenvalues(couplings_: Tensor, spins: Tensor) -> Tensor:
    """The N - 1 eigenvalues of the Riemannian Hessian along the sphere, ascending: [B, N - 1]."""
    s = _check_states(couplings_, spins)
    n = s.shape[-1]
    # put the normal direction at +inf-like value so it sorts last, then drop it
    shifted = riemannian_hessian(couplings_, s) + 1e6 * s[:, :, None] * s[:, None, :] / n
    return torch.linalg.eigvalsh(shifted)[:, :-1]


def theory_index_fraction(eps: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """The index fraction alpha(eps) = F_sc(3 eps / (2 sqrt 6)): the fraction of the shifted semicircle below zero."""
    e = check_real_array("eps", eps)
    x = np.clip(P_SPIN * e / SEMICIRCLE_RADIUS, -1.0, 1.0)
    return 0.5 + (x * np.sqrt(1 - x**2) + np.arcsin(x)) / np.pi


def semicircle_density(x: np.ndarray, energy_per_spin: float) -> np.ndarray:
    """Density of the Riemannian Hessian's eigenvalues at a critical point of energy eps (N -> inf).

    A semicircle of radius 2 sqrt 6 centred at -3 eps (Auffinger, Ben Arous & Cerny 2013).
    """
    check_real("energy_per_spin", energy_per_spin)
    u = (check_real_array("x", x) + P_SPIN * energy_per_spin) / SEMICIRCLE_RADIUS
    return np.where(np.abs(u) < 1, 2 / (np.pi * SEMICIRCLE_RADIUS) * np.sqrt(np.clip(1 - u**2, 0, None)), 0.0)


@dataclass(frozen=True)
class CriticalPoints:
    """Distinct critical points found for one disorder sample (sorted by energy)."""

    n_spins: int
    spins: Tensor  # [K, N]
    energy: np.ndarray  # eps = H/N
    index_fraction: np.ndarray  # alpha: fraction of the N - 1 tangent eigenvalues below zero
    grad_norm: np.ndarray  # |Riemannian gradient| (below the tolerance: the finder keeps only those)
    eigenvalues: Tensor  # [K, N - 1]
    n_starts: int
    n_converged: int

    @property
    def n_minima(self) -> int:
        return int((self.index_fraction == 0).sum())

    @property
    def n_saddles(self) -> int:
        return int(((self.index_fraction > 0) & (self.index_fraction < 1)).sum())


def _newton(j: Tensor, s: Tensor, iterations: int, max_step: float) -> Tensor:
    """Riemannian Newton on the sphere for every row at once (the step is capped for stability)."""
    n = s.shape[-1]
    normal = s[:, :, None] * s[:, None, :] / n
    for _ in range(iterations):
        grad = riemannian_gradient(j, s)
        hess = riemannian_hessian(j, s)
        normal = s[:, :, None] * s[:, None, :] / n
        # +normal makes the system regular; the solution then lies in the tangent space
        step = -torch.linalg.solve(hess + normal, grad.unsqueeze(-1)).squeeze(-1)
        step = step - (step * s).sum(-1, keepdim=True) * s / n
        length = step.norm(dim=-1, keepdim=True)
        step = step * torch.clamp(max_step * math.sqrt(n) / length.clamp_min(1e-300), max=1.0)
        s = on_sphere(s + step)
    return s


def _distinct(spins: Tensor, energies: Tensor) -> Tensor:
    """Mask of the first occurrence of each point (same point: overlap > 1 - 1e-6, same energy)."""
    n = spins.shape[-1]
    same = ((spins @ spins.T) / n > 1 - 1e-6) & ((energies[:, None] - energies[None, :]).abs() < 1e-9)
    return ~torch.tril(same, diagonal=-1).any(dim=1)


def find_critical_points(
    couplings_: Tensor,
    n_starts: int = 400,
    max_warmup: int = 300,
    lr: float = 0.05,
    newton_steps: int = 40,
    max_step: float = 0.5,
    tol: float = 1e-9,
    seed: int = 0,
) -> CriticalPoints:
    """Many distinct critical points of H from ``n_starts`` random starts (batched).

    Start b gets k_b projected gradient-descent steps, k_b log-uniform in [0, ``max_warmup``]
    (0 steps: Newton from a random point, which finds mostly mid-energy saddles; long warm-ups
    reach the bottom), then ``newton_steps`` Riemannian Newton steps. Points whose Riemannian
    gradient norm ends below ``tol`` count as critical; duplicates are removed.
    """
    n = _check_couplings(couplings_)
    if not bool(couplings_.any()):
        raise ValueError("couplings must not be all zero (then every point is critical)")
    check_positive_int("n_starts", n_starts)
    check_positive_int("max_warmup", max_warmup, minimum=0)
    check_positive("lr", lr)
    check_positive_int("newton_steps", newton_steps)
    check_positive("max_step", max_step)
    check_positive("tol", tol)
    j = couplings_.to(torch.float64)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    s = on_sphere(torch.randn(n_starts, n, generator=generator, dtype=torch.float64))
    warmup = torch.floor(torch.exp(torch.rand(n_starts, generator=generator, dtype=torch.float64)
                                   * math.log(max_warmup + 2)) - 1).to(torch.long)
    for t in range(max_warmup):
        active = (warmup > t).to(torch.float64)[:, None]
        if not bool(active.any()):
            break
        s = on_sphere(s - lr * active * riemannian_gradient(j, s))
    s = _newton(j, s, newton_steps, max_step)
    grad_norm = riemannian_gradient(j, s).norm(dim=-1)
    converged = grad_norm < tol
    s, grad_norm = s[converged], grad_norm[converged]
    if not len(s):  # no start converged: an empty census, not an error
        empty = np.zeros(0)
        return CriticalPoints(n, s, empty, empty, empty, torch.zeros(0, n - 1, dtype=torch.float64), n_starts, 0)
    eps = energy(j, s)
    keep = _distinct(s, eps)
    s, eps, grad_norm = s[keep], eps[keep], grad_norm[keep]
    order = torch.argsort(eps)
    s, eps, grad_norm = s[order], eps[order], grad_norm[order]
    eigenvalues = tangent_eigenvalues(j, s) if len(s) else torch.zeros(0, n - 1, dtype=torch.float64)
    scale = eigenvalues.abs().amax(dim=-1, keepdim=True).clamp_min(1e-300)
    alpha = (eigenvalues < -1e-9 * scale).to(torch.float64).mean(dim=-1)
    return CriticalPoints(
        n_spins=n,
        spins=s,
        energy=eps.numpy(),
        index_fraction=alpha.numpy(),
        grad_norm=grad_norm.numpy(),
        eigenvalues=eigenvalues,
        n_starts=n_starts,
        n_converged=int(converged.sum()),
    )


def _check_points(points: object) -> None:
    """Raise unless ``points`` is a `CriticalPoints` (what `find_critical_points` returns)."""
    if not isinstance(points, CriticalPoints):
        raise TypeError(f"points must be a CriticalPoints (from find_critical_points), got {type(points).__name__}")


def index_energy_experiment(seed: int, setup: SaddlePointsSetup = SADDLE_POINTS) -> CriticalPoints:
    """The page's index-against-energy search: disorder ``seed``, N = 40, 400 starts (the constants above)."""
    j = couplings(setup.index_energy_spins, seed=seed)
    return find_critical_points(j, n_starts=setup.index_energy_starts, max_warmup=setup.index_energy_warmup, seed=seed)


def mirror_eigenvalues(couplings_: Tensor, points: CriticalPoints) -> Tensor:
    """Tangent Hessian eigenvalues at the mirror images -s of the points found (H is odd): [K, N - 1]."""
    _check_points(points)
    if points.n_spins != _check_couplings(couplings_):
        raise ValueError(f"couplings has {couplings_.shape[0]} spins, but points has {points.n_spins}")
    return tangent_eigenvalues(couplings_, -points.spins)


def binned_index_fraction(points: CriticalPoints, edges: Sequence[float], min_count: int = 3) -> dict[str, np.ndarray]:
    """Mean measured index fraction and the theory at the mean energy, per energy bin with >= min_count points."""
    _check_points(points)
    edges = check_real_array("edges", edges)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError("edges must be an increasing 1-D sequence of at least 2 values")
    check_positive_int("min_count", min_count)
    which = np.digitize(points.energy, edges) - 1
    rows = []
    for b in range(edges.size - 1):
        inside = which == b
        if inside.sum() >= min_count:
            e = points.energy[inside].mean()
            rows.append((e, points.index_fraction[inside].mean(), float(theory_index_fraction(e)), inside.sum()))
    out = np.array(rows, dtype=float).reshape(-1, 4)
    return {"energy": out[:, 0], "index_fraction": out[:, 1], "theory": out[:, 2], "count": out[:, 3].astype(int)}


@dataclass(frozen=True)
class CriticalPointCensus:
    """Distinct minima and saddles found per N (means over disorder samples) and whether saturated."""

    n_spins: np.ndarray
    minima: np.ndarray  # [len(n_spins), n_disorder]
    saddles: np.ndarray
    saturated: np.ndarray  # bool [len(n_spins), n_disorder]: a second half of starts found nothing new


def census(
    n_spins: Sequence[int],
    disorder_seeds: Sequence[int] = (0, 1, 2),
    n_starts: int = 800,
    newton_steps: int = 60,
    seed: int = 0,
) -> CriticalPointCensus:
    """Count (nearly) all critical points for small N, minima against saddles.

    Two independent halves of the starts each run `find_critical_points` (a mix of Newton from
    random points, which finds saddles of every index, and of gradient-descent warm-ups, which
    find minima); each point's mirror -s is added (H is odd, so -s is critical with energy -eps
    and index fraction 1 - alpha). ``saturated`` records whether the second half added no new point to
    the first: then the count is complete for practical purposes. The N -> inf growth rates are
    (1/2) ln 2 for all critical points and (1/2) ln 2 - 1/3 for minima (Auffinger, Ben Arous &
    Cerny 2013), so saddles outnumber minima by a factor that grows like e^(N/3).
    """
    sizes = list(check_int_sequence("n_spins", n_spins, minimum=3))
    check_int_sequence("disorder_seeds", disorder_seeds, minimum=0)
    check_positive_int("n_starts", n_starts, minimum=4)
    check_positive_int("newton_steps", newton_steps)
    check_seed("seed", seed)
    minima = np.zeros((len(sizes), len(disorder_seeds)), dtype=int)
    saddles = np.zeros_like(minima)
    saturated = np.zeros_like(minima, dtype=bool)
    for a, n in enumerate(sizes):
        for b, d in enumerate(disorder_seeds):
            j = couplings(n, seed=d)
            halves = [find_critical_points(j, n_starts // 2, max_warmup=200, lr=0.1,
                                           newton_steps=newton_steps, seed=seed + 7919 * h).spins
                      for h in range(2)]
            halves = [torch.cat([h, -h]) for h in halves]
            both = torch.cat(halves)
            keep = _distinct(both, energy(j, both))
            points = both[keep]
            eigenvalues = tangent_eigenvalues(j, points)
            scale = eigenvalues.abs().amax(dim=-1, keepdim=True).clamp_min(1e-300)
            n_negative = (eigenvalues < -1e-9 * scale).sum(dim=-1)
            saturated[a, b] = bool(not keep[len(halves[0]):].any())
            minima[a, b] = int((n_negative == 0).sum())
            saddles[a, b] = int(((n_negative > 0) & (n_negative < n - 1)).sum())
    return CriticalPointCensus(np.array(sizes), minima, saddles, saturated)
