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
from typing import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import check_positive, check_positive_int, check_tensor
from .curvature import HessianOperator
from .losses import Loss
from .params import LossFn, functional_loss, get_flat_params
from .spectrum import lanczos



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


















"""What each case's report must say (the start of each finding); tests that are not listed have no known answer."""
