"""Figure 8.1 in the book's regime: minibatch SGD on a stream of training data the network cannot exhaust.

The book's network never runs out of data: its training set is large, so the training cost does not
go to zero and the gradient never has to vanish. On the 1,258 training digits it does go to zero
(plain SGD with cross-entropy memorizes them, and the gradient norm decays after a short rise). Here
every epoch sees a fresh, randomly distorted copy of the training digits (each image shifted by up to
``shift`` pixels in each direction, plus Gaussian pixel noise): an endless stream of new examples.
With a ReLU network whose default initialization starts its gradients small, the minibatch gradient
norm then rises through the whole run while the validation error falls, as in Figure 8.1.

`augmented_sgd` runs one seed per run, all in one vmap; each seed draws its own initialization, data
order and distortions, so a run does not depend on which other seeds share the batch. `SETTINGS` is
the page's run, `SHAPE` the criteria of the book's shape (fixed before the page's runs were made),
`figure_8_1_shape` measures them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad_and_value, vmap

from .._validate import check_int_sequence, check_nonnegative, check_positive_int, check_seed, check_tensor
from ..data import Split, digits
from ..losses import cross_entropy
from ..models import mlp
from ..params import get_flat_params
from ..runs import Runs
from ..training import running_average
from .sharpening import _batched_outputs, _data_loss, _errors


@dataclass(frozen=True)
class AugmentedRun:
    """The settings of the page's minibatch Figure 8.1 run, shared by the page and its claims test."""

    sizes: tuple[int, ...] = (64, 64, 64, 64, 10)  # a ReLU MLP with four weight layers
    activation: str = "relu"
    lr: float = 0.03  # plain SGD, constant step, no momentum, no weight decay
    batch_size: int = 32
    epochs: int = 150
    shift: int = 1  # each image moves by -1, 0 or +1 pixels in each direction, fresh every epoch
    noise: float = 0.3  # standard deviation of the pixel noise (pixels span [0, 1]), fresh every epoch
    window: int = 10  # the running average of the minibatch |g| spans this many epochs
    monitor_every: int = 2  # the expected-cost gradient and the errors every this many epochs


@dataclass(frozen=True)
class ShapeCriteria:
    """Figure 8.1's shape as numbers, stated before the page's runs were made (thresholds of the page)."""

    rise: float = 5.0  # running-average |g| at the end >= 5x its value after the first window
    rank_correlation: float = 0.9  # Spearman correlation of the running average (per epoch) with time
    val_fall: float = 0.5  # validation error falls by >= 0.5 after the first window (during the rise)
    val_end: float = 0.15  # validation error, mean over the last window, below 15%
    above_floor: float = 10.0  # expected-cost |g| at the end >= 10x the converged control's |g| at its end
    control_decay: float = 0.5  # the control (no distortions): its running-average |g| ends below half its peak


SETTINGS = AugmentedRun()
SHAPE = ShapeCriteria()


def augment(images: Tensor, shift: int, noise: float, generator: torch.Generator) -> Tensor:
    """A fresh random distortion of flat 8x8 images: a shift of up to ``shift`` pixels, then pixel noise.

    Each image moves by its own (dy, dx), each drawn uniformly from -shift..shift; the pixels that
    enter at the border are 0 (the training mean, since `optbook.digits` centres the images).
    Then Gaussian noise of standard deviation ``noise`` is added to every pixel.

    Parameters
    ----------
    images : Tensor, shape (N, 64)
        Flat 8x8 images, rows first (as `optbook.digits` gives them). Not modified.
    shift : int
        The largest shift in pixels, >= 0 (0: no shift).
    noise : float
        Standard deviation of the pixel noise, >= 0 (0: no noise).
    generator : torch.Generator
        The source of randomness (shifts, then noise).

    Returns
    -------
    Tensor, shape (N, 64)

    Raises
    ------
    TypeError
        If ``images`` is not a tensor or ``generator`` not a torch.Generator.
    ValueError
        If ``images`` is not (N, 64), or ``shift``/``noise`` is negative.

    References
    ----------
    .. [1] P. Simard, D. Steinkraus and J. Platt, "Best practices for convolutional neural networks
       applied to visual document analysis", ICDAR 2003 (``simard2003best``).

    Examples
    --------
    >>> x = torch.ones(900, 64)
    >>> torch.equal(augment(x, 0, 0.0, torch.Generator().manual_seed(0)), x)
    True
    >>> y = augment(x, 1, 0.0, torch.Generator().manual_seed(0))
    >>> round(float((y.sum(1) == 64).float().mean()), 1)  # one image in 9 stays in place
    0.1
    """
    images = check_tensor("images", images, ndim=2)
    if images.shape[1] != 64:
        raise ValueError(f"images must be flat 8x8 images of shape (N, 64), got {tuple(images.shape)}")
    shift = check_positive_int("shift", shift, minimum=0)
    noise = check_nonnegative("noise", noise)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    n = images.shape[0]
    out = images.reshape(n, 8, 8)
    if shift > 0:
        padded = torch.nn.functional.pad(out, (shift, shift, shift, shift))
        offset = torch.randint(0, 2 * shift + 1, (n, 2), generator=generator)
        rows = (torch.arange(8)[None, :] + offset[:, :1])[:, :, None]  # [N, 8, 1]
        cols = (torch.arange(8)[None, :] + offset[:, 1:])[:, None, :]  # [N, 1, 8]
        out = padded[torch.arange(n)[:, None, None], rows, cols]
    out = out.reshape(n, 64)
    if noise > 0:
        out = out + noise * torch.randn(out.shape, generator=generator, dtype=out.dtype)
    return out


