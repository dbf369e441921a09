"""`Runs`: the library's one record of runs over time.

Every experiment that follows R runs over T recorded steps returns a `Runs`: gradient descent
from many starts, the book's Figure 8.1 runs, deep linear networks, escapes from a saddle, a
training path. The vocabulary is fixed: ``steps`` [T], ``loss`` [T, R] (the cost J(theta)),
``grad_norm`` [T, R], ``params`` [T, R, P], extra series by name in ``series`` (each with leading
dimensions [T, R]), and ``diverged_at`` [R], the first recorded step whose cost is not finite
(or exceeds ``blowup``), -1 for runs that never diverged. A result recorded at two cadences (every
step and, say, every 20 steps) is two `Runs`, one per cadence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import torch
from torch import Tensor


def _check_series(name: str, value: object, shape: tuple[int, int]) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() < 2 or tuple(value.shape[:2]) != shape:
        raise ValueError(f"{name} must have leading shape (T, R) = {shape}, got {tuple(value.shape)}")
    return value


def first_divergence(steps: Tensor, loss: Tensor, blowup: float = math.inf) -> Tensor:
    """The first recorded step of each run whose cost is not finite or exceeds ``blowup``; -1 if none.

    Parameters
    ----------
    steps : Tensor, shape (T,)
        The recorded step numbers.
    loss : Tensor, shape (T, R)
        The cost of each run at each recorded step.
    blowup : float, optional
        A cost above this counts as divergence (default inf: only nan and inf do).

    Returns
    -------
    Tensor, shape (R,), int64

    Examples
    --------
    >>> first_divergence(torch.tensor([0, 5, 10]), torch.tensor([[1.0, 1.0], [2.0, 0.5], [float("inf"), 0.1]]))
    tensor([10, -1])
    """
    if isinstance(blowup, bool) or not isinstance(blowup, (int, float)) or not blowup > 0:
        raise ValueError(f"blowup must be a number > 0 (inf allowed), got {blowup!r}")
    bad = ~torch.isfinite(loss) | (loss.nan_to_num(0.0) > blowup)
    first = torch.where(bad.any(0), bad.to(torch.int64).argmax(0), torch.full_like(bad[0], -1, dtype=torch.int64))
    return torch.where(first >= 0, steps.to(torch.int64)[first.clamp_min(0)], first)


@dataclass(frozen=True)
class Runs:
    """R runs recorded at T steps: steps, cost, gradient norm, parameters, extra series, divergence.

    Attributes
    ----------
    steps : Tensor, shape (T,), int64
        The recorded step numbers (0 is the start).
    loss : Tensor, shape (T, R)
        The cost J(theta) of each run at each recorded step.
    grad_norm : Tensor, shape (T, R), or None
        The norm of the gradient each step used, where recorded.
    params : Tensor, shape (T, R, P), or None
        The parameters at the recorded steps, where kept.
    final_params : Tensor, shape (R, P), or None
        Each run's parameters after its last step (``params[-1]`` when ``params`` is kept).
    series : dict of str to Tensor
        Further series, each of leading shape (T, R) (e.g. ``"gTHg"``, ``"val_error"``).
    diverged_at : Tensor, shape (R,), int64
        The first recorded step whose cost is not finite, -1 for runs that never diverged
        (computed from ``loss`` when not given).
    settings : dict
        What the runs were made with (step sizes, seeds, ...), for the reader; not validated.

    Examples
    --------
    >>> runs = Runs(torch.tensor([0, 1, 2]), torch.tensor([[1.0, 1.0], [0.5, 3.0], [0.25, float("nan")]]))
    >>> runs.n_runs, runs.diverged.tolist(), runs.diverged_at.tolist()
    (2, [False, True], [-1, 2])
    >>> runs.final_loss.tolist()[0], runs["loss"].shape
    (0.25, torch.Size([3, 2]))
    """

    steps: Tensor
    loss: Tensor
    grad_norm: Tensor | None = None
    params: Tensor | None = None
    final_params: Tensor | None = None
    series: Mapping[str, Tensor] = field(default_factory=dict)
    diverged_at: Tensor | None = None
    settings: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, Tensor) or self.steps.dim() != 1:
            raise ValueError(f"steps must be a 1-D tensor, got {self.steps!r:.60}")
        if not isinstance(self.loss, Tensor) or self.loss.dim() != 2 or self.loss.shape[0] != self.steps.numel():
            raise ValueError(f"loss must be a tensor of shape (T, R) with T = len(steps) = {self.steps.numel()}")
        shape = tuple(self.loss.shape)
        for name in ("grad_norm", "params"):
            if getattr(self, name) is not None:
                _check_series(name, getattr(self, name), shape)
        for name, value in self.series.items():
            _check_series(f"series[{name!r}]", value, shape)
        if self.final_params is None and self.params is not None:
            object.__setattr__(self, "final_params", self.params[-1])
        if self.diverged_at is None:
            object.__setattr__(self, "diverged_at", first_divergence(self.steps, self.loss))
        object.__setattr__(self, "series", dict(self.series))

    @property
    def n_runs(self) -> int:
        """R, the number of runs."""
        return self.loss.shape[1]

    @property
    def diverged(self) -> Tensor:
        """[R] True for the runs that diverged."""
        return self.diverged_at >= 0

    @property
    def final_loss(self) -> Tensor:
        """[R] each run's cost at the last recorded step."""
        return self.loss[-1]

    def __getitem__(self, name: str) -> Tensor:
        """A series by name: ``loss``, ``grad_norm``, ``params`` or one in ``series``."""
        if name in ("loss", "grad_norm", "params") and getattr(self, name) is not None:
            return getattr(self, name)
        if name in self.series:
            return self.series[name]
        raise KeyError(f"no series {name!r}; recorded: {sorted(self.names())}")

    def distance_to(self, point: Tensor) -> Tensor:
        """[T, R] distance of every recorded parameter vector from ``point`` [P] (e.g. a saddle).

        Examples
        --------
        >>> runs = Runs(torch.tensor([0, 1]), torch.zeros(2, 1), params=torch.tensor([[[3.0, 4.0]], [[0.0, 1.0]]]))
        >>> runs.distance_to(torch.zeros(2)).tolist()
        [[5.0], [1.0]]
        """
        if self.params is None:
            raise ValueError("these runs kept no params; distance_to needs them")
        if not isinstance(point, Tensor) or point.shape != self.params.shape[-1:]:
            raise ValueError(f"point must be a tensor of shape ({self.params.shape[-1]},), got {point!r:.60}")
        return (self.params - point.to(self.params.dtype)).norm(dim=-1)

    def names(self) -> list[str]:
        """The names of the recorded series."""
        core = [n for n in ("loss", "grad_norm", "params") if getattr(self, n) is not None]
        return core + list(self.series)
