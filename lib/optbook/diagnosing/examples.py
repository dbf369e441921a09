"""The diagnosing page's runs: the example training loop, and cases whose diagnosis is known.

`train_digits_mlp` is the page's example, a plain PyTorch loop with a `TrainingMonitor` in it.
`known_answer_runs` trains small problems whose right verdicts are known in advance (a quadratic
with a known condition number, a saddle, a flat region, ...); `KNOWN_ANSWERS` lists those verdicts,
and the page and its claims test both check the report against them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validate import check_positive, check_positive_int, check_seed
from ..data import digits
from ..losses import Loss, squared_error
from ..models import mlp
from ..monitor import MonitorRecord, TrainingMonitor

__all__ = ["ExampleRun", "KNOWN_ANSWERS", "known_answer_runs", "train_digits_mlp"]


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
    optimizer: str = "SGD",
    momentum: float = 0.0,
    **monitor_options,
) -> ExampleRun:
    """The chapter's example: a plain PyTorch loop (tanh MLP 64-64-64-10, cross-entropy) on the digits.

    The optimizer is ``torch.optim.SGD`` (with heavy-ball ``momentum``) or ``torch.optim.Adam``
    (``optimizer="Adam"``, default betas). With ``monitored=True`` a `TrainingMonitor` (options
    passed on) watches a fixed probe batch of ``probe_size`` training images; a non-finite loss
    ends the run (the record keeps the step). ``final_check`` adds the monitor's end-of-training
    probe and Lanczos (not timed).
    """

    data, model, optimizer = _digits_mlp_setup(lr, epochs, batch_size, seed, optimizer, momentum)
    loss_fn = nn.functional.cross_entropy
    n = data.y_train.shape[0]
    rng = torch.Generator().manual_seed(check_seed("seed", seed))
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
    val_error = _validation_error(model, data)
    return ExampleRun(model, None if monitor is None else monitor.record, val_error, seconds, monitor_seconds)


def _digits_mlp_setup(lr: float, epochs: int, batch_size: int, seed: int, optimizer: str = "SGD",
                      momentum: float = 0.0):
    """Checks `train_digits_mlp`'s arguments; returns the digits, the seeded tanh MLP 64-64-64-10 and its optimizer."""

    check_positive("lr", lr)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if optimizer not in ("SGD", "Adam"):
        raise ValueError(f"optimizer must be 'SGD' or 'Adam', got {optimizer!r}")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    if optimizer == "Adam" and momentum:
        raise ValueError("momentum is SGD's: Adam's beta1 is its own (0.9)")
    data = digits()
    torch.manual_seed(check_seed("seed", seed))
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    if optimizer == "Adam":
        return data, model, torch.optim.Adam(model.parameters(), lr=lr)
    return data, model, torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def _validation_error(model: nn.Module, data) -> float:
    """The model's error rate on the digits' validation split."""

    with torch.no_grad():
        return float((model(data.x_val).argmax(1) != data.y_val).double().mean())


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
        g = torch.Generator().manual_seed(check_seed("seed", seed))
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
                  every: int, eigen_every: int, lanczos_iter: int, optimizer: str = "SGD", **options) -> MonitorRecord:
    """Full-batch training (``torch.optim.<optimizer>``, default plain SGD) with a monitor on the whole batch."""
    optimizer = getattr(torch.optim, optimizer)(model.parameters(), lr=lr, **options)
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
    "edge of stability: full-batch heavy ball, momentum 0.5": {"ill-conditioning": "ill-conditioning"},
    "adaptive edge of stability: full-batch Adam": {"ill-conditioning": "ill-conditioning"},
    "edge of stability: full-batch Nesterov, momentum 0.5": {"ill-conditioning": "ill-conditioning"},
    "adaptive edge of stability: full-batch RMSprop": {"ill-conditioning": "ill-conditioning"},
}

EDGE_RUNS = {  # the optimizer-aware edges: (optimizer, lr, options); 800 full-batch steps on 400 digits
    "edge of stability: full-batch heavy ball, momentum 0.5": ("SGD", 1.0, {"momentum": 0.5}),
    "adaptive edge of stability: full-batch Adam": ("Adam", 0.006, {}),
    "edge of stability: full-batch Nesterov, momentum 0.5": ("SGD", 0.6, {"momentum": 0.5, "nesterov": True}),
    "adaptive edge of stability: full-batch RMSprop": ("RMSprop", 0.0005, {}),
}


def known_answer_runs(seed: int = 0) -> dict[str, MonitorRecord]:
    """Monitored runs on the `KNOWN_ANSWERS` cases: seeded rotations, starts and initializations."""

    g = torch.Generator().manual_seed(check_seed("seed", seed))
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
    for name, (optimizer, lr, options) in EDGE_RUNS.items():
        runs[name] = _monitored_gd(mlp([64, 64, 10], "tanh", seed=seed), squared_error, data.x_train[:400],
                                   data.y_train[:400], lr, 800, every=10, eigen_every=50, lanczos_iter=20,
                                   optimizer=optimizer, **options)
    return runs
