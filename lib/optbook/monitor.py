"""A curvature monitor that attaches to an ordinary PyTorch training loop (sec. 8.2.1-8.2.3's advice).

The book ends its sections with three things a practitioner can watch: the gradient norm (a
critical point needs it to shrink, sec. 8.2.2), g^T g against g^T H g (ill-conditioning shows when
the curvature term (eps^2/2) g^T H g eats the first-order gain eps g^T g, eq. 8.10, sec. 8.2.1),
and the sign of the curvature (a saddle has negative eigenvalues, sec. 8.2.3). `TrainingMonitor`
records them for any ``nn.Module`` and loss without a framework: the loop calls
``monitor.step(loss)`` once per step, after ``loss.backward()`` and before ``optimizer.step()``.

What it costs, per call: the minibatch gradient norm (read from ``.grad``, almost free). Every
``every`` calls: one gradient and one Hessian-vector product (Pearlmutter 1994) on a FIXED probe
batch, so successive values are comparable. Every ``eigen_every`` calls: the largest and smallest
Hessian eigenvalues of the probe loss by Lanczos (a few dozen Hessian-vector products).

The probe is evaluated with the model in eval mode: dropout is off and batch norm uses its
running statistics, so the probe loss is a deterministic function of the weights (no random masks
drawn from the caller's generator, no running statistics updated). The training flags of every
submodule are restored afterwards; parameters, ``.grad`` and buffers are never written.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import check_positive, check_positive_int, check_tensor
from .curvature import HessianOperator
from .estimates import _restrict, dataset_curvature, eval_mode, parameter_blocks  # noqa: F401  (eval_mode: part of this module's API)
from .losses import Loss
from .params import LossFn, functional_loss, get_flat_params
from .runs import Runs
from .spectrum import lanczos



_NOT_SERIES = ("diverged_at", "optimizer", "layer_names", "layer_sharpness")


@dataclass
class MonitorRecord:
    """What a `TrainingMonitor` recorded; every list is indexed by the loop's step count.

    ``steps``/``loss``/``grad_norm``: every call (minibatch loss and gradient norm).
    ``probe_*``, ``gTg``, ``gTHg``, ``lr``, ``limit``, ``ratio``: every ``every`` calls, on the
    probe batch; ``limit`` is the optimizer's stability limit (`stability_rule`: 2/eps for SGD)
    and ``ratio`` the Rayleigh quotient of P^-1 H along the update direction P^-1 g divided by it,
    which for SGD is (eps/2) g^T H g / g^T g (1 at the limit).
    ``eigen_*``, ``lambda_max``/``lambda_min`` (Lanczos on the probe loss's Hessian H),
    ``sharpness`` (the top eigenvalue of P^-1 (H + weight decay), which for plain SGD is
    ``lambda_max``) and ``stability`` = sharpness / limit: every ``eigen_every`` calls.
    ``layer_sharpness``: per eigen step, the top eigenvalue of each layer's diagonal block of the
    same matrix (``layers=True``), in the order of ``layer_names``.
    ``dataset_*``: every ``curvature_every`` calls, `optbook.estimates.dataset_curvature` over the
    ``curvature_batches``: the whole-data loss, lambda_max of the whole-data Hessian, the per-batch
    lambda_max's mean and standard error, g^T H g and tr(H) with standard errors, the flag.
    ``optimizer``: the rule in words; ``diverged_at``: the step whose loss was not finite.

    Examples
    --------
    >>> r = MonitorRecord(steps=[0, 1], loss=[2.0, 1.5], grad_norm=[1.0, 0.5])
    >>> runs = r.as_runs()
    >>> sorted(runs), runs["step"].loss[:, 0].tolist()
    (['step'], [2.0, 1.5])
    >>> MonitorRecord.from_json(r.to_json()) == r
    True
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    probe_steps: list[int] = field(default_factory=list)
    probe_loss: list[float] = field(default_factory=list)
    probe_grad_norm: list[float] = field(default_factory=list)
    gTg: list[float] = field(default_factory=list)
    gTHg: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    limit: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    eigen_steps: list[int] = field(default_factory=list)
    eigen_loss: list[float] = field(default_factory=list)
    lambda_max: list[float] = field(default_factory=list)
    lambda_min: list[float] = field(default_factory=list)
    eigen_lr: list[float] = field(default_factory=list)
    eigen_limit: list[float] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    stability: list[float] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    layer_sharpness: list[list[float]] = field(default_factory=list)
    dataset_steps: list[int] = field(default_factory=list)
    dataset_loss: list[float] = field(default_factory=list)
    dataset_lambda_max: list[float] = field(default_factory=list)
    dataset_batch_lambda_max: list[float] = field(default_factory=list)
    dataset_batch_lambda_max_se: list[float] = field(default_factory=list)
    dataset_gTHg: list[float] = field(default_factory=list)
    dataset_gTHg_se: list[float] = field(default_factory=list)
    dataset_trace: list[float] = field(default_factory=list)
    dataset_trace_se: list[float] = field(default_factory=list)
    dataset_converged: list[bool] = field(default_factory=list)
    optimizer: str = "gradient descent"
    diverged_at: int | None = None

    def array(self, name: str) -> np.ndarray:
        """One recorded series as a float array (e.g. ``record.array("ratio")``)."""
        if name not in self.__dataclass_fields__ or name in _NOT_SERIES:
            raise ValueError(f"name must be one of the recorded series, got {name!r}")
        return np.asarray(getattr(self, name), dtype=float)

    @property
    def stability_known(self) -> bool:
        """Whether the optimizer's stability limit is known (False: the verdicts do not judge the step)."""
        return not (self.limit and all(math.isnan(x) for x in self.limit))

    def as_runs(self) -> dict[str, Runs]:
        """The record as `optbook.Runs` (R = 1), one per cadence: ``"step"``, ``"probe"``, ``"eigen"``.

        ``"step"``: minibatch loss and gradient norm; ``"probe"``: the probe cost, its gradient norm
        and series gTg, gTHg, lr, limit, ratio; ``"eigen"``: the probe cost at the Lanczos steps,
        series lambda_max, lambda_min, lr, limit, sharpness, stability and (``layers=True``)
        layer_sharpness [T, 1, L]. A cadence with nothing recorded is left out.
        """
        def col(values, n: int | None = None) -> Tensor:
            if n is not None and not values and n:  # a series this record never filled (a record made by hand)
                values = [math.nan] * n
            return torch.tensor(values, dtype=torch.float64).reshape(len(values), 1, *np.shape(values)[1:])

        div = torch.tensor([-1 if self.diverged_at is None else self.diverged_at])
        out = {}
        if self.steps:
            out["step"] = Runs(torch.tensor(self.steps), col(self.loss), col(self.grad_norm), diverged_at=div)
        if self.probe_steps:
            series = {k: col(getattr(self, k), len(self.probe_steps)) for k in ("gTg", "gTHg", "lr", "limit", "ratio")}
            out["probe"] = Runs(torch.tensor(self.probe_steps), col(self.probe_loss), col(self.probe_grad_norm),
                                series=series, diverged_at=div)
        if self.eigen_steps:
            series = {k: col(getattr(self, n), len(self.eigen_steps)) for k, n in (("lambda_max", "lambda_max"), ("lambda_min", "lambda_min"),
                      ("lr", "eigen_lr"), ("limit", "eigen_limit"), ("sharpness", "sharpness"), ("stability", "stability"))}
            if self.layer_sharpness:
                series["layer_sharpness"] = col(self.layer_sharpness)
            out["eigen"] = Runs(torch.tensor(self.eigen_steps), col(self.eigen_loss, len(self.eigen_steps)), series=series, diverged_at=div,
                                settings={"layer_names": list(self.layer_names)})
        if self.dataset_steps:
            names = ("lambda_max", "batch_lambda_max", "batch_lambda_max_se", "gTHg", "gTHg_se", "trace", "trace_se",
                     "converged")
            series = {k: col(getattr(self, f"dataset_{k}")) for k in names}
            out["dataset"] = Runs(torch.tensor(self.dataset_steps), col(self.dataset_loss), series=series,
                                  diverged_at=div)
        return out

    def to_json(self) -> str:
        """The whole record as a JSON string (nan and inf written as null, "inf", "-inf")."""
        def clean(value):
            if isinstance(value, float) and not math.isfinite(value):
                return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return json.dumps({name: clean(getattr(self, name)) for name in self.__dataclass_fields__})

    @classmethod
    def from_json(cls, text: str) -> "MonitorRecord":
        """The record that `to_json` wrote."""
        def restore(value):
            if isinstance(value, list):
                return [restore(v) for v in value]
            return {None: math.nan, "inf": math.inf, "-inf": -math.inf}.get(value, value) if not isinstance(
                value, (int, float, bool)) else value

        data = json.loads(text)
        if not isinstance(data, dict) or not set(data) <= set(cls.__dataclass_fields__):
            raise ValueError("text must be a JSON object written by MonitorRecord.to_json")
        return cls(**{k: (restore(v) if k not in ("optimizer", "diverged_at") else v) for k, v in data.items()})


def _step_size(optimizer: torch.optim.Optimizer) -> float:
    rates = {float(group["lr"]) for group in optimizer.param_groups}
    if len(rates) != 1:
        raise ValueError(f"optimizer has parameter groups with different step sizes {sorted(rates)}: pass lr=")
    return rates.pop()


# --- Which eigenvalue limits the step, for the optimizers the monitor knows ----------------------

_RULE_KEYS = ("momentum", "dampening", "nesterov", "betas", "eps", "alpha", "centered", "amsgrad",
              "decoupled_weight_decay")  # weight decay may differ between groups (none on biases, say)


@dataclass(frozen=True)
class StabilityRule:
    """The stability limit of an optimizer's update on a quadratic, read from the optimizer.

    On J = 1/2 theta^T A theta an update with a frozen preconditioner P is stable while every
    eigenvalue of P^-1 A stays below ``limit``. ``preconditioned`` says whether P is the optimizer's
    second-moment state (Adam, AdamW, RMSprop) or the identity (SGD); ``weight_decay`` is the L2
    coefficient the optimizer adds to the gradient (it adds ``weight_decay * I`` to the Hessian;
    AdamW's decoupled decay does not and is reported as 0). An optimizer the monitor does not know
    has ``known = False`` and a nan limit.

    Attributes
    ----------
    optimizer : str
        What was read, in words (e.g. ``"SGD, heavy-ball momentum 0.9"``).
    lr : float
        The step size eta.
    limit : float
        The largest stable eigenvalue of P^-1 (H + weight_decay I): 2/eta for SGD,
        (2 + 2b)/((1 - d) eta) for heavy ball (momentum b, dampening d), (2 + 2b)/((1 + 2b) eta)
        for Nesterov, (2 + 2 b1)/((1 - b1) eta) for Adam/AdamW (38/eta at b1 = 0.9), and
        (2 + 2 mu)/eta for RMSprop with momentum mu; nan when not known.
    preconditioned : bool
        Whether the limit is on P^-1 H with P from the optimizer's state.
    weight_decay : float
        The largest L2 coefficient of the parameter groups, folded into the Hessian (the monitor
        adds each group's own to its coordinates).

    References
    ----------
    .. [1] J. Cohen et al., "Gradient descent on neural networks typically occurs at the edge of
       stability", ICLR 2021 (``cohen2021gradient``).
    .. [2] J. Cohen et al., "Adaptive gradient methods at the edge of stability", 2022
       (``cohen2022adaptive``).

    Examples
    --------
    >>> rule = StabilityRule("SGD", lr=0.1, limit=20.0, preconditioned=False, weight_decay=0.0)
    >>> rule.known, rule.limit * rule.lr
    (True, 2.0)
    """

    optimizer: str
    lr: float
    limit: float
    preconditioned: bool
    weight_decay: float

    @property
    def known(self) -> bool:
        """Whether the limit is known (False for an optimizer the monitor does not know)."""
        return not math.isnan(self.limit)


def _shared_settings(optimizer: torch.optim.Optimizer) -> dict:
    """The hyperparameters of the rule, which every parameter group must share."""
    settings = {}
    for key in ("lr",) + _RULE_KEYS:
        values = {repr(group[key]) for group in optimizer.param_groups if key in group}
        if len(values) > 1:
            what = "step sizes" if key == "lr" else f"values of {key}"
            raise ValueError(f"optimizer has parameter groups with different {what} {sorted(values)}: "
                             "the monitor needs one rule for all of them")
        if values:
            settings[key] = optimizer.param_groups[0][key]
    settings["weight_decay"] = max(float(group.get("weight_decay", 0.0)) for group in optimizer.param_groups)
    return settings


def _sgd_rule(s: dict, eta: float) -> StabilityRule:
    beta, damp, wd = float(s["momentum"]), float(s["dampening"]), float(s["weight_decay"])
    if beta == 0:
        return StabilityRule("SGD", eta, 2 / eta, False, wd)
    if s["nesterov"]:
        return StabilityRule(f"SGD, Nesterov momentum {beta:g}", eta, (2 + 2 * beta) / ((1 + 2 * beta) * eta), False, wd)
    name = f"SGD, heavy-ball momentum {beta:g}" + (f", dampening {damp:g}" if damp else "")
    limit = (2 + 2 * beta) / ((1 - damp) * eta) if damp < 1 else math.inf
    return StabilityRule(name, eta, limit, False, wd)


def stability_rule(optimizer: torch.optim.Optimizer | None = None, lr: float | None = None) -> StabilityRule:
    """The stability limit that applies to ``optimizer`` (or to plain gradient descent at step ``lr``).

    Reads the optimizer's type and hyperparameters: ``torch.optim.SGD`` (momentum, dampening,
    Nesterov, weight decay), ``Adam`` and ``AdamW`` (beta1, L2 or decoupled decay) and ``RMSprop``
    (momentum). Any other type, subclasses included, gets an unknown rule (nan limit): the monitor
    does not guess. The thresholds are those of the linear recurrences on a quadratic with the
    preconditioner frozen (Cohen et al. 2021, 2022); each is checked in the tests by running the
    optimizer just below and just above it.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer or None
        The optimizer whose next update is judged; its parameter groups must share the settings.
    lr : float or None
        With no optimizer: the step size of plain gradient descent.

    Returns
    -------
    StabilityRule

    Raises
    ------
    TypeError
        If ``optimizer`` is not a ``torch.optim.Optimizer``.
    ValueError
        If both or neither of ``optimizer`` and ``lr`` are given, ``lr`` is not positive, or the
        parameter groups differ in a setting of the rule.

    References
    ----------
    .. [1] J. Cohen et al., "Gradient descent on neural networks typically occurs at the edge of
       stability", ICLR 2021 (``cohen2021gradient``).
    .. [2] J. Cohen et al., "Adaptive gradient methods at the edge of stability", 2022
       (``cohen2022adaptive``).

    Examples
    --------
    >>> import torch
    >>> p = [torch.nn.Parameter(torch.zeros(2))]
    >>> round(stability_rule(torch.optim.SGD(p, lr=0.1, momentum=0.9)).limit, 6)
    38.0
    >>> rule = stability_rule(torch.optim.Adam(p, lr=0.01))
    >>> round(rule.limit * rule.lr, 6), rule.preconditioned
    (38.0, True)
    >>> stability_rule(torch.optim.Adagrad(p)).known
    False
    """
    if (optimizer is None) == (lr is None):
        raise ValueError("pass exactly one of optimizer and lr")
    if optimizer is None:
        eta = check_positive("lr", lr)
        return StabilityRule("gradient descent", eta, 2 / eta, False, 0.0)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    s = _shared_settings(optimizer)
    eta, kind = float(s["lr"]), type(optimizer)
    if kind is torch.optim.SGD:
        return _sgd_rule(s, eta)
    if kind in (torch.optim.Adam, torch.optim.AdamW):
        b1 = float(s["betas"][0])
        decoupled = kind is torch.optim.AdamW or bool(s.get("decoupled_weight_decay", False))
        wd = 0.0 if decoupled else float(s["weight_decay"])
        return StabilityRule(f"{kind.__name__}, beta1 {b1:g}", eta, (2 + 2 * b1) / ((1 - b1) * eta), True, wd)
    if kind is torch.optim.RMSprop:
        mu = float(s["momentum"])
        name = "RMSprop" + (f", momentum {mu:g}" if mu else "")
        return StabilityRule(name, eta, (2 + 2 * mu) / eta, True, float(s["weight_decay"]))
    return StabilityRule(f"{kind.__name__} (unknown to the monitor)", eta if eta > 0 else math.nan, math.nan,
                         False, 0.0)


def _adaptive_denominator(optimizer: torch.optim.Optimizer, p: Tensor) -> Tensor | None:
    """P for one parameter from the optimizer's state (None before the first update)."""
    state, group = optimizer.state.get(p, {}), optimizer.param_groups[0]
    if isinstance(optimizer, torch.optim.RMSprop):
        if "square_avg" not in state:
            return None
        avg = state["square_avg"]
        if group["centered"]:
            avg = avg - state["grad_avg"] ** 2
        return avg.sqrt() + group["eps"]
    if "exp_avg_sq" not in state:
        return None
    b1, b2 = group["betas"]
    t = float(state["step"])
    second = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
    return (1 - b1**t) * ((second / (1 - b2**t)).sqrt() + group["eps"])


def preconditioner(optimizer: torch.optim.Optimizer, params: list[Tensor]) -> Tensor | None:
    """The diagonal P of an adaptive optimizer's next update, as one flat vector over ``params``.

    Adam/AdamW: P = (1 - b1^t) (sqrt(v_t / (1 - b2^t)) + eps), so that the update is
    theta <- theta - eta P^-1 m_t (PyTorch's bias corrections included; the AMSGrad maximum when
    ``amsgrad``). RMSprop: P = sqrt(v_t) + eps (centered: v_t - mean(g)^2). A parameter the
    optimizer does not hold never moves, and gets P = inf. For SGD, P is the identity (ones).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        SGD, Adam, AdamW or RMSprop (see `stability_rule`).
    params : list of Tensor
        The parameters in the order of the flat vector (e.g. the model's trainable ones).

    Returns
    -------
    Tensor, shape (P,), float64, or None
        None while the adaptive optimizer has no state yet (before its first update).

    Raises
    ------
    TypeError
        If ``optimizer`` is not a ``torch.optim.Optimizer`` or ``params`` not a list of tensors.
    ValueError
        If the optimizer is not one the monitor knows.

    References
    ----------
    .. [1] J. Cohen et al., "Adaptive gradient methods at the edge of stability", 2022
       (``cohen2022adaptive``).

    Examples
    --------
    >>> import torch
    >>> p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    >>> opt = torch.optim.RMSprop([p], lr=0.01, alpha=0.0, eps=0.0)
    >>> (p * p).sum().backward(); opt.step()
    >>> preconditioner(opt, [p]).tolist()  # sqrt(g^2) = |g| = 2 |p|
    [2.0, 4.0]
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, Tensor) for p in params):
        raise TypeError("params must be a list of tensors")
    rule = stability_rule(optimizer)
    if not rule.known:
        raise ValueError(f"optimizer must be one the monitor knows (SGD, Adam, AdamW, RMSprop), got {rule.optimizer}")
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    pieces = []
    for p in params:
        if id(p) not in held:
            pieces.append(torch.full((p.numel(),), math.inf, dtype=torch.float64))
            continue
        if not rule.preconditioned:
            pieces.append(torch.ones(p.numel(), dtype=torch.float64))
            continue
        denominator = _adaptive_denominator(optimizer, p)
        if denominator is None:
            return None
        pieces.append(denominator.detach().reshape(-1).to("cpu", torch.float64))
    return torch.cat(pieces)


def _scaled_operator(op: HessianOperator, scale: Tensor | None, weight_decay: Tensor | float, theta: Tensor):
    """v -> D (H + diag(wd)) D v on CPU float64 vectors, D = diag(scale) (None: the identity)."""
    device = op.gradient.device

    def matvec(v: Tensor) -> Tensor:
        u = v if scale is None else scale * v
        out = op.matvec(u.to(device, theta.dtype)).to("cpu", torch.float64) + weight_decay * u
        return out if scale is None else scale * out

    return matvec


class TrainingMonitor:
    """Record the sections' diagnostics from inside a plain training loop.

    Call ``monitor.step(loss)`` once per step, after ``loss.backward()`` and before
    ``optimizer.step()``. The step size eps and the stability rule (`stability_rule`: SGD with or
    without momentum, Nesterov, Adam, AdamW, RMSprop) are read from the optimizer at each probe
    (so schedulers are followed) unless a fixed ``lr`` (plain gradient descent) is given. For Adam
    and RMSprop the sharpness is the top eigenvalue of P^-1 H, P from the optimizer's state
    (`preconditioner`), found by Lanczos on P^-1/2 H P^-1/2; an optimizer the monitor does not know
    gets no limit and the verdicts say so. ``every`` sets how often the probe (g^T g, g^T H g, the
    ratio) runs, from step 0; ``eigen_every`` how often Lanczos runs, from step ``eigen_every`` on
    (0: never), and `final_check` adds one at the final weights; ``layers=True`` adds the top
    eigenvalue of each layer's block (`parameter_blocks`) at those steps. The defaults keep the
    cost within 20% of a small MLP's training time (``make benchmarks``): each step reads the
    gradient norm, a probe costs about five training steps, a Lanczos run about
    ``2 * lanczos_iter`` probes (twice that with Adam or RMSprop, and once more per layer with
    ``layers``). The model is copied once, at the first probe; later probes re-read only its
    buffers and frozen parameters (`FunctionalLoss.reload_frozen`).

    Examples
    --------
    A plain loop with heavy-ball momentum; the monitor reads the optimizer's limit
    (2 + 2 beta) / eta = 38 and `optbook.diagnose_training` turns the record into verdicts:

    >>> import torch
    >>> import optbook as ob
    >>> _ = torch.manual_seed(0)
    >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    >>> monitor = ob.TrainingMonitor(net, torch.nn.functional.cross_entropy, x, y, opt, every=10, eigen_every=50)
    >>> for step in range(200):
    ...     loss = torch.nn.functional.cross_entropy(net(x), y)
    ...     opt.zero_grad()
    ...     loss.backward()
    ...     monitor.step(loss)  # after backward, before the update
    ...     opt.step()
    >>> monitor.final_check()
    >>> record = monitor.record
    >>> record.optimizer, round(record.limit[-1], 6), len(record.probe_steps), record.eigen_steps
    ('SGD, heavy-ball momentum 0.9', 38.0, 21, [50, 100, 150, 200])
    >>> [verdict.test for verdict in ob.diagnose_training(record).verdicts]
    ['progress', 'ill-conditioning', 'critical point', 'negative curvature']
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Loss,
        probe_inputs: Tensor,
        probe_targets: Tensor,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        lr: float | None = None,
        every: int = 100,
        eigen_every: int = 1000,
        lanczos_iter: int = 20,
        layers: bool = False,
        curvature_batches: Iterable | None = None,
        curvature_every: int = 0,
        seed: int = 0,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if (optimizer is None) == (lr is None):
            raise ValueError("pass exactly one of optimizer (its step size is read at each probe) and lr")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not isinstance(layers, bool):
            raise TypeError(f"layers must be a bool, got {type(layers).__name__}")
        self.lr = None if lr is None else check_positive("lr", lr)
        self.every = check_positive_int("every", every)
        self.eigen_every = check_positive_int("eigen_every", eigen_every, minimum=0)
        self.lanczos_iter = check_positive_int("lanczos_iter", lanczos_iter, minimum=2)
        self.seed, self.layers = int(seed), layers
        self.curvature_every = check_positive_int("curvature_every", curvature_every, minimum=0)
        if bool(self.curvature_every) != (curvature_batches is not None):
            raise ValueError("curvature_batches and curvature_every > 0 go together (whole-data curvature every k steps)")
        self.curvature_batches = curvature_batches
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        check_tensor("probe_inputs", probe_inputs)
        check_tensor("probe_targets", probe_targets)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("model has no trainable parameters")
        device = self.params[0].device
        self.probe_inputs, self.probe_targets = probe_inputs.to(device), probe_targets.to(device)
        self.record = MonitorRecord(optimizer=self.rule().optimizer)
        self.blocks = parameter_blocks(model) if layers else []
        self.record.layer_names = [name for name, _ in self.blocks]
        self.seconds = 0.0  # the monitor's own wall time, so its overhead can be read off any run
        self._calls = 0
        self._loss = None  # the probe's FunctionalLoss, made under eval_mode at the first probe
        self._check_probe_loss()

    def _probe_loss(self) -> LossFn:
        """J on the probe batch at the model's current frozen tensors; the model is copied only once."""
        if self._loss is not None:
            try:
                self._loss.reload_frozen(self.model)
                return self._loss
            except ValueError:  # the model's frozen tensors changed (a layer unfrozen, a buffer added)
                pass
        self._loss = functional_loss(self.model, self.loss_fn, self.probe_inputs, self.probe_targets)
        return self._loss

    def _check_probe_loss(self) -> None:
        """Fail at set-up, not mid-run: the probe loss must be a finite scalar tensor."""
        with eval_mode(self.model), torch.no_grad():
            value = self.loss_fn(self.model(self.probe_inputs), self.probe_targets)
        if not isinstance(value, Tensor):
            raise TypeError(f"loss_fn must return a tensor, got {type(value).__name__}")
        if value.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar, got shape {tuple(value.shape)}")
        if not bool(torch.isfinite(value)):
            raise ValueError(f"the loss on the probe batch is not finite ({value.item()})")

    def current_lr(self) -> float:
        """The step size eps of the next update."""
        return self.lr if self.optimizer is None else _step_size(self.optimizer)

    def rule(self) -> StabilityRule:
        """The stability rule of the next update (`stability_rule` on the optimizer, or GD at ``lr``)."""
        return stability_rule(lr=self.lr) if self.optimizer is None else stability_rule(self.optimizer)

    def _decay(self, rule: StabilityRule) -> Tensor | float:
        """Each coordinate's L2 coefficient (its group's; 0 for AdamW's decoupled decay): H + diag(this)."""
        if rule.weight_decay == 0 or self.optimizer is None:
            return 0.0
        by_param = {id(p): float(group.get("weight_decay", 0.0)) for group in self.optimizer.param_groups
                    for p in group["params"]}
        return torch.cat([torch.full((p.numel(),), by_param.get(id(p), 0.0), dtype=torch.float64) for p in self.params])

    def _scale(self, rule: StabilityRule) -> tuple[bool, Tensor | None]:
        """(defined, D = P^-1/2): D is None for the identity; undefined before Adam's first update."""
        if self.optimizer is None or not rule.known:
            return True, None
        p = preconditioner(self.optimizer, self.params)
        if p is None:
            return False, None
        if not rule.preconditioned and bool((p == 1).all()):
            return True, None
        return True, p.rsqrt()

    def step(self, loss: Tensor | None = None) -> None:
        """Record this step; probe every ``every`` calls and run Lanczos every ``eigen_every``."""
        started = time.perf_counter()
        step = self._calls
        if loss is not None:
            if not isinstance(loss, Tensor):
                raise TypeError(f"loss must be a tensor, got {type(loss).__name__}")
            if loss.dim() != 0:
                raise ValueError(f"loss must be a scalar, got shape {tuple(loss.shape)}")
            value = loss.item()
            if not math.isfinite(value):
                self.record.diverged_at = step
                raise ValueError(f"training diverged: the loss is {value} at step {step} (record kept up to here)")
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            raise ValueError("no gradients found: call monitor.step() after loss.backward(), before zero_grad()")
        self.record.steps.append(step)
        self.record.loss.append(value if loss is not None else float("nan"))
        flat = torch.cat([g.reshape(-1) for g in grads])  # one copy beats per-tensor norms on small nets
        self.record.grad_norm.append(float(flat @ flat) ** 0.5)
        if step % self.every == 0:
            self._probe(step)
        if self.eigen_every and step % self.eigen_every == 0 and step > 0:
            self._eigen(step)
        if self.curvature_every and step % self.curvature_every == 0:
            self._dataset(step)
        self._calls += 1
        self.seconds += time.perf_counter() - started

    def final_check(self) -> None:
        """Probe and run Lanczos at the current weights: call it once after training ends.

        The negative-curvature test is about where training ended, so this is the Lanczos
        measurement that matters most; it costs about ``2 * lanczos_iter`` probes, once.
        """
        if not self.record.steps:
            raise ValueError("nothing recorded yet: call monitor.step() in the training loop first")
        started = time.perf_counter()
        step = self.record.steps[-1] + 1
        if not self.record.probe_steps or self.record.probe_steps[-1] != step:
            self._probe(step)
        if not self.record.eigen_steps or self.record.eigen_steps[-1] != step:
            self._eigen(step)
        self.seconds += time.perf_counter() - started

    def _probe(self, step: int) -> None:
        rule = self.rule()
        with eval_mode(self.model):
            theta = get_flat_params(self.model)
            op = HessianOperator(self._probe_loss(), theta)
            g = op.gradient
            gTg, gTHg = float(g @ g), float(g @ op.matvec(g))
            ratio = self._ratio(op, theta, rule, gTg, gTHg)
        r = self.record
        r.probe_steps.append(step)
        r.probe_loss.append(float(op.value))
        r.probe_grad_norm.append(gTg**0.5)
        r.gTg.append(gTg)
        r.gTHg.append(gTHg)
        r.lr.append(rule.lr)
        r.limit.append(rule.limit)
        r.ratio.append(ratio)
        r.optimizer = rule.optimizer

    def _ratio(self, op: HessianOperator, theta: Tensor, rule: StabilityRule, gTg: float, gTHg: float) -> float:
        """Rayleigh quotient of P^-1 (H + wd) along the update direction P^-1 g, over the limit."""
        defined, scale = self._scale(rule)
        if not (rule.known and defined):
            return float("nan")
        if scale is None and rule.weight_decay == 0:
            return gTHg / gTg / rule.limit if gTg > 0 else float("nan")
        decay = self._decay(rule)
        g = op.gradient.to("cpu", torch.float64) + decay * theta.detach().to("cpu", torch.float64)
        w = g if scale is None else scale**2 * g  # P^-1 g
        denominator = float(g @ w)
        if denominator <= 0:
            return float("nan")
        hw = op.matvec(w.to(op.gradient.device, op.dtype)).to("cpu", torch.float64) + decay * w
        return float(w @ hw) / denominator / rule.limit

    def _eigen(self, step: int) -> None:
        rule = self.rule()
        defined, scale = self._scale(rule)
        with eval_mode(self.model):
            theta = get_flat_params(self.model)
            op = HessianOperator(self._probe_loss(), theta)
            plain = _scaled_operator(op, None, 0.0, theta)  # Lanczos keeps its basis on the CPU in float64
            spectrum = self._lanczos(plain, op.dim, "both", step)
            sharpness, layers = float("nan"), [float("nan")] * len(self.blocks)
            if rule.known and defined:
                matvec = plain
                if scale is not None or rule.weight_decay:
                    matvec = _scaled_operator(op, scale, self._decay(rule), theta)
                    sharpness = self._lanczos(matvec, op.dim, "largest", step).largest
                else:
                    sharpness = spectrum.largest
                layers = [self._lanczos(_restrict(matvec, block, op.dim), block.stop - block.start, "largest",
                                        step).largest for _, block in self.blocks]
        r = self.record
        r.eigen_steps.append(step)
        r.eigen_loss.append(float(op.value))
        r.lambda_max.append(spectrum.largest)
        r.lambda_min.append(spectrum.smallest)
        r.eigen_lr.append(rule.lr)
        r.eigen_limit.append(rule.limit)
        r.sharpness.append(sharpness)
        r.stability.append(sharpness / rule.limit if rule.known else float("nan"))
        if self.blocks:
            r.layer_sharpness.append(layers)

    def _dataset(self, step: int) -> None:
        estimate = dataset_curvature(self.model, self.loss_fn, self.curvature_batches, lanczos_iter=self.lanczos_iter,
                                     seed=self.seed + step)
        r = self.record
        r.dataset_steps.append(step)
        r.dataset_loss.append(estimate.loss)
        r.dataset_lambda_max.append(estimate.lambda_max)
        r.dataset_batch_lambda_max.append(estimate.batch_lambda_max.mean)
        r.dataset_batch_lambda_max_se.append(estimate.batch_lambda_max.stderr)
        r.dataset_gTHg.append(estimate.gTHg.mean)
        r.dataset_gTHg_se.append(estimate.gTHg.stderr)
        r.dataset_trace.append(estimate.trace.mean)
        r.dataset_trace_se.append(estimate.trace.stderr)
        r.dataset_converged.append(estimate.converged)

    def _lanczos(self, matvec, dim: int, which: str, step: int):
        generator = torch.Generator().manual_seed(self.seed + step)
        return lanczos(matvec, dim, k=1, which=which, max_iter=self.lanczos_iter, tol=1e-4, generator=generator)
