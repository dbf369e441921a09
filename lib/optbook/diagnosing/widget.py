"""The page's widget: an optimizer and a step size -> the monitor's curves and its verdict (precomputed runs)."""

from __future__ import annotations

import numpy as np

from ..figures import BlitPlot
from ..monitor import MonitorRecord
from .optimizers import verdict_line

__all__ = ["monitor_widget_plot"]


def monitor_widget_plot(records: dict[tuple[str, float], MonitorRecord]) -> BlitPlot:
    """A `BlitPlot` over ``records`` (keys (optimizer, step multiple), e.g. from `widget_runs`).

    Left: the probe cost; right: the sharpness the optimizer's stability depends on over its own
    limit (1 = the edge), both read from the record as `optbook.Runs`; above them, the verdict.
    """
    if not isinstance(records, dict) or not records:
        raise TypeError("records must be a non-empty dict {(optimizer, scale): MonitorRecord}")
    last = max(r.steps[-1] for r in records.values() if r.steps)

    def build(fig, optimizer):
        ax_cost, ax_edge = fig.subplots(1, 2)
        ax_cost.set(xlim=(0, last), ylim=(1e-3, 1e2), yscale="log", xlabel="step", ylabel="probe cost",
                    title="cost on the probe batch")
        ax_edge.set(xlim=(0, last), ylim=(1e-3, 1e3), yscale="log", xlabel="step", ylabel="sharpness / limit",
                    title=f"{optimizer}: λ_max{'(P⁻¹H)' if optimizer == 'Adam' else ''} / its limit")
        ax_edge.axhline(1.0, color="k", ls="--", lw=1, label="the edge (1)")
        ax_edge.legend(fontsize=8, loc="upper left")
        (cost,) = ax_cost.plot([], [], color="C0")
        (edge,) = ax_edge.plot([], [], "o-", ms=3, color="C1")
        verdict = fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=9)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.8, wspace=0.3)

        def update(optimizer, scale):
            record = records[(optimizer, scale)]
            runs = record.as_runs()
            probe, eigen = runs.get("probe"), runs.get("eigen")
            cost.set_data(*((probe.steps.numpy(), probe.loss[:, 0].numpy()) if probe else ([], [])))
            edge.set_data(*((eigen.steps.numpy(), np.asarray(record.stability)) if eigen and record.stability
                            else ([], [])))
            verdict.set_text(f"step {scale:g} x the good one: {verdict_line(record)}")
            return [cost, edge, verdict]

        return update

    return BlitPlot(build, figsize=(8.5, 3.3), scene=["optimizer"])
