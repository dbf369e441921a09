"""Ill-conditioned quadratics 1/2 x^T H x: gradient descent, Newton and heavy-ball momentum.

The quadratic is the setting where sec. 8.2.1's argument is exact (eq. 8.10 has no remainder)
and where the textbook rates hold to rounding: gradient descent converges iff the step is below
2/lambda_max, contracts by (kappa-1)/(kappa+1) per step at its best fixed step, Newton's step
x - H^{-1} g lands on the minimum at once, and Polyak's heavy ball contracts by
(sqrt(kappa)-1)/(sqrt(kappa)+1) (Nocedal & Wright 2006, ch. 3; Polyak 1964; Goh 2017).
Every runner is batched: a leading axis of start points (and of step sizes) runs in one op.
"""

from __future__ import annotations

import cmath
import math

import torch
from torch import Tensor

from .._validate import check_positive, check_positive_int, check_tensor

METHODS = ("gd", "momentum", "newton")


def quadratic_hessian(kappa: float, lambda_max: float = 1.0, dim: int = 2, angle: float = 0.0) -> Tensor:
    """A symmetric positive definite H (float64) with condition number ``kappa``.

    Eigenvalues are spaced geometrically from lambda_max/kappa to lambda_max; in 2-D the
    eigenvectors are rotated by ``angle`` radians (angle 0: the flat direction is the first axis).
    """
    check_positive("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    check_positive("lambda_max", lambda_max)
    check_positive_int("dim", dim, minimum=2)
    if not math.isfinite(angle):
        raise ValueError(f"angle must be finite, got {angle}")
    exponents = torch.linspace(-1.0, 0.0, dim, dtype=torch.float64)
    eigenvalues = lambda_max * torch.tensor(float(kappa), dtype=torch.float64) ** exponents
    h = torch.diag(eigenvalues)
    if dim == 2 and angle != 0.0:
        c, s = math.cos(angle), math.sin(angle)
        rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
        h = rot @ h @ rot.T
    return h


def _check_hessian(h: object) -> Tensor:
    check_tensor("h", h, ndim=2)
    if h.shape[0] != h.shape[1]:
        raise ValueError(f"h must be square, got shape {tuple(h.shape)}")
    if not torch.allclose(h, h.T, rtol=1e-10, atol=1e-12):
        raise ValueError("h must be symmetric")
    if float(torch.linalg.eigvalsh(h.to(torch.float64))[0]) <= 0:
        raise ValueError("h must be positive definite")
    return h


def _as_batch(x0: object, dim: int) -> Tensor:
    check_tensor("x0", x0)
    x = x0.to(torch.float64)
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"x0 must have shape [{dim}] or [B, {dim}], got {tuple(x0.shape)}")
    return x


def _as_steps(lr: float | Tensor, batch: int) -> Tensor:
    if isinstance(lr, Tensor):
        check_tensor("lr", lr, ndim=1)
        if lr.shape[0] not in (1, batch) or bool((lr <= 0).any()):
            raise ValueError(f"lr must hold 1 or {batch} positive step sizes, got {lr.tolist()}")
        return lr.to(torch.float64)[:, None]
    return torch.tensor([[check_positive("lr", lr)]], dtype=torch.float64)


def quadratic_cost(h: Tensor, x: Tensor) -> Tensor:
    """1/2 x^T H x for every vector along the last axis of ``x`` (any leading shape).

    ``h`` must be a finite square matrix; ``x`` a floating-point tensor whose last axis has its
    size. Non-finite entries of ``x`` (a diverged path) are allowed and give non-finite costs.
    """
    check_tensor("h", h, ndim=2)
    if h.shape[0] != h.shape[1]:
        raise ValueError(f"h must be square, got shape {tuple(h.shape)}")
    check_tensor("x", x, finite=False)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if x.shape[-1] != h.shape[0]:
        raise ValueError(f"x must have {h.shape[0]} entries along its last axis, got shape {tuple(x.shape)}")
    return 0.5 * torch.einsum("...i,ij,...j->...", x, h.to(x.dtype), x)


