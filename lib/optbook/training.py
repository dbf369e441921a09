"""Training with a history: what the chapters plot, recorded as it happens.

`train` runs (minibatch) SGD, with optional momentum or Adam, on a copy of the model and
records per-step loss and gradient norm, per-epoch train/validation loss and error, and, every
``monitor_every`` steps, the curvature monitors of sec. 8.2.1 on the full training set:
g^T g, g^T H g, the ratio (eps/2) g^T H g / g^T g and optionally the sharpness lambda_max.
`gradient_descent_many` trains many parameter vectors of one model at once (one batched
tensor computation instead of a Python loop over restarts).
"""

from __future__ import annotations

import copy
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import check_float_tensor, check_positive, check_positive_int, check_seed
from .curvature import gradient_curvature
from .batched import evaluator
from .data import Split
from .losses import Loss, classification_error
from .runs import Runs
from .params import LossFn, functional_loss, get_flat_params
from .spectrum import top_eigenvalue



@dataclass(frozen=True)
class History:
    """What `train` recorded, one `optbook.Runs` per cadence (R = 1), and the trained copy.

    Attributes
    ----------
    per_step : Runs
        Every step: ``loss`` and ``grad_norm`` of the step's minibatch, before its update.
    per_epoch : Runs
        Before training and after each epoch (epochs + 1 entries unless training diverged):
        ``loss`` is the full training-set cost; series ``"train_error"``, ``"val_loss"``,
        ``"val_error"``.
    monitor : Runs or None
        Every ``monitor_every`` steps (None when not asked for): ``loss`` is the full training-set
        cost; series ``"gTg"``, ``"gTHg"``, ``"ratio"`` (and ``"sharpness"``).
    model : torch.nn.Module
        The trained copy.

    Examples
    --------
    Two epochs of full-batch gradient descent (one step each) on 60 points:

    >>> import torch
    >>> import optbook as ob
    >>> split = ob.blobs(n=60, n_classes=3, seed=0, dtype=torch.float64)
    >>> history = ob.train(ob.mlp([2, 8, 3], seed=0, dtype=torch.float64), ob.cross_entropy, split,
    ...                    lr=0.5, epochs=2, progress=False)
    >>> history.per_step.steps.tolist(), history.per_epoch.steps.tolist(), history.monitor is None
    ([0, 1], [0, 1, 2], True)
    >>> history.per_epoch.names()
    ['loss', 'train_error', 'val_loss', 'val_error']
    """

    per_step: Runs
    per_epoch: Runs
    monitor: Runs | None
    model: nn.Module


class _Recorder:
    """`train`'s lists while it runs; `finish` turns them into a `History`."""

    def __init__(self) -> None:
        self.series: dict[str, dict[str, list[float]]] = {"step": {}, "epoch": {}, "monitor": {}}

    def add(self, cadence: str, **values: float) -> None:
        for key, value in values.items():
            self.series[cadence].setdefault(key, []).append(float(value))

    def _runs(self, cadence: str, stepped: bool = False) -> Runs | None:
        values = {k: torch.tensor(v, dtype=torch.float64)[:, None] for k, v in self.series[cadence].items()}
        if not values:
            return None
        loss = values.pop("loss")
        recorded = values.pop("step")[:, 0].to(torch.int64) if stepped else torch.arange(loss.shape[0])
        grad_norm = values.pop("grad_norm", None)
        return Runs(recorded, loss, grad_norm=grad_norm, series=values)

    def finish(self, model: nn.Module) -> History:
        return History(self._runs("step"), self._runs("epoch"), self._runs("monitor", stepped=True), model)


