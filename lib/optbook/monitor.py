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

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import check_positive, check_positive_int, check_tensor
from .curvature import HessianOperator
from .params import LossFn, functional_loss, get_flat_params
from .spectrum import lanczos

Loss = Callable[[Tensor, Tensor], Tensor]


@dataclass
class MonitorRecord:
    """What a `TrainingMonitor` recorded; every list is indexed by the loop's step count.

    ``steps``/``loss``/``grad_norm``: every call (minibatch loss and gradient norm).
    ``probe_*``, ``gTg``, ``gTHg``, ``lr``, ``ratio``: every ``every`` calls, on the probe batch;
    ``ratio`` is (eps/2) g^T H g / g^T g for the step size eps in use.
    ``eigen_*``: every ``eigen_every`` calls, Lanczos on the probe loss's Hessian.
    ``diverged_at``: the step whose loss was not finite (the monitor then raised).
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
    ratio: list[float] = field(default_factory=list)
    eigen_steps: list[int] = field(default_factory=list)
    lambda_max: list[float] = field(default_factory=list)
    lambda_min: list[float] = field(default_factory=list)
    eigen_lr: list[float] = field(default_factory=list)
    diverged_at: int | None = None

    def array(self, name: str) -> np.ndarray:
        """One recorded series as a float array (e.g. ``record.array("ratio")``)."""
        if name not in self.__dataclass_fields__ or name == "diverged_at":
            raise ValueError(f"name must be one of the recorded series, got {name!r}")
        return np.asarray(getattr(self, name), dtype=float)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode inside the block; restore each one's own flag after."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training


def _step_size(optimizer: torch.optim.Optimizer) -> float:
    rates = {float(group["lr"]) for group in optimizer.param_groups}
    if len(rates) != 1:
        raise ValueError(f"optimizer has parameter groups with different step sizes {sorted(rates)}: pass lr=")
    return rates.pop()


class TrainingMonitor:
    """Record the sections' diagnostics from inside a plain training loop.

    Call ``monitor.step(loss)`` once per step, after ``loss.backward()`` and before
    ``optimizer.step()``. The step size eps is read from ``optimizer.param_groups`` at each probe
    (so schedulers are followed) unless a fixed ``lr`` is given. ``every`` sets how often the
    probe (g^T g, g^T H g, the ratio) runs, from step 0; ``eigen_every`` how often Lanczos runs,
    from step ``eigen_every`` on (0: never), and `final_check` adds one at the final weights.
    The defaults keep the cost near 10% of a small MLP's training time: a probe costs about five
    training steps, a Lanczos run about ``2 * lanczos_iter`` probes.
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
        self.lr = None if lr is None else check_positive("lr", lr)
        self.every = check_positive_int("every", every)
        self.eigen_every = check_positive_int("eigen_every", eigen_every, minimum=0)
        self.lanczos_iter = check_positive_int("lanczos_iter", lanczos_iter, minimum=2)
        self.seed = int(seed)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        check_tensor("probe_inputs", probe_inputs)
        check_tensor("probe_targets", probe_targets)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("model has no trainable parameters")
        device = self.params[0].device
        self.probe_inputs, self.probe_targets = probe_inputs.to(device), probe_targets.to(device)
        self.record = MonitorRecord()
        self.seconds = 0.0  # the monitor's own wall time, so its overhead can be read off any run
        self._calls = 0
        self._check_probe_loss()

    def _probe_loss(self) -> LossFn:
        return functional_loss(self.model, self.loss_fn, self.probe_inputs, self.probe_targets)

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
        eps = self.current_lr()
        with eval_mode(self.model):
            op = HessianOperator(self._probe_loss(), get_flat_params(self.model))
            g = op.gradient
            gTg, gTHg = float(g @ g), float(g @ op.matvec(g))
        r = self.record
        r.probe_steps.append(step)
        r.probe_loss.append(float(op.value))
        r.probe_grad_norm.append(gTg**0.5)
        r.gTg.append(gTg)
        r.gTHg.append(gTHg)
        r.lr.append(eps)
        r.ratio.append(0.5 * eps * gTHg / gTg if gTg > 0 else float("nan"))

    def _eigen(self, step: int) -> None:
        with eval_mode(self.model):
            op = HessianOperator(self._probe_loss(), get_flat_params(self.model))
            device = op.gradient.device

            def matvec(v: Tensor) -> Tensor:  # Lanczos keeps its basis on the CPU in float64
                return op.matvec(v.to(device)).to("cpu", torch.float64)

            generator = torch.Generator().manual_seed(self.seed + step)
            spectrum = lanczos(matvec, op.dim, k=1, which="both", max_iter=self.lanczos_iter, tol=1e-4,
                               generator=generator)
        self.record.eigen_steps.append(step)
        self.record.lambda_max.append(spectrum.largest)
        self.record.lambda_min.append(spectrum.smallest)
        self.record.eigen_lr.append(self.current_lr())