def eigen_range(h: Tensor) -> tuple[float, float]:
    """(lambda_min, lambda_max) of the symmetric positive definite ``h``."""
    eig = torch.linalg.eigvalsh(_check_hessian(h).to(torch.float64))
    return float(eig[0]), float(eig[-1])


def stable_step_limit(h: Tensor) -> float:
    """2/lambda_max: gradient descent on 1/2 x^T H x converges iff 0 < eps < this."""
    return 2.0 / eigen_range(h)[1]


def best_step(h: Tensor) -> float:
    """The best fixed step 2/(lambda_min + lambda_max) for gradient descent."""
    low, high = eigen_range(h)
    return 2.0 / (low + high)


def gd_rate(kappa: float) -> float:
    """Contraction per step of gradient descent at its best fixed step: (kappa-1)/(kappa+1)."""
    check_positive("kappa", kappa)
    return (kappa - 1.0) / (kappa + 1.0)


def momentum_rate(kappa: float) -> float:
    """Contraction per step of tuned heavy-ball momentum: (sqrt k - 1)/(sqrt k + 1) (Polyak 1964)."""
    check_positive("kappa", kappa)
    root = math.sqrt(kappa)
    return (root - 1.0) / (root + 1.0)


def best_momentum(h: Tensor) -> tuple[float, float]:
    """Polyak's tuned (step, momentum) = (4/(sqrt(l_max)+sqrt(l_min))^2, rate^2)."""
    low, high = eigen_range(h)
    step = 4.0 / (math.sqrt(high) + math.sqrt(low)) ** 2
    return step, momentum_rate(high / low) ** 2


def gradient_descent(h: Tensor, x0: Tensor, lr: float | Tensor, steps: int) -> Tensor:
    """Iterates x_{t+1} = x_t - lr H x_t for each start in ``x0`` ([d] or [B, d]): shape [steps+1, B, d].

    ``lr`` is one step size or one per start. A divergent run is returned as it goes (growing
    values, inf past float64's range), never stopped or hidden.
    """
    h = _check_hessian(h).to(torch.float64)
    x = _as_batch(x0, h.shape[0])
    eps = _as_steps(lr, x.shape[0])
    steps = check_positive_int("steps", steps)
    path = [x]
    for _ in range(steps):
        x = x - eps * (x @ h)
        path.append(x)
    return torch.stack(path)


def heavy_ball(h: Tensor, x0: Tensor, lr: float | Tensor, momentum: float, steps: int) -> Tensor:
    """Polyak's heavy ball x_{t+1} = x_t - lr H x_t + momentum (x_t - x_{t-1}): shape [steps+1, B, d]."""
    h = _check_hessian(h).to(torch.float64)
    x = _as_batch(x0, h.shape[0])
    eps = _as_steps(lr, x.shape[0])
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    steps = check_positive_int("steps", steps)
    previous, path = x, [x]
    for _ in range(steps):
        x, previous = x - eps * (x @ h) + momentum * (x - previous), x
        path.append(x)
    return torch.stack(path)


def newton(h: Tensor, x0: Tensor, steps: int = 1) -> Tensor:
    """Newton's method x_{t+1} = x_t - H^{-1} g_t: on a quadratic the first step lands on the minimum."""
    h = _check_hessian(h).to(torch.float64)
    x = _as_batch(x0, h.shape[0])
    steps = check_positive_int("steps", steps)
    path = [x]
    for _ in range(steps):
        x = x - torch.linalg.solve(h, (x @ h).T).T
        path.append(x)
    return torch.stack(path)


