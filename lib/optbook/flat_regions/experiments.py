"""The flat-regions page (8.2.3): Figure 8.2's path and plane, the plateau of saturated units, the spectrum.

`record_path` trains a copy of a model and keeps its parameters along the way; `trajectory_view`
projects that path onto the plane of the book's Figure 8.2 (`optbook.landscape.trajectory_plane`).
For the other flat regions: `with_hidden_bias` saturates a layer's units and `plateau_span`
measures the plateau that follows; `largest_gap`, `gap_after`,
`outlier_separation` and `bulk_share` describe the spectrum at the end of training
(Sagun et al. 2016, 2017).

The page and its claims test share one set of settings, `FLAT_REGIONS` (a frozen
`FlatRegionsSetup`), the network builder `small_net` and the runs `plateau_runs` and
`spectrum_run`, so that each setting exists once.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from .._validate import (check_callable, check_module, check_nonnegative, check_positive, check_positive_int,
                         check_seed, check_vector)
from ..spectrum import hessian_eigenvalues
from ..data import Split
from ..landscape import TrajectoryPlane, auto_chunk_size, loss_plane, trajectory_plane
from ..losses import cross_entropy, squared_error
from ..models import mlp
from ..params import functional_loss, get_flat_params
from ..runs import Runs

__all__ = [
    "FLAT_REGIONS",
    "FlatRegionsSetup",
    "PlateauRuns",
    "SpectrumRun",
    "TrajectoryView",
    "bulk_share",
    "gap_after",
    "largest_gap",
    "outlier_separation",
    "plateau_runs",
    "plateau_span",
    "record_path",
    "small_net",
    "spectrum_run",
    "trajectory_view",
    "with_hidden_bias",
]



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
) -> tuple[Runs, Runs]:
    """Train a copy of ``model`` with (minibatch) SGD and keep its flat parameters along the way.

    This is the trajectory that Figure 8.2 draws on the plane; the caller's model is untouched.
    ``batch_size=None`` is full-batch gradient descent.

    Returns
    -------
    path : Runs
        At step 0, every ``record_every`` steps and the last: ``params`` [T, 1, P] and ``loss``
        [T, 1], the full-batch training cost at those points.
    per_step : Runs
        At every step 0 ... steps - 1: ``loss`` and ``grad_norm`` [steps, 1] of that step's
        (mini)batch, before its update.
    """
    check_module("model", model)
    check_callable("loss_fn", loss_fn)
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    check_seed("seed", seed)
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
    thetas = torch.stack(thetas)
    cost = functional_loss(model, loss_fn, data.x_train, data.y_train)
    with torch.no_grad():
        path_loss = torch.func.vmap(cost, chunk_size=auto_chunk_size(cost, thetas[0]))(thetas)
    settings = {"lr": lr, "batch_size": batch_size, "seed": seed}
    path = Runs(torch.tensor(recorded), path_loss[:, None], params=thetas[:, None], settings=settings)
    per_step = Runs(torch.arange(steps), torch.tensor(losses, dtype=torch.float64)[:, None],
                    grad_norm=torch.tensor(norms, dtype=torch.float64)[:, None], settings=settings)
    return path, per_step


@dataclass(frozen=True)
class TrajectoryView:
    """Everything Figure 8.2 draws: the run, its plane, the cost on a grid and along the path."""

    path: Runs  # params and full-batch cost at the recorded steps (R = 1)
    plane: TrajectoryPlane
    alphas: Tensor
    betas: Tensor
    grid: Tensor  # [len(alphas), len(betas)]


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
    path, _ = record_path(model, loss_fn, data, lr=lr, steps=steps, batch_size=batch_size, seed=seed,
                          record_every=record_every)
    plane = trajectory_plane(path.params[:, 0], method=method)
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    grid = loss_plane(loss, plane.center, plane.d1, plane.d2, alphas, betas)
    return TrajectoryView(path, plane, torch.as_tensor(alphas), torch.as_tensor(betas), grid)


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
    scale = setup.init_scale if init_scale is None else check_nonnegative("init_scale", init_scale)
    return mlp(list(setup.sizes), seed=seed, init_scale=scale, bias=False, dtype=dtype)


@dataclass(frozen=True)
class PlateauRuns:
    """Full-batch runs of one network with saturated hidden units and with its own biases."""

    saturated: Runs  # every step: the loss and gradient norm before the update (R = 1)
    reference: Runs
    level: float  # ln C, the cost of the uniform guess
    span: tuple[int, int]  # the saturated run's plateau: first and one-past-last step within tol of ln C
    reference_span: tuple[int, int]  # the same for the reference run


def plateau_runs(data: Split, seed: int, setup: FlatRegionsSetup = FLAT_REGIONS) -> PlateauRuns:
    """Train ``setup.sizes`` (with biases, in the data's dtype) from ``seed`` twice: first-layer biases set to
    ``plateau_bias``, and as drawn."""
    net = mlp(list(setup.sizes), seed=seed, dtype=data.x_train.dtype)
    level = math.log(setup.classes)
    runs = [record_path(start, cross_entropy, data, lr=setup.plateau_lr, steps=setup.plateau_steps,
                        record_every=setup.plateau_steps)[1]
            for start in (with_hidden_bias(net, setup.plateau_bias), net)]
    spans = [plateau_span(run.loss[:, 0], level, rel_tol=setup.plateau_tol) for run in runs]
    return PlateauRuns(runs[0], runs[1], level, spans[0], spans[1])


@dataclass(frozen=True)
class SpectrumRun:
    """A squared-error run of ``spectrum_sizes`` and every Hessian eigenvalue at its start and its end."""

    path: Runs  # the start and the end (params [2, 1, P])
    initial: Tensor  # ascending, float64
    trained: Tensor  # ascending, float64
    final_cost: float


def spectrum_run(data: Split, seed: int, setup: FlatRegionsSetup = FLAT_REGIONS) -> SpectrumRun:
    """Full-batch gradient descent on squared error with one-hot targets (network in the data's dtype), then
    the dense spectrum at both ends."""
    onehot = data.one_hot()
    net = mlp(list(setup.spectrum_sizes), seed=seed, dtype=data.x_train.dtype)
    cost = functional_loss(net, squared_error, onehot.x_train, onehot.y_train)
    path, _ = record_path(net, squared_error, onehot, lr=setup.spectrum_lr, steps=setup.spectrum_steps,
                          record_every=setup.spectrum_steps)
    start, end = path.params[0, 0], path.final_params[0]
    return SpectrumRun(path, hessian_eigenvalues(cost, start), hessian_eigenvalues(cost, end), float(cost(end)))
