"""The diagnosing report as a figure: the three series a `TrainingMonitor` records, with the verdicts' limits."""

from __future__ import annotations

import numpy as np

from ..diagnose import BEST_STEP_RATIO
from ..monitor import MonitorRecord
from ..training import running_average


def report_figure(record: "MonitorRecord", window: int = 25, title: str | None = None):
    """Three panels: gradient norm (with running average), the curvature ratio, eigenvalues vs 2/eps."""
    import matplotlib.pyplot as plt


    if not isinstance(record, MonitorRecord):
        raise TypeError(f"record must be a MonitorRecord, got {type(record).__name__}")
    if not record.steps:
        raise ValueError("record is empty: call monitor.step() in the training loop first")
    fig, (ax_g, ax_r, ax_e) = plt.subplots(1, 3, figsize=(10.5, 3.2), dpi=72)
    steps, norms = record.array("steps"), record.array("grad_norm")
    ax_g.plot(steps, norms, ".", ms=2, alpha=0.25, color="C0", label="minibatch")
    ax_g.plot(steps, running_average(norms, window), color="C0", label=f"running mean ({window})")
    if record.probe_steps:
        ax_g.plot(record.probe_steps, record.probe_grad_norm, color="C3", lw=1.2, label="probe batch")
    ax_g.set_yscale("log")
    ax_g.yaxis.set_minor_formatter(plt.NullFormatter())
    ax_g.set(xlabel="step", ylabel="gradient norm", title="gradient norm")
    ax_g.legend(fontsize=8)
    if record.probe_steps:
        ax_r.plot(record.probe_steps, record.ratio, ".-", color="C2", ms=3)
    ax_r.axhline(BEST_STEP_RATIO, color="grey", ls=":", lw=1, label="eps = best step")
    ax_r.axhline(1.0, color="k", ls="--", lw=1, label="step raises the cost")
    if record.probe_steps and np.nanmax(np.abs(record.array("ratio"))) > 3:
        ax_r.set_yscale("symlog", linthresh=1.0, linscale=2.0)  # linear on [-1, 1], where the thresholds are
    ax_r.set(xlabel="step", ylabel="(eps/2) gᵀHg / gᵀg", title="curvature ratio")
    ax_r.legend(fontsize=7, loc="best")
    if record.eigen_steps:
        ax_e.plot(record.eigen_steps, record.lambda_max, "o-", ms=3, color="C1", label="λ_max")
        ax_e.plot(record.eigen_steps, record.lambda_min, "o-", ms=3, color="C4", label="λ_min")
        ax_e.step(record.eigen_steps, 2 / record.array("eigen_lr"), where="post", color="k", ls="--", lw=1,
                  label="2/eps")
        ax_e.axhline(0, color="grey", lw=0.8)
        limits = 2 / record.array("eigen_lr")
        biggest = max(np.abs(record.array("lambda_max")).max(), np.abs(record.array("lambda_min")).max())
        if biggest > 20 * limits.max():  # far past the limit: keep both 2/eps and the eigenvalues visible
            ax_e.set_yscale("symlog", linthresh=1.0)
        ax_e.legend(fontsize=8)
    else:
        ax_e.text(0.5, 0.5, "no Lanczos probes\n(eigen_every=0)", ha="center", va="center", transform=ax_e.transAxes)
    ax_e.set(xlabel="step", ylabel="eigenvalue", title="Hessian extremes (probe)")
    if record.diverged_at is not None:
        for ax in (ax_g, ax_r, ax_e):
            ax.axvline(record.diverged_at, color="red", lw=1)
        ax_g.text(record.diverged_at, ax_g.get_ylim()[1], " diverged", color="red", va="top", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