def _epoch_data(data: Split, settings: AugmentedRun, generators: list[torch.Generator],
                augmented: bool) -> tuple[Tensor, Tensor]:
    """One epoch's training stream for every run: its own distorted copy and its own order, [R, n, 64], [R, n]."""
    xs, ys = [], []
    for gen in generators:
        order = torch.randperm(data.x_train.shape[0], generator=gen)
        x = data.x_train[order]
        xs.append(augment(x, settings.shift, settings.noise, gen) if augmented else x)
        ys.append(data.y_train[order])
    return torch.stack(xs), torch.stack(ys)


def _monitor(value_and_grad, outputs, theta: Tensor, data: Split, settings: AugmentedRun,
             generators: list[torch.Generator], augmented: bool) -> dict[str, Tensor]:
    """The per-monitor records: expected-cost |g| (unbiased, from two independent draws), costs, errors."""
    runs, n = theta.shape[0], data.x_train.shape[0]
    if augmented:
        (x_a, y_a), (x_b, y_b) = (_epoch_data(data, settings, generators, True) for _ in range(2))
    else:  # the plain digits: both "draws" are the training set, and g_a . g_b = g^T g exactly
        x_a = x_b = data.x_train.expand(runs, n, data.x_train.shape[1])
        y_a = y_b = data.y_train.expand(runs, n)
    g_a, _ = value_and_grad(theta, x_a, y_a)
    g_b, _ = value_and_grad(theta, x_b, y_b)
    out = outputs(theta, data.x_train)
    return dict(gTg=(g_a * g_b).sum(1), loss=torch.stack([cross_entropy(o, data.y_train) for o in out]),
                train_error=_errors(out, data.y_train), val_error=_errors(outputs(theta, data.x_val), data.y_val),
                params=theta)


def augmented_sgd(seeds: list[int], settings: AugmentedRun = SETTINGS, augmented: bool = True,
                  data: Split | None = None) -> tuple[Runs, Runs]:
    """Minibatch SGD with cross-entropy on a fresh distorted copy of the digits every epoch, one run per seed.

    Run r starts from ``mlp(settings.sizes, settings.activation, seed=seeds[r])``; its data order
    and distortions come from a generator seeded with ``seeds[r]`` (so a run does not depend on the
    other seeds of the batch). ``augmented=False`` is the control: the same runs on the plain
    training digits, which the network can memorize.

    Parameters
    ----------
    seeds : list of int
        One run per seed, R >= 1.
    settings : AugmentedRun, optional
        Network, step, batch, epochs, distortions, cadences (default `SETTINGS`, the page's run).
    augmented : bool, optional
        Distort the training digits afresh every epoch (default True).
    data : Split, optional
        Training and validation digits (default ``optbook.digits()``; labels as class indices).

    Returns
    -------
    per_step : Runs
        Steps 0..S-1 (S = epochs x steps per epoch): ``loss`` [S, R] the minibatch cost and
        ``grad_norm`` [S, R] the minibatch gradient norm that each step uses.
    per_monitor : Runs
        Every ``monitor_every`` epochs (step numbers at the start of the epoch, and the end):
        ``loss`` the cost on the plain training digits, ``grad_norm`` the norm of the gradient of
        the expected cost over the stream (estimated without bias from two independent distorted
        copies of the training set, sqrt(max(0, g_a . g_b)); the exact full-batch norm for the
        control), series ``train_error``, ``val_error`` and ``gTg`` (the estimate of g^T g), and
        ``params``.

    Raises
    ------
    TypeError
        If ``settings`` is not an `AugmentedRun`, ``augmented`` not a bool, ``data`` not a Split.
    ValueError
        If ``seeds`` is empty or holds a bad seed.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, Figure 8.1
       (``goodfellow2016deep``).

    Examples
    --------
    >>> from dataclasses import replace
    >>> steps, monitor = augmented_sgd([0, 1], replace(SETTINGS, epochs=2, batch_size=400, monitor_every=1))
    >>> tuple(steps.grad_norm.shape), monitor.steps.tolist(), tuple(monitor["val_error"].shape)
    ((6, 2), [0, 3, 6], (3, 2))
    """
    seeds = list(check_int_sequence("seeds", seeds, minimum=0))
    for i, s in enumerate(seeds):
        check_seed(f"seeds[{i}]", s)
    if not isinstance(settings, AugmentedRun):
        raise TypeError(f"settings must be an AugmentedRun, got {type(settings).__name__}")
    if not isinstance(augmented, bool):
        raise TypeError(f"augmented must be a bool, got {type(augmented).__name__}")
    data = digits() if data is None else data
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    model = mlp(list(settings.sizes), settings.activation, seed=0)
    theta = torch.stack([get_flat_params(mlp(list(settings.sizes), settings.activation, seed=s)) for s in seeds])
    value_and_grad = vmap(grad_and_value(_data_loss(model, cross_entropy)))
    return _run(settings, data, model, theta, value_and_grad, seeds, augmented)


