"""Figure 8.1 and the g^T g / g^T H g monitor on a real network, many runs batched in one vmap.

Sec. 8.2.1 says: watch g^T g and g^T H g during training; when g^T H g grows by an order of
magnitude while g^T g does not shrink, ill-conditioning is what slows learning, and Figure 8.1
shows a successful training run whose gradient norm keeps growing. Full-batch gradient descent
shows this in its clearest form: the top Hessian eigenvalue rises until it reaches 2/eps
("progressive sharpening") and then stays there, at the "edge of stability", where the book's
ratio (eps/2) g^T H g / g^T g sits at about 1 (Cohen et al. 2021). `full_batch_gd` runs R
parameter vectors (seeds, step sizes) at once and records exactly these numbers; `minibatch_sgd`
records the minibatch gradient norms that the book's figure scatters. Every run returns two
`optbook.Runs`, one per cadence (per step; per monitor point or epoch); `book_ratio` and
`curvature_along_gradient` derive the ratios from the monitor record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, grad_and_value, vmap

from ..runs import Runs
from .._validate import check_positive, check_positive_int, check_tensor, check_seed
from ..curvature import functional_hvp
from ..data import Split, digits
from ..models import digits_cnn, mlp
from ..params import functional_loss, get_flat_params, unflatten
from ..training import running_average
from ..spectrum import HessianOperator, lanczos, top_eigenvalue
from ..losses import cross_entropy, squared_error

Loss = Callable[[Tensor, Tensor], Tensor]


def book_ratio(per_monitor: Runs) -> Tensor:
    """[M, R] the book's ratio (eps/2) g^T H g / g^T g: at 1 the curvature cancels the first-order gain.

    Parameters
    ----------
    per_monitor : Runs
        A monitor-cadence record of `full_batch_gd` or `monitored_sgd`: series ``gTg`` and
        ``gTHg`` [M, R] and the step sizes in ``settings["lrs"]`` [R].

    Returns
    -------
    Tensor, shape (M, R)

    Raises
    ------
    TypeError
        If ``per_monitor`` is not a Runs.
    ValueError
        If it lacks the series or the step sizes.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, 2016, eq. 8.10 (``goodfellow2016deep``).

    Examples
    --------
    >>> runs = Runs(torch.arange(2), torch.zeros(2, 1), series={"gTg": torch.ones(2, 1), "gTHg": torch.tensor([[1.0], [4.0]])},
    ...             settings={"lrs": torch.tensor([0.5])})
    >>> book_ratio(runs).flatten().tolist()
    [0.25, 1.0]
    """
    lrs = _monitor_lrs(per_monitor)
    return 0.5 * lrs * curvature_along_gradient(per_monitor)


def curvature_along_gradient(per_monitor: Runs) -> Tensor:
    """[M, R] g^T H g / g^T g: the curvature in the direction of the step (compare with 2/eps).

    Parameters
    ----------
    per_monitor : Runs
        A record with series ``gTg`` and ``gTHg`` [M, R].

    Returns
    -------
    Tensor, shape (M, R)

    Raises
    ------
    TypeError
        If ``per_monitor`` is not a Runs.
    ValueError
        If it lacks the series.

    Examples
    --------
    >>> runs = Runs(torch.arange(1), torch.zeros(1, 1), series={"gTg": torch.tensor([[2.0]]), "gTHg": torch.tensor([[6.0]])})
    >>> curvature_along_gradient(runs).item()
    3.0
    """
    if not isinstance(per_monitor, Runs):
        raise TypeError(f"per_monitor must be an optbook Runs, got {type(per_monitor).__name__}")
    if "gTg" not in per_monitor.series or "gTHg" not in per_monitor.series:
        raise ValueError(f"per_monitor must record series 'gTg' and 'gTHg', has {per_monitor.names()}")
    return per_monitor["gTHg"] / per_monitor["gTg"]


def _monitor_lrs(per_monitor: Runs) -> Tensor:
    if not isinstance(per_monitor, Runs):
        raise TypeError(f"per_monitor must be an optbook Runs, got {type(per_monitor).__name__}")
    lrs = per_monitor.settings.get("lrs")
    if not isinstance(lrs, Tensor) or lrs.shape != (per_monitor.n_runs,):
        raise ValueError("per_monitor must carry its step sizes as settings['lrs'], a tensor of shape (R,)")
    return lrs


def initial_params(sizes: list[int], seeds: list[int], activation: str = "tanh",
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """Stack the flat initial parameters of ``mlp(sizes, seed=s)`` for each seed: shape [R, P]."""
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    return torch.stack([get_flat_params(mlp(sizes, activation, seed=s, dtype=dtype)) for s in seeds])


def _data_loss(model: nn.Module, loss_fn: Loss) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """J(theta; x, y) as a pure function, so that vmap can batch runs and their minibatches."""
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    frozen.update(dict(model.named_buffers()))

    def loss(theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return loss_fn(functional_call(model, {**unflatten(model, theta), **frozen}, (x,)), y)

    return loss


def _over_runs(fn: Callable, vectorize: bool = True, in_dims: tuple = (0,)) -> Callable:
    """``vmap(fn)``, or a loop over the runs with stacked results: faster for convolutions on CPU."""
    if vectorize:
        return vmap(fn, in_dims=in_dims)

    def looped(*args: Tensor) -> Tensor | tuple[Tensor, ...]:
        per_arg = in_dims + (0,) * (len(args) - len(in_dims))
        results = [fn(*(a[r] if d == 0 else a for a, d in zip(args, per_arg))) for r in range(args[0].shape[0])]
        if isinstance(results[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*results))
        return torch.stack(results)

    return looped


def _batched_outputs(model: nn.Module, vectorize: bool = True) -> Callable[[Tensor, Tensor], Tensor]:
    def outputs(theta: Tensor, x: Tensor) -> Tensor:
        return functional_call(model, unflatten(model, theta), (x,))

    return _over_runs(outputs, vectorize, in_dims=(0, None))


def _errors(outputs: Tensor, targets: Tensor) -> Tensor:
    labels = targets.argmax(-1) if targets.dim() == 2 else targets
    return (outputs.argmax(-1) != labels).to(torch.float64).mean(-1)


def _check_runs(model: nn.Module, thetas: object, data: object) -> Tensor:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    check_tensor("thetas", thetas, ndim=2)
    size = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if thetas.shape[1] != size:
        raise ValueError(f"thetas must have {size} columns (the model's parameters), got {thetas.shape[1]}")
    return thetas


def full_batch_gd(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor, lrs: Tensor,
                  steps: int, monitor_every: int = 10, vectorize: bool = True) -> tuple[Runs, Runs]:
    """Full-batch gradient descent from each row of ``thetas`` with its own step ``lrs[r]``.

    Returns two `optbook.Runs`, one per cadence. Per step (steps 0..``steps``): the cost and
    |g| before each step. Every ``monitor_every`` steps (and the last): the cost, |g|, the
    parameters and the series ``gTg``, ``gTHg`` (one exact Hessian-vector product,
    forward-over-reverse), ``train_error`` and ``val_error``; both carry ``settings["lrs"]``
    (see `book_ratio`). The
    model is only a template: its weights are never read or changed. Divergent runs keep
    their non-finite values. ``vectorize=False`` loops over the runs instead of using vmap (the
    same numbers; on CPU a vmapped convolution is slower than one run after another).
    """
    return _monitored_descent(model, loss_fn, data, thetas, lrs, steps, monitor_every, None, 0, vectorize)


def monitored_sgd(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor, lrs: Tensor, steps: int,
                  batch_size: int, monitor_every: int = 10, seed: int = 0) -> tuple[Runs, Runs]:
    """Minibatch SGD with the same two records as `full_batch_gd`: per step the minibatch cost and |g|,
    every ``monitor_every`` steps the full-batch cost, |g|, g^T g, g^T H g and errors.

    Each step of each run draws its own ``batch_size`` examples without replacement.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if isinstance(data, Split) and batch_size > data.x_train.shape[0]:
        raise ValueError(f"batch_size must be at most the {data.x_train.shape[0]} training examples, got {batch_size}")
    return _monitored_descent(model, loss_fn, data, thetas, lrs, steps, monitor_every, batch_size, seed)


