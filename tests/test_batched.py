"""Many parameter vectors of one MLP in one pass: same values and gradients as the model itself."""

import pytest
import torch

import optbook as ob
from optbook import batched


def soft(targets, classes=3):
    return 0.7 * torch.nn.functional.one_hot(targets, classes).to(torch.float64) + 0.1


CASES = {
    "cross_entropy": (ob.cross_entropy, lambda y: y),
    "soft_cross_entropy": (ob.cross_entropy, soft),
    "squared_error": (ob.squared_error, lambda y: torch.nn.functional.one_hot(y, 3).to(torch.float64)),
}


@pytest.mark.parametrize("loss_name", list(CASES))
@pytest.mark.parametrize("sizes, activation, bias", [([4, 6, 3], "tanh", True), ([4, 5, 6, 3], "relu", False),
                                                     ([4, 3], "linear", True), ([4, 6, 3], "sigmoid", True)])
def test_mlp_losses_and_gradients_match_each_run(loss_name, sizes, activation, bias):
    loss_fn, make_targets = CASES[loss_name]
    data = ob.blobs(n=30, n_features=4, n_classes=3, seed=1, dtype=torch.float64)
    net = ob.mlp(sizes, activation=activation, bias=bias, seed=0, dtype=torch.float64)
    loss = ob.functional_loss(net, loss_fn, data.x_train, make_targets(data.y_train))
    thetas = ob.get_flat_params(net) + torch.randn(5, ob.n_params(net), dtype=torch.float64,
                                                    generator=torch.Generator().manual_seed(2))
    thetas.requires_grad_(True)
    values = batched.mlp_losses(loss, thetas)
    (grads,) = torch.autograd.grad(values.sum(), thetas)
    for theta, value, grad in zip(thetas.detach(), values, grads):
        assert torch.allclose(value, loss(theta), atol=1e-12)
        assert torch.allclose(grad, ob.gradient(loss, theta), atol=1e-10)
    assert batched.evaluator(loss)(thetas.detach()).shape == (5,)


def test_unknown_losses_and_models_fall_back_to_vmap():
    data = ob.blobs(n=20, n_features=4, n_classes=3, seed=1, dtype=torch.float64)
    net = ob.mlp([4, 5, 3], seed=0, dtype=torch.float64)
    odd = ob.functional_loss(net, lambda out, y: out.pow(2).mean(), data.x_train, data.y_train)
    assert batched.columnwise_loss(odd.loss_fn, data.y_train) is None
    thetas = ob.get_flat_params(net).repeat(3, 1)
    assert torch.allclose(batched.evaluator(odd)(thetas), odd(thetas[0]).expand(3))
    with pytest.raises(ValueError, match="loss must"):
        batched.mlp_losses(odd, thetas)
    conv = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)).double()
    assert batched.plain_mlp(ob.functional_loss(conv, ob.cross_entropy, data.x_train, data.y_train)) is None


def test_mlp_losses_rejects_bad_thetas():
    data = ob.blobs(n=20, n_features=4, n_classes=3, seed=1)
    net = ob.mlp([4, 5, 3], seed=0)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train, data.y_train)
    with pytest.raises(ValueError, match="thetas"):
        batched.mlp_losses(loss, torch.zeros(2, 7))
    with pytest.raises(ValueError, match="thetas"):
        batched.mlp_losses(loss, torch.zeros(ob.n_params(net)))
    with pytest.raises(ValueError, match="thetas"):
        batched.mlp_losses(loss, torch.full((2, ob.n_params(net)), float("nan")))


def test_gradient_descent_many_keeps_diverged_runs_non_finite():
    data = ob.blobs(n=30, n_features=4, n_classes=3, seed=1)
    net = ob.mlp([4, 6, 3], seed=0)
    loss = ob.functional_loss(net, ob.squared_error, data.x_train,
                              torch.nn.functional.one_hot(data.y_train, 3).float())
    theta = ob.get_flat_params(net)
    runs = ob.gradient_descent_many(loss, torch.stack([theta, 30 * theta]), lr=50.0, steps=60)
    assert not torch.isfinite(runs.loss[-1]).all()  # a step of 50 diverges; nothing raised


def test_fast_tanh_is_tanh_to_float32_rounding():
    x = torch.linspace(-20, 20, 100_001)
    exact = torch.tanh(x.double())
    assert float((batched.tanh(x).double() - exact).abs().max()) < 3e-7
    assert float((batched.tanh_(x.clone()).double() - exact).abs().max()) < 3e-7
    assert torch.equal(batched.tanh(x.double()), exact)  # float64 keeps torch.tanh
