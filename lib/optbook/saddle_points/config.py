"""The saddle-points page's settings, once: the page and its claims test import `SADDLE_POINTS`.

Theory constants (the semicircle radius, the threshold energy, Dean and Majumdar's rate) stay in
the modules that derive them; only choices made for the page's experiments live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np


def _net_methods() -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({
        "gradient descent": MappingProxyType({"lr": 0.1, "steps": 200}),
        "Newton": MappingProxyType({"lr": 1.0, "steps": 30}),
        "saddle-free Newton": MappingProxyType({"lr": 1.0, "steps": 30, "damping": 0.1, "max_step": 0.5}),
    })


@dataclass(frozen=True)
class SaddlePointsSetup:
    """Every experiment setting of the saddle-points page (8.2.3).

    Examples
    --------
    >>> SADDLE_POINTS.goe_dims[-1], SADDLE_POINTS.net_methods["Newton"]["steps"]
    (8, 30)
    """

    # random matrices: how rare positive-definite GOE matrices are
    goe_dims: tuple[int, ...] = tuple(range(1, 9))  # n = 1 ... 8
    goe_samples: int = 40000  # matrices per n
    goe_fit_from: int = 3  # the n^2 rate is fitted to n = 3 ... 8
    # the spherical 3-spin glass
    index_energy_spins: int = 40  # N of the index-against-energy figure
    index_energy_starts: int = 400
    index_energy_warmup: int = 300  # longest gradient-descent warm-up before Newton
    index_bin_edges: tuple[float, ...] = tuple(float(e) for e in np.round(np.arange(-1.7, 0.05, 0.1), 10))
    census_sizes: tuple[int, ...] = (3, 4, 5, 6, 7)
    census_starts: int = 1200
    # the toy saddle x1^2 - x2^2
    widget_steps: int = 40
    toy_escape_deltas: tuple[float, ...] = tuple(float(d) for d in np.logspace(-12, -1, 12))  # starts (0.5, delta)
    toy_escape_lrs: tuple[float, ...] = (0.05, 0.1, 0.3)
    toy_escape_steps: int = 800
    curvature_escape_curvatures: tuple[float, ...] = (0.1, 1.0, 10.0)  # c in x1^2 - c x2^2
    curvature_escape_delta: float = 1e-6  # the start (0.5, delta)
    curvature_escape_lr: float = 0.1
    curvature_escape_steps: int = 1000
    # the saddle theta = 0 of a 3-3-3 tanh network
    net_width: int = 3
    net_start_distances: tuple[float, ...] = (0.05, 0.1, 0.2)
    net_starts_per_distance: int = 3
    net_methods: Mapping[str, Mapping[str, float]] = field(default_factory=_net_methods)
    net_escape_lr: float = 0.1
    net_escape_deltas: tuple[float, ...] = tuple(float(d) for d in np.logspace(-9, -2, 8))
    net_escape_steps: int = 400
    net_escape_radius: float = 0.5
    # critical-point searches on the teacher-student problem
    search_width: int = 3  # the 3-3-3 tanh student and teacher
    search_runs: int = 100  # searches per teacher
    search_max_warmup: int = 300  # each search: 0 ... 299 gradient-descent steps, then Newton


SADDLE_POINTS = SaddlePointsSetup()
