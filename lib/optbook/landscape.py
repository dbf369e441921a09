"""Loss surfaces in parameter space: planes, straight lines and the plane of a training path (sec. 8.2.3).

`loss_plane` evaluates J(center + a d1 + b d2) on a grid, `interpolate` evaluates J along the
straight line between two parameter vectors (Goodfellow, Vinyals & Saxe 2015), `barrier_height`
reads the barrier off such a line, and `random_directions` draws the filter-normalized directions of
Li et al. (2018). `trajectory_plane` finds the plane through the start and the end of a training
path (the view of the book's Figure 8.2), and `plane_hessian` the curvature that such a plane shows.

Grids are evaluated in chunks: a fully batched grid is slower than a loop once the batched
intermediates outgrow the CPU cache, so the default chunk size is chosen from the size of the
intermediates of one evaluation (measured once, see `auto_chunk_size`). A plain MLP with a known
loss is evaluated as batched matrix products whose first layer is formed from precomputed pieces
(the plane is linear in the first layer's weights; see `_mlp_combinations` and `optbook.batched`),
any other model with `torch.func.vmap`.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ._validate import check_positive_int, check_tensor, check_vector, check_seed
from .batched import ColumnLoss, columnwise_loss, layer_outputs, plain_mlp
from .curvature import hessian
from .params import LossFn, _named_trainable, unflatten

__all__ = [
    "TrajectoryPlane",
    "auto_chunk_size",
    "barrier_height",
    "interpolate",
    "loss_plane",
    "plane_hessian",
    "random_directions",
    "trajectory_plane",
]

CACHE_BYTES = 4 << 20  # a few MiB of L2/L3: keep one chunk's intermediates below this
MIN_CHUNK, MAX_CHUNK = 8, 256  # below 8 points per call the vmap overhead dominates (measured)


def _l2_cache_bytes(default: int = 1 << 20) -> int:
    """The CPU's per-core L2 cache in bytes (Linux sysfs), ``default`` where it cannot be read.

    The plain-MLP plane keeps one chunk's hidden activations inside it: on a 1 MiB L2 (AMD EPYC)
    chunks of 16-32 points ran twice as fast as chunks of 128 sized for a 4 MiB cache (measured).
    """
    try:
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip().upper()
                scale = {"K": 1 << 10, "M": 1 << 20}.get(size[-1], 1)
                return int(size.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return default


PLANE_CACHE_BYTES = _l2_cache_bytes()


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


def _mlp_combinations(loss: LossFn, model: nn.Sequential, columnwise: ColumnLoss, center: Tensor,
                      directions: Tensor, coefficients: Tensor, chunk_size: int | None) -> Tensor:
    """`_evaluate_combinations` for a plain MLP, exploiting that its first layer is linear in theta.

    The first layer's pre-activations W(c) X^T + b(c) are affine in the coefficients c, so they are
    computed once for the centre and each direction and combined per point (one small matrix
    product for a whole chunk); the rest runs in `optbook.batched.mlp_outputs`, the library's one
    batched forward pass. Exact up to floating-point rounding.
    """
    x = loss.inputs
    n = x.shape[0]
    pieces = [unflatten(model, v.to(x.dtype)) for v in (center, *directions)]
    first = [p["0.weight"] @ x.T + (p["0.bias"][:, None] if "0.bias" in p else 0) for p in pieces]
    base, slopes = first[0].reshape(1, -1), torch.stack(first[1:]).flatten(1)  # [1, h*n], [k, h*n]
    later = {name: (value, torch.stack([p[name] for p in pieces[1:]]).flatten(1))  # centre, directions [k, size]
             for name, value in pieces[0].items() if not name.startswith("0.")}
    widest = max(m.out_features for m in model if isinstance(m, nn.Linear))
    chunk = chunk_size or int(min(MAX_CHUNK, PLANE_CACHE_BYTES // (n * widest * x.element_size())))
    if chunk < MIN_CHUNK:  # wide layers: batching only adds memory traffic, go point by point (measured)
        chunk = 1
    values = []
    with torch.no_grad():
        for start in range(0, coefficients.shape[0], chunk):
            coef = coefficients[start : start + chunk].to(x.dtype)  # [c, k]
            h = torch.addmm(base, coef, slopes).view(coef.shape[0], -1, n)
            rest = {name: c0 + (coef @ cd).view(-1, *c0.shape) for name, (c0, cd) in later.items()}
            values.append(columnwise(layer_outputs(model, x, rest, first_layer=h)))
    return torch.cat(values).to(center.dtype)


def _evaluate_combinations(loss: LossFn, center: Tensor, directions: Tensor, coefficients: Tensor,
                           chunk_size: int | None) -> Tensor:
    """J(center + coefficients @ directions) for each row of ``coefficients``, vmapped in chunks."""
    model = plain_mlp(loss)
    columnwise = columnwise_loss(loss.loss_fn, loss.targets) if model is not None else None
    if columnwise is not None:
        return _mlp_combinations(loss, model, columnwise, center, directions, coefficients, chunk_size)
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

    Examples
    --------
    The bowl J = |theta|^2 / 2 on the plane of the first two axes:

    >>> import torch
    >>> import optbook as ob
    >>> J = lambda theta: 0.5 * (theta * theta).sum()
    >>> e1, e2 = torch.eye(3, dtype=torch.float64)[:2]
    >>> grid = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    >>> ob.loss_plane(J, torch.zeros(3, dtype=torch.float64), e1, e2, grid, grid).tolist()
    [[1.0, 0.5, 1.0], [0.5, 0.0, 0.5], [1.0, 0.5, 1.0]]
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
    """J((1 - a) theta_a + a theta_b) for each a in ``alphas`` (Goodfellow, Vinyals & Saxe 2015).

    Examples
    --------
    The straight line between the two minima of the double well (theta^2 - 1)^2 crosses its hump:

    >>> import torch
    >>> import optbook as ob
    >>> W = lambda theta: ((theta * theta - 1) ** 2).sum()
    >>> ends = torch.tensor([-1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    >>> path = ob.interpolate(W, *ends, torch.linspace(0, 1, 5, dtype=torch.float64))
    >>> path.tolist(), ob.barrier_height(path)
    ([0.0, 0.5625, 1.0, 0.5625, 0.0], 1.0)
    """
    _check_loss(loss)
    check_vector("theta_a", theta_a)
    check_vector("theta_b", theta_b, size=theta_a.numel())
    alphas = _check_coordinates("alphas", alphas, theta_a.dtype)
    chunk_size = _check_chunk(chunk_size)
    direction = (theta_b - theta_a).detach()[None, :]
    return _evaluate_combinations(loss, theta_a.detach(), direction, alphas[:, None], chunk_size)


def barrier_height(path_losses: Tensor) -> float:
    """Height of the highest point of a path above the higher of its two ends (0: no barrier).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> ob.barrier_height(torch.tensor([0.5, 0.75, 0.25])), ob.barrier_height(torch.tensor([1.0, 0.5, 0.0]))
    (0.25, 0.0)
    """
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

    Examples
    --------
    A 2-3-1 network: each unit's incoming weights in a direction have that unit's norm in the
    model, and the biases (entries 6-8 and 12) get none:

    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0)
    >>> u, v = ob.random_directions(net, seed=0)
    >>> theta = ob.get_flat_params(net)
    >>> torch.allclose(u[:6].view(3, 2).norm(dim=1), theta[:6].view(3, 2).norm(dim=1))
    True
    >>> u[6:9].tolist(), u[12].item(), tuple(v.shape)
    ([0.0, 0.0, 0.0], 0.0, (13,))
    """
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    named = _named_trainable(model)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
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

    Examples
    --------
    A path that bends through (1, 1, 0) on its way from the origin to (2, 0, 0):

    >>> import torch
    >>> import optbook as ob
    >>> path = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 0.0, 0.0]], dtype=torch.float64)
    >>> plane = ob.trajectory_plane(path)
    >>> plane.d1.tolist(), plane.d2.tolist()  # axis 2 has axis 1's length
    ([2.0, 0.0, 0.0], [0.0, 2.0, 0.0])
    >>> plane.path.tolist(), plane.origin_distance
    ([[0.0, 0.0], [0.5, 0.5], [1.0, 0.0]], 0.0)
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
















# --- The chapter's settings and runs (chapters/flat_regions.md and tests/test_claims_flat_regions.py) ---














