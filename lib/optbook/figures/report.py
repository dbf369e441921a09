"""The diagnosing report as a figure: the series a `TrainingMonitor` records, with the verdicts' limits.

It reads the record through `MonitorRecord.as_runs` (one `optbook.Runs` per cadence), so the
figure and any other plot of a monitored run use the library's one record of runs over time.
"""

from __future__ import annotations

import numpy as np

from ..diagnose import BEST_STEP_RATIO
from ..monitor import MonitorRecord
from ..training import running_average


def _eigen_panel(ax, record: MonitorRecord, runs) -> None:
    """The sharpness the optimizer's stability depends on against its own limit, lambda_min, the layers."""
    if "eigen" not in runs:
        ax.text(0.5, 0.5, "no Lanczos probes\n(eigen_every=0)", ha="center", va="center", transform=ax.transAxes)
        return
    eigen = runs["eigen"]
    steps = eigen.steps.numpy()
    limit = eigen["limit"][:, 0].numpy() if len(record.eigen_limit) == len(steps) else 2 / eigen["lr"][:, 0].numpy()
    sharp = eigen["sharpness"][:, 0].numpy() if len(record.sharpness) == len(steps) else eigen["lambda_max"][:, 0].numpy()
    preconditioned = len(record.sharpness) == len(steps) and not np.allclose(sharp, eigen["lambda_max"][:, 0].numpy(),
                                                                             equal_nan=True)
    ax.plot(steps, sharp, "o-", ms=3, color="C1", label="λ_max(P⁻¹H)" if preconditioned else "λ_max")
    ax.plot(steps, eigen["lambda_min"][:, 0].numpy(), "o-", ms=3, color="C4", label="λ_min (of H)")
    if "layer_sharpness" in eigen.series:
        layers = eigen["layer_sharpness"][:, 0].numpy()
        for i, name in enumerate(eigen.settings.get("layer_names", [])):
            ax.plot(steps, layers[:, i], ":", lw=1, color=f"C{5 + i % 5}", label=f"layer {name}")
    if np.isfinite(limit).any():
        name = "2/eps" if record.optimizer in ("SGD", "gradient descent") else f"limit, {record.optimizer}"
        ax.step(steps, limit, where="post", color="k", ls="--", lw=1, label=name)
    ax.axhline(0, color="grey", lw=0.8)
    finite = np.abs(np.concatenate([sharp, eigen["lambda_min"][:, 0].numpy()]))
    finite = finite[np.isfinite(finite)]
    if finite.size and np.isfinite(limit).any() and finite.max() > 20 * np.nanmax(limit):
        ax.set_yscale("symlog", linthresh=1.0)  # far past the limit: keep both visible
    ax.legend(fontsize=7)


def report_figure(record: "MonitorRecord", window: int = 25, title: str | None = None):
    """Three panels: gradient norm (with running average), the curvature ratio, the sharpness vs its limit.

    The third panel shows the top eigenvalue the optimizer's stability depends on (of H for SGD,
    of P^-1 H for Adam and RMSprop) against the optimizer's own limit (2/eps for plain SGD,
    `optbook.monitor.stability_rule`), lambda_min of H, and each layer's block when recorded.

    Examples
    --------
    A record with only the per-step series (no probe yet) still gets its three panels:

    >>> import matplotlib.pyplot as plt
    >>> import optbook as ob
    >>> from optbook.monitor import MonitorRecord
    >>> record = MonitorRecord(steps=list(range(8)), loss=[2.0, 1.6, 1.3, 1.1, 1.0, 0.95, 0.9, 0.88],
    ...                        grad_norm=[1.0, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.4])
    >>> fig = ob.report_figure(record, window=2)
    >>> [ax.get_title() for ax in fig.axes]
    ['gradient norm', 'curvature ratio along the update', 'sharpness vs its limit']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    if not isinstance(record, MonitorRecord):
        raise TypeError(f"record must be a MonitorRecord, got {type(record).__name__}")
    if not record.steps:
        raise ValueError("record is empty: call monitor.step() in the training loop first")
    runs = record.as_runs()
    fig, (ax_g, ax_r, ax_e) = plt.subplots(1, 3, figsize=(10.5, 3.2), dpi=72)
    steps, norms = runs["step"].steps.numpy(), runs["step"].grad_norm[:, 0].numpy()
    ax_g.plot(steps, norms, ".", ms=2, alpha=0.25, color="C0", label="minibatch")
    ax_g.plot(steps, running_average(norms, window), color="C0", label=f"running mean ({window})")
    if "probe" in runs:
        ax_g.plot(runs["probe"].steps.numpy(), runs["probe"].grad_norm[:, 0].numpy(), color="C3", lw=1.2,
                  label="probe batch")
    ax_g.set_yscale("log")
    ax_g.yaxis.set_minor_formatter(plt.NullFormatter())
    ax_g.set(xlabel="step", ylabel="gradient norm", title="gradient norm")
    ax_g.legend(fontsize=8)
    if "probe" in runs:
        ratio = runs["probe"]["ratio"][:, 0].numpy()
        ax_r.plot(runs["probe"].steps.numpy(), ratio, ".-", color="C2", ms=3)
        if np.isfinite(ratio).any() and np.nanmax(np.abs(ratio)) > 3:
            ax_r.set_yscale("symlog", linthresh=1.0, linscale=2.0)  # linear on [-1, 1], where the thresholds are
    ax_r.axhline(BEST_STEP_RATIO, color="grey", ls=":", lw=1, label="eps = best step (SGD)")
    ax_r.axhline(1.0, color="k", ls="--", lw=1, label="at the limit")
    ax_r.set(xlabel="step", ylabel="ratio (SGD: (eps/2) gᵀHg / gᵀg)", title="curvature ratio along the update")
    ax_r.legend(fontsize=7, loc="best")
    _eigen_panel(ax_e, record, runs)
    ax_e.set(xlabel="step", ylabel="eigenvalue", title="sharpness vs its limit")
    if record.diverged_at is not None:
        for ax in (ax_g, ax_r, ax_e):
            ax.axvline(record.diverged_at, color="red", lw=1)
        ax_g.text(record.diverged_at, ax_g.get_ylim()[1], " diverged", color="red", va="top", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
