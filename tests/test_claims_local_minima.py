"""Claims of chapters/local_minima.md (8.2.2), checked for three seeds with the chapter's settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optbook as ob
from optbook import bad_minima as bm
from optbook import restarts as rs
from optbook import symmetry as sym

SEEDS = (0, 1, 2)
ALPHAS = [0.1, 0.2, 1 / 3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]
# Swirszcz, Czarnecki & Pascanu (2016), Table 1, ReLU columns, h = 2..7
PAPER = {("xor", "adam"): [28, 52, 68, 81, 91, 97], ("xor", "gd"): [23, 47, 70, 80, 89, 89],
         ("jellyfish", "adam"): [7, 34, 50, 51, 61, 69], ("jellyfish", "gd"): [16, 33, 66, 68, 69, 86]}


@pytest.fixture(scope="module")
def digits():
    return ob.digits(val_fraction=0.4)


@pytest.fixture(scope="module")
def trained_nets(digits):
    """The chapter's 64-16-10 ReLU nets after 300 full-batch GD steps, one per seed (one vmap)."""
    net = ob.mlp([64, 16, 10], activation="relu")
    loss = ob.functional_loss(net, ob.cross_entropy, digits.x_train, digits.y_train)
    starts = torch.stack([ob.get_flat_params(ob.mlp([64, 16, 10], activation="relu", seed=s)) for s in SEEDS])
    return net, loss, ob.gradient_descent_many(loss, starts, lr=0.5, steps=300)


def test_convex_starts_agree_and_network_starts_do_not(digits, trained_nets):
    for seed in SEEDS:
        convex = rs.convex_restarts(digits, restarts=8, weight_decay=0.01, steps=300, seed=seed)
        assert convex.cost.max() - convex.cost.min() < 1e-5
        assert convex.grad_norm.max() < 1e-5
        assert convex.spread_without_bias_shift() < 1e-4 and convex.parameter_spread() > 0.5
    _, _, runs = trained_nets
    ends = runs.final_params
    assert float(runs.loss[-1].max() - runs.loss[-1].min()) > 1e-3
    assert float(torch.pdist(ends).min()) > 1.0


def test_permutation_keeps_function_and_cost_and_has_a_barrier(digits, trained_nets):
    net, loss, runs = trained_nets
    for k, seed in enumerate(SEEDS):
        trained = ob.mlp([64, 16, 10], activation="relu")
        ob.set_flat_params(trained, runs.final_params[k])
        twin = sym.permuted_twin(trained, seed=seed)
        theta, theta_twin = ob.get_flat_params(trained), ob.get_flat_params(twin)
        assert sym.max_output_difference(trained, twin, digits.x_val) < 1e-5
        assert abs(float(loss(theta) - loss(theta_twin))) < 1e-5
        _, line = sym.cost_along_line(loss, theta, theta_twin, num=41)
        assert float(line.max()) > 2 * max(float(line[0]), float(line[-1]))
    assert sym.log10_arrangements(100, 3) == pytest.approx(473.9, abs=0.1)


def test_rescaling_keeps_relu_and_maxout_functions(digits, trained_nets):
    _, loss, runs = trained_nets
    for k, seed in enumerate(SEEDS):
        trained = ob.mlp([64, 16, 10], activation="relu")
        ob.set_flat_params(trained, runs.final_params[k])
        maxout = sym.maxout_mlp([64, 8, 10], pieces=3, seed=seed)
        for alpha in ALPHAS:
            for unit in range(16):
                scaled = sym.rescale_hidden_unit(trained, alpha, unit=unit)
                assert sym.max_output_difference(trained, scaled, digits.x_val) < 1e-5
            assert abs(float(loss(ob.get_flat_params(scaled)) - loss(runs.final_params[k]))) < 1e-5
            for unit in range(8):
                assert sym.max_output_difference(maxout, sym.rescale_hidden_unit(maxout, alpha, unit=unit), digits.x_val) < 1e-5
        norms = [float(ob.get_flat_params(sym.rescale_hidden_unit(trained, a, unit=3)).norm()) for a in ALPHAS]
        assert max(norms) - min(norms) > 1.0  # same function, different weights


