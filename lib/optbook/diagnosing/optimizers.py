"""The page's optimizer-aware sections: known answers at each optimizer's limit, the digits runs
with momentum and Adam, the whole-data and per-layer curvature of a trained model, and the widget."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._validate import check_seed
from ..data import digits
from ..diagnose import diagnose_training
from ..estimates import DatasetCurvature, dataset_curvature
from ..monitor import MonitorRecord, TrainingMonitor
from .examples import ExampleRun, train_digits_mlp
from .settings import DIAGNOSING

__all__ = ["LIMIT_CASES", "LimitCheck", "limit_checks", "optimizer_runs", "verdict_line", "whole_data_curvature",
           "widget_runs"]

EPS_ADAPTIVE = 1e8  # Adam/RMSprop with eps >> |g| and beta2 = 0: P = eps I (times Adam's bias factor -> 1)
TOP = 50.0  # the quadratic's largest eigenvalue (eigenvalues 1 ... 50)
X0 = 1e-60  # the start: gradients stay far below eps while the iterate grows by 1e20 or more
# name -> (optimizer factory (params, lr), the constant c of limit = c / lr, P's scale)
LIMIT_CASES = {
    "SGD": (lambda p, lr: torch.optim.SGD(p, lr=lr), 2.0, 1.0),
    "SGD, heavy ball 0.9": (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 3.8, 1.0),
    "SGD, Nesterov 0.9": (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 3.8 / 2.8, 1.0),
    "Adam, beta1 0.9": (lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.9, 0.0), eps=EPS_ADAPTIVE), 38.0,
                        EPS_ADAPTIVE),
    "RMSprop": (lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.0, eps=EPS_ADAPTIVE), 2.0, EPS_ADAPTIVE),
}


@dataclass(frozen=True)
class LimitCheck:
    """One optimizer on the quadratic at ``factor`` times its limit: the monitor's reading and the outcome."""

    optimizer: str
    factor: float
    limit: float  # the monitor's limit on lambda_max(P^-1 H)
    stability: float  # the monitor's lambda_max(P^-1 H) / limit after 200 steps
    growth: float  # |x| after 1500 steps / |x_0| (inf: overflowed)


class _Quadratic(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("a", torch.linspace(1.0, TOP, 5, dtype=torch.float64))
        self.x = nn.Parameter(torch.full((5,), X0, dtype=torch.float64))

    def forward(self, inputs):
        return 0.5 * (self.a * self.x * self.x).sum()


def _limit_check(name: str, factor: float, steps: int = 1500) -> LimitCheck:
    make, c, scale = LIMIT_CASES[name]
    model = _Quadratic()
    opt = make(model.parameters(), factor * c * scale / TOP)
    dummy = torch.zeros(1, dtype=torch.float64)
    monitor = TrainingMonitor(model, lambda out, t: out, dummy, dummy, opt, every=200, eigen_every=200,
                              lanczos_iter=5)
    for step in range(steps):
        opt.zero_grad()
        loss = model(None)
        loss.backward()
        if step <= 200:
            monitor.step(loss)
        opt.step()
        if not bool(torch.isfinite(model.x).all()):
            break
    growth = float(model.x.detach().norm() / (X0 * 5**0.5))
    r = monitor.record
    return LimitCheck(name, factor, r.eigen_limit[-1], r.stability[-1], growth if growth == growth else float("inf"))


def limit_checks() -> list[LimitCheck]:
    """Every optimizer of `LIMIT_CASES` just below and just above its limit (`DIAGNOSING.limit_factors`)."""
    return [_limit_check(name, factor) for name in LIMIT_CASES for factor in DIAGNOSING.limit_factors]


def optimizer_runs(seed: int = 0) -> dict[tuple[str, float], ExampleRun]:
    """The digits example with SGD + momentum and with Adam, each at its good and too-large step (per-layer sharpness on)."""
    check_seed("seed", seed)
    runs = {}
    for lr in DIAGNOSING.momentum_lrs:
        runs[("SGD, momentum 0.9", lr)] = train_digits_mlp(lr, seed=seed, momentum=DIAGNOSING.momentum, layers=True,
                                                             **DIAGNOSING.monitor)
    for lr in DIAGNOSING.adam_lrs:
        runs[("Adam", lr)] = train_digits_mlp(lr, seed=seed, optimizer="Adam", layers=True, **DIAGNOSING.monitor)
    return runs


def whole_data_curvature(model: nn.Module, seed: int = 0) -> DatasetCurvature:
    """`dataset_curvature` of a digits model over the training set in batches of 64 (the first 20)."""
    data = digits()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data.x_train, data.y_train),
                                         batch_size=DIAGNOSING.curvature_batch_size)
    return dataset_curvature(model, nn.functional.cross_entropy, loader, max_batches=DIAGNOSING.curvature_batches,
                             trace_samples=16, seed=check_seed("seed", seed))


def widget_runs(seed: int = 0) -> dict[tuple[str, float], MonitorRecord]:
    """The widget's frames: each optimizer at each multiple of its good step (`DIAGNOSING.widget_scales`)."""
    check_seed("seed", seed)
    good = {"SGD, momentum 0.9": DIAGNOSING.momentum_lrs[0], "Adam": DIAGNOSING.adam_lrs[0]}
    records = {}
    for name, base in good.items():
        options = {"momentum": DIAGNOSING.momentum} if name.startswith("SGD") else {"optimizer": "Adam"}
        for scale in DIAGNOSING.widget_scales:
            run = train_digits_mlp(base * scale, seed=seed, epochs=15, every=10, eigen_every=50, **options)
            records[(name, scale)] = run.record
    return records


def verdict_line(record: MonitorRecord) -> str:
    """The ill-conditioning verdict (or the divergence) of a record, in one line."""
    if record.diverged_at is not None or len(record.probe_steps) < 4:
        return f"diverged at step {record.diverged_at}" if record.diverged_at is not None else "too short to judge"
    return diagnose_training(record).finding("ill-conditioning")