def _run(settings, data, model, theta, value_and_grad, seeds, augmented) -> tuple[Runs, Runs]:
    n, batch = data.x_train.shape[0], settings.batch_size
    per_epoch = n // batch
    train_gens = [torch.Generator().manual_seed(s) for s in seeds]
    watch_gens = [torch.Generator().manual_seed(1_000_003 + s) for s in seeds]  # monitors never touch the runs' stream
    outputs = _batched_outputs(model)
    losses, norms, marks, records = [], [], [], []
    with torch.no_grad():
        for epoch in range(settings.epochs + 1):
            if epoch % settings.monitor_every == 0 or epoch == settings.epochs:
                records.append(_monitor(value_and_grad, outputs, theta, data, settings, watch_gens, augmented))
                marks.append(epoch * per_epoch)
            if epoch == settings.epochs:
                break
            xs, ys = _epoch_data(data, settings, train_gens, augmented)
            for b in range(per_epoch):
                g, value = value_and_grad(theta, xs[:, b * batch : (b + 1) * batch], ys[:, b * batch : (b + 1) * batch])
                losses.append(value)
                norms.append(g.norm(dim=1))
                theta = theta - settings.lr * g
    info = dict(seeds=list(seeds), augmented=augmented, steps_per_epoch=per_epoch, lr=settings.lr)
    per_step = Runs(torch.arange(len(losses)), torch.stack(losses), torch.stack(norms), settings=info)
    stacked = {k: torch.stack([r[k] for r in records]) for k in records[0]}
    per_monitor = Runs(torch.tensor(marks), stacked["loss"], stacked["gTg"].clamp_min(0).sqrt(),
                       params=stacked["params"], settings=info,
                       series={k: stacked[k] for k in ("train_error", "val_error", "gTg")})
    return per_step, per_monitor


def epoch_running_average(per_step: Runs, window: int) -> Tensor:
    """[E, R] the running average of all minibatch |g| over the last ``window`` epochs, at each epoch's end.

    Parameters
    ----------
    per_step : Runs
        The per-step record of `augmented_sgd` (``settings["steps_per_epoch"]`` and ``grad_norm``).
    window : int
        Epochs in the average, >= 1 (fewer at the start, where fewer exist).

    Returns
    -------
    Tensor, shape (E, R), float64

    Raises
    ------
    TypeError
        If ``per_step`` is not a Runs.
    ValueError
        If it has no gradient norms or no ``steps_per_epoch``, or ``window`` < 1.

    Examples
    --------
    >>> runs = Runs(torch.arange(4), torch.zeros(4, 1), torch.tensor([[1.0], [3.0], [5.0], [7.0]]),
    ...             settings={"steps_per_epoch": 2})
    >>> epoch_running_average(runs, 1).flatten().tolist(), epoch_running_average(runs, 2).flatten().tolist()
    ([2.0, 6.0], [2.0, 4.0])
    """
    if not isinstance(per_step, Runs):
        raise TypeError(f"per_step must be an optbook Runs, got {type(per_step).__name__}")
    per_epoch = per_step.settings.get("steps_per_epoch")
    if per_step.grad_norm is None or not isinstance(per_epoch, int):
        raise ValueError("per_step must record grad_norm and settings['steps_per_epoch'] (as augmented_sgd does)")
    window = check_positive_int("window", window)
    smooth = torch.from_numpy(running_average(per_step.grad_norm.detach().numpy(), window * per_epoch))
    return smooth[per_epoch - 1 :: per_epoch]


