"""Plain-language verdicts from a training record (sec. 8.2.2's negative test and friends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._validate import check_fraction, check_positive


@dataclass(frozen=True)
class Verdict:
    """A named test's answer, in words, with the numbers it rests on."""

    test: str
    finding: str
    evidence: dict[str, float]

    def __str__(self) -> str:
        numbers = ", ".join(f"{k} = {v:.3g}" for k, v in self.evidence.items())
        return f"{self.test}: {self.finding} ({numbers})"


def critical_point_test(grad_norms: Sequence[float], shrink: float = 0.01, tail: float = 0.25) -> Verdict:
    """Has the gradient norm shrunk to an insignificant size (sec. 8.2.2's negative test)?

    Compares the median gradient norm over the last ``tail`` of the run with its largest running
    value: below ``shrink`` times that peak, training may be at (or near) a critical point; above
    it, the trouble is not a local minimum nor any other critical point.
    """
    check_positive("shrink", shrink)
    check_fraction("tail", tail)
    g = np.asarray(grad_norms, dtype=float)
    if g.ndim != 1 or g.size < 4:
        raise ValueError(f"grad_norms must be a 1-D sequence of at least 4 values, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("grad_norms contains non-finite values: the run diverged")
    end = float(np.median(g[-max(1, int(tail * g.size)) :]))
    peak = float(np.max(g))
    evidence = {"final gradient norm": end, "peak gradient norm": peak, "final / peak": end / peak}
    if end <= shrink * peak:
        return Verdict("critical point", "the gradient norm has shrunk: training is at or near a critical point", evidence)
    return Verdict("critical point", "not at a critical point: the gradient norm has not shrunk", evidence)
