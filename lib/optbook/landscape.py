"""Loss surfaces in parameter space: planes, straight lines and training paths (sec. 8.2.3, Fig. 8.2).

`loss_plane` evaluates J(center + a d1 + b d2) on a grid, `interpolate` evaluates J along the
straight line between two parameter vectors (Goodfellow, Vinyals & Saxe 2015), and
`random_directions` draws the filter-normalized directions of Li et al. (2018). `record_path`
trains a copy of a model and keeps its parameters along the way; `trajectory_plane` projects
that path onto the plane through its start and its end, the view of the book's Figure 8.2
(`trajectory_view` does all three), and `plane_hessian` gives the curvature that such a plane
shows. For the other flat regions of sec. 8.2.3: `with_hidden_bias` saturates a layer's units
and `plateau_span` measures the plateau that follows; `dense_hessian_spectrum`, `largest_gap`,
`gap_after`, `outlier_separation` and `bulk_share` describe the spectrum at the end of training
(Sagun et al. 2016, 2017).

The chapter "Figure 8.2 and other flat regions" and its claims tests share one set of settings,
`FLAT_REGIONS` (a frozen `FlatRegionsSetup`), the network builder `small_net` and the runs
`plateau_runs` and `spectrum_run`, so that each setting exists once.

Grids are evaluated in chunks: a fully batched grid is slower than a loop once the batched
intermediates outgrow the CPU cache, so the default chunk size is chosen from the size of the
intermediates of one evaluation (measured once, see `auto_chunk_size`). A plain MLP with a known
loss is evaluated as batched matrix products whose first layer is formed from precomputed pieces
(the plane is linear in the first layer's weights; see `_mlp_combinations` and `optbook.batched`),
any other model with `torch.func.vmap`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from numbers import Integral
from typing import Callable

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ._validate import check_positive, check_positive_int, check_tensor, check_vector
import math

from .batched import IN_PLACE, columnwise_loss, plain_mlp
from .data import Split
from .curvature import hessian
from .models import mlp
from .params import LossFn, _named_trainable, functional_loss, get_flat_params, unflatten
from .training import cross_entropy, squared_error

__all__ = [
    "FLAT_REGIONS",
    "FlatRegionsSetup",
    "PathRecord",
    "PlateauRuns",
    "SpectrumRun",
    "TrajectoryPlane",
    "auto_chunk_size",
    "barrier_height",
    "bulk_share",
    "dense_hessian_spectrum",
    "gap_after",
    "largest_gap",
    "outlier_separation",
    "plane_hessian",
    "plateau_runs",
    "plateau_span",
    "small_net",
    "spectrum_run",
    "with_hidden_bias",
    "interpolate",
    "loss_plane",
    "random_directions",
    "record_path",
    "trajectory_plane",
]

CACHE_BYTES = 4 << 20  # a few MiB of L2/L3: keep one chunk's intermediates below this
MIN_CHUNK, MAX_CHUNK = 8, 256  # below 8 points per call the vmap overhead dominates (measured)


def _check_loss(loss: object) -> LossFn:
    if not callable(loss):
        raise TypeError(f"loss must be callable (theta -> scalar tensor), got {type(loss).__name__}")
    return loss  # type: ignore[return-value]


def _check_chunk(chunk_size: object) -> int | None:
    if chunk_size is None:
        return None
    return check_positive_int("chunk_size", chunk_size)


class _IntermediateBytes(TorchFunctionMode):
    """Record the largest tensor that any torch call produces (the working set of one evaluation)."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, Tensor):
                self.largest = max(self.largest, t.numel() * t.element_size())
        return out


