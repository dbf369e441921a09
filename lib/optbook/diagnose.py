"""Plain-language verdicts from a training record: the practical tests of sec. 8.2.1-8.2.3.

`critical_point_test` is sec. 8.2.2's negative test on any sequence of gradient norms.
`diagnose_training` runs it with `progress_test` (did the cost fall at all?), `ill_conditioning_test`
(sec. 8.2.1's g^T g vs g^T H g) and `negative_curvature_test` (sec. 8.2.3's saddles) on a
`optbook.monitor.TrainingMonitor` record;
`report_figure` draws what the verdicts rest on. The thresholds are module constants, stated in
the chapter "Diagnosing your own training" and checked there on cases with known answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._validate import check_fraction, check_positive


@dataclass(frozen=True)
class Verdict:
    """A named test's answer, in words, with the numbers it rests on.

    Examples
    --------
    >>> verdict = Verdict("critical point", "not at a critical point", {"final / peak": 0.18})
    >>> print(verdict)
    critical point: not at a critical point (final / peak = 0.18)
    """

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
    it, the trouble is not a local minimum nor any other critical point. A peak more than
    ``BLOWUP`` times the first value is reported as a diverging run (still not a critical point).

    Examples
    --------
    >>> import optbook as ob
    >>> print(ob.critical_point_test([1.0, 0.5, 0.2, 0.01, 0.004, 0.003, 0.002, 0.001]))
    critical point: the gradient norm has shrunk: training is at or near a critical point (final gradient norm = 0.0015, peak gradient norm = 1, final / peak = 0.0015)
    >>> ob.critical_point_test([1.0, 0.9, 0.8, 0.8, 0.7, 0.8]).finding
    'not at a critical point: the gradient norm has not shrunk'
    """
    check_positive("shrink", shrink)
    check_fraction("tail", tail)
    g = np.asarray(grad_norms, dtype=float)
    if g.ndim != 1 or g.size < 4:
        raise ValueError(f"grad_norms must be a 1-D sequence of at least 4 values, got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("grad_norms contains non-finite values: the run diverged")
    if np.any(g < 0):
        raise ValueError("grad_norms must be norms (>= 0)")
    end = float(np.median(g[-max(1, int(tail * g.size)) :]))
    peak = float(np.max(g))
    if peak == 0:  # the gradient was exactly zero throughout: the start itself is a critical point
        evidence = {"final gradient norm": 0.0, "peak gradient norm": 0.0}
        return Verdict("critical point", "the gradient norm is exactly zero: training sits at a critical point",
                       evidence)
    evidence = {"final gradient norm": end, "peak gradient norm": peak, "final / peak": end / peak}
    if g[0] > 0 and peak > BLOWUP * g[0]:
        evidence["peak / first"] = peak / g[0]
        return Verdict("critical point", "not at a critical point: the run is diverging (the gradient norm blew up)", evidence)
    if end <= shrink * peak:
        return Verdict("critical point", "the gradient norm has shrunk: training is at or near a critical point", evidence)
    return Verdict("critical point", "not at a critical point: the gradient norm has not shrunk", evidence)


BLOWUP = 1e4
"""A gradient norm that peaks above 1e4 times its first value means the run diverged."""


# --- The tests on a `TrainingMonitor` record, and the report -----------------------------------

NO_PROGRESS = 0.1
"""A cost that has not fallen by 10% of its starting value (|J_0|) has made no progress."""
STILL_FALLING = 0.1
"""A last quarter 10% (of |J|) below the quarter before it: the cost is still falling."""


def progress_test(probe_losses: Sequence[float], tail: float = 0.25, no_progress: float = NO_PROGRESS,
                  still_falling: float = STILL_FALLING) -> Verdict:
    """Did the cost fall, and is it still falling? (The curvature verdicts mean little without it.)

    The probe cost's median over the last ``tail`` of the probes is compared with the first probe:
    a fall of less than ``no_progress`` times |first| is no progress (a run that saturated, stalled
    at the start or rose); otherwise the same median against that of the ``tail`` before it says
    whether the cost is still falling (by at least ``still_falling`` of its size) or has stalled.

    Examples
    --------
    >>> import optbook as ob
    >>> ob.progress_test([2.3, 1.0, 0.5, 0.4, 0.35, 0.34, 0.34, 0.34]).finding
    'the cost fell, then stalled: it has stopped falling'
    """
    check_fraction("tail", tail)
    check_fraction("no_progress", no_progress)
    check_fraction("still_falling", still_falling)
    if tail > 0.5:
        raise ValueError(f"tail must be at most 0.5 (two tails are compared), got {tail}")
    j = np.asarray(probe_losses, dtype=float)
    if j.ndim != 1 or j.size < 4:
        raise ValueError(f"probe_losses must be a 1-D sequence of at least 4 values, got shape {j.shape}")
    if not np.all(np.isfinite(j)):
        raise ValueError("probe_losses contains non-finite values: the run diverged")
    k = max(1, int(round(tail * j.size)))
    first, end, before = float(j[0]), float(np.median(j[-k:])), float(np.median(j[-2 * k : -k]))
    scale = abs(first) or 1.0
    evidence = {"first cost": first, "final cost": end, "final / first": end / first if first else float("nan"),
                "previous part": before}
    if first - end < no_progress * scale:
        where = "rose above" if end > first else "stayed near"
        return Verdict("progress", f"no progress: the cost {where} its starting value (it did not fall by {no_progress:.0%})",
                       evidence)
    if before - end >= still_falling * max(abs(before), 1e-300):
        return Verdict("progress", "the cost fell and is still falling", evidence)
    return Verdict("progress", "the cost fell, then stalled: it has stopped falling", evidence)


BEST_STEP_RATIO = 0.5
"""Along the gradient: (eps/2) g^T H g / g^T g >= 1/2 means eps >= g^T g / g^T H g, the best step (eq. 8.10)."""
STABILITY_FRACTION = 0.9
"""Along the sharpest direction: eps * lambda_max / 2 >= 0.9 means eps is within 10% of 2 / lambda_max."""
NEGATIVE_CURVATURE = 0.01
"""lambda_min <= -0.01 * lambda_max counts as negative curvature (smaller is within Lanczos/probe noise)."""
FLAT_CURVATURE = 0.01
"""eps * max|lambda| < 0.01: a step changes the gradient by under 1%, the region is flat (sec. 8.2.3)."""


RATIO_KEY = "median ratio along the update / limit, last part"
"""Evidence key: the median of the probe ratio (for SGD, (eps/2) g^T H g / g^T g)."""
SHARPNESS_KEY = "median sharpness / limit, last part"
"""Evidence key: the median of lambda_max / limit (for SGD, eps lambda_max / 2; Adam: lambda_max(P^-1 H) eps / 38)."""


def _tail_slice(n: int, tail: float) -> slice:
    return slice(n - max(1, int(round(tail * n))), n)


def _limit_onset(steps: np.ndarray, flags: np.ndarray, tail: float) -> tuple[float, int | None]:
    """Share of flagged probes in the last ``tail``; first flagged step after which >= half are flagged."""
    share = float(flags[_tail_slice(flags.size, tail)].mean())
    if share < 0.5:
        return share, None
    suffix_share = np.cumsum(flags[::-1])[::-1] / np.arange(flags.size, 0, -1)
    return share, int(steps[np.flatnonzero(flags & (suffix_share >= 0.5))[0]])


def _series(name: str, steps: Sequence[int], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    steps_a, values_a = np.asarray(steps, dtype=int), np.asarray(values, dtype=float)
    if steps_a.shape != values_a.shape or values_a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence as long as its steps, got {values_a.shape} vs {steps_a.shape}")
    if np.any(np.isinf(values_a)):
        raise ValueError(f"{name} contains infinite values")
    keep = ~np.isnan(values_a)  # a probe with g = 0 exactly has no ratio (0/0): it is skipped
    return steps_a[keep], values_a[keep]


def ill_conditioning_test(
    probe_steps: Sequence[int],
    ratios: Sequence[float],
    eigen_steps: Sequence[int] = (),
    sharpness_ratios: Sequence[float] = (),
    tail: float = 0.25,
    best_step_ratio: float = BEST_STEP_RATIO,
    stability_fraction: float = STABILITY_FRACTION,
) -> Verdict:
    """Is the step size held back by curvature (sec. 8.2.1's g^T g vs g^T H g monitor)?

    Two signals, each judged on the last ``tail`` of its probes: the ratio r = (eps/2) g^T H g /
    g^T g reaches ``best_step_ratio`` (the step overshoots the minimum of the quadratic model along
    -g, eq. 8.10) in at least half the probes, or s = eps lambda_max / 2 reaches
    ``stability_fraction`` (eps is near gradient descent's limit 2 / lambda_max) in at least half
    the Lanczos probes. For another optimizer both are divided by its own limit instead of 2/eps
    (`optbook.monitor.stability_rule`: momentum, Adam's P^-1 H), which `diagnose_training` does. "Since step N": the first limiting probe after which at least half of the
    probes are limiting. Cohen et al. (2021) show full-batch GD settling at s = 1.

    Examples
    --------
    A ratio that climbs to the edge and stays there:

    >>> import optbook as ob
    >>> verdict = ob.ill_conditioning_test(range(0, 80, 10), [0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.0])
    >>> verdict.finding
    'ill-conditioning: the step is at the curvature limit since step 30'
    """
    check_fraction("tail", tail)
    check_positive("best_step_ratio", best_step_ratio)
    check_positive("stability_fraction", stability_fraction)
    steps_r, r = _series("ratios", probe_steps, ratios)
    steps_s, s = _series("sharpness_ratios", eigen_steps, sharpness_ratios)
    if r.size < 4:
        raise ValueError(f"the curvature test needs at least 4 probes, got {r.size}")
    share_r, since_r = _limit_onset(steps_r, r >= best_step_ratio, tail)
    evidence = {RATIO_KEY: float(np.median(r[_tail_slice(r.size, tail)])),
                "share of probes with ratio >= limit, last part": share_r}
    onsets = [since_r] if since_r is not None else []
    if s.size:
        share_s, since_s = _limit_onset(steps_s, s >= stability_fraction, tail)
        evidence[SHARPNESS_KEY] = float(np.median(s[_tail_slice(s.size, tail)]))
        onsets += [since_s] if since_s is not None else []
    if not onsets:
        return Verdict("ill-conditioning", "no sign of trouble: the step stays below the curvature limit", evidence)
    since = min(onsets)
    evidence["since step"] = float(since)
    return Verdict("ill-conditioning", f"ill-conditioning: the step is at the curvature limit since step {since}", evidence)


def negative_curvature_test(
    lambda_min: Sequence[float],
    lambda_max: Sequence[float],
    near_critical_point: bool,
    tail: float = 0.25,
    negative: float = NEGATIVE_CURVATURE,
    step_size: float | None = None,
    flat: float = FLAT_CURVATURE,
) -> Verdict:
    """Does the Hessian have clearly negative curvature (sec. 8.2.3: a saddle, not a minimum)?

    Compares the median of the smallest eigenvalue over the last ``tail`` of the Lanczos probes
    with ``-negative`` times the median largest one. Lanczos's smallest Ritz value never goes below
    the true lambda_min, so a tiny negative curvature can be missed, never invented. Given the
    ``step_size`` eps, a region where eps max|lambda| < ``flat`` is reported as flat instead: there
    the sign of so small a curvature tells nothing.

    Examples
    --------
    >>> import optbook as ob
    >>> ob.negative_curvature_test([-0.5, -0.6, -0.55, -0.6], [10.0, 11.0, 10.5, 10.8], near_critical_point=True).finding
    'negative curvature present: near a saddle, not a minimum'
    """
    check_fraction("tail", tail)
    check_fraction("negative", negative)
    check_positive("flat", flat)
    if step_size is not None:
        check_positive("step_size", step_size)
    low, high = np.asarray(lambda_min, dtype=float), np.asarray(lambda_max, dtype=float)
    if low.shape != high.shape or low.ndim != 1 or low.size == 0:
        raise ValueError(f"lambda_min and lambda_max must be non-empty 1-D sequences of one length, got {low.shape}, {high.shape}")
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError("lambda_min or lambda_max contains non-finite values")
    part = _tail_slice(low.size, tail)
    lo, hi = float(np.median(low[part])), float(np.median(high[part]))
    evidence = {"lambda_min, last part": lo, "lambda_max, last part": hi,
                "lambda_min / lambda_max": lo / hi if hi > 0 else float("nan")}
    if step_size is not None and step_size * max(abs(lo), abs(hi)) < flat:
        evidence["eps max|lambda|"] = step_size * max(abs(lo), abs(hi))
        return Verdict("negative curvature",
                       f"flat region: the curvature is negligible at this step size (eps max|lambda| < {flat:g})", evidence)
    if hi > 0 and lo > -negative * hi:
        return Verdict("negative curvature",
                       f"no sign of trouble: no negative curvature beyond {negative:g} lambda_max", evidence)
    if near_critical_point:
        return Verdict("negative curvature", "negative curvature present: near a saddle, not a minimum", evidence)
    return Verdict("negative curvature", "negative curvature present: not a minimum (and not near a critical point)", evidence)


def _stability(record: "MonitorRecord") -> np.ndarray:
    """lambda_max / limit at the Lanczos steps; a record without the limit series is plain GD (2/eps)."""
    if len(record.stability) == len(record.eigen_steps):
        return record.array("stability")
    return 0.5 * record.array("eigen_lr") * record.array("lambda_max")


def _step_verdict(record: "MonitorRecord", tail: float, best_step_ratio: float, stability_fraction: float) -> Verdict:
    """The ill-conditioning verdict, or "not judged" when the optimizer's limit is unknown."""
    if not record.stability_known:
        return Verdict("ill-conditioning", f"not judged: the monitor does not know the stability limit of {record.optimizer}",
                       {})
    verdict = ill_conditioning_test(record.probe_steps, record.ratio, record.eigen_steps, _stability(record), tail,
                                    best_step_ratio, stability_fraction)
    if record.limit:
        verdict.evidence["stability limit (last)"] = record.limit[-1]
    if record.layer_sharpness and record.eigen_limit:
        last = np.asarray(record.layer_sharpness[-1], dtype=float) / record.eigen_limit[-1]
        if np.isfinite(last).any():
            top = int(np.nanargmax(last))
            verdict.evidence["sharpest layer: lambda_max / limit"] = float(last[top])
            return Verdict(verdict.test, f"{verdict.finding}; the sharpest layer is '{record.layer_names[top]}'",
                           verdict.evidence)
    return verdict


@dataclass(frozen=True)
class Diagnosis:
    """The verdicts of the sections' tests on one monitored run, in the order they were taken.

    Examples
    --------
    >>> diagnosis = Diagnosis((Verdict("progress", "the cost fell and is still falling", {}),))
    >>> diagnosis.finding("progress")
    'the cost fell and is still falling'
    >>> diagnosis.verdict("saddle")
    Traceback (most recent call last):
    ...
    ValueError: test must be one of ['progress'], got 'saddle'
    """

    verdicts: tuple[Verdict, ...]

    def verdict(self, test: str) -> Verdict:
        """The verdict of the test named ``test`` (e.g. ``"ill-conditioning"``)."""
        for verdict in self.verdicts:
            if verdict.test == test:
                return verdict
        raise ValueError(f"test must be one of {[v.test for v in self.verdicts]}, got {test!r}")

    def finding(self, test: str) -> str:
        """The finding of the test named ``test`` (e.g. ``"ill-conditioning"``)."""
        return self.verdict(test).finding

    def __str__(self) -> str:
        return "\n".join(f"- {verdict}" for verdict in self.verdicts)


def diagnose_training(
    record: "MonitorRecord",
    tail: float = 0.25,
    shrink: float = 0.01,
    best_step_ratio: float = BEST_STEP_RATIO,
    stability_fraction: float = STABILITY_FRACTION,
    negative: float = NEGATIVE_CURVATURE,
    flat: float = FLAT_CURVATURE,
) -> Diagnosis:
    """Run the tests on a `TrainingMonitor` record; each verdict carries its evidence.

    Progress from the probe cost (did it fall, is it still falling; skipped for a diverged run, which
    the divergence verdict reports); ill-conditioning (sec. 8.2.1) from the probe ratios and eps lambda_max / 2; critical point
    (sec. 8.2.2) from the probe gradient norm, which is noise-free unlike the minibatch one;
    negative curvature (sec. 8.2.3) from the Lanczos lambda_min, when Lanczos ran.

    Examples
    --------
    A record logged elsewhere can be diagnosed too; here eight probes of a run that stalled with
    a vanishing gradient at a safe step (see `TrainingMonitor` for a record from a real loop):

    >>> import optbook as ob
    >>> from optbook.monitor import MonitorRecord
    >>> record = MonitorRecord(probe_steps=list(range(0, 80, 10)),
    ...                        probe_loss=[2.3, 1.2, 0.7, 0.5, 0.45, 0.44, 0.44, 0.44],
    ...                        probe_grad_norm=[1.0, 0.6, 0.3, 0.1, 0.02, 0.008, 0.006, 0.005],
    ...                        ratio=[0.05, 0.1, 0.1, 0.12, 0.1, 0.1, 0.11, 0.1], limit=[20.0] * 8, lr=[0.1] * 8)
    >>> diagnosis = ob.diagnose_training(record)
    >>> diagnosis.finding("progress")
    'the cost fell, then stalled: it has stopped falling'
    >>> diagnosis.finding("critical point")
    'the gradient norm has shrunk: training is at or near a critical point'
    >>> diagnosis.finding("negative curvature")
    'not measured: no Lanczos probe in the record (eigen_every=0)'
    """
    from .monitor import MonitorRecord

    if not isinstance(record, MonitorRecord):
        raise TypeError(f"record must be a MonitorRecord, got {type(record).__name__}")
    if len(record.probe_steps) < 4:
        raise ValueError(f"record needs at least 4 probes to diagnose, got {len(record.probe_steps)}: run longer or probe more often")
    verdicts = []
    if record.diverged_at is not None:
        verdicts.append(Verdict("divergence", f"the loss became non-finite at step {record.diverged_at}: the step is past the curvature limit",
                                {"last ratio along the update / limit": record.ratio[-1]}))
    if record.diverged_at is None:
        verdicts.append(progress_test(record.probe_loss, tail))
    verdicts.append(_step_verdict(record, tail, best_step_ratio, stability_fraction))
    critical = critical_point_test(record.probe_grad_norm, shrink=shrink, tail=tail)
    verdicts.append(critical)
    if record.eigen_steps:
        near = not critical.finding.startswith("not at")
        verdicts.append(negative_curvature_test(record.lambda_min, record.lambda_max, near, tail, negative,
                                                step_size=record.eigen_lr[-1], flat=flat))
    else:
        verdicts.append(Verdict("negative curvature", "not measured: no Lanczos probe in the record (eigen_every=0)", {}))
    return Diagnosis(tuple(verdicts))
