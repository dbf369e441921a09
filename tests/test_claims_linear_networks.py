"""Claims of chapters/linear_networks.md, stated through tests/claims.py for every seed in SEEDS."""

from __future__ import annotations

import pytest
import torch
from claims import SEEDS, claim, fact

from optbook import linear_networks as ln

SETUP = ln.LINEAR_NETWORKS  # the page's settings, the same object the page uses
EVEN, SKEWED, P = SETUP.even_spectrum(), SETUP.skewed_spectrum(), SETUP.p
SAXE, DECOUPLED = SETUP.saxe_random(), SETUP.saxe_decoupled()


@pytest.mark.parametrize("seed", SEEDS)
def test_baldi_hornik_one_minimum_and_a_monotone_staircase(seed):
    points = ln.autoencoder_critical_points(EVEN, P, seed=seed)
    # exact identities, to rounding: the theorem's points are critical, with the predicted cost and index
    assert all(point.grad_norm < 1e-10 for point in points)
    assert all(abs(point.cost - point.predicted_cost) < 1e-10 for point in points)
    minima = [point for point in points if point.is_minimum]
    fact("exactly one minimum: the top-p principal subspace", [m.subset for m in minima] == [(0, 1)])
    fact("evenly spaced eigenvalues: cost and index rise together", ln.staircase_is_monotone(points))
    origin = next(point for point in points if point.subset == ())
    fact("the origin has the highest index, pn", origin.index == P * EVEN.numel() == max(point.index for point in points))
    fact("every index matches the counting formula", all(point.index == point.predicted_index for point in points))
    # The zero eigenvalues are exactly the symmetry orbit, flat to rounding; every other direction curves.
    fact("zero eigenvalues = orbit dimension", all(point.n_zero == point.gauge_dim == P * P - (P - len(point.subset)) ** 2
                                                   for point in points))
    assert all(point.gauge_curvature < 1e-10 for point in points)
    claim("smallest |eigenvalue| off the orbit / largest (page: at least 0.1%)",
          min(point.transverse_gap for point in points), ">", 1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_skewed_spectrum_keeps_one_minimum_but_breaks_the_staircase(seed):
    points = ln.autoencoder_critical_points(SKEWED, P, seed=seed)
    fact("skewed: one minimum", [point.subset for point in points if point.is_minimum] == [(0, 1)])
    fact("skewed: every index matches the formula", all(point.index == point.predicted_index for point in points))
    fact("skewed: the staircase has inversions", not ln.staircase_is_monotone(points))


@pytest.mark.parametrize("seed", SEEDS)
def test_every_random_start_reaches_the_global_cost(seed):
    runs = ln.autoencoder_random_starts(EVEN, seed=seed, **SETUP.random_starts())
    global_cost = ln.subset_cost(EVEN, (0, 1))
    # the page: every run ends within 1e-3 of the global cost (the nearest saddle lies 0.5 above it) ...
    claim("largest final gap to the global cost", (runs.loss[-1] - global_cost).abs().max(), "<", 1e-3)
    # ... and the cost never rises on the way (the step is stable for all of them)
    fact("no run's cost ever rises", bool((runs.loss[1:] <= runs.loss[:-1] + 1e-12).all()))
    # the starts next to the origin wait on its plateau: within 1% of its cost 10.5 for at least 20 steps
    origin_cost = ln.subset_cost(EVEN, ())
    near = runs.loss[:, SETUP.starts:] > 0.99 * origin_cost  # the second scale's starts
    leaves = runs.steps[(~near).to(torch.int64).argmax(0)]
    claim("small starts: steps on the origin's plateau (within 1% of its cost)", leaves, ">", 20)


@pytest.mark.parametrize("seed", SEEDS)
def test_saxe_modes_in_order_with_a_plateau_then_a_rise(seed):
    x, y = ln.hierarchical_data(3)
    runs = ln.simulate_linear_net(x, y, seed=seed, **SAXE)
    s = runs.settings["modes"].s
    t_half = ln.half_learning_times(runs["strength"], s, runs.steps)
    for run in range(t_half.shape[0]):
        fact("modes learned in order of singular value", ln.learned_in_order(t_half[run], s))
    product = t_half * s
    claim("s * t_half: largest deviation from its run's mean (page: within 20%)",
          (product / product.mean(1, keepdim=True) - 1).abs().max(), "<", 0.2)
    claim("t_half varies more than threefold across modes", t_half.max(1).values / t_half.min(1).values, ">", 3.0)
    # the plateau: every mode stays below a tenth of s for at least two thirds of its half-learning time
    t_tenth = ln.half_learning_times(runs["strength"], 0.2 * s, runs.steps)
    claim("time below s/10 over t_half (the plateau)", t_tenth / t_half, ">", 2 / 3)
    # Eq. 11 with each mode's effective starting strength predicts the strong modes' half times within 10%.
    predicted = ln.saxe_half_time(s, runs.settings["initial_u0"], tau=1 / SAXE["lrs"])
    relative = (t_half - predicted) / predicted
    claim("eq. 11: strong modes' relative error", relative[:, :4].abs(), "<", 0.1)
    # the four weakest modes arrive later than predicted on average, each by less than 20%
    claim("weak modes: mean delay over eq. 11 (later than predicted)", relative[:, 4:].mean(1), ">", 0.0, abs=0.01)
    claim("weak modes: delay over eq. 11", relative[:, 4:], "<", 0.2)


def test_decoupled_start_follows_the_analytic_curve_within_5_percent():
    # a decoupled start's curves do not depend on its random hidden frames: one batch of runs, all seeds' frames
    x, y = ln.hierarchical_data(3)
    errors = []
    for seed in SEEDS:
        runs = ln.simulate_linear_net(x, y, seed=seed, **DECOUPLED)
        s = runs.settings["modes"].s
        theory = ln.saxe_mode_strength(runs.steps, s, torch.full_like(s, DECOUPLED["decoupled_u0"]), tau=1 / DECOUPLED["lrs"])
        errors.append(float(((runs["strength"] - theory[:, None, :]) / s).abs().max()))
    claim("decoupled: largest deviation from eq. 12, in units of s", errors, "<", 0.05)
    # the residual is the discretization of gradient descent: it halves with the learning rate
    half = ln.simulate_linear_net(x, y, seed=SEEDS[0], **{**DECOUPLED, "lrs": SETUP.saxe_lr / 2, "steps": 2 * SETUP.saxe_steps})
    theory_half = ln.saxe_mode_strength(half.steps, s, torch.full_like(s, SETUP.decoupled_u0), tau=2 / SETUP.saxe_lr)
    error_half = float(((half["strength"] - theory_half[:, None, :]) / s).abs().max())
    claim("halving the step: error ratio above 0.4", error_half / errors[0], ">", 0.4)
    claim("halving the step: error ratio below 0.6", error_half / errors[0], "<", 0.6)


@pytest.mark.parametrize("seed", SEEDS)
def test_widget_claims_depth_scale_and_learning_rate(seed):
    x, y = ln.hierarchical_data(3)
    s = ln.data_modes(x, y).s
    top = {}
    for depth in SETUP.widget_depths:
        runs, pairs = ln.widget_grid(x, y, depth, seed=seed)
        limit = ln.stable_step_limit(float(s[0]), depth)
        for k, (scale, lr) in enumerate(pairs):
            verdict = ln.run_verdict(runs["strength"][:, k], runs.loss[:, k], s, runs.steps, lr=lr, depth=depth)
            top[(depth, scale, lr)] = verdict.first_plateau
            if lr > limit:  # the page: above the stability limit no run settles, it diverges or oscillates
                fact(f"depth {depth}, lr {lr}: above the limit, diverges or oscillates",
                     verdict.kind in ("diverged", "oscillating"), verdict.text)
            if lr == 0.1 and depth < 4:  # the page: at lr 0.1 every two- and three-layer run learns all 8 modes
                fact(f"depth {depth}, lr 0.1: all modes learned", verdict.kind == "learning" and verdict.learned == 8, verdict.text)
        fact("lr 0.1 is above the limit only at depth 4", (0.1 > limit) == (depth == 4))
    # at sigma = 0.1, lr = 0.03 every extra layer lengthens the plateau
    claim("plateau depth 3 / depth 2", top[(3, 0.1, 0.03)] / top[(2, 0.1, 0.03)], ">", 1.0)
    claim("plateau depth 4 / depth 3", top[(4, 0.1, 0.03)] / top[(3, 0.1, 0.03)], ">", 1.0)
    # a larger initial scale shortens it (sigma 0.3 against 0.1, at every depth)
    claim("plateau sigma 0.3 / sigma 0.1", [top[(d, 0.3, 0.03)] / top[(d, 0.1, 0.03)] for d in SETUP.widget_depths], "<", 1.0)
    # for two layers the plateau, in units of tau = 1/lr, is eq. 11's with each run's effective u0: the step
    # size only rescales time (within 10% at lr <= 0.03; at 0.1 the discrete steps lag, the plateau is longer)
    runs, pairs = ln.widget_grid(x, y, 2, seed=seed)
    for k, (scale, lr) in enumerate(pairs):
        if scale <= 0.1:
            predicted = float(ln.saxe_half_time(s[:1], runs.settings["initial_u0"][k, :1], tau=1 / lr)[0])
            error = top[(2, scale, lr)] / predicted - 1
            if lr <= 0.03:
                claim("two layers, lr <= 0.03: plateau against eq. 11, relative error", abs(error), "<", 0.1)
            else:
                claim("two layers, lr 0.1: plateau longer than eq. 11's", error, ">", 0.0, abs=0.01)


def test_decoupled_deep_nets_follow_the_balanced_deep_equation():
    # three random hidden frames trained in one batch per depth (the curves do not depend on the seed)
    x, y = ln.hierarchical_data(3)
    first, abruptness = {}, {}
    for depth in SETUP.deep_depths:
        runs = ln.simulate_linear_net(x, y, seed=0, **SETUP.deep(depth, n_runs=3))
        s = runs.settings["modes"].s
        u0, tau = SETUP.decoupled_u0, 1 / SETUP.deep_lr
        theory = ln.deep_mode_strength(runs.steps, s, torch.full_like(s, u0), depth, tau=tau)
        claim(f"depth {depth}: deviation from the balanced deep equation, units of s",
              ((runs["strength"] - theory[:, None, :]) / s).abs().max(), "<", 0.05)

        def reach(fraction):  # first step at which the strongest mode reaches fraction * s, per run
            return ln.half_learning_times(runs["strength"], 2 * fraction * s, runs.steps)[:, 0]

        first[depth] = reach(0.5)
        abruptness[depth] = (reach(0.9) - reach(0.1)) / reach(0.5)  # rise time relative to the plateau
        if depth >= 3:  # the page: the strongest mode rises within 10% of the small-u solution's blow-up time
            blow_up = float(ln.blow_up_time(s[0], u0, depth, tau=tau))
            claim(f"depth {depth}: half time / blow-up time, above", first[depth] / blow_up, ">", 0.9)
            claim(f"depth {depth}: half time / blow-up time, below", first[depth] / blow_up, "<", 1.1)
    # deeper: a longer plateau from the same u0, and a sharper rise relative to it
    claim("half time depth 3 / depth 2", first[3] / first[2], ">", 1.0)
    claim("half time depth 4 / depth 3", first[4] / first[3], ">", 1.0)
    claim("abruptness depth 4 / depth 3", abruptness[4] / abruptness[3], "<", 1.0)
    claim("abruptness depth 3 / depth 2", abruptness[3] / abruptness[2], "<", 1.0)
