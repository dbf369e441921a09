"""What the students found: spurious or global, distinct minima, families, curvature, valleys.

Everything here takes the end points of `teacher_student.descend` (or one minimum) and answers the
essay's three questions with numbers: how many distinct minima, how good (cost against the global
0), how flat (the Hessian's extremes and trace), and whether two minima are separate valleys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .._validate import check_positive, check_positive_int, check_tensor
from ..runs import Runs
from .config import MANY_MINIMA, ManyMinimaSetup
from .teacher_student import (hessians, newton_polish, population_cost, population_gradient, teacher,
                              xavier_students, descend)

__all__ = ["PAPER_RATES", "PAPER_OVER", "wilson_interval", "Family", "WidthResult", "run_width",
           "find_families", "distinct_points", "global_curvature", "output_weight_cost", "rescaling",
           "swap_coordinates", "line_and_curve", "align_units", "distinct_copy", "line_barriers"]

# Safran & Shamir (2018), result files of their code (shared/targets.md R2.2): runs out of 1000
# that ended at a spurious minimum, and the families they certified, for k = n.
PAPER_RATES: dict[int, tuple[int, int]] = {
    6: (3, 1), 7: (55, 1), 8: (126, 1), 9: (218, 2), 10: (346, 2), 11: (455, 3), 12: (585, 6),
    13: (730, 4), 14: (736, 8), 15: (803, 9), 16: (851, 10), 17: (897, 10), 18: (900, 11),
    19: (934, 28), 20: (949, 21)}
# ... and for a student with one unit more, n = k + 1 (no result file, presumably 0, for the rest)
PAPER_OVER: dict[int, int] = {8: 1, 10: 1, 11: 1, 12: 3, 13: 15, 14: 55, 15: 102, 16: 180, 17: 233,
                              18: 369, 19: 491}


def wilson_interval(successes: int, trials: int, z: float = 2.576) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (z = 2.576: 99 %).

    Parameters
    ----------
    successes, trials : int
    z : float

    Returns
    -------
    (float, float)
        The interval's ends, in [0, 1].

    Raises
    ------
    TypeError, ValueError
        If ``trials`` < 1, ``successes`` is not an int in [0, trials], or ``z`` <= 0.

    References
    ----------
    wilson1927probable

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(50, 100, z=1.96)]
    [0.404, 0.596]
    """
    trials = check_positive_int("trials", trials)
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise ValueError(f"successes must be an int in [0, trials], got {successes!r}")
    z = check_positive("z", z)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def distinct_points(W: Tensor, tol: float) -> int:
    """How many of the students are different minima once the order of their units is ignored.

    The units of each student are sorted by their projection on a fixed generic direction (a
    canonical order), then students closer than ``tol`` count once.

    Parameters
    ----------
    W : Tensor, shape (M, n, d)
    tol : float

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``tol`` <= 0.)

    Examples
    --------
    >>> W = torch.eye(3, dtype=torch.float64)[None].repeat(2, 1, 1)
    >>> distinct_points(torch.stack([W[0], W[1][[2, 0, 1]]]), 1e-6)   # one minimum, units shuffled
    1
    """
    check_tensor("W", W, ndim=3)
    tol = check_positive("tol", tol)
    direction = torch.cos(torch.arange(1, W.shape[-1] + 1, dtype=W.dtype) * 1.234567)
    order = (W @ direction).argsort(dim=-1)
    canonical = torch.take_along_dim(W, order[..., None], dim=1).flatten(1)
    close = torch.cdist(canonical, canonical) < tol
    return int((~close.tril(-1).any(1)).sum())


@dataclass(frozen=True)
class Family:
    """Minima with one cost and one Hessian spectrum (copies of one minimum under the symmetries)."""

    cost: float                 # F after the Newton polish
    runs: int                   # how many runs ended in this family
    points: int                 # how many distinct points (up to the order of the units) they reached
    grad: float                 # 2 pi max_i |grad_i F| after the polish
    eigenvalues: Tensor         # the Hessian's spectrum, ascending
    W: Tensor                   # the polished representative, (n, d)

    @property
    def is_minimum(self) -> bool:
        """All Hessian eigenvalues > 0: a strict local minimum."""
        return bool(self.eigenvalues[0] > 0)