@dataclass
class ExampleRun:
    """The outcome of `train_digits_mlp`: the trained model, the monitor's record, and how it went."""

    model: nn.Module
    record: MonitorRecord | None
    val_error: float
    seconds: float  # the training loop's wall time (the monitor's per-step work included)
    monitor_seconds: float  # the monitor's own share of it


def train_digits_mlp(
    lr: float,
    epochs: int = 30,
    batch_size: int = 64,
    seed: int = 0,
    monitored: bool = True,
    probe_size: int = 128,
    final_check: bool = True,
    **monitor_options,
) -> ExampleRun:
    """The chapter's example: a plain PyTorch loop (tanh MLP 64-64-64-10, cross-entropy, SGD) on the digits.

    With ``monitored=True`` a `TrainingMonitor` (options passed on) watches a fixed probe batch of
    ``probe_size`` training images; a non-finite loss ends the run (the record keeps the step).
    ``final_check`` adds the monitor's end-of-training probe and Lanczos (not timed).
    """
    from .data import digits

    check_positive("lr", lr)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    data = digits()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.functional.cross_entropy
    n = data.y_train.shape[0]
    rng = torch.Generator().manual_seed(seed)
    probe = torch.randperm(n, generator=rng)[: check_positive_int("probe_size", probe_size)]
    monitor = None
    if monitored:
        monitor = TrainingMonitor(model, loss_fn, data.x_train[probe], data.y_train[probe], optimizer,
                                  seed=seed, **monitor_options)
    start = time.perf_counter()
    diverged = False
    for _ in range(epochs):
        order = torch.randperm(n, generator=rng)
        for first in range(0, n, batch_size):
            batch = order[first : first + batch_size]
            loss = loss_fn(model(data.x_train[batch]), data.y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            if monitor is not None:
                try:
                    monitor.step(loss)  # after backward, before the update
                except ValueError:
                    if monitor.record.diverged_at is None:
                        raise
                    diverged = True
            diverged = diverged or not bool(torch.isfinite(loss))
            if diverged:
                break
            optimizer.step()
        if diverged:
            break
    seconds = time.perf_counter() - start
    monitor_seconds = 0.0 if monitor is None else monitor.seconds
    if monitor is not None and final_check and not diverged:
        monitor.final_check()
    with torch.no_grad():
        val_error = float((model(data.x_val).argmax(1) != data.y_val).double().mean())
    return ExampleRun(model, None if monitor is None else monitor.record, val_error, seconds, monitor_seconds)


# --- Cases with a known answer, to calibrate the report's thresholds (tests and chapter) -------


class _Quadratic(nn.Module):
    """J(x) = 1/2 x^T A x + b^T x as a module with one parameter vector (inputs are ignored)."""

    def __init__(self, a: Tensor, x0: Tensor, b: Tensor | None = None):
        super().__init__()
        self.x = nn.Parameter(x0.clone())
        self.register_buffer("a", a)
        self.register_buffer("b", torch.zeros_like(x0) if b is None else b)

    def forward(self, inputs: Tensor) -> Tensor:
        return 0.5 * self.x @ self.a @ self.x + self.b @ self.x


class _L2Logistic(nn.Module):
    """Multinomial logistic regression whose output carries its L2 penalty (a strictly convex cost in W)."""

    def __init__(self, n_in: int, n_out: int, weight_decay: float, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.linear = nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            self.linear.weight.copy_(0.1 * torch.randn(n_out, n_in, generator=g, dtype=torch.float64))
            self.linear.bias.zero_()
        self.weight_decay = weight_decay

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        return self.linear(inputs), 0.5 * self.weight_decay * (self.linear.weight**2).sum()


def _value(outputs: Tensor, targets: Tensor) -> Tensor:
    return outputs


def _penalized_cross_entropy(outputs: tuple[Tensor, Tensor], targets: Tensor) -> Tensor:
    return nn.functional.cross_entropy(outputs[0], targets) + outputs[1]


def _monitored_gd(model: nn.Module, loss_fn: Loss, x: Tensor, y: Tensor, lr: float, steps: int,
                  every: int, eigen_every: int, lanczos_iter: int) -> MonitorRecord:
    """Full-batch gradient descent in a plain loop with a monitor on the whole batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = TrainingMonitor(model, loss_fn, x, y, optimizer, every=every, eigen_every=eigen_every,
                              lanczos_iter=lanczos_iter)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)
        optimizer.step()
    monitor.final_check()
    return monitor.record


KNOWN_ANSWERS: dict[str, dict[str, str | None]] = {
    "quadratic, kappa 100, eps = 1.9 / lambda_max": {
        "ill-conditioning": "ill-conditioning", "negative curvature": "no sign of trouble"},
    "quadratic, kappa 100, eps = 0.4 / lambda_max": {
        "ill-conditioning": "no sign of trouble", "negative curvature": "no sign of trouble"},
    "saddle x1^2 - x2^2": {
        "ill-conditioning": "no sign of trouble", "critical point": "the gradient norm has shrunk",
        "negative curvature": "negative curvature present: near a saddle"},
    "logistic regression on the digits, converged": {
        "ill-conditioning": "no sign of trouble", "critical point": "the gradient norm has shrunk",
        "negative curvature": "no sign of trouble"},
    "edge of stability: full-batch GD, squared error": {
        "ill-conditioning": "ill-conditioning", "critical point": "not at a critical point"},
}
"""What each case's report must say (the start of each finding); tests that are not listed have no known answer."""


def known_answer_runs(seed: int = 0) -> dict[str, MonitorRecord]:
    """Monitored runs on the `KNOWN_ANSWERS` cases: seeded rotations, starts and initializations."""
    from .data import digits
    from .models import mlp
    from .training import squared_error

    g = torch.Generator().manual_seed(seed)
    dim, kappa = 20, 100.0
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 2, dim, dtype=torch.float64)) @ q.T
    x0 = torch.randn(dim, generator=g, dtype=torch.float64)
    dummy_x, dummy_y = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    runs = {}
    for name, fraction in (("quadratic, kappa 100, eps = 1.9 / lambda_max", 1.9),
                           ("quadratic, kappa 100, eps = 0.4 / lambda_max", 0.4)):
        runs[name] = _monitored_gd(_Quadratic(a, x0), _value, dummy_x, dummy_y, fraction / kappa, 200,
                                   every=10, eigen_every=50, lanczos_iter=dim)
    start = torch.tensor([1.0, 0.0], dtype=torch.float64) + 1e-6 * torch.randn(2, generator=g, dtype=torch.float64)
    runs["saddle x1^2 - x2^2"] = _monitored_gd(
        _Quadratic(torch.diag(torch.tensor([2.0, -2.0], dtype=torch.float64)), start), _value, dummy_x, dummy_y,
        0.1, 40, every=2, eigen_every=10, lanczos_iter=2)
    data = digits(seed=seed, dtype=torch.float64)
    runs["logistic regression on the digits, converged"] = _monitored_gd(
        _L2Logistic(64, 10, 0.01, seed), _penalized_cross_entropy, data.x_train, data.y_train, 2.0, 300,
        every=10, eigen_every=100, lanczos_iter=30)
    data = digits(seed=seed).one_hot()
    runs["edge of stability: full-batch GD, squared error"] = _monitored_gd(
        mlp([64, 64, 10], "tanh", seed=seed), squared_error, data.x_train[:400], data.y_train[:400], 1.0, 600,
        every=10, eigen_every=50, lanczos_iter=20)
    return runs