def test_one_unit_hyperbola_and_weight_decay():
    w = torch.linspace(0.05, 3, 200, dtype=torch.float64)
    x = torch.linspace(0.2, 2.0, 10, dtype=torch.float64)
    free = sym.one_unit_cost_grid(w, w, x, 1.5 * x)
    near_min = free < 1e-4
    products = (w[:, None] * w[None, :])[near_min]
    assert near_min.sum() > 20 and torch.allclose(products, torch.full_like(products, 1.5), atol=0.02)
    decayed = sym.one_unit_cost_grid(w, w, x, 1.5 * x, weight_decay=0.05)
    assert (decayed < decayed.min() + 1e-4).sum() <= 4  # one isolated minimum (a few grid cells)


def test_sigmoid_unit_bad_strict_minimum_and_convex_cross_entropy():
    x, y = bm.sigmoid_unit_data()
    w = torch.linspace(-8, 4, 4801, dtype=torch.float64)[:, None]
    squared = bm.sigmoid_unit_cost(w, x, y)
    minima = bm.local_minima_1d(squared)
    assert len(minima) == 2
    costs = squared[minima]
    assert float(costs.max()) == pytest.approx(0.9025, abs=1e-4) and float(costs.min()) == pytest.approx(0.2533, abs=1e-4)
    grad, eigs = bm.local_minimum_report(lambda v: bm.sigmoid_unit_cost(v, x, y), w[minima[costs.argmax()]])
    assert grad < 1e-4 and float(eigs.min()) > 1e-3  # strict: gradient ~ 0, Hessian > 0
    cross_entropy = bm.sigmoid_unit_cost(w, x, y, "cross_entropy")
    assert float(bm.second_differences(cross_entropy).min()) > -1e-12
    assert len(bm.local_minima_1d(cross_entropy)) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_descent_basins_of_the_sigmoid_unit(seed):
    x, y = bm.sigmoid_unit_data()
    g = torch.Generator().manual_seed(seed)
    left = -4 + 3.5 * torch.rand(30, 1, generator=g, dtype=torch.float64)    # [-4, -0.5]
    right = -0.3 + 3.3 * torch.rand(30, 1, generator=g, dtype=torch.float64)  # [-0.3, 3]
    assert (bm.sigmoid_unit_descent(left, x, y, lr=0.3, steps=3000) < -2.5).all()
    assert torch.allclose(bm.sigmoid_unit_descent(right, x, y, lr=0.3, steps=3000),
                          torch.full((30, 1), 0.1755, dtype=torch.float64), atol=1e-3)
    x2, y2 = bm.sigmoid_unit_data(d=2)
    starts = -4.5 + 7 * torch.rand(200, 2, generator=g, dtype=torch.float64)
    ends = bm.sigmoid_unit_descent(starts, x2, y2, lr=0.3, steps=3000)
    basins = (ends > -0.4775).long() @ torch.tensor([2, 1])
    assert len(basins.unique()) == 4  # 2^d minima, d = 2
    assert float((basins == 3).double().mean()) < 0.5  # the global one is found by a minority


@pytest.fixture(scope="module")
def table1():
    rates = {}
    for seed in SEEDS:
        for name, data in [("xor", ob.xor()), ("jellyfish", ob.jellyfish())]:
            for opt in ("gd", "adam"):
                rates[name, opt, seed] = bm.zero_error_rates(*data, starts=100, optimizer=opt, steps=2000, seed=seed)
    return rates