def rank_correlation(values: Tensor) -> Tensor:
    """[R] Spearman's rank correlation of each column of ``values`` with time (ties broken by order).

    Parameters
    ----------
    values : Tensor, shape (T, R)
        T >= 3 time points of R series.

    Returns
    -------
    Tensor, shape (R,), float64
        1 for a series that only rises, -1 for one that only falls.

    Raises
    ------
    TypeError
        If ``values`` is not a tensor.
    ValueError
        If it is not 2-D, not finite, or has fewer than 3 time points.

    Examples
    --------
    >>> rank_correlation(torch.tensor([[1.0, 3.0], [2.0, 2.0], [4.0, 1.0], [3.0, 0.0]])).round(decimals=6).tolist()
    [0.8, -1.0]
    """
    values = check_tensor("values", values, ndim=2)
    if values.shape[0] < 3:
        raise ValueError(f"values needs at least 3 time points, got {values.shape[0]}")
    ranks = values.argsort(0).argsort(0).to(torch.float64)
    time = torch.arange(values.shape[0], dtype=torch.float64)[:, None]
    rc, tc = ranks - ranks.mean(0), time - time.mean()
    return (rc * tc).sum(0) / (rc.norm(dim=0) * tc.norm())


@dataclass(frozen=True)
class Figure81Shape:
    """The measures of `SHAPE` for R runs (each a tensor of shape (R,)); see `figure_8_1_shape`."""

    rise: Tensor  # running-average |g| at the end / after the first window
    rank_correlation: Tensor  # of the per-epoch running average (from the first window on) with time
    val_fall: Tensor  # validation error after the first window minus its mean over the last window
    val_end: Tensor  # validation error, mean over the last window
    end_gradient: Tensor  # expected-cost |g|, mean over the last window
    above_floor: Tensor  # end_gradient / the control's full-batch |g| (mean over its last window)
    control_decay: Tensor  # the control's running-average |g|: end / peak


def _last_window(monitor: Runs, values: Tensor, window: int) -> Tensor:
    per_epoch = monitor.settings["steps_per_epoch"]
    last = monitor.steps >= monitor.steps[-1] - window * per_epoch
    return values[last].to(torch.float64).mean(0)


def figure_8_1_shape(per_step: Runs, per_monitor: Runs, control_step: Runs, control_monitor: Runs,
                     window: int = SETTINGS.window) -> Figure81Shape:
    """Measure Figure 8.1's shape (the quantities `SHAPE` bounds) for the runs of `augmented_sgd`.

    "After the first window" is the end of epoch ``window``; "the last window", its last
    ``window`` epochs. The control runs (``augmented=False``) give the floor of a converged run.

    Parameters
    ----------
    per_step, per_monitor : Runs
        The two records of ``augmented_sgd(seeds)``.
    control_step, control_monitor : Runs
        The two records of ``augmented_sgd(seeds, augmented=False)``, same seeds.
    window : int, optional
        Epochs of the running average and of the windows (default ``SETTINGS.window``).

    Returns
    -------
    Figure81Shape

    Raises
    ------
    ValueError
        If the runs are shorter than three windows or the two sets differ in their number of runs.

    Examples
    --------
    >>> from dataclasses import replace
    >>> short = replace(SETTINGS, epochs=6, batch_size=200, window=2, monitor_every=2)
    >>> shape = figure_8_1_shape(*augmented_sgd([0], short), *augmented_sgd([0], short, augmented=False), window=2)
    >>> tuple(shape.rise.shape), bool(shape.control_decay <= 1)
    ((1,), True)
    """
    smooth = epoch_running_average(per_step, window)
    control = epoch_running_average(control_step, window)
    if smooth.shape[0] < 3 * window or smooth.shape[1] != control.shape[1]:
        raise ValueError(f"need at least {3 * window} epochs and the same runs in both sets, "
                         f"got {tuple(smooth.shape)} and {tuple(control.shape)}")
    per_epoch = per_monitor.settings["steps_per_epoch"]
    after = int((per_monitor.steps >= window * per_epoch).to(torch.int64).argmax())  # first monitor after the window
    val_end = _last_window(per_monitor, per_monitor["val_error"], window)
    end_gradient = _last_window(per_monitor, per_monitor.grad_norm, window)
    floor = _last_window(control_monitor, control_monitor.grad_norm, window)
    return Figure81Shape(
        rise=smooth[-1] / smooth[window - 1], rank_correlation=rank_correlation(smooth[window - 1 :]),
        val_fall=per_monitor["val_error"][after].to(torch.float64) - val_end, val_end=val_end,
        end_gradient=end_gradient, above_floor=end_gradient / floor, control_decay=control[-1] / control.max(0).values,
    )