def _monitored_descent(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor, lrs: Tensor, steps: int,
                       monitor_every: int, batch_size: int | None, seed: int, vectorize: bool = True,
                       ) -> tuple[Runs, Runs]:
    thetas = _check_runs(model, thetas, data)
    check_tensor("lrs", lrs, ndim=1)
    if lrs.shape[0] != thetas.shape[0] or bool((lrs <= 0).any()):
        raise ValueError(f"lrs must hold {thetas.shape[0]} positive step sizes, got {lrs.tolist()}")
    steps = check_positive_int("steps", steps)
    monitor_every = check_positive_int("monitor_every", monitor_every)
    if not isinstance(vectorize, bool):
        raise TypeError(f"vectorize must be a bool, got {type(vectorize).__name__}")
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    value_and_grad = _over_runs(grad_and_value(loss), vectorize)
    minibatch_value_and_grad = _over_runs(grad_and_value(_data_loss(model, loss_fn)), vectorize, (0, 0, 0))
    curvature = _over_runs(functional_hvp(loss), vectorize, (0, 0))
    outputs = _batched_outputs(model, vectorize)
    rng = torch.Generator().manual_seed(check_seed("seed", seed))
    n, runs = data.x_train.shape[0], thetas.shape[0]
    theta, eps = thetas.detach().clone(), lrs.to(thetas.dtype)[:, None]
    losses, norms, marks, full_cost, gtg, gthg, train_err, val_err, params = ([] for _ in range(9))
    with torch.no_grad():
        for t in range(steps + 1):
            monitor = t % monitor_every == 0 or t == steps
            if batch_size is None or monitor:
                g_full, value = value_and_grad(theta)
                value_full = value
            if batch_size is None:
                g = g_full
            else:
                idx = torch.rand(runs, n, generator=rng).argsort(1)[:, :batch_size]
                g, value = minibatch_value_and_grad(theta, data.x_train[idx], data.y_train[idx])
            losses.append(value)
            norms.append(g.norm(dim=1))
            if monitor:
                marks.append(t)
                full_cost.append(value_full)
                gtg.append((g_full * g_full).sum(1))
                gthg.append((g_full * curvature(theta, g_full)).sum(1))
                train_err.append(_errors(outputs(theta, data.x_train), data.y_train))
                val_err.append(_errors(outputs(theta, data.x_val), data.y_val))
                params.append(theta)
            if t < steps:
                theta = theta - eps * g
    info = {"lrs": lrs.detach().clone(), "batch_size": batch_size}
    per_step = Runs(torch.arange(steps + 1), torch.stack(losses), torch.stack(norms), settings=info)
    gtg_all = torch.stack(gtg)
    per_monitor = Runs(torch.tensor(marks), torch.stack(full_cost), gtg_all.sqrt(), params=torch.stack(params),
                       series=dict(gTg=gtg_all, gTHg=torch.stack(gthg), train_error=torch.stack(train_err),
                                   val_error=torch.stack(val_err)), settings=info)
    return per_step, per_monitor