def optimize_quadratic(
    h: Tensor, x0: Tensor, method: str, steps: int, lr: float | None = None, momentum: float | None = None
) -> Tensor:
    """Run ``method`` ('gd', 'momentum' or 'newton') and return the path [steps+1, B, d].

    'momentum' without ``momentum`` uses Polyak's tuned value for this H (and its step if
    ``lr`` is None); 'gd' without ``lr`` uses the best fixed step.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "newton":
        return newton(h, x0, steps)
    if method == "gd":
        return gradient_descent(h, x0, best_step(h) if lr is None else lr, steps)
    tuned_lr, tuned_beta = best_momentum(h)
    return heavy_ball(h, x0, tuned_lr if lr is None else lr, tuned_beta if momentum is None else momentum, steps)


def iteration_radius(h: Tensor, method: str, lr: float | None = None, momentum: float | None = None) -> float:
    """Spectral radius of the iteration matrix of ``method`` on 1/2 x^T H x (defaults as `optimize_quadratic`).

    Gradient descent multiplies the component along eigenvector i by 1 - lr lambda_i, so its
    radius is max_i |1 - lr lambda_i|. Heavy ball's component obeys z^2 - (1 + beta - lr lambda_i) z
    + beta = 0 and its radius is the largest root modulus over i (below 1 iff 0 <= beta < 1 and
    0 < lr lambda_i < 2 (1 + beta) for every i). Newton's is 0.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    eig = torch.linalg.eigvalsh(_check_hessian(h).to(torch.float64)).tolist()
    if method == "newton":
        return 0.0
    if method == "gd":
        eps = best_step(h) if lr is None else check_positive("lr", lr)
        return max(abs(1.0 - eps * lam) for lam in eig)
    tuned_lr, tuned_beta = best_momentum(h)
    eps = tuned_lr if lr is None else check_positive("lr", lr)
    beta = tuned_beta if momentum is None else momentum
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {beta!r}")
    radius = 0.0
    for lam in eig:
        b = 1.0 + beta - eps * lam
        root = cmath.sqrt(b * b - 4.0 * beta)
        radius = max(radius, abs((b + root) / 2), abs((b - root) / 2))
    return radius


def verdict(h: Tensor, method: str, lr: float | None = None, momentum: float | None = None,
            tol: float = 1e-12) -> str:
    """What theory says ``method`` does from a start with a component along every eigenvector.

    'converges' when the iteration's spectral radius (`iteration_radius`) is below 1, 'diverges'
    when it is above 1, 'neither' (bounded, it oscillates forever) when it is 1 within ``tol``.
    """
    check_positive("tol", tol)
    radius = iteration_radius(h, method, lr, momentum)
    if radius < 1.0 - tol:
        return "converges"
    if radius > 1.0 + tol:
        return "diverges"
    return "neither"


def measured_rate(path: Tensor, skip: int = 0) -> Tensor:
    """Per-run geometric-mean contraction (|x_T| / |x_skip|)^(1/(T-skip)) of the distance to 0."""
    check_tensor("path", path, ndim=3, finite=False)
    skip = check_positive_int("skip", skip, minimum=0)
    last = path.shape[0] - 1
    if skip >= last:
        raise ValueError(f"skip must be below the number of steps ({last}), got {skip}")
    norms = _safe_norm(path)
    return (norms[-1] / norms[skip]) ** (1.0 / (last - skip))


def _safe_norm(x: Tensor) -> Tensor:
    """Euclidean norm along the last axis without underflow (|x| ~ 1e-200 squares to 0 in float64)."""
    scale = x.abs().amax(-1)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return scale * (x / safe[..., None]).norm(dim=-1)


def steps_to_shrink(rate: float, factor: float = 1e-100) -> int:
    """Steps a run contracting by ``rate`` per step needs to shrink by ``factor`` (to measure rates before underflow)."""
    if not 0 < rate < 1:
        raise ValueError(f"rate must lie in (0, 1), got {rate}")
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie in (0, 1), got {factor}")
    return max(1, math.ceil(math.log(factor) / math.log(rate)))


def diverged(path: Tensor) -> Tensor:
    """Per run: True if the distance to the minimum ended larger than it started (or non-finite)."""
    check_tensor("path", path, ndim=3, finite=False)
    norms = _safe_norm(path)
    return ~torch.isfinite(norms[-1]) | (norms[-1] > norms[0])