def auto_chunk_size(loss: LossFn, theta: Tensor, cache_bytes: int = CACHE_BYTES) -> int:
    """How many points to batch per vmap call so that a chunk's intermediates stay cache-sized.

    One evaluation at ``theta`` is traced for its largest intermediate tensor (an activation
    matrix, typically); the chunk holds ``cache_bytes`` worth of them, between 8 and 256 points.
    """
    _check_loss(loss)
    check_vector("theta", theta)
    check_positive_int("cache_bytes", cache_bytes)
    probe = _IntermediateBytes()
    with torch.no_grad(), probe:
        loss(theta)
    largest = max(probe.largest, theta.numel() * theta.element_size())
    return int(min(MAX_CHUNK, max(MIN_CHUNK, cache_bytes // largest)))


def _mlp_combinations(loss: LossFn, model: nn.Sequential, center: Tensor, directions: Tensor,
                      coefficients: Tensor, chunk_size: int | None) -> Tensor:
    """`_evaluate_combinations` for a plain MLP, exploiting that its first layer is linear in theta.

    The first layer's pre-activations W(c) X^T + b(c) are affine in the coefficients c, so they are
    computed once for the centre and each direction and then combined per point (one small matrix
    product for a whole chunk); the later layers run as one batched matrix product per chunk.
    Activations are kept as [points, units, examples] so that the loss's reductions over classes
    run along contiguous memory. Exact up to floating-point rounding.
    """
    x = loss.inputs
    n = x.shape[0]
    pieces = [unflatten(model, v.to(x.dtype)) for v in (center, *directions)]
    first = [p["0.weight"] @ x.T + (p["0.bias"][:, None] if "0.bias" in p else 0) for p in pieces]
    base, slopes = first[0].reshape(1, -1), torch.stack(first[1:]).flatten(1)  # [1, h*n], [k, h*n]
    layers = []  # per later layer: (centre weight, direction weights [k, out*in], centre bias, direction biases)
    for index, layer in enumerate(model):
        if index and isinstance(layer, nn.Linear):
            w = [p[f"{index}.weight"] for p in pieces]
            b = [p[f"{index}.bias"] for p in pieces] if layer.bias is not None else None
            layers.append((w[0], torch.stack(w[1:]).flatten(1), b and b[0], b and torch.stack(b[1:])))
        elif index:
            layers.append(IN_PLACE[type(layer)])
    widest = max(m.out_features for m in model if isinstance(m, nn.Linear))
    chunk = chunk_size or int(min(MAX_CHUNK, CACHE_BYTES // (n * widest * x.element_size())))
    if chunk < MIN_CHUNK:  # wide layers: batching only adds memory traffic, go point by point (measured)
        chunk = 1
    columnwise = columnwise_loss(loss.loss_fn, loss.targets)
    values = []
    with torch.no_grad():
        for start in range(0, coefficients.shape[0], chunk):
            coef = coefficients[start : start + chunk].to(x.dtype)  # [c, k]
            h = torch.addmm(base, coef, slopes).view(coef.shape[0], -1, n)
            for layer in layers:
                if callable(layer):
                    h = layer(h)
                    continue
                w0, wd, b0, bd = layer
                weight = w0 + (coef @ wd).view(-1, *w0.shape)
                if b0 is None:
                    h = torch.bmm(weight, h)
                else:
                    h = torch.baddbmm((b0 + coef @ bd)[:, :, None], weight, h)
            if columnwise is not None:
                values.append(columnwise(h))
            else:  # an unknown loss: one call per point, on outputs in the usual [examples, classes]
                values.append(torch.stack([loss.loss_fn(out.T, loss.targets) for out in h]))
    return torch.cat(values).to(center.dtype)


def _evaluate_combinations(loss: LossFn, center: Tensor, directions: Tensor, coefficients: Tensor,
                           chunk_size: int | None) -> Tensor:
    """J(center + coefficients @ directions) for each row of ``coefficients``, vmapped in chunks."""
    model = plain_mlp(loss)
    if model is not None:
        return _mlp_combinations(loss, model, center, directions, coefficients, chunk_size)
    chunk = chunk_size or auto_chunk_size(loss, center)
    batched = torch.func.vmap(loss)
    values = []
    with torch.no_grad():
        for start in range(0, coefficients.shape[0], chunk):
            points = center + coefficients[start : start + chunk] @ directions
            values.append(batched(points))
    return torch.cat(values)


def _check_coordinates(name: str, values: object, dtype: torch.dtype) -> Tensor:
    if not isinstance(values, Tensor):
        try:
            values = torch.as_tensor(values, dtype=dtype)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"{name} must be a 1-D tensor or sequence of numbers") from error
    return check_vector(name, values).to(dtype)


def loss_plane(
    loss: LossFn,
    center: Tensor,
    d1: Tensor,
    d2: Tensor,
    alphas: Tensor,
    betas: Tensor,
    chunk_size: int | None = None,
) -> Tensor:
    """The cost J(center + a d1 + b d2) on the grid ``alphas x betas``: shape [len(alphas), len(betas)].

    Evaluated without gradients, in vmapped chunks of ``chunk_size`` points (None: see
    `auto_chunk_size`). Each point is formed afresh from ``center`` (no drift from repeated
    updates) and no model is modified (Goodfellow et al. 2015; Li et al. 2018).
    """
    _check_loss(loss)
    check_vector("center", center)
    check_vector("d1", d1, size=center.numel())
    check_vector("d2", d2, size=center.numel())
    alphas = _check_coordinates("alphas", alphas, center.dtype)
    betas = _check_coordinates("betas", betas, center.dtype)
    chunk_size = _check_chunk(chunk_size)
    grid_a, grid_b = torch.meshgrid(alphas, betas, indexing="ij")
    coefficients = torch.stack([grid_a.reshape(-1), grid_b.reshape(-1)], dim=1)
    directions = torch.stack([d1.to(center.dtype), d2.to(center.dtype)])
    values = _evaluate_combinations(loss, center.detach(), directions.detach(), coefficients, chunk_size)
    return values.reshape(len(alphas), len(betas))


def interpolate(loss: LossFn, theta_a: Tensor, theta_b: Tensor, alphas: Tensor,
                chunk_size: int | None = None) -> Tensor:
    """J((1 - a) theta_a + a theta_b) for each a in ``alphas`` (Goodfellow, Vinyals & Saxe 2015)."""
    _check_loss(loss)
    check_vector("theta_a", theta_a)
    check_vector("theta_b", theta_b, size=theta_a.numel())
    alphas = _check_coordinates("alphas", alphas, theta_a.dtype)
    chunk_size = _check_chunk(chunk_size)
    direction = (theta_b - theta_a).detach()[None, :]
    return _evaluate_combinations(loss, theta_a.detach(), direction, alphas[:, None], chunk_size)


def barrier_height(path_losses: Tensor) -> float:
    """Height of the highest point of a path above the higher of its two ends (0: no barrier)."""
    check_vector("path_losses", path_losses)
    if path_losses.numel() < 2:
        raise ValueError("path_losses needs at least the two end points")
    return float(path_losses.max() - torch.maximum(path_losses[0], path_losses[-1]))


def random_directions(
    model: nn.Module, seed: int, filter_normalize: bool = True, ignore_biases: bool = True
) -> tuple[Tensor, Tensor]:
    """Two random Gaussian directions as flat vectors, filter-normalized as in Li et al. (2018).

    With ``filter_normalize`` each filter (a row of a weight matrix: one unit's incoming weights)
    of a direction is rescaled to the norm of the same filter of the model, so the plot does not
    depend on the network's scale symmetry. With ``ignore_biases`` the 1-D parameters (biases)
    get zero direction, as the paper's ``--xignore biasbn``. The model is not modified.
    """
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    named = _named_trainable(model)
    generator = torch.Generator().manual_seed(int(seed))
    directions = []
    for _ in range(2):
        pieces = []
        for _, p in named:
            w = p.detach()
            d = torch.randn(w.shape, generator=generator, dtype=torch.float64).to(w.dtype)
            if w.dim() <= 1:
                if ignore_biases:
                    d = torch.zeros_like(w)
                elif filter_normalize:
                    d = d / d.norm().clamp_min(1e-30) * w.norm()
            elif filter_normalize:
                rows_w = w.reshape(w.shape[0], -1).norm(dim=1)
                rows_d = d.reshape(d.shape[0], -1).norm(dim=1).clamp_min(1e-30)
                d = d * (rows_w / rows_d).reshape(-1, *([1] * (w.dim() - 1)))
            pieces.append(d.reshape(-1))
        directions.append(torch.cat(pieces))
    return directions[0], directions[1]


@dataclass(frozen=True)
class PathRecord:
    """Parameters of one training run every ``record_every`` steps: thetas [T, P] at ``steps`` [T]."""

    steps: Tensor
    thetas: Tensor
    step_loss: Tensor  # [n_steps] the loss of each step's (mini)batch, before its update
    step_grad_norm: Tensor  # [n_steps] the norm of that step's gradient

    @property
    def start(self) -> Tensor:
        return self.thetas[0]

    @property
    def end(self) -> Tensor:
        return self.thetas[-1]


def record_path(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    data: Split,
    *,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    record_every: int = 10,
) -> PathRecord:
    """Train a copy of ``model`` with (minibatch) SGD and keep its flat parameters along the way.

    This is the trajectory that Figure 8.2 draws on the plane; the caller's model is untouched.
    ``batch_size=None`` is full-batch gradient descent.
    """
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    n = data.x_train.shape[0]
    batch_size = n if batch_size is None else min(check_positive_int("batch_size", batch_size), n)
    net = copy.deepcopy(model)
    params = [p for p in net.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(seed)
    recorded, thetas, losses, norms = [0], [get_flat_params(net)], [], []
    order, position = torch.randperm(n, generator=generator), 0
    for step in range(1, steps + 1):
        if position + batch_size > n:
            order, position = torch.randperm(n, generator=generator), 0
        idx = order[position : position + batch_size] if batch_size < n else slice(None)
        position += batch_size
        loss = loss_fn(net(data.x_train[idx]), data.y_train[idx])
        if not bool(torch.isfinite(loss)):
            raise ValueError(f"training diverged at step {step} (loss {loss.item()}); lower lr")
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        losses.append(loss.item())
        norms.append(float(torch.sqrt(sum((g**2).sum() for g in grads))))
        if step % record_every == 0 or step == steps:
            recorded.append(step)
            thetas.append(get_flat_params(net))
    return PathRecord(torch.tensor(recorded), torch.stack(thetas), torch.tensor(losses, dtype=torch.float64),
                      torch.tensor(norms, dtype=torch.float64))


@dataclass(frozen=True)
class TrajectoryPlane:
    """The plane through a path's start and end: theta(a, b) = center + a d1 + b d2.

    Computed in float64; ``center``, ``d1`` and ``d2`` are stored in the path's own dtype so
    that they can be passed straight to a cost built from the model (and to `loss_plane`).

    ``d1 = theta_end - theta_start`` (so the start is (0, 0) and the end is (1, 0)); ``d2`` is
    orthogonal to it with the same length, so distances on the plot are true distances in units
    of ``|d1|``. ``path`` holds the plane coordinates of the path, ``origin`` those of theta = 0.
    """

    center: Tensor
    d1: Tensor
    d2: Tensor
    path: Tensor  # [T, 2]
    origin: Tensor  # [2]
    origin_distance: float  # distance of theta = 0 from the plane
    path_distance: Tensor  # [T] distance of each path point from the plane
    captured_variance: float  # share of the path's spread (about its mean) that lies in the plane
    method: str

    def coordinates(self, theta: Tensor) -> Tensor:
        """Plane coordinates (a, b) of the orthogonal projection of ``theta`` (or of each row)."""
        offset = theta.to(self.center.dtype) - self.center
        scale = self.d1 @ self.d1
        return torch.stack([offset @ self.d1 / scale, offset @ self.d2 / scale], dim=-1)

    def point(self, a: float, b: float) -> Tensor:
        """The parameter vector at plane coordinates (a, b)."""
        return self.center + a * self.d1 + b * self.d2


def trajectory_plane(thetas_along_path: Tensor, method: str = "farthest") -> TrajectoryPlane:
    """Project a training path [T, P] onto the plane through its start and end (Fig. 8.2's view).

    Axis 1 is theta_final - theta_init. Axis 2 is orthogonal to it: with ``method="farthest"``
    the direction of the path point farthest from the start-end line (the reading of Goodfellow,
    Vinyals & Saxe 2015 that the book's figure suggests); with ``method="pca"`` the top principal
    direction of the path's components orthogonal to axis 1 (as Li et al. 2018 use PCA).
    """
    check_tensor("thetas_along_path", thetas_along_path, ndim=2)
    if method not in ("farthest", "pca"):
        raise ValueError(f"method must be 'farthest' or 'pca', got {method!r}")
    thetas = thetas_along_path.detach().to(torch.float64)
    if thetas.shape[0] < 3:
        raise ValueError(f"thetas_along_path needs at least 3 points, got {thetas.shape[0]}")
    center, d1 = thetas[0], thetas[-1] - thetas[0]
    length = d1.norm()
    if float(length) < 1e-12:
        raise ValueError("thetas_along_path starts and ends at the same point: no plane is defined")
    unit1 = d1 / length
    offsets = thetas - center
    residual = offsets - (offsets @ unit1)[:, None] * unit1
    if method == "farthest":
        unit2 = residual[residual.norm(dim=1).argmax()]
    else:
        centred = residual - residual.mean(0)
        unit2 = torch.linalg.svd(centred, full_matrices=False).Vh[0]
    if float(unit2.norm()) < 1e-12 * float(length):
        raise ValueError("the path is a straight line: axis 2 is undefined")
    unit2 = unit2 - (unit2 @ unit1) * unit1
    unit2 = unit2 / unit2.norm()
    d2 = unit2 * length
    basis = torch.stack([unit1, unit2])

    def distance(rows: Tensor) -> Tensor:
        off = rows - center
        return (off - (off @ basis.T) @ basis).norm(dim=-1)

    spread = thetas - thetas.mean(0)
    in_plane = spread @ basis.T
    captured = float((in_plane**2).sum() / (spread**2).sum().clamp_min(1e-300))
    origin = torch.zeros_like(center)

    def coordinates(rows: Tensor) -> Tensor:
        return (rows - center) @ torch.stack([d1, d2]).T / length**2

    dtype = thetas_along_path.dtype
    return TrajectoryPlane(
        center.to(dtype), d1.to(dtype), d2.to(dtype),
        path=coordinates(thetas).to(dtype),
        origin=coordinates(origin).to(dtype),
        origin_distance=float(distance(origin[None])[0]),
        path_distance=distance(thetas).to(dtype),
        captured_variance=captured,
        method=method,
    )


@dataclass(frozen=True)
class TrajectoryView:
    """Everything Figure 8.2 draws: the run, its plane, the cost on a grid and along the path."""

    record: PathRecord
    plane: TrajectoryPlane
    alphas: Tensor
    betas: Tensor
    grid: Tensor  # [len(alphas), len(betas)]
    path_loss: Tensor  # [T] full-batch cost at each recorded point of the path


def trajectory_view(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    data: Split,
    alphas: Tensor,
    betas: Tensor,
    *,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    record_every: int = 10,
    method: str = "farthest",
) -> TrajectoryView:
    """Train (see `record_path`), take the plane through start and end, evaluate the cost on it (Fig. 8.2)."""
    record = record_path(model, loss_fn, data, lr=lr, steps=steps, batch_size=batch_size, seed=seed,
                         record_every=record_every)
    plane = trajectory_plane(record.thetas, method=method)
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    grid = loss_plane(loss, plane.center, plane.d1, plane.d2, alphas, betas)
    with torch.no_grad():
        path_loss = torch.func.vmap(loss, chunk_size=auto_chunk_size(loss, record.start))(record.thetas)
    return TrajectoryView(record, plane, torch.as_tensor(alphas), torch.as_tensor(betas), grid, path_loss)


def plane_hessian(loss: LossFn, plane: TrajectoryPlane, coordinates: Tensor) -> Tensor:
    """The 2x2 Hessian of a -> J(center + a1 d1 + a2 d2) at plane ``coordinates``: the curvature the plot shows.

    A slice can hide a saddle: at a point where the full Hessian has both signs, the two plane
    directions may both curve down (the slice shows a summit) or both up (a pit).
    """
    _check_loss(loss)
    check_vector("coordinates", coordinates, size=2)
    dtype = plane.center.dtype
    basis = torch.stack([plane.d1, plane.d2])

    def restricted(ab: Tensor) -> Tensor:
        return loss(plane.center + ab @ basis)

    return hessian(restricted, coordinates.detach().to(dtype)).to(torch.float64)


def with_hidden_bias(model: nn.Sequential, value: float) -> nn.Sequential:
    """A copy of ``model`` whose first layer's biases all equal ``value``: saturated tanh/sigmoid units.

    With ``|value|`` a few units, every hidden unit sits on the flat tail of its nonlinearity for
    every input, so the gradient through it is tiny: the classic plateau of saturated units.
    """
    if not isinstance(model, nn.Sequential) or not isinstance(model[0], nn.Linear) or model[0].bias is None:
        raise TypeError("model must be an nn.Sequential whose first layer is an nn.Linear with a bias")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not torch.isfinite(torch.tensor(float(value))):
        raise ValueError(f"value must be a finite number, got {value!r}")
    net = copy.deepcopy(model)
    with torch.no_grad():
        net[0].bias.fill_(float(value))
    return net


def plateau_span(losses: Tensor, level: float, rel_tol: float = 0.01) -> tuple[int, int]:
    """First and one-past-last index of the longest run of ``losses`` within ``rel_tol`` of ``level``.

    (0, 0) when the loss never comes that close. For a classifier stuck at chance with C classes,
    ``level = ln C`` (cross-entropy of the uniform guess).
    """
    check_vector("losses", losses)
    check_positive("level", level)
    check_positive("rel_tol", rel_tol)
    near = ((losses.to(torch.float64) - level).abs() <= rel_tol * level).tolist()
    best, start = (0, 0), None
    for i, flag in enumerate(near + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def dense_hessian_spectrum(loss: LossFn, theta: Tensor, block: int = 128) -> Tensor:
    """All Hessian eigenvalues (ascending, float64) from P exact HVPs taken ``block`` at a time.

    The gradient graph is built once and differentiated against blocks of unit vectors
    (batched double backprop, Pearlmutter 1994); for a P ~ 1-3k network on a few thousand
    examples this is about 3x faster on CPU than ``torch.func.hessian``.
    """
    from .curvature import HessianOperator

    check_positive_int("block", block)
    op = HessianOperator(loss, theta)
    eye = torch.eye(op.dim, dtype=op.dtype)
    h = torch.cat([op.matmat(eye[start : start + block]) for start in range(0, op.dim, block)]).to(torch.float64)
    if not bool(torch.isfinite(h).all()):
        raise ValueError("the Hessian has non-finite entries at theta")
    return torch.linalg.eigvalsh(0.5 * (h + h.T))


def largest_gap(eigenvalues: Tensor, search: int = 30) -> tuple[int, float]:
    """Where the top of a spectrum separates from the rest: (k, lambda_k / lambda_{k+1}) for the largest ratio.

    Only the ``search`` largest eigenvalues are considered (k counts from the top); keep ``search``
    above the bulk, where ratios of tiny eigenvalues are meaningless. Sagun et al. (2016, 2017)
    find about as many outliers above the gap as there are classes.
    """
    check_vector("eigenvalues", eigenvalues)
    check_positive_int("search", search, minimum=2)
    top = eigenvalues.to(torch.float64).sort(descending=True).values[: search + 1]
    if top.numel() < 3 or float(top[1]) <= 0:
        raise ValueError("eigenvalues needs at least three values and two positive ones")
    positive = top[top > 0]
    ratios = positive[:-1] / positive[1:]
    k = int(ratios.argmax())
    return k + 1, float(ratios[k])


def bulk_share(eigenvalues: Tensor, rel_tol: float = 0.01) -> float:
    """Share of eigenvalues with |lambda| below ``rel_tol`` times the largest |lambda|: the flat bulk."""
    check_vector("eigenvalues", eigenvalues)
    check_positive("rel_tol", rel_tol)
    scale = float(eigenvalues.abs().max())
    return float((eigenvalues.abs() <= rel_tol * scale).to(torch.float64).mean())


def gap_after(eigenvalues: Tensor, k: int) -> float:
    """lambda_k / lambda_{k+1}, counting from the largest: the gap below the top ``k`` eigenvalues."""
    check_vector("eigenvalues", eigenvalues)
    check_positive_int("k", k)
    if eigenvalues.numel() <= k:
        raise ValueError(f"eigenvalues needs more than k = {k} values, got {eigenvalues.numel()}")
    top = eigenvalues.to(torch.float64).sort(descending=True).values
    if float(top[k]) <= 0:
        raise ValueError(f"the {k + 1}th largest eigenvalue must be positive, got {float(top[k])}")
    return float(top[k - 1] / top[k])


def outlier_separation(eigenvalues: Tensor, k: int) -> float:
    """Mean of the ``k`` largest eigenvalues over the mean of the next ``k``: how far the top ``k`` stand out.

    Less sensitive than `gap_after` to one eigenvalue just below the top ``k`` that starts to rise.
    """
    check_vector("eigenvalues", eigenvalues)
    check_positive_int("k", k)
    if eigenvalues.numel() < 2 * k:
        raise ValueError(f"eigenvalues needs at least 2k = {2 * k} values, got {eigenvalues.numel()}")
    top = eigenvalues.to(torch.float64).sort(descending=True).values
    below = float(top[k : 2 * k].mean())
    if below <= 0:
        raise ValueError("the mean of the next k eigenvalues must be positive")
    return float(top[:k].mean()) / below


# --- The chapter's settings and runs (chapters/flat_regions.md and tests/test_claims_flat_regions.py) ---


@dataclass(frozen=True)
class FlatRegionsSetup:
    """The settings of the chapter on Figure 8.2, the saturation plateau and the spectrum after training."""

    sizes: tuple[int, ...] = (64, 16, 10)  # Figure 8.2's tanh network, without biases (theta = 0 is critical)
    init_scale: float = 0.1  # times PyTorch's default initialization: the start sits next to theta = 0
    lr: float = 0.2  # minibatch SGD for Figure 8.2
    steps: int = 2000
    batch_size: int = 64
    record_every: int = 10
    line: tuple[float, float, int] = (-0.25, 1.25, 61)  # the straight lines: alpha from, to, points
    second_seed_offset: int = 100  # the second solution of the line between solutions: seed + 100
    random_plane: tuple[float, float, int] = (-1.0, 1.0, 41)  # Li et al.'s plane: each axis from, to, points
    plateau_bias: float = 3.0  # first-layer biases that saturate every tanh unit (tanh'(3) ~ 0.01)
    plateau_lr: float = 1.0  # full-batch gradient descent, with and without the saturating biases
    plateau_steps: int = 800
    plateau_tol: float = 0.01  # "on the plateau": the cost within 1% of ln C
    reference_window: int = 50  # the unsaturated run's early gradient: median over its first 50 steps
    spectrum_sizes: tuple[int, ...] = (64, 32, 10)  # the spectrum's tanh network, with biases, squared error
    spectrum_lr: float = 0.2  # full-batch gradient descent
    spectrum_steps: int = 1000
    gap_search: int = 30  # the outliers' gap is looked for among the 30 largest eigenvalues
    bulk_tol: float = 0.01  # the bulk: eigenvalues within 1% of the largest |eigenvalue| from zero

    @property
    def training(self) -> dict:
        """Figure 8.2's SGD settings as keyword arguments of `record_path` and `trajectory_view`."""
        return dict(lr=self.lr, steps=self.steps, batch_size=self.batch_size, record_every=self.record_every)

    @property
    def classes(self) -> int:
        """The number of classes (outputs): ln of it is the cost of the uniform guess."""
        return self.sizes[-1]

    def line_alphas(self) -> Tensor:
        """The positions alpha along the straight lines (0: first end, 1: second end)."""
        return torch.linspace(*self.line)

    def random_axis(self) -> Tensor:
        """The coordinates along each axis of the random filter-normalized plane."""
        return torch.linspace(*self.random_plane)


FLAT_REGIONS = FlatRegionsSetup()


def small_net(seed: int, init_scale: float | None = None, dtype: torch.dtype = torch.float32,
              setup: FlatRegionsSetup = FLAT_REGIONS) -> nn.Sequential:
    """Figure 8.2's network for ``seed``: ``setup.sizes``, tanh, no biases, scaled by ``init_scale``."""
    scale = setup.init_scale if init_scale is None else init_scale
    return mlp(list(setup.sizes), seed=seed, init_scale=scale, bias=False, dtype=dtype)


@dataclass(frozen=True)
class PlateauRuns:
    """Full-batch runs of one network with saturated hidden units and with its own biases."""

    saturated: PathRecord
    reference: PathRecord
    level: float  # ln C, the cost of the uniform guess
    span: tuple[int, int]  # the saturated run's plateau: first and one-past-last step within tol of ln C
    reference_span: tuple[int, int]  # the same for the reference run


def plateau_runs(data: Split, seed: int, setup: FlatRegionsSetup = FLAT_REGIONS) -> PlateauRuns:
    """Train ``setup.sizes`` (with biases, in the data's dtype) from ``seed`` twice: first-layer biases set to
    ``plateau_bias``, and as drawn."""
    net = mlp(list(setup.sizes), seed=seed, dtype=data.x_train.dtype)
    level = math.log(setup.classes)
    runs = [record_path(start, cross_entropy, data, lr=setup.plateau_lr, steps=setup.plateau_steps,
                        record_every=setup.plateau_steps)
            for start in (with_hidden_bias(net, setup.plateau_bias), net)]
    spans = [plateau_span(run.step_loss, level, rel_tol=setup.plateau_tol) for run in runs]
    return PlateauRuns(runs[0], runs[1], level, spans[0], spans[1])


@dataclass(frozen=True)
class SpectrumRun:
    """A squared-error run of ``spectrum_sizes`` and every Hessian eigenvalue at its start and its end."""

    record: PathRecord
    initial: Tensor  # ascending, float64
    trained: Tensor  # ascending, float64
    final_cost: float


def spectrum_run(data: Split, seed: int, setup: FlatRegionsSetup = FLAT_REGIONS) -> SpectrumRun:
    """Full-batch gradient descent on squared error with one-hot targets (network in the data's dtype), then
    the dense spectrum at both ends."""
    onehot = data.one_hot()
    net = mlp(list(setup.spectrum_sizes), seed=seed, dtype=data.x_train.dtype)
    cost = functional_loss(net, squared_error, onehot.x_train, onehot.y_train)
    record = record_path(net, squared_error, onehot, lr=setup.spectrum_lr, steps=setup.spectrum_steps,
                         record_every=setup.spectrum_steps)
    return SpectrumRun(record, dense_hessian_spectrum(cost, record.start), dense_hessian_spectrum(cost, record.end),
                       float(cost(record.end)))