def minibatch_sgd(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor, lr: float,
                  batch_size: int, epochs: int, seed: int = 0) -> tuple[Runs, Runs]:
    """Plain minibatch SGD from each row of ``thetas``, each run with its own shuffling, in one vmap.

    An epoch is the full passes of ``batch_size`` examples (the last incomplete batch is
    dropped so that all runs keep one shape). Returns two `optbook.Runs`: per step, the
    minibatch cost and |g| (what Figure 8.1 scatters); per epoch (steps 0, S, 2S, ... with S
    steps per epoch), the full-batch cost, |g| and the series ``train_error``, ``val_error``.
    Both carry ``settings["steps_per_epoch"]``.
    """
    thetas = _check_runs(model, thetas, data)
    check_positive("lr", lr)
    batch_size = check_positive_int("batch_size", batch_size)
    epochs = check_positive_int("epochs", epochs)
    n, runs = data.x_train.shape[0], thetas.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the {n} training examples, got {batch_size}")
    per_epoch = n // batch_size
    data_loss = _data_loss(model, loss_fn)
    minibatch_grad = vmap(grad_and_value(data_loss))
    full_value_and_grad = vmap(grad_and_value(data_loss), in_dims=(0, None, None))
    outputs = _batched_outputs(model)
    rng = torch.Generator().manual_seed(check_seed("seed", seed))
    theta = thetas.detach().clone()
    step_norms, step_loss, epoch_norms, epoch_loss, train_err, val_err = [], [], [], [], [], []

    def record() -> None:
        g, value = full_value_and_grad(theta, data.x_train, data.y_train)
        epoch_norms.append(g.norm(dim=1))
        epoch_loss.append(value)
        train_err.append(_errors(outputs(theta, data.x_train), data.y_train))
        val_err.append(_errors(outputs(theta, data.x_val), data.y_val))

    with torch.no_grad():
        record()
        for _ in range(epochs):
            order = torch.stack([torch.randperm(n, generator=rng) for _ in range(runs)])
            for b in range(per_epoch):
                idx = order[:, b * batch_size : (b + 1) * batch_size]
                g, value = minibatch_grad(theta, data.x_train[idx], data.y_train[idx])
                step_norms.append(g.norm(dim=1))
                step_loss.append(value)
                theta = theta - lr * g
            record()
    info = {"steps_per_epoch": per_epoch, "lr": lr, "batch_size": batch_size}
    per_step = Runs(torch.arange(epochs * per_epoch), torch.stack(step_loss), torch.stack(step_norms), settings=info)
    per_epoch_runs = Runs(torch.arange(epochs + 1) * per_epoch, torch.stack(epoch_loss), torch.stack(epoch_norms),
                          series=dict(train_error=torch.stack(train_err), val_error=torch.stack(val_err)),
                          settings=info)
    return per_step, per_epoch_runs


