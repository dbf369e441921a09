"""Claims of chapters/many_minima.md (Safran & Shamir's table, minima, flatness, valleys), for SEEDS.

Both the page and this module import `MANY_MINIMA` and `minima.run_width`; the seed sets the
students' starts (the page shows seed 0). Each threshold is the one the page states, with the room
of `claim`. Everything is float64 with a closed-form cost, so machines differ only by rounding.
"""

import pytest
import torch

import optbook as ob
from claims import SEEDS, claim, fact
from optbook.many_minima import MANY_MINIMA as SETUP, digits as dg, minima as mm, teacher_student as ts


@pytest.fixture(scope="module", params=SEEDS)
def found(request):
    seed = request.param
    results = {k: mm.run_width(k, k, seed=seed) for k in SETUP.widths}
    over = {k: mm.run_width(k, k + 1, seed=seed) for k in SETUP.over_widths}
    return dict(seed=seed, results=results, over=over)


def test_rates_against_safran_shamir(found):
    results = found["results"]
    inside = [lo <= mm.PAPER_RATES[k][0] / 1000 <= hi for k, (lo, hi) in
              ((k, mm.wilson_interval(int(r.spurious.sum()), SETUP.restarts, SETUP.interval_z))
               for k, r in results.items())]
    fact("the paper's rate lies in our 99 % interval for all widths but at most one",
         sum(inside) >= len(inside) - 1, inside)
    claim("spurious rate at the largest width (more than 40 %)", results[SETUP.widths[-1]].rate, ">", 0.40)
    claim("spurious rate at the smallest width (less than 5 %)", results[SETUP.widths[0]].rate, "<", 0.05)


def test_one_more_unit_removes_most_spurious_runs(found):
    for k, r in found["over"].items():
        above = float((r.cost >= SETUP.spurious_cost).double().mean())
        claim(f"n = k + 1 runs above the threshold / spurious rate at n = k, k = {k} (less than a third)",
              above / found["results"][k].rate, "<", 1 / 3)


def test_families_are_strict_minima_flatter_than_the_global(found):
    families = [(k, f) for k, r in found["results"].items() for f in r.families]
    fact("spurious families found", len(families) >= 2, len(families))
    claim("gradient after the Newton polish", [f.grad for _, f in families], "<", 1e-10)
    claim("smallest Hessian eigenvalue of every family (> 0: strict minimum)",
          [float(f.eigenvalues[0]) for _, f in families], ">", 0.0, abs=1e-3)
    for k, f in families:
        g = mm.global_curvature(k)
        claim(f"trace: spurious / global, k = {k} (below 1)", float(f.eigenvalues.sum() / g.sum()), "<", 1.0)
        claim(f"lambda_min: spurious / global, k = {k} (below 1)", float(f.eigenvalues[0] / g[0]), "<", 1.0)
    results = found["results"]
    start = float(results[SETUP.widths[-1]].runs.loss[0].median())
    claim("worst minimum's cost / median starting cost (less than 5 %)",
          max(f.cost for _, f in families) / start, "<", 0.05)


def test_rescaling_changes_sharpness_not_the_function(found):
    k = SETUP.widths[1]
    example = found["results"][k].families[0]
    out = mm.rescaling(example.W, ts.teacher(k), SETUP.rescale_alphas)
    fact("cost unchanged by the rescaling", float((out["cost"] - out["cost"][0]).abs().max()) < 1e-12)
    fact("no negative eigenvalue at any alpha", float(out["negative"].max()) == 0.0)
    fact("normalized sharpness unchanged", float((out["invariant"] - out["invariant"][0]).abs().max()) < 1e-9)
    claim("top eigenvalue max / min over alpha (more than 2)", float(out["top"].max() / out["top"].min()), ">", 2.0)


def test_stopping_early_loses_little(found):
    wide = found["results"][SETUP.widths[-1]]
    steps = wide.runs.steps
    excess = wide.runs.loss - wide.runs.loss[-1]
    first = int(torch.searchsorted(steps, SETUP.slow_steps))
    second = int(torch.searchsorted(steps, 2 * SETUP.slow_steps))
    claim("median excess at the first mark / starting cost (less than 5 %)",
          float(excess[first].median() / wide.runs.loss[0].median()), "<", 0.05)
    claim("share within 1e-3 of the final cost at the second mark (more than 90 %)",
          float((excess[second] < SETUP.spurious_cost).double().mean()), ">", 0.90)


def test_bezier_curve_lowers_but_keeps_the_barrier(found):
    k = SETUP.widths[1]
    A = found["results"][k].families[0].W
    B = mm.distinct_copy(A, SETUP.same_point)
    path = mm.line_and_curve(A, B, ts.teacher(k), SETUP.curve_points, SETUP.curve_steps, SETUP.curve_lr)
    ratio = float(path["curve_barrier"] / path["line_barrier"])
    claim("curve barrier / line barrier (below 0.8)", ratio, "<", 0.8)
    claim("curve barrier / line barrier (above 0.3: not removed)", ratio, ">", 0.3)


@pytest.fixture(scope="module", params=SEEDS)
def digit_runs(request):
    return dg.digits_restarts(ob.digits(), seed=request.param, **SETUP.digits_kwargs())


def test_digits_restarts_close_to_the_best_and_stopped_early(digit_runs):
    final = digit_runs.final_loss
    claim("digits: worst / best final training cost over restarts (less than twice)",
          float(final.max() / final.min()), "<", 2.0)
    claim("digits: median final gradient norm (above 1e-3: not at a minimum)",
          float(digit_runs.grad_norm[-1].median()), ">", 1e-3)
    early = int(torch.searchsorted(digit_runs.steps, SETUP.digits_early))
    val = digit_runs["val_error"]
    claim("digits: median validation error at the early stop minus at the end (within one point)",
          float(val[early].median() - val[-1].median()), "<", 0.01)


def test_one_spare_unit_connects_the_global_minima(found):
    k = SETUP.over_widths[0]
    r = found["over"][k]
    A = r.W[r.cost.argmin()]
    at_global = r.cost < 1e-6
    others = torch.stack([mm.align_units(A, W) for W in r.W[at_global]])
    barriers = mm.line_barriers(A, others, ts.teacher(k), SETUP.curve_points)
    fact("n = k + 1: more than one distinct global minimum found",
         mm.distinct_points(r.W[at_global], SETUP.same_point) > 1)
    claim("n = k + 1: largest straight-line barrier from the lowest global minimum (below 1e-3)",
          float(barriers.max()), "<", SETUP.spurious_cost)
