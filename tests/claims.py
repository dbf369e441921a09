"""How a claims test states a claim: measured values against the page's threshold, with a margin.

A page's claim ("the error ends below 5 %") is a threshold; a run that clears it by a hair is a claim
about one run on one machine. So `claim` asserts that every measured value clears the threshold
*by a margin* (2 % of the threshold by default, or an absolute amount such as one example), and
`claim_frequency` asserts how often a phenomenon happens over the seeds ("in 9 of 10 runs").

The seeds come from ``OPTBOOK_SEEDS`` (default ``0,1,2``), so the same tests run on any seeds;
``make claims-sweep`` (scripts/claims_sweep.py) runs them on seeds 0-9 with ``OPTBOOK_CLAIMS_RECORD``
set, and every call here appends its values to that file for the margins table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
import torch

SEEDS: tuple[int, ...] = tuple(int(s) for s in os.environ.get("OPTBOOK_SEEDS", "0,1,2").split(","))
REL_MARGIN = 0.02  # nothing may sit within 2 % of its threshold ...
_OPS = {">": np.greater_equal, "<": np.less_equal}


def _as_array(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    return np.atleast_1d(np.asarray(values, dtype=float)).ravel()


def _record(entry: dict) -> None:
    path = os.environ.get("OPTBOOK_CLAIMS_RECORD")
    if path:
        entry["test"] = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")


def claim(name: str, values, op: str, threshold: float, *, rel: float = REL_MARGIN, abs: float = 0.0) -> None:
    """Assert that every value is ``op`` (">" or "<") ``threshold`` with room to spare.

    The room is ``max(rel * |threshold|, abs)``: a value must reach ``threshold + room`` for ">"
    and stay below ``threshold - room`` for "<". Use ``abs`` for thresholds at zero and for counts
    (``abs=1`` is one example).
    """
    if op not in _OPS:
        raise ValueError(f"op must be '>' or '<', got {op!r}")
    array = _as_array(values)
    room = max(rel * float(np.abs(threshold)), abs)
    bound = threshold + room if op == ">" else threshold - room
    _record(dict(claim=name, op=op, threshold=float(threshold), room=room, values=array.tolist()))
    ok = _OPS[op](array, bound) & np.isfinite(array)
    assert ok.all(), f"{name}: {array.tolist()} should be {op} {threshold} with room {room:g} (bound {bound:g})"


def claim_frequency(name: str, holds: Sequence[bool] | Iterable[bool], at_least: float) -> None:
    """Assert that the phenomenon holds in at least ``at_least`` of the runs (a fraction in [0, 1])."""
    flags = np.asarray(list(holds), dtype=bool)
    rate = float(flags.mean())
    _record(dict(claim=name, op="freq>", threshold=float(at_least), room=0.0, values=flags.astype(float).tolist()))
    assert rate >= at_least, f"{name}: holds in {flags.sum()} of {flags.size} runs, the page says at least {at_least:.0%}"


def fact(name: str, condition: bool, detail: object = "") -> None:
    """An exact statement (a count, a sign, an identity) that has no margin: asserted and recorded."""
    _record(dict(claim=name, op="holds", threshold=1.0, room=0.0, values=[float(bool(condition))]))
    assert condition, f"{name}: {detail}"