def test_success_rate_rises_with_hidden_units(table1):
    h = np.arange(2, 8)
    for (name, opt, seed), rates in table1.items():
        assert rates[-1] - rates[0] >= 0.3, (name, opt, seed, rates)
        assert np.corrcoef(h, rates)[0, 1] > 0.85, (name, opt, seed, rates)
        assert rates[0] < 0.5  # with two hidden units most starts fail


def test_table1_against_the_paper(table1):
    for seed in SEEDS:
        for opt in ("gd", "adam"):
            ours = 100 * table1["xor", opt, seed]
            assert np.sum(np.abs(ours - PAPER["xor", opt]) <= 10) >= 5, (opt, seed, ours)
        jelly_gd = 100 * table1["jellyfish", "gd", seed]
        assert (jelly_gd[1:4] < np.array(PAPER["jellyfish", "gd"][1:4])).all(), (seed, jelly_gd)
        jelly_adam = 100 * table1["jellyfish", "adam", seed]
        assert jelly_adam.mean() >= np.mean(PAPER["jellyfish", "adam"]), (seed, jelly_adam)


def test_d1_bad_local_minimum_at_18():
    x, y = bm.d1_data()
    cost = lambda p: bm.one_relu_cost(p, x, y)
    point = torch.tensor(bm.D1_BAD_POINT, dtype=torch.float64)
    grad, eigs = bm.local_minimum_report(cost, point)
    assert float(cost(point)) == pytest.approx(18.0) and grad < 1e-12 and float(eigs.min()) > -1e-9
    for seed in SEEDS:
        for radius in (1e-3, 1e-2, 1e-1):
            assert bm.min_cost_nearby(cost, point, radius, samples=4000, seed=seed) >= 18.0 - 1e-9
        ends = bm.one_relu_descent(x, y, starts=400, lr=0.002, steps=4000, scale=1.0, seed=seed).costs.numpy()
        assert ends.min() == pytest.approx(14.0, abs=1e-3) and ends.min() >= 14.0 - 1e-6
        for value in (14.0, 18.0, 21.2):
            assert np.mean(np.abs(ends - value) < 0.05) >= 0.1, (seed, value)


@pytest.mark.parametrize("seed", SEEDS)
def test_restart_spread_and_mean_fall_with_width(digits, seed):
    res = rs.train_restarts(digits, widths=(2, 8, 32), restarts=30, steps=250, lr=0.5, momentum=0.9, seed=seed)
    for which in ("train_loss", "test_loss"):
        assert np.all(np.diff(res.spread(which)) < 0), (which, res.spread(which))
        assert np.all(np.diff(res.mean(which)) < 0), (which, res.mean(which))
    assert res.train_loss[0].max() > 0.3 > res.train_loss[1:].max()  # small nets land in poor places


@pytest.mark.parametrize("seed", SEEDS)
def test_negative_test_names_both_cases(seed):
    converging = ob.train(ob.mlp([2, 16, 3], activation="tanh", seed=seed), ob.squared_error,
                          ob.blobs(seed=0).one_hot(), lr=0.5, epochs=600, progress=False)
    digits_oh = ob.digits().one_hot()
    bouncing = ob.train(ob.mlp([64, 32, 10], activation="tanh", seed=seed), ob.squared_error,
                        digits_oh, lr=1.0, epochs=500, progress=False)
    assert "has shrunk" in ob.critical_point_test(converging.step_grad_norm).finding
    verdict = ob.critical_point_test(bouncing.step_grad_norm)
    assert verdict.finding.startswith("not at a critical point")
    assert verdict.evidence["final / peak"] > 0.1
    assert bouncing.step_loss[-1] < bouncing.step_loss[0] / 3  # while the cost keeps falling
    loss = ob.functional_loss(bouncing.model, ob.squared_error, digits_oh.x_train, digits_oh.y_train)
    sharpness = ob.top_eigenvalue(loss, ob.get_flat_params(bouncing.model))
    assert abs(sharpness / (2 / 1.0) - 1) < 0.15  # at the edge of stability, 2 / step