def find_families(W: Tensor, V: Tensor, setup: ManyMinimaSetup = MANY_MINIMA) -> list[Family]:
    """Group converged end points by cost, polish one of each with Newton, check its Hessian.

    Parameters
    ----------
    W : Tensor, shape (M, n, d)
        Converged end points.
    V : Tensor, shape (k, d)

    Returns
    -------
    list of Family, by increasing cost

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (A ``setup`` that is not a ManyMinimaSetup is a TypeError.)

    Examples
    --------
    >>> V = teacher(3)
    >>> [round(f.cost, 9) for f in find_families(V[None] + 1e-5, V)]
    [0.0]
    """
    check_tensor("W", W, ndim=3)
    if not isinstance(setup, ManyMinimaSetup):
        raise TypeError(f"setup must be a ManyMinimaSetup, got {type(setup).__name__}")
    cost = population_cost(W, V)
    key = torch.round(cost / setup.same_cost)
    families = []
    for value in key.unique():
        members = W[key == value]
        best = members[population_gradient(members, V).flatten(1).norm(dim=-1).argmin()][None]
        polished = newton_polish(best, V, setup.newton_iterations)
        grad = 2 * math.pi * population_gradient(polished, V).norm(dim=-1).amax()
        families.append(Family(float(population_cost(polished, V)), len(members),
                               distinct_points(members, setup.same_point), float(grad),
                               torch.linalg.eigvalsh(hessians(polished, V)[0]), polished[0]))
    return sorted(families, key=lambda f: f.cost)


@dataclass(frozen=True)
class WidthResult:
    """The runs of one (k, n) and what they found (a table of minima, not a record over time)."""

    k: int
    n: int
    runs: Runs                  # the descent, params [T, R, n d]
    W: Tensor                   # [R, n, d] the end points (Newton-finished where GD was still settling)
    cost: Tensor                # [R] final F
    grad: Tensor                # [R] final 2 pi max_i |grad_i F|
    spurious: Tensor            # [R] converged with F >= spurious_cost at a strict minimum
    unfinished: Tensor          # [R] not converged (gradient above grad_tol)
    families: list[Family]      # the spurious families (strict minima by their Hessian)
    saddle_runs: int = 0        # converged runs above spurious_cost whose Hessian is not positive definite

    @property
    def rate(self) -> float:
        """The fraction of runs that ended at a spurious minimum."""
        return float(self.spurious.double().mean())


def run_width(k: int, n: int, seed: int, setup: ManyMinimaSetup = MANY_MINIMA) -> WidthResult:
    """Safran & Shamir's experiment for one teacher width k and student width n, ``setup.restarts`` runs.

    Gradient descent (`descend`, the setup's steps); runs that end above ``spurious_cost`` with a
    gradient still above ``grad_tol`` are finished with `newton_polish`; converged runs above
    ``spurious_cost`` are grouped into families (`find_families`), and a run counts as spurious
    when its family's Hessian is positive definite.

    Parameters
    ----------
    k, n : int
        Teacher and student units (d = k).
    seed : int
        Seeds the starts (each (k, n) draws its own from it).
    setup : ManyMinimaSetup

    Returns
    -------
    WidthResult

    Raises
    ------
    TypeError
        If ``seed`` is not an int or ``setup`` not a ManyMinimaSetup.
    ValueError
        If ``k`` or ``n`` < 1.

    References
    ----------
    safran2018spurious

    Examples
    --------
    >>> from dataclasses import replace
    >>> r = run_width(3, 3, seed=0, setup=replace(MANY_MINIMA, restarts=8, steps=300, slow_steps=100))
    >>> r.cost.shape, r.rate
    (torch.Size([8]), 0.0)
    """
    check_positive_int("k", k)
    check_positive_int("n", n)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not isinstance(setup, ManyMinimaSetup):
        raise TypeError(f"setup must be a ManyMinimaSetup, got {type(setup).__name__}")
    V = teacher(k)
    W0 = xavier_students(setup.restarts, n, k, seed=1000 * seed + 10 * k + (n - k))
    runs = descend(W0, V, **setup.descent_kwargs())
    W = runs.final_params.reshape(-1, n, k).clone()
    stuck = (runs.grad_norm[-1] >= setup.grad_tol) & (runs.final_loss >= setup.spurious_cost)
    if bool(stuck.any()):  # runs that settle slowly into a shallow minimum: finish them with Newton
        W[stuck] = newton_polish(W[stuck], V, setup.newton_iterations)
    cost = population_cost(W, V)
    grad = 2 * math.pi * population_gradient(W, V).norm(dim=-1).amax(-1)
    converged = grad < setup.grad_tol
    above = converged & (cost >= setup.spurious_cost)
    found = find_families(W[above], V, setup) if bool(above.any()) else []
    minima = [f for f in found if f.is_minimum]
    keys = torch.tensor([round(f.cost / setup.same_cost) for f in minima], dtype=cost.dtype)
    spurious = above & torch.isin(torch.round(cost / setup.same_cost), keys)
    return WidthResult(k, n, runs, W, cost, grad, spurious, ~converged, minima,
                       sum(f.runs for f in found if not f.is_minimum))


