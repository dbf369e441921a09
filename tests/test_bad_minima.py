"""Unit tests for optbook.bad_minima against float64 oracles and hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optbook as ob
from optbook.local_minima import LOCAL_MINIMA, bad_minima as bm


def test_sigmoid_unit_cost_matches_formula():
    x, y = bm.sigmoid_unit_data()
    w = torch.tensor([[-2.944], [0.1755], [1.0]], dtype=torch.float64)
    s = torch.sigmoid
    expected = (s(w[:, 0]) - 0.05) ** 2 + (s(-10 * w[:, 0]) - 0.05) ** 2
    assert torch.allclose(bm.sigmoid_unit_cost(w, x, y), expected)
    ce = -(0.05 * torch.log(s(w[:, 0])) + 0.95 * torch.log(1 - s(w[:, 0]))) \
         - (0.05 * torch.log(s(-10 * w[:, 0])) + 0.95 * torch.log(1 - s(-10 * w[:, 0])))
    assert torch.allclose(bm.sigmoid_unit_cost(w, x, y, "cross_entropy"), ce)


@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_sigmoid_unit_gradient_matches_autograd(loss):
    x, y = bm.sigmoid_unit_data(d=3)
    w = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    bm.sigmoid_unit_cost(w, x, y, loss).sum().backward()
    assert torch.allclose(bm._sigmoid_unit_gradient(w.detach(), x, y, loss), w.grad)


def test_d_dimensional_data_is_separable():
    x1, y1 = bm.sigmoid_unit_data(d=1)
    x2, y2 = bm.sigmoid_unit_data(d=2)
    w = torch.tensor([0.3, -1.7], dtype=torch.float64)
    total = bm.sigmoid_unit_cost(w[:1], x1, y1) + bm.sigmoid_unit_cost(w[1:], x1, y1)
    assert torch.isclose(bm.sigmoid_unit_cost(w, x2, y2), total)


def test_local_minimum_report_on_a_quadratic():
    gnorm, eig = bm.local_minimum_report(lambda p: p[0] ** 2 + 3 * p[1] ** 2 - p[0] * p[1],
                                         torch.zeros(2, dtype=torch.float64))
    assert gnorm == 0.0
    assert torch.allclose(eig, torch.linalg.eigvalsh(torch.tensor([[2.0, -1.0], [-1.0, 6.0]], dtype=torch.float64)))


def test_second_differences_and_local_minima_1d():
    t = torch.linspace(-2, 2, 41, dtype=torch.float64)
    assert torch.allclose(bm.second_differences(t**2), torch.full((39,), 2 * 0.1**2, dtype=torch.float64))
    idx = bm.local_minima_1d((t**2 - 1) ** 2)
    assert torch.allclose(t[idx], torch.tensor([-1.0, 1.0], dtype=torch.float64))


def test_one_relu_cost_and_gradient():
    x, y = bm.d1_data()
    assert float(bm.one_relu_cost(torch.tensor(bm.D1_BAD_POINT, dtype=torch.float64), x, y)) == pytest.approx(18.0)
    # the global solution: unit active only at x = -1, c = mean of the other targets = 0
    assert float(bm.one_relu_cost(torch.tensor([-1.0, 0.0, 3.0, 0.0], dtype=torch.float64), x, y)) == pytest.approx(14.0)
    p = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    bm.one_relu_cost(p, x, y).sum().backward()
    assert torch.allclose(bm._one_relu_gradient(p.detach(), x, y), p.grad)


def test_min_cost_nearby_of_a_bowl():
    f = lambda p: (p**2).sum(-1)
    assert 0 <= bm.min_cost_nearby(f, torch.zeros(3, dtype=torch.float64), 0.1) < 1e-2
    assert bm.min_cost_nearby(f, torch.ones(3, dtype=torch.float64), 0.1) > (3**0.5 - 0.1) ** 2 - 1e-9


def test_zero_error_rates_shape_and_range():
    x, y = ob.xor()
    rates = bm.zero_error_rates(x, y, hidden=(2, 5), starts=20, steps=50)
    assert rates.shape == (2,) and np.all((rates >= 0) & (rates <= 1))


def test_zero_error_rates_batches_seeds_like_separate_calls():
    x, y = ob.jellyfish()
    both = bm.zero_error_rates(x, y, hidden=(2, 4), starts=15, steps=60, seed=[3, 5])
    assert both.shape == (2, 2)
    for row, seed in zip(both, (3, 5)):
        np.testing.assert_allclose(row, bm.zero_error_rates(x, y, hidden=(2, 4), starts=15, steps=60, seed=seed))
    with pytest.raises(ValueError, match="seed"):
        bm.zero_error_rates(x, y, seed=[])


def test_table1_setup_names_its_step_sizes():
    assert LOCAL_MINIMA.table1.lr("gd") == LOCAL_MINIMA.table1.lr_gd and LOCAL_MINIMA.table1.lr("adam") == LOCAL_MINIMA.table1.lr_adam
    assert all(len(v) == len(LOCAL_MINIMA.table1.hidden) for v in bm.PAPER_TABLE1.values())
    with pytest.raises(ValueError, match="optimizer"):
        LOCAL_MINIMA.table1.lr("sgd")


def test_padded_init_uses_each_nets_own_fan_in():
    g = torch.Generator().manual_seed(0)
    w1, b1, w2, b2 = bm._init_2h1(500, 7, 2, g, torch.float64, widths=(2, 7))
    assert float(w2[0].abs().max()) <= 2**-0.5 and float(w2[0].abs().max()) > 7**-0.5  # fan-in 2
    assert float(w2[1].abs().max()) <= 7**-0.5 and float(b2[1].abs().max()) <= 7**-0.5
    assert float(w1.abs().max()) <= 2**-0.5


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_written_out_gradients_match_autograd(activation):
    x, y = ob.jellyfish()
    g = torch.Generator().manual_seed(1)
    params = [p.requires_grad_(True) for p in bm._init_2h1(4, 5, 2, g, torch.float64, widths=(3, 5))]
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0] * 5], dtype=torch.float64)
    logits = bm._logits_2h1(params, x, mask, activation)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").mean(-1).sum()
    expected = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for got, want in zip(bm._grads_2h1(params, x, y, mask, activation), expected):
            torch.testing.assert_close(got, want)


def test_masked_units_do_not_matter():
    """A width-2 net padded to width 5 computes what a width-2 net computes."""
    x, _ = ob.xor()
    g = torch.Generator().manual_seed(0)
    params = bm._init_2h1(3, 5, 1, g, torch.float64)
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    small = [params[0][..., :2], params[1][..., :2], params[2][..., :2], params[3]]
    full = bm._logits_2h1(params, x, mask)
    assert torch.allclose(full, bm._logits_2h1(small, x, torch.ones(1, 2, dtype=torch.float64)))


def test_one_relu_descent_ends_at_known_costs():
    x, y = bm.d1_data()
    ends = bm.one_relu_descent(x, y, starts=60, steps=1500, lr=0.002, scale=1.0, seed=0)
    assert ends.final_params.shape == (60, 4)
    assert torch.isfinite(ends.final_loss).all() and (ends.final_loss >= 14.0 - 1e-6).all()


def test_argument_checks():
    x, y = bm.sigmoid_unit_data()
    with pytest.raises(ValueError, match="d"):
        bm.sigmoid_unit_data(d=0)
    with pytest.raises(ValueError, match="target"):
        bm.sigmoid_unit_data(target=1.5)
    with pytest.raises(ValueError, match="near"):
        bm.sigmoid_unit_data(near=1.0, far=2.0)
    with pytest.raises(ValueError, match="loss"):
        bm.sigmoid_unit_cost(torch.zeros(1, dtype=torch.float64), x, y, loss="hinge")
    with pytest.raises(ValueError, match="w"):
        bm.sigmoid_unit_cost(torch.zeros(2, dtype=torch.float64), x, y)
    with pytest.raises(ValueError, match="w"):
        bm.sigmoid_unit_cost(torch.tensor([float("nan")], dtype=torch.float64), x, y)
    with pytest.raises(ValueError, match="lr"):
        bm.sigmoid_unit_descent(torch.zeros(3, 1, dtype=torch.float64), x, y, lr=0.0)
    with pytest.raises(ValueError, match="w0"):
        bm.sigmoid_unit_descent(torch.zeros(3, dtype=torch.float64), x, y)
    xj, yj = ob.jellyfish()
    with pytest.raises(ValueError, match="optimizer"):
        bm.zero_error_rates(xj, yj, optimizer="sgd")
    with pytest.raises(ValueError, match="activation"):
        bm.zero_error_rates(xj, yj, activation="tanh")
    with pytest.raises(ValueError, match="y"):
        bm.zero_error_rates(xj, 2 * yj)
    with pytest.raises(ValueError, match="x"):
        bm.zero_error_rates(torch.zeros(4, 3, dtype=torch.float64), yj)
    with pytest.raises(ValueError, match="starts"):
        bm.zero_error_rates(xj, yj, starts=0)
    xd, yd = bm.d1_data()
    with pytest.raises(ValueError, match="params"):
        bm.one_relu_cost(torch.zeros(3, dtype=torch.float64), xd, yd)
    with pytest.raises(ValueError, match="radius"):
        bm.min_cost_nearby(lambda p: p.sum(-1), torch.zeros(2), -1.0)
    with pytest.raises(ValueError, match="scale"):
        bm.one_relu_descent(xd, yd, scale=0.0)


def test_sigmoid_unit_path_records_the_descent():
    x, y = bm.sigmoid_unit_data()
    w0 = torch.tensor([[-1.0], [0.5]], dtype=torch.float64)
    path = bm.sigmoid_unit_path(w0, x, y, lr=0.3, steps=300, record_every=100)
    assert path.shape == (4, 2, 1) and torch.equal(path[0], w0)
    assert torch.allclose(path[-1], bm.sigmoid_unit_descent(w0, x, y, lr=0.3, steps=300))
    with pytest.raises(ValueError, match="record_every"):
        bm.sigmoid_unit_path(w0, x, y, steps=250, record_every=100)


def test_argument_checks_name_the_argument():
    x, y = ob.xor()
    # a NumPy integer seed is one seed (one row), like a Python int
    assert bm.zero_error_rates(x, y, hidden=(2,), starts=3, steps=2, seed=np.int64(1)).shape == (1,)
    with pytest.raises(TypeError, match=r"seed\[1\] must be an integer"):
        bm.zero_error_rates(x, y, hidden=(2,), starts=3, steps=2, seed=[0, 1.5])
    with pytest.raises(TypeError, match="hidden must be a list or tuple"):
        bm.zero_error_rates(x, y, hidden=3)
    with pytest.raises(TypeError, match="cost must be callable"):
        bm.local_minimum_report("cost", torch.ones(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        bm.one_relu_descent(torch.arange(5), torch.zeros(5), starts=2, steps=1)
