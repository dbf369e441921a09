"""The diagnosing page's settings: one frozen object that the page and its claims test both import."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


def _frozen(**items) -> Mapping:
    return MappingProxyType(dict(items))


@dataclass(frozen=True)
class DiagnosingSettings:
    """What the page runs: step sizes, monitor cadence, the optimizer cases, the estimates' sizes."""

    good_lr: float = 0.5  # plain SGD, the page's first example
    large_lr: float = 12.0
    monitor: Mapping = field(default_factory=lambda: _frozen(every=10, eigen_every=100))
    momentum: float = 0.9  # SGD with heavy-ball momentum
    momentum_lrs: tuple[float, float] = (0.1, 2.0)  # a good and a too-large step
    adam_lrs: tuple[float, float] = (0.01, 0.3)
    widget_scales: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0)  # multiples of each optimizer's good step
    curvature_batch_size: int = 64  # the batches of the whole-data estimate
    curvature_batches: int = 20
    layer_probe: int = 128
    slq_probes: int = 10
    slq_iter: int = 60
    limit_factors: tuple[float, float] = (0.97, 1.03)  # quadratic known answers: just below, just above


DIAGNOSING = DiagnosingSettings()
