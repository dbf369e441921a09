"""Claims of chapters/linear_networks.md, asserted for several seeds with the page's settings."""

from __future__ import annotations

import pytest
import torch

from optbook import linear_networks as ln

SEEDS = [0, 1, 2]
EVEN = torch.arange(6, 0, -1, dtype=torch.float64)  # eigenvalues 6, 5, ..., 1 (the page's spectrum)
SKEWED = torch.tensor([12.0, 3.0, 2.5, 2.0, 1.5, 1.0], dtype=torch.float64)  # one dominant direction
P = 2
# The Saxe experiment of the page.
SAXE = dict(depth=2, width=16, init_scales=0.01, lrs=0.01, steps=3000, record_every=5, n_runs=4)
DECOUPLED = dict(depth=2, width=16, lrs=0.01, steps=3000, record_every=5, n_runs=2, decoupled_u0=1e-3)
# The widget's grid (two corners of it are enough for the claims).
WIDGET_STEPS = 2000


@pytest.mark.parametrize("seed", SEEDS)
def test_baldi_hornik_one_minimum_and_a_monotone_staircase(seed):
    points = ln.autoencoder_critical_points(EVEN, P, seed=seed)
    assert len(points) == 22
    assert all(point.grad_norm < 1e-10 for point in points)  # every one is a critical point
    assert all(abs(point.cost - point.predicted_cost) < 1e-10 for point in points)
    minima = [point for point in points if point.is_minimum]
    assert [m.subset for m in minima] == [(0, 1)]  # exactly one minimum: the top-p principal subspace
    assert ln.staircase_is_monotone(points)
    origin = next(point for point in points if point.subset == ())
    assert origin.index == P * EVEN.numel() == max(point.index for point in points)
    assert all(point.index == point.predicted_index for point in points)
    # The zero eigenvalues are exactly the symmetry orbit, flat to rounding; every other direction curves.
    assert all(point.n_zero == point.gauge_dim == P * P - (P - len(point.subset)) ** 2 for point in points)
    assert all(point.gauge_curvature < 1e-10 for point in points)
    assert min(point.transverse_gap for point in points) > 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_skewed_spectrum_keeps_one_minimum_but_breaks_the_staircase(seed):
    points = ln.autoencoder_critical_points(SKEWED, P, seed=seed)
    assert [point.subset for point in points if point.is_minimum] == [(0, 1)]
    assert all(point.index == point.predicted_index for point in points)
    assert not ln.staircase_is_monotone(points)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_random_start_reaches_the_global_cost(seed):
    runs = ln.autoencoder_random_starts(EVEN, P, n_starts=64, scale=[0.5, 1e-3], lr=0.03, steps=1000, seed=seed)
    global_cost = ln.subset_cost(EVEN, (0, 1))
    assert runs.loss.shape[1] == 128
    # every run ends within 1e-3 of the global cost (the nearest saddle lies 0.5 above it) ...
    assert float((runs.loss[-1] - global_cost).abs().max()) < 1e-3
    # ... and the cost never rises on the way (the step is stable for all of them)
    assert bool((runs.loss[1:] <= runs.loss[:-1] + 1e-12).all())


