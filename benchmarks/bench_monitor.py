"""The training monitor's overhead: the chapter's example trained with and without it.

Runs `optbook.diagnosing.train_digits_mlp` (tanh MLP on the digits, SGD, batch 64) with the monitor
at its default settings and without, interleaved, and reports the ratio of median wall times.
Target: at most 20% extra training time (issue 8), with SGD and with Adam (issue 18: the monitor
then also measures P^-1 H along the update). One torch thread.
"""

from __future__ import annotations

import statistics

import torch

from optbook.diagnosing import train_digits_mlp

TARGET = 1.2


def _timings(epochs: int, repeats: int, lr: float = 0.5, optimizer: str = "SGD",
             **options) -> tuple[float, float, float, float]:
    """Median training time without and with the monitor, and the monitor's own share of its runs."""
    plain, monitored, own = [], [], []
    for seed in range(repeats):  # interleaved, alternating the order, so that load hits both alike
        pair = [("plain", False), ("monitored", True)]
        for kind, watched in pair if seed % 2 == 0 else pair[::-1]:
            run = train_digits_mlp(lr, epochs=epochs, seed=seed, monitored=watched, final_check=False, optimizer=optimizer,
                                   **(options if watched else {}))
            if watched:
                monitored.append(run.seconds)
                own.append(run.monitor_seconds / (run.seconds - run.monitor_seconds))
            else:
                plain.append(run.seconds)
    base, with_monitor = statistics.median(plain), statistics.median(monitored)
    return base, with_monitor, with_monitor / base, statistics.median(own)


def run(quick: bool = False) -> list[dict]:
    """Rows for the benchmark table: overhead at the default settings and at the chapter's."""
    torch.set_num_threads(1)
    epochs, repeats = (3, 3) if quick else (30, 9)
    rows = []
    for case, options, target in (
        ("default (probe every 100 steps, Lanczos every 1000)", {}, TARGET),
        ("default, Adam (lr 0.01): P^-1 H along the update too", {"optimizer": "Adam", "lr": 0.01}, TARGET),
        ("default, Adam, Lanczos every 300 (two per run, each also on P^-1/2 H P^-1/2)",
         {"optimizer": "Adam", "lr": 0.01, "eigen_every": 300}, None),
        ("chapter's plots (probe every 10, Lanczos every 100)", {"every": 10, "eigen_every": 100}, None),
    ):
        base, with_monitor, ratio, own = _timings(epochs, repeats, **options)
        notes = (f"tanh MLP 64-64-64-10 on the digits, batch 64, {epochs * 20} steps, median of {repeats} "
                 f"interleaved runs: {base:.2f} s without, {with_monitor:.2f} s with; 1 torch thread")
        for metric, value, note in (
            ("time with monitor / time without (median)", ratio, notes),
            ("1 + monitor's own time / rest of the run (median)", 1 + own,
             "timed inside each monitored run, so insensitive to load shared by other processes; 1 torch thread"),
        ):
            rows.append({
                "benchmark": "monitor overhead",
                "case": case,
                "metric": metric,
                "value": round(value, 3),
                "unit": "x",
                "target": f"<= {target}" if target else "",
                "ok": bool(value <= target) if target else None,
                "notes": note,
            })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
