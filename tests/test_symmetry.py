"""Unit tests for optbook.symmetry (float64 oracles): permutations, rescaling, arrangements, lines."""

from __future__ import annotations

import math

import pytest
import torch

import optbook as ob
from optbook.local_minima import symmetry as sym


def _relu_net(seed: int = 0):
    return ob.mlp([5, 7, 6, 3], activation="relu", seed=seed, dtype=torch.float64)


def _inputs(n: int = 40, d: int = 5) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_permutation_keeps_outputs_and_moves_parameters():
    net = _relu_net()
    before = ob.get_flat_params(net)
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    twin = sym.permute_hidden_units(net, perm, layer=0)
    assert sym.max_output_difference(net, twin, _inputs()) < 1e-12
    assert torch.equal(ob.get_flat_params(net), before)  # caller's model untouched
    assert (ob.get_flat_params(twin) - before).norm() > 0.1
    # unit perm[j] became unit j: its incoming row and outgoing column moved together
    assert torch.equal(twin[0].weight[0], net[0].weight[3])
    assert torch.equal(twin[2].weight[:, 0], net[2].weight[:, 3])


def test_permuted_twin_changes_every_layer_and_keeps_function():
    net = ob.mlp([4, 5, 5, 2], activation="tanh", seed=2, dtype=torch.float64)
    twin = sym.permuted_twin(net, seed=3)
    assert sym.max_output_difference(net, twin, _inputs(d=4)) < 1e-12
    assert not torch.equal(twin[0].weight, net[0].weight)
    assert not torch.equal(twin[2].weight, net[2].weight)


def test_maxout_permutation_and_rescaling_keep_outputs():
    net = sym.maxout_mlp([5, 4, 3], pieces=3, seed=0).double()
    assert sym.n_hidden_units(net) == [4]
    twin = sym.permute_hidden_units(net, torch.tensor([2, 3, 0, 1]))
    assert sym.max_output_difference(net, twin, _inputs()) < 1e-12
    scaled = sym.rescale_hidden_unit(net, 7.5, unit=2)
    assert sym.max_output_difference(net, scaled, _inputs()) < 1e-12
    assert torch.allclose(scaled[0].weight[6:9], 7.5 * net[0].weight[6:9])


@pytest.mark.parametrize("alpha", [1e-3, 0.5, 3.0, 100.0])
def test_relu_rescaling_keeps_outputs_and_changes_norm(alpha):
    net = _relu_net()
    scaled = sym.rescale_hidden_unit(net, alpha, unit=4, layer=1)
    assert sym.max_output_difference(net, scaled, _inputs()) < 1e-10
    w_in, w_out = net[2].weight[4], net[4].weight[:, 4]
    expected = (ob.get_flat_params(net).norm() ** 2 - w_in.norm() ** 2 - net[2].bias[4] ** 2 - w_out.norm() ** 2
                + alpha**2 * (w_in.norm() ** 2 + net[2].bias[4] ** 2) + w_out.norm() ** 2 / alpha**2)
    assert torch.isclose(ob.get_flat_params(scaled).norm() ** 2, expected)


def test_tanh_rescaling_is_refused():
    with pytest.raises(ValueError, match="homogeneous"):
        sym.rescale_hidden_unit(ob.mlp([3, 4, 2], activation="tanh"), 2.0)


def test_log10_arrangements_matches_factorial():
    assert sym.log10_arrangements(5, 2) == pytest.approx(math.log10(math.factorial(5) ** 2))
    assert sym.log10_arrangements(100, 3) == pytest.approx(3 * math.log10(math.factorial(100)))
    assert 473 < sym.log10_arrangements(100, 3) < 475


def test_cost_along_line_ends_and_midpoint():
    loss = lambda th: ((th - 1.0) ** 2).sum()
    a, b = torch.zeros(3, dtype=torch.float64), 2 * torch.ones(3, dtype=torch.float64)
    t, cost = sym.cost_along_line(loss, a, b, num=5)
    assert torch.allclose(t, torch.tensor([0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64))
    assert torch.allclose(cost, 3 * (2 * t - 1) ** 2)


def test_one_unit_cost_depends_on_product_and_decay_breaks_it():
    x = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    y = 2 * x
    w = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    grid = sym.one_unit_cost_grid(w, w, x, y)
    assert torch.isclose(grid[0, 3], grid[3, 0]) and torch.isclose(grid[1, 2], grid[2, 1])
    assert torch.allclose(torch.stack([grid[0, 3], grid[1, 2]]), torch.zeros(2, dtype=torch.float64))
    decayed = sym.one_unit_cost_grid(w, w, x, y, weight_decay=0.1)
    assert decayed[1, 2] < decayed[0, 3]  # the penalty prefers the balanced point


def test_argument_checks():
    net = _relu_net()
    with pytest.raises(ValueError, match="perm"):
        sym.permute_hidden_units(net, torch.tensor([0, 0, 1, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match="perm"):
        sym.permute_hidden_units(net, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="layer"):
        sym.permute_hidden_units(net, torch.arange(7), layer=5)
    with pytest.raises(TypeError, match="model"):
        sym.permute_hidden_units(torch.nn.Linear(2, 2), torch.arange(2))
    with pytest.raises(ValueError, match="alpha"):
        sym.rescale_hidden_unit(net, -1.0)
    with pytest.raises(ValueError, match="unit"):
        sym.rescale_hidden_unit(net, 2.0, unit=7)
    with pytest.raises(ValueError, match="n"):
        sym.log10_arrangements(0, 3)
    with pytest.raises(ValueError, match="theta_b"):
        sym.cost_along_line(lambda t: t.sum(), torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="weight_decay"):
        sym.one_unit_cost_grid(torch.ones(2), torch.ones(2), torch.ones(2), torch.ones(2), weight_decay=-1.0)
    with pytest.raises(ValueError, match="inputs"):
        sym.max_output_difference(net, net, torch.ones(3))


def test_rescaling_and_twins_leave_the_callers_model_untouched():
    net = _relu_net()
    before = ob.get_flat_params(net)
    sym.rescale_hidden_unit(net, 5.0, unit=1)
    sym.permuted_twin(net, seed=0)
    assert torch.equal(ob.get_flat_params(net), before)


def test_weight_decay_optimum_is_inside_the_hyperbola_on_the_diagonal():
    w = torch.linspace(0.05, 3, 400, dtype=torch.float64)
    x = torch.linspace(0.2, 2.0, 10, dtype=torch.float64)
    w_star, p_star = sym.one_unit_decay_optimum(x, 1.5 * x, 0.05)
    assert p_star == pytest.approx(1.5 - 0.1 / float((x**2).mean())) and w_star == pytest.approx(p_star**0.5)
    grid = sym.one_unit_cost_grid(w, w, x, 1.5 * x, weight_decay=0.05)
    i, j = divmod(int(grid.argmin()), grid.shape[1])
    step = float(w[1] - w[0])
    assert abs(float(w[i]) - w_star) <= step and abs(float(w[j]) - w_star) <= step
    assert sym.one_unit_decay_optimum(x, 1.5 * x, 0.0) == pytest.approx((1.5**0.5, 1.5))
    with pytest.raises(ValueError, match="multiple"):
        sym.one_unit_decay_optimum(x, x**2, 0.05)
