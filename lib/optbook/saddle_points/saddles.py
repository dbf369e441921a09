"""Saddle points, and what first- and second-order methods do near one (sec. 8.2.3).

The book's Figure 4.5 saddle f(x) = x1^2 - x2^2 has Hessian diag(2, -2): a minimum along x1 and
a maximum along x2. Three steppers act on any cost J(theta) of a flat vector:

* gradient descent, theta <- theta - eps g: repelled along negative curvature, so a start at
  distance delta from the saddle needs about log(1/delta) / log(1 + eps |lambda_min|) steps to
  leave it (fast in principle, slow when delta is tiny);
* Newton's method, theta <- theta - eps H^-1 g: H^-1 flips the sign of the step along negative
  curvature, so the step points *towards* the saddle: Newton is attracted to critical points of
  every index (the book's "saddle points constitute a problem");
* saddle-free Newton, theta <- theta - eps |H|^-1 g with |H| = V |Lambda| V^T (Dauphin et al.
  2014): Newton's rescaling without the sign flip, so it escapes along negative curvature.

All runs are batched over starts (``torch.func.vmap`` of exact gradients and Hessians). A run
that blows up is frozen and marked, so that plots can draw the divergence instead of failing.
The same steppers run on a small tanh network whose origin (all weights zero) is an exact,
non-degenerate saddle (`tanh_saddle_problem`). `critical_point_search` is Dauphin et al.'s recipe
for finding critical points of a network (training steps, then Newton), reporting the residual
gradient norm of every run, because on networks many runs stall short of a critical point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .config import SADDLE_POINTS, SaddlePointsSetup
from .._validate import (check_callable, check_float_tensor, check_nonnegative, check_positive, check_positive_int,
                         check_real_array, check_seed, check_tensor)
from ..models import mlp
from ..runs import Runs
from ..spectrum import hessian_eigenvalues
from ..params import LossFn, functional_loss, n_params
from ..losses import squared_error
from ..figures import new_figure

METHODS = ("gradient descent", "Newton", "saddle-free Newton")
Derivatives = Callable[[Tensor], tuple[Tensor, Tensor]]


def saddle_cost(theta: Tensor) -> Tensor:
    """f(x) = x1^2 - x2^2 (the book's Figure 4.5) on the last axis of ``theta`` [..., 2].

    Only the type and shape are checked (no value checks), so that it works under vmap and grad.
    """
    if not isinstance(theta, Tensor):
        raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
    if theta.dim() == 0 or theta.shape[-1] != 2:
        raise ValueError(f"theta must have 2 entries on its last axis, got shape {tuple(theta.shape)}")
    return theta[..., 0] ** 2 - theta[..., 1] ** 2


def saddle_derivatives(theta: Tensor) -> tuple[Tensor, Tensor]:
    """Exact batched gradient (2 x1, -2 x2) and Hessian diag(2, -2) of `saddle_cost` at rows [B, 2]."""
    if not isinstance(theta, Tensor) or theta.dim() != 2 or theta.shape[-1] != 2:
        raise ValueError(f"theta must be a [B, 2] tensor, got {getattr(theta, 'shape', type(theta).__name__)}")
    grad = torch.stack([2 * theta[:, 0], -2 * theta[:, 1]], dim=-1)
    hess = torch.diag(torch.tensor([2.0, -2.0], dtype=theta.dtype)).expand(theta.shape[0], 2, 2)
    return grad, hess


def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method  # type: ignore[return-value]


def step_direction(method: str, grad: Tensor, hess: Tensor, damping: float = 0.0) -> Tensor:
    """The direction d of the step theta <- theta - eps d for each row: g, H^+ g or (|H| + damping)^-1 g.

    ``grad`` is [B, P] and ``hess`` [B, P, P]. Newton uses the pseudo-inverse (eigenvalues below
    1e-12 of the largest are dropped), so a singular Hessian does not stop it.
    """
    _check_method(method)
    check_float_tensor("grad", grad, ndim=2)
    check_float_tensor("hess", hess, ndim=3)
    if hess.shape != (*grad.shape, grad.shape[-1]):
        raise ValueError(f"grad must be [B, P] and hess [B, P, P], got {tuple(grad.shape)} and {tuple(hess.shape)}")
    check_nonnegative("damping", damping)
    return _step_direction(method, grad, hess, damping)


def _step_direction(method: str, grad: Tensor, hess: Tensor, damping: float) -> Tensor:
    """`step_direction` without the checks (the steppers call it on every step, nan rows included)."""
    if method == "gradient descent":
        return grad
    lam, vec = torch.linalg.eigh(0.5 * (hess + hess.transpose(-1, -2)))
    coords = (vec.transpose(-1, -2) @ grad.unsqueeze(-1)).squeeze(-1)
    if method == "Newton":
        cutoff = 1e-12 * lam.abs().amax(dim=-1, keepdim=True)
        inverse = torch.where(lam.abs() > cutoff, 1.0 / lam, torch.zeros_like(lam))
    else:
        inverse = 1.0 / (lam.abs() + damping).clamp_min(1e-300)
    return (vec @ (inverse * coords).unsqueeze(-1)).squeeze(-1)


def _prepare_run(
    loss: LossFn, starts: Tensor, method: str, lr: float, steps: int, noise: float, damping: float,
    blowup: float, max_step: float | None, derivatives: Derivatives | None,
) -> tuple[Tensor, Derivatives, Callable[[Tensor], Tensor]]:
    """`run_method`'s argument checks; returns the starts as [B, P], the derivatives and the batched loss."""
    check_tensor("starts", starts)
    if starts.dim() == 1:
        starts = starts.unsqueeze(0)
    if starts.dim() != 2:
        raise ValueError(f"starts must be [P] or [B, P], got shape {tuple(starts.shape)}")
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if isinstance(damping, bool) or not isinstance(damping, (int, float)) or not math.isfinite(damping) or damping < 0:
        raise ValueError(f"damping must be a finite number >= 0, got {damping!r}")
    check_positive("blowup", blowup)
    if max_step is not None:
        check_positive("max_step", max_step)
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    if derivatives is None:
        grad_fn = torch.func.vmap(torch.func.grad(loss))
        hess_fn = torch.func.vmap(torch.func.hessian(loss))
        batch_loss = torch.func.vmap(loss)

        def derivatives(x: Tensor) -> tuple[Tensor, Tensor | None]:
            return grad_fn(x), (hess_fn(x) if method != "gradient descent" else None)
    else:
        if not callable(derivatives):
            raise TypeError(f"derivatives must be callable, got {type(derivatives).__name__}")
        batch_loss = loss
    return starts, derivatives, batch_loss


def _method_step(
    theta: Tensor, alive: Tensor, derivatives: Derivatives, method: str, lr: float, damping: float,
    max_step: float | None, noise: float, generator: torch.Generator,
) -> Tensor:
    """One step of ``method`` from every run (dead ones evaluated at zero), capped and perturbed: the new theta."""
    safe = torch.where(alive[:, None], theta, torch.zeros_like(theta))
    grad, hess = derivatives(safe)
    direction = grad if method == "gradient descent" else _step_direction(method, grad, hess, damping)
    step = lr * direction
    if max_step is not None:
        length = step.norm(dim=-1, keepdim=True)
        step = step * torch.clamp(max_step / length.clamp_min(1e-300), max=1.0)
    new = theta - step
    if noise > 0:
        new = new + noise * torch.randn(new.shape, generator=generator, dtype=new.dtype)
    return new


def run_method(
    loss: LossFn,
    starts: Tensor,
    method: str,
    lr: float,
    steps: int,
    noise: float = 0.0,
    damping: float = 0.0,
    seed: int = 0,
    blowup: float = 1e6,
    max_step: float | None = None,
    derivatives: Derivatives | None = None,
) -> Runs:
    """Run ``method`` for ``steps`` steps from every row of ``starts`` [B, P] (or one start [P]).

    ``noise`` adds N(0, noise^2) to every coordinate after each step (perturbed gradient descent,
    which kicks a run off the saddle's stable manifold). A run whose parameters or cost become
    non-finite or exceed ``blowup`` in size is frozen at NaN from then on and marked diverged.
    ``max_step`` caps the length of each step (a crude trust region for Newton-type steps far from
    the quadratic regime). ``derivatives(thetas) -> (grads, hessians)`` may supply batched exact
    derivatives (then ``loss`` must accept a batch [B, P] too); by default they come from
    ``torch.func`` (vmap of grad and hessian), which works for any pure J(theta).
    """
    method = _check_method(method)
    starts, derivatives, batch_loss = _prepare_run(
        loss, starts, method, lr, steps, noise, damping, blowup, max_step, derivatives)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    theta = starts.detach().clone()
    batch = theta.shape[0]
    alive = torch.ones(batch, dtype=torch.bool)
    diverged_at = torch.full((batch,), -1, dtype=torch.long)
    with torch.no_grad():
        costs = [batch_loss(theta)]
    thetas = [theta.clone()]
    for t in range(1, steps + 1):
        new = _method_step(theta, alive, derivatives, method, lr, damping, max_step, noise, generator)
        with torch.no_grad():
            cost = batch_loss(torch.where(alive[:, None], new, torch.zeros_like(new)))
        bad = alive & (~torch.isfinite(new).all(-1) | (new.abs().amax(-1) > blowup)
                       | ~torch.isfinite(cost) | (cost.abs() > blowup**2))
        diverged_at[bad] = t
        alive = alive & ~bad
        theta = torch.where(alive[:, None], new.detach(), torch.full_like(new, float("nan")))
        thetas.append(theta.clone())
        costs.append(torch.where(alive, cost.detach(), torch.full_like(cost, float("nan"))))
    return Runs(torch.arange(steps + 1), torch.stack(costs), params=torch.stack(thetas), diverged_at=diverged_at,
                settings={"method": method, "lr": float(lr)})


def escape_steps(distances: Tensor, radius: float) -> Tensor:
    """First step at which each run's distance from the saddle reaches ``radius`` (-1: never): [B]."""
    check_tensor("distances", distances, ndim=2, finite=False)
    check_positive("radius", radius)
    out = (distances >= radius) | ~torch.isfinite(distances)
    first = out.to(torch.int64).argmax(dim=0)
    return torch.where(out.any(dim=0), first, torch.full_like(first, -1))


def predicted_escape_steps(delta: float | np.ndarray, lr: float, curvature: float, radius: float = 1.0) -> np.ndarray:
    """Steps for GD to grow a component delta along curvature -|curvature| to ``radius``.

    Along an eigenvector with eigenvalue -c, GD multiplies the component by (1 + eps c) per
    step, so it needs ceil(log(radius / delta) / log(1 + eps c)) steps: linear in log(1/delta).
    """
    d = check_real_array("delta", delta)
    if (d <= 0).any():
        raise ValueError("delta must hold finite numbers > 0")
    check_positive("lr", lr)
    check_positive("curvature", curvature)
    check_positive("radius", radius)
    if (d > radius).any():
        raise ValueError(f"delta must be <= radius ({radius}): a start farther out has already escaped")
    return np.ceil(np.log(radius / d) / np.log1p(lr * curvature))


@dataclass(frozen=True)
class SaddleProblem:
    """A cost J(theta) with a known non-degenerate saddle at ``saddle`` and its Hessian there."""

    loss: LossFn
    saddle: Tensor
    hessian_eigenvalues: Tensor  # ascending

    @property
    def most_negative_curvature(self) -> float:
        return float(self.hessian_eigenvalues[0])


def tanh_saddle_problem(width: int = 3, n_samples: int = 64, seed: int = 0) -> SaddleProblem:
    """A width-``width`` one-hidden-layer tanh net without biases, fitting a random linear teacher.

    At theta = 0 the hidden units output tanh(0) = 0 and the output weights are 0, so every
    gradient vanishes: an exact critical point (targets.md sec. 1; Goodfellow et al. 2015). The
    Hessian there is [[0, C], [C^T, 0]] with C built from E[y x^T], so its eigenvalues are
    +-(singular values of C): a saddle, non-degenerate when input, hidden and output widths are
    equal and E[y x^T] has full rank, which is why Newton can converge to it.
    """
    check_positive_int("width", width)
    check_positive_int("n_samples", n_samples, minimum=2)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    x = torch.randn(n_samples, width, generator=generator, dtype=torch.float64)
    # a well-conditioned random teacher: random rotations around singular values 2 ... 1
    q, _ = torch.linalg.qr(torch.randn(width, width, generator=generator, dtype=torch.float64))
    r, _ = torch.linalg.qr(torch.randn(width, width, generator=generator, dtype=torch.float64))
    teacher = q @ torch.diag(torch.linspace(2.0, 1.0, width, dtype=torch.float64)) @ r.T
    y = x @ teacher.T
    net = mlp([width, width, width], activation="tanh", seed=seed, bias=False, dtype=torch.float64)
    loss = functional_loss(net, squared_error, x, y)
    saddle = torch.zeros(n_params(net), dtype=torch.float64)
    eigenvalues = hessian_eigenvalues(loss, saddle)
    return SaddleProblem(loss, saddle, eigenvalues)


def random_starts(center: Tensor, distances: Sequence[float], n_per_distance: int = 1, seed: int = 0) -> Tensor:
    """Starts at the given distances from ``center`` in random directions: [len(distances) * n, P]."""
    check_tensor("center", center, ndim=1)
    check_real_array("distances", distances, ndim=1)
    d = torch.as_tensor(list(distances), dtype=center.dtype)
    if d.dim() != 1 or d.numel() == 0 or not bool(torch.isfinite(d).all()) or bool((d <= 0).any()):
        raise ValueError("distances must be a non-empty list of finite numbers > 0")
    check_positive_int("n_per_distance", n_per_distance)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    directions = torch.randn(d.numel() * n_per_distance, center.numel(), generator=generator, dtype=center.dtype)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    return center + d.repeat_interleave(n_per_distance)[:, None] * directions


def fit_log_slope(delta: np.ndarray, steps: np.ndarray) -> float:
    """Least-squares slope of escape steps against log(1/delta) (steps per e-fold of distance)."""
    d = check_real_array("delta", delta, ndim=1)
    s = check_real_array("steps", steps, ndim=1)
    if (d <= 0).any():
        raise ValueError("delta must hold numbers > 0")
    if d.shape != s.shape or d.ndim != 1 or d.size < 2:
        raise ValueError("delta and steps must be 1-D of equal length >= 2")
    if (s < 0).any():
        raise ValueError("steps has runs that never escaped (-1): give them more steps")
    slope, _ = np.polyfit(np.log(1 / d), s, 1)
    return float(slope)


# ----------------------------------------------------------------------------- plots


def plot_saddle_figure(eigenvalues: Sequence[float]):
    """Figure 4.5: the surface x1^2 - x2^2, its two cross-sections, and the Hessian's eigenvalues."""
    grid = np.linspace(-1.5, 1.5, 41)
    x1, x2 = np.meshgrid(grid, grid)
    fig = new_figure((10, 3.4))
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    ax.plot_surface(x1, x2, x1**2 - x2**2, cmap="coolwarm", linewidth=0, alpha=0.9)
    ax.plot(grid, 0 * grid, grid**2, color="C0", lw=2.5)
    ax.plot(0 * grid, grid, -(grid**2), color="C3", lw=2.5)
    ax.scatter([0], [0], [0], color="k", s=30)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("$f(x) = x_1^2 - x_2^2$")
    ax.view_init(elev=25, azim=-60)
    ax2 = fig.add_subplot(1, 3, 2)
    ax2.plot(grid, grid**2, color="C0", label="along $x_1$ ($x_2 = 0$): a minimum")
    ax2.plot(grid, -(grid**2), color="C3", label="along $x_2$ ($x_1 = 0$): a maximum")
    ax2.plot([0], [0], "ko")
    ax2.set_xlabel("position along the cross-section")
    ax2.set_ylabel("f")
    ax2.set_title("two cross-sections through the saddle")
    ax2.legend(fontsize=8, loc="lower center")
    ax3 = fig.add_subplot(1, 3, 3)
    lam = np.asarray(eigenvalues, dtype=float)
    ax3.bar(range(lam.size), lam, color=["C3" if v < 0 else "C0" for v in lam])
    ax3.axhline(0, color="k", lw=0.8)
    ax3.set_xticks(range(lam.size), [f"$\\lambda_{i + 1}$ = {v:+.1f}" for i, v in enumerate(lam)])
    ax3.set_title("Hessian eigenvalues at the saddle")
    fig.tight_layout()
    return fig


def teacher_student_problem(width: int = 3, n_samples: int = 64, seed: int = 0) -> LossFn:
    """Squared error of a width-``width`` one-hidden-layer tanh student fitting a random tanh teacher.

    The teacher has the student's architecture, so global minima (cost 0) exist, and the cost
    has critical points of every kind: a small network on which critical points can be found.
    """
    check_positive_int("width", width)
    check_positive_int("n_samples", n_samples, minimum=2)
    generator = torch.Generator().manual_seed(10_000 + check_seed("seed", seed))
    x = torch.randn(n_samples, width, generator=generator, dtype=torch.float64)
    w1 = torch.randn(width, width, generator=generator, dtype=torch.float64)
    w2 = torch.randn(width, width, generator=generator, dtype=torch.float64)
    y = torch.tanh(x @ w1.T) @ w2.T
    net = mlp([width, width, width], activation="tanh", seed=seed, bias=False, dtype=torch.float64)
    return functional_loss(net, squared_error, x, y)


@dataclass(frozen=True)
class CriticalPointSearch:
    """Where searches for critical points ended: residual gradient norm, cost and index per run."""

    thetas: Tensor  # [B, P]
    grad_norm: np.ndarray
    cost: np.ndarray
    index_fraction: np.ndarray  # alpha: fraction of Hessian eigenvalues below -1e-8 max|lambda|
    tol: float

    @property
    def converged(self) -> np.ndarray:
        """Runs whose gradient norm fell below ``tol``: only these end at critical points."""
        return self.grad_norm < self.tol

    def distinct(self, cost_tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
        """(cost, index fraction) of the converged end points, one per distinct pair.

        Points equal up to the network's symmetries (hidden-unit permutations and sign flips)
        have the same cost and index fraction and are counted once.
        """
        cost, index = self.cost[self.converged], self.index_fraction[self.converged]
        order = np.lexsort((index, cost))
        keep: list[int] = []
        for k in order:
            if not keep or abs(cost[k] - cost[keep[-1]]) > cost_tol or index[k] != index[keep[-1]]:
                keep.append(k)
        return cost[keep], index[keep]

    def cost_index_correlation(self) -> float:
        """Spearman rank correlation of cost and index fraction over the distinct critical points found."""
        from scipy.stats import spearmanr  # scipy comes with scikit-learn

        cost, index = self.distinct()
        if cost.size < 3:
            raise ValueError(f"need at least 3 distinct critical points, found {cost.size}")
        return float(spearmanr(cost, index)[0])


_LINE_SEARCH = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0)


def critical_point_search(
    loss: LossFn,
    starts: Tensor,
    warmup_steps: Tensor,
    lr: float = 0.05,
    newton_steps: int = 40,
    tol: float = 1e-8,
) -> CriticalPointSearch:
    """Find critical points of a network the way Dauphin et al. (2014) did, batched over runs.

    Run b takes ``warmup_steps[b]`` gradient-descent steps (a point along a training trajectory),
    then ``newton_steps`` Newton steps with the Hessian's pseudo-inverse and a line search that
    keeps the step length (1, 1/2, ..., or 0) giving the smallest gradient norm, so that it heads
    for the nearest critical point of any index. The residual gradient norm says whether one was
    reached: end points above ``tol`` are not critical points (Frye et al. 2021).
    """
    check_callable("loss", loss)
    check_tensor("starts", starts, ndim=2)
    if not isinstance(warmup_steps, Tensor) or warmup_steps.dim() != 1 or warmup_steps.shape[0] != starts.shape[0]:
        raise ValueError("warmup_steps must be a 1-D tensor with one entry per start")
    if warmup_steps.dtype not in (torch.int32, torch.int64) or bool((warmup_steps < 0).any()):
        raise ValueError("warmup_steps must hold integers >= 0")
    check_positive("lr", lr)
    check_positive_int("newton_steps", newton_steps)
    check_positive("tol", tol)
    grad_fn = torch.func.vmap(torch.func.grad(loss))
    hess_fn = torch.func.vmap(torch.func.hessian(loss))
    batch = starts.shape[0]
    longest = int(warmup_steps.max())
    theta = starts.detach().clone()
    if longest > 0:
        warm = run_method(loss, starts, "gradient descent", lr, longest)
        theta = warm.params[warmup_steps, torch.arange(batch)]
        theta = torch.where(torch.isfinite(theta), theta, starts)
    alphas = torch.tensor(_LINE_SEARCH, dtype=theta.dtype)
    for _ in range(newton_steps):
        direction = _step_direction("Newton", grad_fn(theta), hess_fn(theta), 0.0)
        candidates = theta[:, None, :] - alphas[None, :, None] * direction[:, None, :]
        norms = grad_fn(candidates.reshape(-1, theta.shape[-1])).norm(dim=-1).reshape(batch, -1)
        norms = torch.where(torch.isfinite(norms), norms, torch.full_like(norms, float("inf")))
        theta = candidates[torch.arange(batch), norms.argmin(dim=-1)]
    grad_norm = grad_fn(theta).norm(dim=-1)
    lam = torch.linalg.eigvalsh(hess_fn(theta))
    scale = lam.abs().amax(dim=-1, keepdim=True).clamp_min(1e-300)
    with torch.no_grad():
        cost = torch.func.vmap(loss)(theta)
    return CriticalPointSearch(
        thetas=theta,
        grad_norm=grad_norm.numpy(),
        cost=cost.numpy(),
        index_fraction=(lam < -1e-8 * scale).to(torch.float64).mean(dim=-1).numpy(),
        tol=float(tol),
    )


# ----------------------------------------------------------------------------- the page's experiments
# chapters/saddle_points.md and tests/test_claims_saddle_points.py both run these, with these settings.



def toy_escape(lr: float, setup: SaddlePointsSetup = SADDLE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent from (0.5, delta) on x1^2 - x2^2: measured and predicted steps to get 1 away."""
    deltas = np.array(setup.toy_escape_deltas)
    starts = torch.tensor([[0.5, d] for d in deltas], dtype=torch.float64)
    run = run_method(saddle_cost, starts, "gradient descent", lr, setup.toy_escape_steps, derivatives=saddle_derivatives)
    measured = escape_steps(run.distance_to(torch.zeros(2, dtype=torch.float64)), 1.0).numpy()
    return measured, predicted_escape_steps(deltas, lr, 2.0)


def scaled_saddle(curvature: float) -> tuple[LossFn, Derivatives]:
    """f(x) = x1^2 - c x2^2 (Hessian diag(2, -2c)) and its exact batched derivatives."""
    check_positive("curvature", curvature)
    c = float(curvature)

    def cost(theta: Tensor) -> Tensor:
        return theta[..., 0] ** 2 - c * theta[..., 1] ** 2

    def derivatives(theta: Tensor) -> tuple[Tensor, Tensor]:
        grad = torch.stack([2 * theta[:, 0], -2 * c * theta[:, 1]], dim=-1)
        hess = torch.diag(torch.tensor([2.0, -2.0 * c], dtype=theta.dtype)).expand(theta.shape[0], 2, 2)
        return grad, hess

    return cost, derivatives




def escape_by_curvature(method: str, setup: SaddlePointsSetup = SADDLE_POINTS) -> np.ndarray:
    """Steps ``method`` needs to get 1 away from the saddle of x1^2 - c x2^2, per c (-1: never).

    Gradient descent multiplies x2 by 1 + 2 eps c per step, so it is slow where the negative
    curvature is weak; saddle-free Newton (no damping) multiplies it by 1 + eps whatever c is.
    """
    method = _check_method(method)
    start = torch.tensor([[0.5, setup.curvature_escape_delta]], dtype=torch.float64)
    steps = []
    for c in setup.curvature_escape_curvatures:
        cost, derivatives = scaled_saddle(c)
        run = run_method(cost, start, method, setup.curvature_escape_lr, setup.curvature_escape_steps, derivatives=derivatives)
        steps.append(int(escape_steps(run.distance_to(torch.zeros(2, dtype=torch.float64)), 1.0)[0]))
    return np.array(steps)




def network_saddle_runs(seed: int, setup: SaddlePointsSetup = SADDLE_POINTS) -> tuple[SaddleProblem, dict[str, Runs]]:
    """The three methods from 9 starts near the saddle theta = 0 of the 3-3-3 tanh net ``seed``."""
    net = tanh_saddle_problem(width=setup.net_width, seed=seed)
    starts = random_starts(net.saddle, setup.net_start_distances, n_per_distance=setup.net_starts_per_distance, seed=seed)
    return net, {m: run_method(net.loss, starts, m, **kw) for m, kw in setup.net_methods.items()}




@dataclass(frozen=True)
class NetworkEscape:
    """Gradient-descent escape steps against the start's distance delta, the fitted and predicted slopes."""

    deltas: np.ndarray
    steps: np.ndarray
    slope: float  # steps per e-fold of 1/delta, fitted
    theory: float  # 1 / log(1 + eps |lambda_min|)


def network_escape(net: SaddleProblem, seed: int, setup: SaddlePointsSetup = SADDLE_POINTS) -> NetworkEscape:
    """Gradient descent from random starts at the distances `setup.net_escape_deltas` from ``net``'s saddle."""
    deltas = np.array(setup.net_escape_deltas)
    run = run_method(net.loss, random_starts(net.saddle, deltas, seed=seed), "gradient descent",
                     setup.net_escape_lr, setup.net_escape_steps)
    steps = escape_steps(run.distance_to(net.saddle), setup.net_escape_radius).numpy()
    theory = 1 / math.log1p(setup.net_escape_lr * abs(net.most_negative_curvature))
    return NetworkEscape(deltas, steps, fit_log_slope(deltas, steps) if (steps >= 0).all() else float("nan"), theory)




def teacher_search(teacher: int, setup: SaddlePointsSetup = SADDLE_POINTS) -> CriticalPointSearch:
    """The page's 100 critical-point searches on the teacher-student problem ``teacher``."""
    loss = teacher_student_problem(width=setup.search_width, seed=teacher)
    generator = torch.Generator().manual_seed(teacher)
    n_params = 2 * setup.search_width * setup.search_width
    starts = random_starts(torch.zeros(n_params, dtype=torch.float64), [1.0] * setup.search_runs, seed=teacher)
    return critical_point_search(loss, starts, torch.randint(0, setup.search_max_warmup, (setup.search_runs,), generator=generator))