def global_curvature(k: int) -> Tensor:
    """The Hessian spectrum of F at the global minimum W = V = I_k, ascending.

    Parameters
    ----------
    k : int

    Returns
    -------
    Tensor, shape (k^2,)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an int >= 1.

    Examples
    --------
    >>> bool(global_curvature(4)[0] > 0)
    True
    """
    V = teacher(k)
    return torch.linalg.eigvalsh(hessians(V[None].clone(), V)[0])


def output_weight_cost(theta: Tensor, V: Tensor) -> Tensor:
    """F for a student with free output weights, x -> sum_i a_i relu(w_i . x); theta = (W.flatten(), a).

    With a = 1 it is `population_cost`; scaling a unit's w_i by alpha > 0 and its a_i by 1/alpha
    leaves the function, hence F, unchanged (the ReLU rescaling of the local-minima page).

    Parameters
    ----------
    theta : Tensor, shape (n d + n,)
    V : Tensor, shape (k, d)

    Returns
    -------
    Tensor, shape ()

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if theta's length is not a multiple of d + 1, or an output weight is <= 0.)

    Examples
    --------
    >>> V = teacher(2)
    >>> float(output_weight_cost(torch.cat([V.flatten(), torch.ones(2, dtype=V.dtype)]), V))
    0.0
    """
    check_tensor("theta", theta, ndim=1)
    check_tensor("V", V, ndim=2)
    d = V.shape[1]
    if theta.numel() % (d + 1):
        raise ValueError(f"theta must hold n (d + 1) entries with d = {d}, got {theta.numel()}")
    n = theta.numel() // (d + 1)
    W, a = theta[: n * d].reshape(n, d), theta[n * d:]
    scaled = W * a.abs()[:, None]            # a_i relu(w_i . x) = sign(a_i) relu(|a_i| w_i . x)
    from .teacher_student import _smooth_cost
    if bool((a <= 0).any()):
        raise ValueError("the output weights must be > 0 (the rescaling keeps their sign)")
    return _smooth_cost(scaled, V)


