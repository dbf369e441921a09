"""Claims of chapters/saddle_points.md, asserted for several seeds with the page's settings.

1. The fraction of positive-definite GOE matrices falls faster than coin tossing's 2^-n, with an
   n^2 rate of the Dean-Majumdar size.
2. Spherical 3-spin glass: the index of critical points follows the theory curve within 0.05,
   and index-0 points occur only near the bottom; minima stay few while saddles multiply with N.
3. Gradient descent leaves a saddle in ~log(1/delta) steps; Newton's method converges to it;
   saddle-free Newton leaves it: on x1^2 - x2^2 and on a tanh network.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optbook import random_matrices as rm
from optbook import saddles as sd
from optbook import spin_glass as sg

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_goe_positive_fraction_falls_faster_than_coin_tossing(seed):
    result = rm.positive_definite_fraction(range(1, 9), samples=40000, seed=seed)
    ratio = result.fraction / rm.coin_tossing_fraction(result.n)
    assert np.all(np.diff(ratio[1:]) < 0)  # from n = 2 on, further below 2^-n at every n
    assert ratio[-1] < 1e-5  # n = 8: more than 1e5 times rarer than coin tossing
    assert np.all(result.std_error[1:] < 0.35 * result.fraction[1:])  # estimates are resolved
    theta = rm.fitted_quadratic_rate(result.n[2:], result.fraction[2:])
    assert abs(theta / rm.DEAN_MAJUMDAR_RATE - 1) < 0.2  # ln 3 / 4; coin tossing has no n^2 term at all


@pytest.mark.parametrize("disorder", SEEDS)
def test_spin_glass_index_follows_theory_and_minima_sit_at_the_bottom(disorder):
    couplings = sg.couplings(40, seed=disorder)
    points = sg.find_critical_points(couplings, n_starts=400, max_warmup=300, seed=disorder)
    assert len(points.energy) >= 100
    assert np.all(points.grad_norm < 1e-9)
    bins = sg.binned_index(points, np.arange(-1.7, 0.05, 0.1))
    assert len(bins["energy"]) >= 10
    assert np.abs(bins["index"] - bins["theory"]).max() < 0.05
    assert np.abs(points.index - sg.theory_index(points.energy)).mean() < 0.03
    minima = points.index == 0
    assert minima.sum() >= 3
    assert points.energy[minima].max() < -1.25  # index 0 only near the bottom ...
    assert points.energy.max() > 0.0  # ... of a range that reaches far above it
    assert np.all(points.index[points.energy > -1.2] > 0)
    # index rises with energy: binned means are monotone
    assert np.all(np.diff(bins["index"]) > -0.02)
    # the spectrum is the shifted semicircle: centred at -3 eps, standard deviation sqrt 6
    eigenvalues = points.eigenvalues.numpy()
    assert np.abs(eigenvalues.mean(axis=1) + 3 * points.energy).mean() < 0.2
    assert abs(eigenvalues.std(axis=1).mean() / np.sqrt(6) - 1) < 0.05


def test_spin_glass_minima_stay_few_while_saddles_multiply():
    counts = sg.census([3, 4, 5, 6, 7], disorder_seeds=SEEDS, n_starts=1200)
    assert counts.minima.max() <= 8
    for d in range(len(SEEDS)):
        assert counts.saddles[-1, d] >= 3 * counts.saddles[1, d]  # N = 7 against N = 4
        assert counts.saddles[-1, d] / counts.minima[-1, d] > counts.saddles[1, d] / counts.minima[1, d]
    assert counts.saturated[:3].all()  # N <= 5: the second batch of starts found nothing new


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_gd_escape_time_on_the_saddle_is_the_log_formula(lr):
    deltas = np.logspace(-12, -1, 12)
    starts = torch.tensor([[0.5, d] for d in deltas], dtype=torch.float64)
    run = sd.run_method(sd.saddle_cost, starts, "gradient descent", lr, 800, derivatives=sd.saddle_derivatives)
    measured = sd.escape_steps(run.distance_to(torch.zeros(2)), 1.0).numpy()
    np.testing.assert_array_equal(measured, sd.predicted_escape_steps(deltas, lr, 2.0))


def test_newton_lands_on_the_saddle_in_one_step():
    starts = torch.tensor([[0.5, 1e-6], [-1.0, 0.3], [2.0, -1.5]], dtype=torch.float64)
    run = sd.run_method(sd.saddle_cost, starts, "Newton", 1.0, 120, derivatives=sd.saddle_derivatives)
    assert float(run.thetas[1:].abs().max()) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_on_a_network_newton_converges_to_the_saddle_where_gd_and_sfn_leave(seed):
    net = sd.tanh_saddle_problem(width=3, seed=seed)
    saddle_cost = float(net.loss(net.saddle))
    starts = sd.random_starts(net.saddle, [0.05, 0.1, 0.2], n_per_distance=3, seed=seed)
    newton = sd.run_method(net.loss, starts, "Newton", 1.0, 30)
    gd = sd.run_method(net.loss, starts, "gradient descent", 0.1, 200)
    sfn = sd.run_method(net.loss, starts, "saddle-free Newton", 1.0, 30, damping=0.1, max_step=0.5)
    assert float(newton.distance_to(net.saddle)[-1].max()) < 1e-8
    assert torch.allclose(newton.costs[-1], torch.full((9,), saddle_cost, dtype=torch.float64), atol=1e-10)
    for run in (gd, sfn):
        assert float(run.distance_to(net.saddle)[-1].min()) > 1.0
        assert float(run.costs[-1].max()) < 0.25 * saddle_cost
    assert (gd.diverged_at < 0).all() and (sfn.diverged_at < 0).all() and (newton.diverged_at < 0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_on_a_network_gd_escape_time_grows_like_log_one_over_delta(seed):
    net = sd.tanh_saddle_problem(width=3, seed=seed)
    lr = 0.1
    deltas = np.logspace(-9, -2, 8)
    run = sd.run_method(net.loss, sd.random_starts(net.saddle, deltas, seed=seed + 1), "gradient descent", lr, 400)
    steps = sd.escape_steps(run.distance_to(net.saddle), 0.5).numpy()
    assert (steps > 0).all()
    slope = sd.fit_log_slope(deltas, steps)
    theory = 1 / np.log1p(lr * abs(net.most_negative_curvature))
    assert abs(slope / theory - 1) < 0.1


@pytest.mark.parametrize("teacher", SEEDS)
def test_on_a_small_network_searches_often_stall_and_found_critical_points_order_by_cost(teacher):
    loss = sd.teacher_student_problem(width=3, seed=teacher)
    gen = torch.Generator().manual_seed(teacher)
    starts = sd.random_starts(torch.zeros(18, dtype=torch.float64), [1.0] * 100, seed=teacher)
    search = sd.critical_point_search(loss, starts, torch.randint(0, 300, (100,), generator=gen))
    converged = search.converged
    assert 5 <= converged.sum() < 50  # some reach critical points, most stall
    assert np.median(search.grad_norm[~converged]) > 1e-4  # stalled well above the tolerance
    assert search.cost_index_correlation() > 0.5  # index rises with cost
