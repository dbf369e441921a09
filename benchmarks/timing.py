"""Timing on a shared, noisy machine: one thread, callables timed in turns, medians and ratios.

Every benchmark module uses these so that its figures mean the same thing: the median of
repeated runs, where the things being compared are timed alternately (a, b, a, b, ...) so that a
burst of load from another process hits all of them alike, and ratios are taken between medians
measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch

THREADS = 1  # torch intra-op threads used by every benchmark (reported in the results)


def pin_threads() -> int:
    """Fix torch's intra-op thread count for a benchmark and return it."""
    torch.set_num_threads(THREADS)
    return THREADS


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` once; return (seconds, its result)."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def interleaved_medians(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each callable over ``repeats`` runs, the callables timed in turns."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(timed(fn)[0])
    return {name: statistics.median(values) for name, values in samples.items()}


def minor_page_faults(fn: Callable[[], Any], repeats: int = 3) -> int | None:
    """Median minor page faults one call of ``fn`` takes (memory the allocator had to get anew); None off Unix."""
    try:
        import resource
    except ImportError:
        return None
    counts = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fn()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return int(statistics.median(counts))


def row(
    benchmark: str,
    case: str,
    metric: str,
    value: float | int | str | None,
    unit: str = "",
    target: str = "",
    ok: bool | None = None,
    notes: str = "",
) -> dict:
    """One line of the results table (the contract every ``bench_*.run`` returns a list of)."""
    if isinstance(value, float):
        value = float(f"{value:.6g}")
    out = {"benchmark": benchmark, "case": case, "metric": metric, "value": value, "unit": unit,
           "target": target, "ok": None if ok is None else bool(ok)}
    if notes:
        out["notes"] = notes
    return out