def rescaling(W: Tensor, V: Tensor, alphas, unit: int = 0) -> dict[str, Tensor]:
    """Dinh et al.'s caveat at a minimum W: rescale one unit (w -> alpha w, a -> a / alpha).

    Parameters
    ----------
    W : Tensor, shape (n, d)
        A critical point of F with output weights 1.
    V : Tensor, shape (k, d)
    alphas : sequence of float > 0
    unit : int

    Returns
    -------
    dict of str to Tensor, each of shape (len(alphas),)
        ``cost`` (unchanged), ``top`` and ``trace`` of the Hessian in (W, a) (they change),
        ``negative`` (its count of eigenvalues below -1e-9: unchanged, Sylvester), ``invariant``
        (the top eigenvalue in W after normalizing every output weight back to 1: unchanged).

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if an alpha is not a finite number > 0, or ``unit`` is out of range.)

    References
    ----------
    dinh2017sharp

    Examples
    --------
    >>> V = teacher(2)
    >>> out = rescaling(V.clone(), V, [0.5, 1.0, 2.0])
    >>> bool(out["top"][0] != out["top"][1]), bool((out["invariant"] - out["invariant"][1]).abs().max() < 1e-9)
    (True, True)
    """
    check_tensor("W", W, ndim=2)
    try:
        alphas = torch.as_tensor(alphas, dtype=W.dtype)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"alphas must be a sequence of numbers, got {alphas!r:.40}") from error
    if alphas.dim() != 1 or alphas.numel() == 0 or not bool((alphas > 0).all() & torch.isfinite(alphas).all()):
        raise ValueError(f"alphas must be a non-empty 1-D sequence of finite numbers > 0, got {alphas!r:.60}")
    if not isinstance(unit, int) or not 0 <= unit < W.shape[0]:
        raise ValueError(f"unit must be an int in [0, {W.shape[0]}), got {unit!r}")
    out = {name: [] for name in ("cost", "top", "trace", "negative", "invariant")}
    for alpha in alphas:
        scale = torch.ones(W.shape[0], dtype=W.dtype)
        scale[unit] = alpha
        theta = torch.cat([(W * scale[:, None]).flatten(), 1 / scale])
        H = torch.func.hessian(lambda t: output_weight_cost(t, V))(theta)
        eig = torch.linalg.eigvalsh(H)
        normalized = (W * scale[:, None]) / scale[:, None]      # a_i w_i: output weights back to 1
        out["cost"].append(output_weight_cost(theta, V))
        out["top"].append(eig[-1])
        out["trace"].append(eig.sum())
        out["negative"].append((eig < -1e-9).sum().to(W.dtype))
        out["invariant"].append(torch.linalg.eigvalsh(hessians(normalized[None], V)[0])[-1])
    return {name: torch.stack(values) for name, values in out.items()}