def sharpness(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor,
              max_iter: int = 60, tol: float = 1e-4) -> Tensor:
    """Top Hessian eigenvalue lambda_max of the full-batch training cost at each row of ``thetas`` (Lanczos)."""
    thetas = _check_runs(model, thetas, data)
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    return torch.tensor([top_eigenvalue(loss, theta, max_iter=max_iter, tol=tol) for theta in thetas])


def gradient_alignment(model: nn.Module, loss_fn: Loss, data: Split, thetas: Tensor,
                       max_iter: int = 60, tol: float = 1e-4) -> tuple[Tensor, Tensor]:
    """Per row of ``thetas``: (lambda_max, cos^2 between the full-batch gradient and its top eigenvector).

    The second number is the share of g^T g that lies along the sharpest direction (Lanczos).
    """
    thetas = _check_runs(model, thetas, data)
    loss = functional_loss(model, loss_fn, data.x_train, data.y_train)
    top, share = [], []
    for r, theta in enumerate(thetas):
        op = HessianOperator(loss, theta)
        spectrum = lanczos(op, op.dim, k=1, which="largest", max_iter=max_iter, tol=tol,
                           generator=torch.Generator().manual_seed(0))
        g = grad(loss)(theta.detach())
        v = spectrum.eigenvectors[-1].to(g.dtype)
        top.append(spectrum.largest)
        share.append(float((g @ v) ** 2 / (g @ g)))
    return torch.tensor(top), torch.tensor(share)


def window_mean(values: Tensor, window: int) -> Tensor:
    """`optbook.running_average` for [T] or [T, R] tensors (float64 tensor out)."""
    check_tensor("values", values, finite=False)
    return torch.from_numpy(running_average(values.detach().cpu().numpy(), window))


