"""The linear-networks page's settings, once: the page and its claims test import `LINEAR_NETWORKS`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class LinearNetworksSetup:
    """Every experiment setting of the linear-networks page (8.2.3).

    Examples
    --------
    >>> LINEAR_NETWORKS.even_spectrum().tolist()
    [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    >>> LINEAR_NETWORKS.saxe_random()["n_runs"], LINEAR_NETWORKS.deep(3)["depth"]
    (4, 3)
    """

    # Baldi & Hornik's autoencoder: n = 6 eigenvalues, p = 2 hidden units
    even: tuple[float, ...] = (6.0, 5.0, 4.0, 3.0, 2.0, 1.0)  # evenly spaced: a monotone staircase
    skewed: tuple[float, ...] = (12.0, 3.0, 2.5, 2.0, 1.5, 1.0)  # one dominant direction
    p: int = 2
    starts: int = 64  # random starts per scale
    start_scales: tuple[float, ...] = (0.5, 1e-3)  # ordinary starts and starts next to the origin
    start_lr: float = 0.03
    start_steps: int = 1000
    # Saxe et al.: two-layer 8-16-15 nets on the hierarchical data
    width: int = 16
    saxe_lr: float = 0.01  # tau = 1 / lr = 100 steps
    saxe_steps: int = 3000
    saxe_record_every: int = 5
    saxe_init_scale: float = 0.01  # small random starts
    saxe_runs: int = 4
    decoupled_u0: float = 1e-3
    decoupled_runs: int = 2
    # deeper decoupled nets
    deep_depths: tuple[int, ...] = (2, 3, 4)
    deep_lr: float = 0.002
    deep_steps: int = 12000
    deep_record_every: int = 40
    # the widget's grid: depth x initial scale x step size
    widget_depths: tuple[int, ...] = (2, 3, 4)
    widget_scales: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    widget_rates: tuple[float, ...] = (0.01, 0.03, 0.1)
    widget_steps: int = 2000

    def even_spectrum(self) -> Tensor:
        """The evenly spaced eigenvalues as a float64 tensor."""
        return torch.tensor(self.even, dtype=torch.float64)

    def skewed_spectrum(self) -> Tensor:
        """The spectrum with one dominant direction as a float64 tensor."""
        return torch.tensor(self.skewed, dtype=torch.float64)

    def random_starts(self) -> dict:
        """Keyword arguments of `autoencoder_random_starts` for the page's runs (besides the spectrum)."""
        return dict(p=self.p, n_starts=self.starts, scale=list(self.start_scales), lr=self.start_lr,
                    steps=self.start_steps)

    def saxe_random(self) -> dict:
        """Keyword arguments of `simulate_linear_net` for the small random starts."""
        return dict(depth=2, width=self.width, init_scales=self.saxe_init_scale, lrs=self.saxe_lr,
                    steps=self.saxe_steps, record_every=self.saxe_record_every, n_runs=self.saxe_runs)

    def saxe_decoupled(self) -> dict:
        """Keyword arguments of `simulate_linear_net` for the decoupled starts."""
        return dict(depth=2, width=self.width, lrs=self.saxe_lr, steps=self.saxe_steps,
                    record_every=self.saxe_record_every, n_runs=self.decoupled_runs, decoupled_u0=self.decoupled_u0)

    def deep(self, depth: int, n_runs: int = 1) -> dict:
        """Keyword arguments of `simulate_linear_net` for a decoupled net of ``depth`` weight matrices."""
        return dict(depth=depth, width=self.width, lrs=self.deep_lr, steps=self.deep_steps,
                    record_every=self.deep_record_every, n_runs=n_runs, decoupled_u0=self.decoupled_u0)


LINEAR_NETWORKS = LinearNetworksSetup()
