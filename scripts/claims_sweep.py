"""Run every claims module over seeds 0-9 and write the margins table (`make claims-sweep`).

Each claims test states its claims through tests/claims.py, which appends the measured values to
the file named by OPTBOOK_CLAIMS_RECORD. This script runs the modules (two at a time: the machine
has two cores, and each test process uses one thread) with OPTBOOK_SEEDS=0,...,9, then writes
tests/claims_sweep.md (and the raw values in tests/claims_sweep.json; a sweep of some modules
replaces only theirs): each claim, its threshold, min / median / max over the seeds, and its
smallest margin. It exits non-zero when a test failed or a value sits inside its stated room.

    python scripts/claims_sweep.py [--seeds 0-9] [module ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "claims_sweep.md"
RAW = ROOT / "tests" / "claims_sweep.json"  # the raw values per module; a partial sweep replaces its modules only


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def _run(module: Path, seeds: list[int], record: Path) -> tuple[str, int, float, str]:
    env = dict(os.environ, OPTBOOK_SEEDS=",".join(map(str, seeds)), OPTBOOK_CLAIMS_RECORD=str(record))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                           str(module)], cwd=ROOT, env=env, capture_output=True, text=True)
    tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
    return module.name, proc.returncode, time.perf_counter() - start, tail


def _margin(op: str, threshold: float, value: float) -> float:
    """Signed distance from the threshold, relative to it (absolute when the threshold is 0)."""
    scale = abs(threshold) or 1.0
    return (value - threshold) / scale if op in (">", "freq>") else (threshold - value) / scale


def _rows(records: list[dict]) -> list[dict]:
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        test = r["test"].split("[")[0].split("::")[-1]
        grouped[(r["module"], test, r["claim"])].append(r)
    rows = []
    for (module, test, name), group in sorted(grouped.items()):
        op, threshold = group[0]["op"], group[0]["threshold"]
        values = np.concatenate([np.asarray(g["values"], dtype=float) for g in group])
        if op == "freq>":
            shown = f"{int(values.sum())} of {values.size}"
            margin = values.mean() - threshold
            ok = values.mean() >= threshold
        elif op == "holds":
            shown, margin, ok = f"{int(values.sum())} of {values.size}", float("nan"), bool(values.all())
        else:
            margins = [_margin(op, threshold, v) for v in values]
            room = max(g["room"] for g in group) / (abs(threshold) or 1.0)
            margin = float(np.min(margins))
            ok = margin >= room
            shown = f"{values.min():.4g} / {np.median(values):.4g} / {values.max():.4g}"
        rows.append(dict(module=module, test=test, claim=name, op=op, threshold=threshold, shown=shown,
                         margin=margin, ok=ok))
    return rows


def _table(rows: list[dict], seeds: list[int], runs: list[tuple]) -> str:
    lines = [
        "# Claims sweep",
        "",
        f"Written by `make claims-sweep` (scripts/claims_sweep.py) with seeds {seeds[0]}-{seeds[-1]}. "
        "Each row is one claim of a page: its threshold, the measured values over the seeds "
        "(min / median / max), and the smallest margin (signed distance from the threshold, relative "
        "to it, or absolute for a threshold of 0; for a frequency, the rate minus the stated rate). A claim whose smallest margin is "
        "inside its stated room (2 % or one example unless the test says otherwise) is marked.",
        "",
        "| module | time | result |",
        "|---|---|---|",
        *[f"| {name} | {sec:.0f} s | {'passed' if rc == 0 else 'FAILED'} |" for name, rc, sec, _ in runs],
        "",
        "| test | claim | op | threshold | min / median / max | smallest margin | |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if np.isnan(r["margin"]):
            margin = ""
        elif r["threshold"] == 0 and r["op"] in (">", "<"):
            margin = f"{r['margin']:+.3g} (absolute)"  # no scale to be relative to
        else:
            margin = f"{r['margin']:+.1%}"
        claim = r["claim"].replace("|", "\\|")  # a pipe in a claim's name would split the cell
        lines.append(f"| {r['module']}::{r['test']} | {claim} | {r['op']} | {r['threshold']:.4g} | "
                     f"{r['shown']} | {margin} | {'' if r['ok'] else 'INSIDE ROOM'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=TABLE)
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args()
    seeds = _seeds(args.seeds)
    modules = [ROOT / "tests" / m for m in args.modules] or sorted((ROOT / "tests").glob("test_claims_*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        records = {m: Path(tmp) / f"{m.stem}.jsonl" for m in modules}
        with ThreadPoolExecutor(args.workers) as pool:
            runs = list(pool.map(lambda m: _run(m, seeds, records[m]), modules))
        raw = json.loads(RAW.read_text()) if RAW.exists() and args.output == TABLE else {}
        for m, run in zip(modules, runs):
            lines = records[m].read_text().splitlines() if records[m].exists() else []
            raw[m.stem] = dict(run=list(run[:3]), seeds=seeds, records=[json.loads(line) for line in lines])
    if args.output == TABLE:
        RAW.write_text(json.dumps(raw, indent=0, sort_keys=True) + "\n")
    entries = [dict(r, module=stem.removeprefix("test_claims_")) for stem, v in sorted(raw.items()) for r in v["records"]]
    all_runs = [tuple(v["run"]) + ("",) for _, v in sorted(raw.items())]
    rows = _rows(entries)
    args.output.write_text(_table(rows, seeds, all_runs))
    for name, rc, sec, tail in runs:
        print(f"{name}: {'passed' if rc == 0 else 'FAILED'} in {sec:.0f} s" + ("" if rc == 0 else "\n" + tail))
    inside = [r for r in rows if not r["ok"]]
    for r in inside:
        print(f"inside its room: {r['module']}::{r['test']} {r['claim']} ({r['shown']})")
    print(f"wrote {args.output}: {len(rows)} claims")
    return int(any(rc != 0 for _, rc, _, _ in runs) or bool(inside))


if __name__ == "__main__":
    sys.exit(main())