def swap_coordinates(W: Tensor, i: int, j: int) -> Tensor:
    """W with input coordinates i and j exchanged: with V = I the same cost, another point.

    Parameters
    ----------
    W : Tensor, shape (..., d)
    i, j : int
        Coordinates in [0, d).

    Returns
    -------
    Tensor, the shape of W

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``i`` or ``j`` is not a coordinate index.)

    Examples
    --------
    >>> swap_coordinates(torch.tensor([[1.0, 2.0]]), 0, 1).tolist()
    [[2.0, 1.0]]
    """
    check_tensor("W", W)
    for name, value in (("i", i), ("j", j)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < W.shape[-1]:
            raise ValueError(f"{name} must be an int in [0, {W.shape[-1]}), got {value!r}")
    order = list(range(W.shape[-1]))
    order[i], order[j] = order[j], order[i]
    return W[..., order]


def line_and_curve(A: Tensor, B: Tensor, V: Tensor, points: int = 21, steps: int = 400,
                   lr: float = 0.5) -> dict[str, Tensor]:
    """The cost on the straight line from minimum A to minimum B and on a trained Bezier curve.

    The curve phi(t) = (1 - t)^2 A + 2 t (1 - t) M + t^2 B starts with M at the midpoint and M
    follows gradient descent on the mean of F over ``points`` evenly spaced t (Garipov et al.'s
    objective, with a fixed grid of t instead of a random t per step).

    Parameters
    ----------
    A, B : Tensor, shape (n, d)
    V : Tensor, shape (k, d)
    points, steps : int
    lr : float

    Returns
    -------
    dict
        ``t`` [points], ``line`` and ``curve`` [points] (F), ``line_barrier`` and
        ``curve_barrier`` (max F on the path minus the larger end's F).

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``points`` < 3, ``steps`` < 1 or ``lr`` <= 0.)

    References
    ----------
    garipov2018loss, draxler2018essentially

    Examples
    --------
    >>> V = teacher(2)
    >>> out = line_and_curve(V, swap_coordinates(V, 0, 1), V, points=5, steps=10)
    >>> bool(out["line_barrier"] > 0), out["t"].shape
    (True, torch.Size([5]))
    """
    check_tensor("A", A, ndim=2)
    check_tensor("B", B, ndim=2)
    points, steps = check_positive_int("points", points, minimum=3), check_positive_int("steps", steps)
    lr = check_positive("lr", lr)
    t = torch.linspace(0, 1, points, dtype=A.dtype)[:, None, None]
    line = population_cost((1 - t) * A + t * B, V)
    M = 0.5 * (A + B)
    for _ in range(steps):
        grad = population_gradient((1 - t) ** 2 * A + 2 * t * (1 - t) * M + t ** 2 * B, V)
        M = M - lr * (2 * t * (1 - t) * grad).mean(0)
    curve = population_cost((1 - t) ** 2 * A + 2 * t * (1 - t) * M + t ** 2 * B, V)
    ends = torch.maximum(line[0], line[-1])
    return dict(t=t.flatten(), line=line, curve=curve, line_barrier=line.max() - ends,
                curve_barrier=curve.max() - ends)


def align_units(A: Tensor, B: Tensor) -> Tensor:
    """B with its units (rows) reordered to lie closest to A's (the permutation symmetry removed).

    Parameters
    ----------
    A, B : Tensor, shape (n, d)

    Returns
    -------
    Tensor, shape (n, d)
        The rows of B in the order that minimizes the summed squared distance to A's rows
        (Hungarian algorithm, scipy's ``linear_sum_assignment``).

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if A and B differ in shape.)

    Examples
    --------
    >>> A = torch.eye(3)
    >>> bool(torch.equal(align_units(A, A[[2, 0, 1]]), A))
    True
    """
    from scipy.optimize import linear_sum_assignment  # scipy comes with scikit-learn

    check_tensor("A", A, ndim=2)
    check_tensor("B", B, ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have one shape, got {tuple(A.shape)} and {tuple(B.shape)}")
    _, columns = linear_sum_assignment(torch.cdist(A, B).pow(2).numpy())
    return B[torch.as_tensor(columns)]


def distinct_copy(W: Tensor, tol: float) -> Tensor:
    """Another minimum of the same cost: W with two input coordinates swapped, its units aligned to W.

    With the teacher V = I, exchanging two input coordinates maps a minimum to a minimum of equal
    cost; the first swap (0, j) whose aligned result differs from W by more than ``tol`` is returned.

    Parameters
    ----------
    W : Tensor, shape (n, d)
    tol : float

    Returns
    -------
    Tensor, shape (n, d)

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``tol`` <= 0, or no coordinate swap moves W by more than ``tol``.)

    Examples
    --------
    >>> W = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> distinct_copy(W, 1e-6).tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """
    check_tensor("W", W, ndim=2)
    tol = check_positive("tol", tol)
    for j in range(1, W.shape[-1]):
        other = align_units(W, swap_coordinates(W, 0, j))
        if float((other - W).norm()) > tol:
            return other
    raise ValueError(f"every coordinate swap gives W back within tol = {tol}: no distinct copy")


def line_barriers(A: Tensor, Bs: Tensor, V: Tensor, points: int = 21) -> Tensor:
    """The barrier on the straight line from A to each of several points, all lines in one batch.

    Parameters
    ----------
    A : Tensor, shape (n, d)
    Bs : Tensor, shape (M, n, d)
        The other ends (align their units to A's first, `align_units`).
    V : Tensor, shape (k, d)
    points : int
        Evenly spaced t in [0, 1] on each line.

    Returns
    -------
    Tensor, shape (M,)
        max_t F((1 - t) A + t B) minus the larger of F(A) and F(B).

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf, or ``points`` < 3.

    Examples
    --------
    >>> V = teacher(2)
    >>> line_barriers(V, torch.stack([V, swap_coordinates(V, 0, 1)]), V).tolist()[0]
    0.0
    """
    check_tensor("A", A, ndim=2)
    check_tensor("Bs", Bs, ndim=3)
    if Bs.shape[1:] != A.shape:
        raise ValueError(f"Bs must have shape (M, {A.shape[0]}, {A.shape[1]}), got {tuple(Bs.shape)}")
    points = check_positive_int("points", points, minimum=3)
    t = torch.linspace(0, 1, points, dtype=A.dtype)[:, None, None, None]
    costs = population_cost(((1 - t) * A + t * Bs).flatten(0, 1), V).reshape(points, -1)
    return costs.amax(0) - torch.maximum(costs[0], costs[-1])