def _make_optimizer(name: str, params, lr: float, momentum: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return "ipykernel" in sys.modules and not os.environ.get("OPTBOOK_NO_PROGRESS")


def _evaluate(model: nn.Module, loss_fn: Loss, x: Tensor, y: Tensor) -> tuple[float, float]:
    with torch.no_grad():
        out = model(x)
        return float(loss_fn(out, y)), classification_error(out, y)


def _record_epoch(recorder: _Recorder, model: nn.Module, loss_fn: Loss, data: Split) -> None:
    loss, err = _evaluate(model, loss_fn, data.x_train, data.y_train)
    val_loss, val_err = _evaluate(model, loss_fn, data.x_val, data.y_val)
    recorder.add("epoch", loss=loss, train_error=err, val_loss=val_loss, val_error=val_err)


def _record_monitors(recorder: _Recorder, step: int, model: nn.Module, loss_fn: Loss, data: Split,
                     lr: float, sharpness: bool) -> None:
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    theta = get_flat_params(model)
    gc = gradient_curvature(loss, theta)
    recorder.add("monitor", step=step, loss=gc.loss, gTg=gc.gTg, gTHg=gc.gTHg, ratio=gc.ratio(lr))
    if sharpness:
        recorder.add("monitor", sharpness=top_eigenvalue(loss, theta, max_iter=40, tol=1e-4))


def train(
    model: nn.Module,
    loss_fn: Loss,
    data: Split,
    *,
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    seed: int = 0,
    monitor_every: int = 0,
    sharpness: bool = False,
    progress: bool | None = None,
) -> History:
    """Train a copy of ``model``; the caller's model is left untouched.

    ``batch_size=None`` means full-batch gradient descent (one step per epoch). With
    ``monitor_every=k > 0`` the full-batch curvature monitors are recorded every k steps.
    A step whose loss is not finite ends training (the history up to it is kept).

    Parameters
    ----------
    model : torch.nn.Module
        The initial network; copied, never written.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> Tensor, shape ()``, e.g. `optbook.cross_entropy`.
    data : Split
        Training and validation data.
    lr : float
        Step size (learning rate), > 0.
    epochs : int
        Passes over the training set, >= 1.
    batch_size : int or None, optional
        Minibatch size; None (default) for full-batch gradient descent.
    optimizer : {"sgd", "adam"}, optional
        Default ``"sgd"``.
    momentum : float, optional
        SGD momentum in [0, 1) (default 0).
    seed : int, optional
        Seeds the minibatch order (default 0).
    monitor_every : int, optional
        Record g^T g, g^T H g and the ratio (eps/2) g^T H g / g^T g of eq. 8.10 every this many
        steps; 0 (default) for never.
    sharpness : bool, optional
        Also record lambda_max(H) by Lanczos at those steps (default False).
    progress : bool or None, optional
        Show a progress bar; None (default) shows one inside Jupyter.

    Returns
    -------
    History
        The recorded series, and the trained copy as ``history.model``.

    Raises
    ------
    TypeError
        If ``model`` is not a module, ``data`` not a `Split`, or a numeric argument has the wrong
        type.
    ValueError
        If ``lr`` <= 0, ``epochs`` < 1, ``batch_size`` < 1, ``monitor_every`` < 0, ``seed`` < 0,
        ``momentum`` outside [0, 1), or ``optimizer`` unknown.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, sec. 8.2.1,
       eq. 8.10 (``goodfellow2016deep``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> split = ob.blobs(n=60, n_classes=3, seed=0, dtype=torch.float64)
    >>> net = ob.mlp([2, 8, 3], seed=0, dtype=torch.float64)
    >>> history = ob.train(net, ob.cross_entropy, split, lr=0.5, epochs=5, monitor_every=2, progress=False)
    >>> history.per_step.loss.shape, history.per_epoch.loss.shape, history.monitor.steps.tolist()
    (torch.Size([5, 1]), torch.Size([6, 1]), [0, 2, 4])
    >>> bool(history.per_epoch.final_loss < history.per_epoch.loss[0]), history.model is not net
    (True, True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    check_positive("lr", lr)
    check_positive_int("epochs", epochs)
    check_seed("seed", seed)
    check_positive_int("monitor_every", monitor_every, minimum=0)
    n = data.x_train.shape[0]
    batch_size = n if batch_size is None else check_positive_int("batch_size", batch_size)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    net = copy.deepcopy(model)
    opt = _make_optimizer(optimizer, [p for p in net.parameters() if p.requires_grad], lr, momentum)
    rng = torch.Generator().manual_seed(seed)
    recorder = _Recorder()
    _record_epoch(recorder, net, loss_fn, data)
    step = 0
    epochs_iter = range(epochs)
    if _show_progress(progress):
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, leave=False)
    for _ in epochs_iter:
        order = torch.randperm(n, generator=rng) if batch_size < n else torch.arange(n)
        for start in range(0, n, batch_size):
            if monitor_every and step % monitor_every == 0:
                _record_monitors(recorder, step, net, loss_fn, data, lr, sharpness)
            idx = order[start : start + batch_size]
            loss = loss_fn(net(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.sqrt(sum((p.grad**2).sum() for p in net.parameters() if p.grad is not None)).item()
            recorder.add("step", loss=loss.item(), grad_norm=grad_norm)
            if not torch.isfinite(loss):
                break  # diverged: keep the history up to here, the caller can show it
            opt.step()
            step += 1
        _record_epoch(recorder, net, loss_fn, data)
        if not math.isfinite(recorder.series["step"]["loss"][-1]):
            break
    for p in net.parameters():
        p.grad = None
    return recorder.finish(net)


def gradient_descent_many(
    loss: LossFn, thetas: Tensor, lr: float, steps: int, record_every: int = 1
) -> Runs:
    """Full-batch gradient descent from each row of ``thetas`` [R, P], all runs in one batched pass.

    Runs that diverge keep non-finite values from then on (they are not stopped or hidden).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``; a plain MLP from `optbook.functional_loss` is
        evaluated by `optbook.batched.batched_loss` as batched matrix products.
    thetas : Tensor, shape (R, P)
        The starting points, one run per row (finite, floating-point).
    lr : float
        Step size, > 0.
    steps : int
        Gradient steps, >= 1.
    record_every : int, optional
        Record loss and gradient norm every this many steps (and at the last); default 1.

    Returns
    -------
    Runs
        ``loss`` and ``grad_norm`` of shape (T, R), ``final_params`` of shape (R, P); runs that
        diverged are marked in ``diverged_at``.

    Raises
    ------
    TypeError
        If ``thetas`` is not a floating-point tensor or a numeric argument has the wrong type.
    ValueError
        If ``thetas`` is not 2-D, empty or non-finite, ``lr`` <= 0, or ``steps`` or
        ``record_every`` < 1.

    Examples
    --------
    On the quadratic with Hessian diag(d) every run contracts by (1 - lr d) per step:

    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> thetas = torch.tensor([[1.0, 1.0, 1.0], [2.0, -1.0, 0.5]], dtype=torch.float64)
    >>> runs = ob.gradient_descent_many(lambda t: 0.5 * (t * t * d).sum(), thetas, lr=0.1, steps=10)
    >>> runs.loss.shape, torch.allclose(runs.final_params, thetas * (1 - 0.1 * d) ** 10)
    (torch.Size([11, 2]), True)
    """
    check_float_tensor("thetas", thetas, ndim=2)
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive_int("record_every", record_every)
    # Forward for all runs at once (batched matrix products for a plain MLP, else one vmap),
    # backward by ordinary autograd on the summed cost (the runs are independent, so
    # d(sum)/d theta_r is run r's gradient): about 4x faster on CPU than vmap(grad(loss)), which
    # replays the backward pass through the vmap machinery.
    batched = evaluator(loss)
    theta = thetas.detach().clone()
    recorded, losses, norms = [], [], []
    for t in range(steps + 1):
        theta.requires_grad_(True)
        value = batched(theta)
        (g,) = torch.autograd.grad(value.sum(), theta)
        theta = theta.detach()
        if t % record_every == 0 or t == steps:
            recorded.append(t)
            losses.append(value.detach())
            norms.append(g.norm(dim=1).detach())
        if t < steps:
            theta = theta - lr * g.detach()
    return Runs(torch.tensor(recorded), torch.stack(losses), torch.stack(norms), final_params=theta,
                settings={"lr": lr})


def running_average(values: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along axis 0 (shorter windows at the start), for [T] or [T, R] input.

    Parameters
    ----------
    values : sequence of float or ndarray, shape (T,) or (T, R)
        A series, or R series side by side.
    window : int
        Points averaged, >= 1; the first ``window - 1`` outputs average all points so far.

    Returns
    -------
    ndarray of float, shape of ``values``
        Entry t is the mean of ``values[max(0, t - window + 1) : t + 1]``.

    Raises
    ------
    TypeError
        If ``window`` is not an integer.
    ValueError
        If ``window`` < 1, or ``values`` is empty or not 1-D or 2-D.

    Examples
    --------
    >>> import optbook as ob
    >>> ob.running_average([1.0, 2.0, 3.0, 4.0], window=2).tolist()
    [1.0, 1.5, 2.5, 3.5]
    >>> ob.running_average([[1.0, 10.0], [3.0, 30.0]], window=5).tolist()
    [[1.0, 10.0], [2.0, 20.0]]
    """
    check_positive_int("window", window)
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"values must be a non-empty 1-D or 2-D array, got shape {x.shape}")
    csum = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    idx = np.arange(1, x.shape[0] + 1)
    start = np.maximum(idx - window, 0)
    count = (idx - start).reshape(-1, *([1] * (x.ndim - 1)))
    return (csum[idx] - csum[start]) / count
