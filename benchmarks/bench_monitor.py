"""The training monitor's overhead: the chapter's example trained with and without it.

Runs `optbook.monitor.train_digits_mlp` (tanh MLP on the digits, SGD, batch 64) with the monitor
at its default settings and without, interleaved, and reports the ratio of median wall times.
Target: at most 20% extra training time (issue 8). One torch thread.
"""

from __future__ import annotations

import statistics

import torch

from optbook.monitor import train_digits_mlp

TARGET = 1.2


def _ratio(epochs: int, repeats: int, **options) -> tuple[float, float, float]:
    plain, monitored = [], []
    for seed in range(repeats):  # interleaved, so that a burst of load hits both alike
        plain.append(train_digits_mlp(0.5, epochs=epochs, seed=seed, monitored=False).seconds)
        monitored.append(train_digits_mlp(0.5, epochs=epochs, seed=seed, **options).seconds)
    base, with_monitor = statistics.median(plain), statistics.median(monitored)
    return with_monitor / base, base, with_monitor


def run(quick: bool = False) -> list[dict]:
    """Rows for the benchmark table: overhead at the default settings and at the chapter's."""
    torch.set_num_threads(1)
    epochs, repeats = (3, 3) if quick else (30, 7)
    rows = []
    for case, options, target in (
        ("default (probe every 25 steps, Lanczos every 500)", {}, TARGET),
        ("chapter's settings (probe every 10, Lanczos every 100)", {"every": 10, "eigen_every": 100}, None),
    ):
        ratio, base, with_monitor = _ratio(epochs, repeats, **options)
        rows.append({
            "benchmark": "monitor overhead",
            "case": case,
            "metric": "time with monitor / time without (median)",
            "value": round(ratio, 3),
            "unit": "x",
            "target": f"<= {target}" if target else "",
            "ok": bool(ratio <= target) if target else None,
            "notes": f"{epochs} epochs x 20 steps, median of {repeats}: {base:.2f} s vs {with_monitor:.2f} s; "
                     "1 torch thread",
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