def stays_up(grad_norm: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """Figure 8.1's two numbers per run from |g| [T, R], both on the running average over ``window`` steps.

    (mean over the last quarter / overall minimum, smallest value over the last quarter / overall
    minimum). Both say how far the norm grew back from its low point; the second, that it stayed
    there at every step of the last quarter. A norm that decays towards a critical point has its
    minimum at the end, and both are 1. Quarters, not single steps: at the edge of stability the
    norm oscillates and bursts.
    """
    smooth = window_mean(grad_norm, window)
    n = smooth.shape[0]
    if n < 4:
        raise ValueError(f"grad_norm must have at least 4 steps, got {n}")
    last, low = smooth[(3 * n) // 4 :], smooth.min(0).values
    return last.mean(0) / low, last.min(0).values / low


def cost_bursts(loss: Tensor, rise: float = 1.1) -> Tensor:
    """Per run: how many single steps raise the cost [T, R] by more than the factor ``rise``."""
    check_tensor("loss", loss, ndim=2, finite=False)
    rise = check_positive("rise", rise)
    return (loss[1:] > rise * loss[:-1]).sum(0)


def tail_mean(runs: Runs, values: Tensor, last_steps: int) -> Tensor:
    """Per run: the mean of ``values`` [M, R] over the points of ``runs`` (a Runs at the monitor cadence) in the last ``last_steps`` steps.

    At the edge of stability single steps are noise (the runs oscillate and burst), so the
    chapter judges the end of a run by such a window.
    """
    check_tensor("values", values, ndim=2, finite=False)
    last_steps = check_positive_int("last_steps", last_steps)
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be an optbook Runs, got {type(runs).__name__}")
    if values.shape[0] != runs.steps.shape[0]:
        raise ValueError(f"values must have one row per recorded step of runs ({runs.steps.shape[0]}), "
                         f"got {values.shape[0]}")
    last = runs.steps >= runs.steps[-1] - last_steps
    return values[last].to(torch.float64).mean(0)


@dataclass(frozen=True)
class Figure81Run:
    """The settings of one of the chapter's Figure 8.1 runs, shared by the page and its tests."""

    lr: float  # step size
    steps: int  # full-batch steps (each is an epoch)
    monitor_every: int = 20  # g^T g, g^T H g, errors and parameters every this many steps
    window: int = 100  # running average of |g| over this many steps, as in the book's figure
    tail: int = 200  # the end of a run is judged by the mean over its last this many steps


# The chapter's experiments on scikit-learn's digits, one definition shared by the page and its tests.
DIGITS_SIZES = [64, 32, 32, 10]
MLP_RUN = Figure81Run(lr=0.4, steps=1500)  # the MLP of Figure 8.1 and section 4
SMALL_LR = 0.2  # the MLP's smaller step, which never reaches the edge of stability within MLP_RUN.steps
CNN_RUN = Figure81Run(lr=0.15, steps=1000)  # the small CNN: 2/lambda_max at initialization (seed 0), rounded up
SGD_RUN = dict(lr=0.1, batch_size=32, epochs=30)  # minibatch SGD with cross-entropy ("the other regime")


def _digits_runs(seeds: list[int], lrs: list[float]) -> tuple[nn.Module, Split, Tensor, Tensor]:
    """The squared-error digits set-up shared by the GD and SGD runs: model, data, starts, steps."""
    if len(seeds) != len(lrs):
        raise ValueError(f"seeds and lrs must have the same length, got {len(seeds)} and {len(lrs)}")
    thetas = initial_params(DIGITS_SIZES, list(seeds))
    lr_tensor = torch.tensor([check_positive(f"lrs[{i}]", lr) for i, lr in enumerate(lrs)])
    return mlp(DIGITS_SIZES, "tanh", seed=0), digits().one_hot(), thetas, lr_tensor


def digits_full_batch_gd(seeds: list[int], lrs: list[float], steps: int = 1500, monitor_every: int = 20,
                         ) -> tuple[Runs, Runs, nn.Module, Split]:
    """Full-batch GD with squared error on the digits (64-32-32-10 tanh): run r has seed ``seeds[r]``, step ``lrs[r]``.

    Returns the two records of `full_batch_gd` (per step, per monitor), then the model and the data.
    """
    model, data, thetas, lr_tensor = _digits_runs(seeds, lrs)
    return (*full_batch_gd(model, squared_error, data, thetas, lr_tensor, steps, monitor_every), model, data)


def digits_cnn_full_batch_gd(seeds: list[int], lrs: list[float], steps: int = 1000, monitor_every: int = 20,
                             ) -> tuple[Runs, Runs, nn.Module, Split]:
    """`digits_full_batch_gd` with the small CNN `optbook.models.digits_cnn` (runs looped, faster on CPU)."""
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    if len(seeds) != len(lrs):
        raise ValueError(f"seeds and lrs must have the same length, got {len(seeds)} and {len(lrs)}")
    thetas = torch.stack([get_flat_params(digits_cnn(seed=s)) for s in seeds])
    lr_tensor = torch.tensor([check_positive(f"lrs[{i}]", lr) for i, lr in enumerate(lrs)])
    model, data = digits_cnn(seed=0), digits().one_hot()
    return (*full_batch_gd(model, squared_error, data, thetas, lr_tensor, steps, monitor_every, vectorize=False),
            model, data)


def digits_monitored_sgd(seeds: list[int], lrs: list[float], batch_size: int, steps: int = 1500,
                         monitor_every: int = 20, seed: int = 0) -> tuple[Runs, Runs, nn.Module, Split]:
    """`digits_full_batch_gd` with minibatches of ``batch_size`` (squared error; full-batch monitors)."""
    model, data, thetas, lr_tensor = _digits_runs(seeds, lrs)
    return (*monitored_sgd(model, squared_error, data, thetas, lr_tensor, steps, batch_size, monitor_every, seed),
            model, data)


def digits_minibatch_sgd(seeds: list[int], lr: float = 0.1, batch_size: int = 32, epochs: int = 30,
                         ) -> tuple[Runs, Runs, nn.Module, Split]:
    """Minibatch SGD with cross-entropy on the digits (64-32-32-10 tanh), one run per seed (init and shuffling)."""
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    data = digits()
    model = mlp(DIGITS_SIZES, "tanh", seed=0)
    thetas = initial_params(DIGITS_SIZES, list(seeds))
    return (*minibatch_sgd(model, cross_entropy, data, thetas, lr, batch_size, epochs, seed=min(seeds)), model, data)


def curvature_growth(per_step: Runs, per_monitor: Runs, window: int) -> Tensor:
    """Per run: mean g^T H g over the last quarter / median |g^T H g| near the low point of |g|.

    The low point is where the running average (over ``window`` steps) of |g| is smallest; "near"
    means monitor steps within ``window`` steps of it. This is the book's "g^T H g grows by more
    than an order of magnitude", measured from where the gradient is weakest. The median, not the
    mean: near the low point g^T H g is tiny and changes sign, and one early burst of the escape
    would otherwise set the base. ``per_step`` and ``per_monitor`` are the two records of
    `full_batch_gd` (|g| every step; ``gTHg`` at the monitor steps).
    """
    if not isinstance(per_step, Runs) or not isinstance(per_monitor, Runs):
        raise TypeError("per_step and per_monitor must be optbook Runs (the two records of full_batch_gd)")
    smooth = window_mean(per_step.grad_norm, window)
    low_step = per_step.steps[smooth.argmin(0)]  # [R]
    gthg = per_monitor["gTHg"]
    near = (per_monitor.steps[:, None] - low_step[None]).abs() <= window  # [M, R]
    base = torch.stack([gthg[near[:, r], r].abs().median() for r in range(gthg.shape[1])])
    last = gthg[(3 * gthg.shape[0]) // 4 :].mean(0)
    return last / base
