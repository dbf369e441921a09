"""Flat parameter vectors and the functional cost J(theta)."""

import pytest
import torch
from torch import nn

import optbook as ob


def small_problem(seed: int = 0):
    net = ob.mlp([3, 5, 2], seed=seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (20,), generator=g)
    return net, x, y


def test_get_set_roundtrip_and_count():
    net, _, _ = small_problem()
    theta = ob.get_flat_params(net)
    assert theta.shape == (ob.n_params(net),) == (3 * 5 + 5 + 5 * 2 + 2,)
    ob.set_flat_params(net, theta * 2)
    assert torch.equal(ob.get_flat_params(net), theta * 2)


def test_temporary_params_restores_bit_identical_even_on_error():
    net, _, _ = small_problem()
    before = ob.get_flat_params(net)
    with pytest.raises(RuntimeError):
        with ob.temporary_params(net, torch.zeros_like(before)):
            assert ob.get_flat_params(net).abs().sum() == 0
            raise RuntimeError("inside")
    assert torch.equal(ob.get_flat_params(net), before)


def test_functional_loss_matches_module_and_leaves_model_alone():
    net, x, y = small_problem()
    before = ob.get_flat_params(net)
    loss = ob.functional_loss(net, ob.cross_entropy, x, y)
    theta = before + 0.1
    expected = nn.functional.cross_entropy(net(x), y)
    assert torch.allclose(loss(before), expected)
    with ob.temporary_params(net, theta):
        expected_moved = nn.functional.cross_entropy(net(x), y)
    assert torch.allclose(loss(theta), expected_moved)
    assert torch.equal(ob.get_flat_params(net), before)


def test_batched_loss_equals_one_by_one():
    net, x, y = small_problem(1)
    loss = ob.functional_loss(net, ob.cross_entropy, x, y)
    thetas = ob.get_flat_params(net) + 0.3 * torch.randn(7, ob.n_params(net), dtype=torch.float64)
    batched = ob.batched_loss(loss, thetas, chunk_size=3)
    assert torch.allclose(batched, torch.stack([loss(t) for t in thetas]))


def test_unflatten_shapes_with_batch():
    net, _, _ = small_problem()
    pieces = ob.unflatten(net, torch.zeros(4, ob.n_params(net), dtype=torch.float64))
    assert pieces["0.weight"].shape == (4, 5, 3)
    assert pieces["2.bias"].shape == (4, 2)


def test_bad_input_is_named():
    net, x, y = small_problem()
    with pytest.raises(ValueError, match="theta"):
        ob.set_flat_params(net, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="model"):
        ob.get_flat_params("not a model")
    frozen = nn.Linear(2, 2)
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        ob.n_params(frozen)
    with pytest.raises(ValueError, match="inputs"):
        ob.functional_loss(net, ob.cross_entropy, x[:0], y[:0])
    with pytest.raises(ValueError, match="same number of rows"):
        ob.functional_loss(net, ob.cross_entropy, x, y[:5])
    x_bad = x.clone()
    x_bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="inputs contains non-finite"):
        ob.functional_loss(net, ob.cross_entropy, x_bad, y)
    loss = ob.functional_loss(net, lambda out, t: (out - 0).sum(0), x, y)
    with pytest.raises(ValueError, match="scalar"):
        loss(ob.get_flat_params(net))
    with pytest.raises(ValueError, match="thetas"):
        ob.batched_loss(loss, torch.zeros(3, dtype=torch.float64))


def test_reload_frozen_reads_buffers_as_copies_and_names_bad_models():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).eval()
    x = torch.randn(5, 2)
    J = ob.functional_loss(net, ob.squared_error, x, torch.zeros(5, 2))
    theta = ob.get_flat_params(net)
    with torch.no_grad():
        net[1].running_var.mul_(4.0)
    stale = float(J(theta))
    J.reload_frozen(net)
    with torch.no_grad():
        assert float(J(theta)) == pytest.approx(float(ob.squared_error(net(x), torch.zeros(5, 2))), rel=1e-6)
    assert float(J(theta)) != pytest.approx(stale)
    assert J.frozen["1.running_var"] is not net[1].running_var  # a copy: J never writes the model
    with pytest.raises(TypeError, match="model"):
        J.reload_frozen("net")
    with pytest.raises(ValueError, match="running_mean"):
        J.reload_frozen(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(3)))
    net[0].register_buffer("scale", torch.ones(1))
    with pytest.raises(ValueError, match=r"new \['0.scale'\]"):
        J.reload_frozen(net)