@pytest.mark.parametrize("seed", SEEDS)
def test_saxe_modes_in_order_with_constant_half_time_times_s(seed):
    x, y = ln.hierarchical_data(3)
    runs = ln.simulate_linear_net(x, y, seed=seed, **SAXE)
    s = runs.modes.s
    t_half = ln.half_learning_times(runs.strength, s, runs.steps)
    for run in range(t_half.shape[0]):
        assert ln.learned_in_order(t_half[run], s)
        product = t_half[run] * s
        assert float((product / product.mean() - 1).abs().max()) <= 0.2
    # Eq. 11 with each mode's effective starting strength predicts the strong modes' half times.
    predicted = ln.saxe_half_time(s, runs.initial_u0, tau=1 / SAXE["lrs"])
    relative = (t_half - predicted) / predicted
    assert float(relative[:, :4].abs().max()) < 0.1
    # the four weakest modes arrive later than predicted, by less than 20%
    assert bool((relative[:, 4:] > 0).all()) and float(relative[:, 4:].max()) < 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_decoupled_start_follows_the_analytic_curve_within_5_percent(seed):
    x, y = ln.hierarchical_data(3)
    runs = ln.simulate_linear_net(x, y, seed=seed, **DECOUPLED)
    s = runs.modes.s
    theory = ln.saxe_mode_strength(runs.steps, s, torch.full_like(s, DECOUPLED["decoupled_u0"]), tau=1 / DECOUPLED["lrs"])
    error = ((runs.strength - theory[:, None, :]) / s).abs().max()
    assert float(error) < 0.05
    if seed != SEEDS[0]:
        return  # (a decoupled start's curves do not depend on the seed; the check below runs once)
    # the residual is the discretization of gradient descent: it halves with the learning rate
    half = ln.simulate_linear_net(x, y, seed=seed, **{**DECOUPLED, "lrs": 0.005, "steps": 6000})
    theory_half = ln.saxe_mode_strength(half.steps, s, torch.full_like(s, 1e-3), tau=200.0)
    error_half = ((half.strength - theory_half[:, None, :]) / s).abs().max()
    assert 0.4 < float(error_half / error) < 0.6


@pytest.mark.parametrize("seed", SEEDS)
def test_widget_claims_depth_scale_and_learning_rate(seed):
    x, y = ln.hierarchical_data(3)
    s = ln.data_modes(x, y).s
    top = {}
    for depth in (2, 3, 4):
        runs = ln.simulate_linear_net(
            x, y, depth=depth, init_scales=torch.tensor([0.1, 0.3, 0.1, 0.1], dtype=torch.float64),
            lrs=torch.tensor([0.03, 0.03, 0.01, 0.1], dtype=torch.float64), steps=WIDGET_STEPS, seed=seed,
        )
        top[depth] = ln.half_learning_times(runs.strength, s, runs.steps)[:, 0]
        if depth == 4:
            assert bool(runs.diverged[3])  # lr = 0.1 is too large for four layers
        else:
            assert not bool(runs.diverged.any())
    # at a small initial scale every extra layer lengthens the plateau
    assert top[2][0] < top[3][0] < top[4][0]
    # a larger initial scale shortens it
    for depth in (2, 3, 4):
        assert top[depth][1] < top[depth][0]
    # for two layers the plateau, counted in steps, scales as 1/lr (time in units of tau is fixed)
    ratio = (top[2][0] * 0.03) / (top[2][2] * 0.01)
    assert 0.8 < float(ratio) < 1.25


def test_decoupled_deep_nets_follow_the_balanced_deep_equation():
    # three random hidden frames (the role of three seeds) trained in one batch per depth
    x, y = ln.hierarchical_data(3)
    first, abruptness = {}, {}
    for depth in (2, 3, 4):
        runs = ln.simulate_linear_net(x, y, depth=depth, width=16, lrs=0.002, steps=12000, record_every=40,
                                      seed=0, n_runs=3, decoupled_u0=1e-3)
        s = runs.modes.s
        theory = ln.deep_mode_strength(runs.steps, s, torch.full_like(s, 1e-3), depth, tau=500.0)
        assert float(((runs.strength - theory[:, None, :]) / s).abs().max()) < 0.05

        def reach(fraction):  # first step at which each mode reaches fraction * s
            return ln.half_learning_times(runs.strength, 2 * fraction * s, runs.steps)[:, 0]

        first[depth] = reach(0.5)
        abruptness[depth] = (reach(0.9) - reach(0.1)) / reach(0.5)  # rise time relative to the plateau
    # deeper: a longer plateau from the same u0, and a sharper rise relative to it
    assert bool((first[2] < first[3]).all()) and bool((first[3] < first[4]).all())
    assert bool((abruptness[4] < abruptness[3]).all()) and bool((abruptness[3] < abruptness[2]).all())
