"""Run every benchmark (benchmarks/bench_*.py) and write one table of results.

    python benchmarks/run.py                 # everything at full size (builds the book once, cold)
    python benchmarks/run.py --book read     # read the existing _build instead of building the book
    python benchmarks/run.py --only hvp landscape --quick

Writes benchmarks/results/latest.md and latest.json (the machine, the versions, every figure)
and rewrites the book's appendix page performance.md with the same table. Each module exposes
``run(quick: bool = False) -> list[dict]``; each dict is one row with the keys "benchmark",
"case", "metric", "value", "unit", "target", "ok" (bool or None) and optionally "notes".
The peers the benchmarks compare against are installed from benchmarks/requirements.txt into
the running interpreter when they are missing (``--no-deps``: torch is already there).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
RESULTS = HERE / "results"
PAGE = ROOT / "performance.md"
PEERS = {"pyhessian": "PyHessian", "loss_landscapes": "loss-landscapes"}  # import name -> distribution
KEYS = ("benchmark", "case", "metric", "value", "unit", "target", "ok")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so that `benchmarks` is importable as a package


def ensure_peers() -> None:
    """Install the pinned peers into this interpreter if any is missing (without dependencies)."""
    missing = [name for name in PEERS if importlib.util.find_spec(name) is None]
    if not missing:
        return
    print(f"installing peers {missing} from benchmarks/requirements.txt", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-r", str(HERE / "requirements.txt")],
                   check=True)
    importlib.invalidate_caches()


def discover() -> list[str]:
    """Names of all benchmark modules (bench_NAME.py -> NAME); the book last, it is the slowest."""
    names = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    return sorted(names, key=lambda name: name == "book")


def machine() -> dict:
    """CPU model, core count, platform and load average: what the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}
    try:
        info["load_average_at_start"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def versions() -> dict:
    """Versions of Python, torch, optbook and the peers (None when not installed)."""
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("optbook", "numpy", "jupyter-book", *PEERS.values()):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def run_module(name: str, quick: bool) -> tuple[list[dict], float]:
    """Import benchmarks/bench_NAME.py, call its run(quick) and check the rows it returns."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        rows = module.run(quick=quick)
        for r in rows:
            absent = [key for key in KEYS if key not in r]
            if absent:
                raise ValueError(f"row {r} lacks {absent}")
    except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others
        traceback.print_exc()
        rows = [{"benchmark": name, "case": "", "metric": "benchmark crashed", "value": "error", "unit": "",
                 "target": "", "ok": False, "notes": f"{type(error).__name__}: {error}"}]
    return rows, time.perf_counter() - started


def _format_value(value, unit: str) -> str:
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        if abs(value) >= 1e3:
            text = f"{value:,.0f}"
        else:
            text = f"{value:.3g}" if abs(value) < 1e-2 else f"{value:.4g}"
    else:
        return str(value)  # a word ("skipped", "failed"): no unit
    return f"{text} {unit}".strip() if unit not in ("", "x") else (f"{text}x" if unit == "x" else text)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("$", "\\$").replace("\n", " ")


def table(rows: list[dict], notes: bool = True) -> str:
    """The rows as one markdown table (a blank case cell repeats the one above)."""
    columns = ["benchmark", "case", "metric", "value", "target", "met"] + (["notes"] if notes else [])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    previous = None
    for r in rows:
        key = (r["benchmark"], r["case"])
        ok = {True: "yes", False: "**no**", None: ""}[r["ok"]]
        first = key != previous
        cells = [r["benchmark"] if first else "", r["case"] if first else "", r["metric"],
                 _format_value(r["value"], r["unit"]), r["target"], ok] + ([r.get("notes", "")] if notes else [])
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        previous = key
    return "\n".join(lines)


def results_body(report: dict) -> str:
    """Header, the figures that have a target (a narrow table a page can show whole), then every row."""
    targeted = [r for r in report["rows"] if r["target"]]
    return (header(report) + "\n\n### Targets\n\n" + table(targeted, notes=False) + "\n\n"
            "### Every figure, with notes\n\n" + table(report["rows"]) + "\n")


def header(report: dict) -> str:
    """The lines above the table: when, where, with what, and how to read it."""
    m, v = report["machine"], report["versions"]
    peers = ", ".join(f"{name} {v.get(name) or 'not installed'}" for name in PEERS.values())
    size = "quick (smallest sizes: a smoke run, not a measurement)" if report["quick"] else "full"
    load = f"load average {m.get('load_average_at_start', '?')} at the start, {m.get('load_average_at_end', '?')} at the end"
    return "\n".join([
        f"Recorded {report['generated']} by `{report['command']}` ({size} sizes, {report['duration_s']:.0f} s).",
        "",
        f"- **Machine**: {m['cpu']}, {m['cores']} cores, {m['platform']}; {load}.",
        f"- **Threads**: `torch.set_num_threads({report['threads']})` in every benchmark.",
        f"- **Versions**: Python {v['python']}, torch {v['torch']}, optbook {v.get('optbook')}, {peers}.",
        "- **How to read it**: every time is the median of repeated runs in which the compared "
        "implementations were timed in turns; every ratio divides two medians measured in the same run "
        "(the machine is shared, so absolute times are noisy and ratios are the figures to compare). "
        "*met* says whether the figure meets its target.",
    ])


def write(report: dict) -> None:
    """Write results/latest.json, results/latest.md and the book's performance.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    body = results_body(report)
    (RESULTS / "latest.md").write_text("# Benchmark results\n\n" + body)
    PAGE.write_text(
        "# Performance\n\n"
        "How fast the helper library and the book run on the build machine, measured against two "
        "published tools where one exists: [PyHessian](https://github.com/amirgholami/PyHessian) "
        "(Hessian eigenvalues by power iteration) and "
        "[loss-landscapes](https://github.com/marcellodebernardi/loss-landscapes) (2-D loss surfaces). "
        "The table is written by `make benchmarks` (`benchmarks/run.py`, see `benchmarks/README.md`); "
        "it is a measurement, not a test.\n\n"
        "## Latest results\n\n" + body + "\n"
        "## What is measured\n\n"
        "- **hvp**: one exact Hessian-vector product against one gradient (Pearlmutter's trick costs a "
        "small constant number of gradients); Lanczos against PyHessian's power iteration for the top, "
        "top-5 and most negative Hessian eigenvalues, and Hutchinson's trace, with the dense Hessian's "
        "eigenvalues as the reference.\n"
        "- **landscape**: the loss on a 41 x 41 plane through the parameters, the library's batched "
        "evaluation in chunks (batched matrix products for an MLP) against loss-landscapes' loop over points, at the very same points.\n"
        "- **restarts**: N = 100 networks trained together (one batched pass per step) against a Python loop of N "
        "trainings, with the same final parameters.\n"
        "- **monitor** (when present): the cost of recording the curvature monitors during training, "
        "with plain SGD and with Adam (whose sharpness is that of the preconditioned Hessian).\n"
        "- **slq**: the Hessian's spectral density by stochastic Lanczos quadrature against PyHessian's "
        "density on the same probes (accuracy against the dense spectrum, time), and at 1.1M parameters.\n"
        "- **book**: the cold build, each chapter's execution time against its budget, the cached "
        "rebuild, and how long one redraw of an interactive figure takes.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes (a smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (e.g. hvp book)")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these benchmarks out")
    parser.add_argument("--book", choices=("build", "read"), default="build",
                        help="build: cold build + cached rebuild in a temporary folder; read: only read the existing _build")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install missing peers")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    import torch

    from benchmarks.timing import THREADS

    torch.set_num_threads(THREADS)
    if not args.no_install:
        ensure_peers()
    names = [n for n in discover() if (not args.only or n in args.only) and n not in args.skip]
    unknown = set(args.only or []) - set(discover())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; available: {discover()}")
    report = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                  " " + " ".join(argv if argv is not None else sys.argv[1:])),
        "quick": args.quick, "threads": THREADS, "machine": machine(), "versions": versions(),
        "benchmarks": {}, "rows": [],
    }
    started = time.perf_counter()
    for name in names:
        quick = args.quick or (name == "book" and args.book == "read")
        print(f"== {name}{' (quick)' if quick else ''}", flush=True)
        rows, seconds = run_module(name, quick)
        report["benchmarks"][name] = {"seconds": round(seconds, 1), "quick": quick}
        report["rows"] += rows
        for r in rows:
            print(f"   {r['case'][:48]:48} {r['metric'][:52]:52} {_format_value(r['value'], r['unit']):>14} "
                  f"{r['target']:>8} {'' if r['ok'] is None else ('ok' if r['ok'] else 'MISSED')}", flush=True)
    report["duration_s"] = round(time.perf_counter() - started, 1)
    try:
        report["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    if args.no_write:
        print(table(report["rows"]))
    else:
        write(report)
        print(f"wrote {RESULTS / 'latest.md'}, {RESULTS / 'latest.json'} and {PAGE}")
    crashed = any(r["metric"] == "benchmark crashed" for r in report["rows"])
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
