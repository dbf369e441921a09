"""The core's contract: any model, nothing of the caller's touched, bad input refused by name.

Every entry point that takes a model or a cost built from one is run on models the library was not
written for (BatchNorm and Dropout in train and eval mode, frozen and tied parameters); the
caller's model must come out bit-identical (parameters, buffers, gradients, flags), or the call
must raise a clear error before touching anything. Property tests (hypothesis) then check the
algebra (HVP linear and symmetric, Lanczos bracketing Rayleigh quotients) and that bad arguments
raise TypeError/ValueError naming the argument instead of failing deep inside torch.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optbook as ob
import problems as pb

MODELS = {
    "batchnorm-train": lambda: pb.batchnorm_net(train=True),
    "batchnorm-eval": lambda: pb.batchnorm_net(train=False),
    "dropout-eval": lambda: pb.dropout_net(train=False),
    "frozen": pb.frozen_net,
    "tied": pb.tied_net,
}


def _cost(model):
    x, y = pb.data()
    return ob.functional_loss(model, ob.cross_entropy, x, y)


def _theta(model):
    return ob.get_flat_params(model)


ENTRY_POINTS = {
    "functional_loss": lambda m: _cost(m)(_theta(m)),
    "gradient": lambda m: ob.gradient(_cost(m), _theta(m)),
    "hvp-auto": lambda m: ob.hvp(_cost(m), _theta(m), torch.ones_like(_theta(m))),
    "hvp-double_backward": lambda m: ob.hvp(_cost(m), _theta(m), torch.ones_like(_theta(m)), method="double_backward"),
    "HessianOperator": lambda m: ob.HessianOperator(_cost(m), _theta(m)).matvec(torch.ones_like(_theta(m))),
    "hessian": lambda m: ob.hessian(_cost(m), _theta(m)),
    "gradient_curvature": lambda m: ob.gradient_curvature(_cost(m), _theta(m)),
    "actual_change": lambda m: ob.actual_change(_cost(m), _theta(m), torch.tensor([1e-3, 1e-2], dtype=torch.float64)),
    "hessian_extremes": lambda m: ob.hessian_extremes(_cost(m), _theta(m)),
    "top_eigenvalue": lambda m: ob.top_eigenvalue(_cost(m), _theta(m)),
    "hessian_eigenvalues": lambda m: ob.hessian_eigenvalues(_cost(m), _theta(m)),
    "hutchinson_trace": lambda m: ob.hutchinson_trace(_cost(m), _theta(m), n_samples=4),
    "batched_loss": lambda m: ob.batched_loss(_cost(m), torch.stack([_theta(m), _theta(m) * 0.5])),
    "gradient_descent_many": lambda m: ob.gradient_descent_many(_cost(m), torch.stack([_theta(m), _theta(m) * 0.5]),
                                                                lr=0.1, steps=3),
    "loss_plane": lambda m: ob.loss_plane(_cost(m), _theta(m), torch.ones_like(_theta(m)),
                                          -torch.ones_like(_theta(m)), torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 3)),
    "interpolate": lambda m: ob.interpolate(_cost(m), _theta(m), 0.5 * _theta(m), torch.linspace(0, 1, 3)),
    "train": lambda m: ob.train(m, ob.cross_entropy, ob.Split(*pb.data(), *pb.data(seed=1)), lr=0.1, epochs=2,
                                batch_size=6, progress=False, monitor_every=2),
    "temporary_params": lambda m: _evaluate_at_zero(m),
    "flat params": lambda m: (ob.n_params(m), ob.get_flat_params(m), ob.unflatten(m, _theta(m))),
}


def _evaluate_at_zero(model):
    """The block itself (not a forward pass, which in train mode is the caller's own write)."""
    with ob.temporary_params(model, torch.zeros_like(_theta(model))) as same_model:
        return ob.get_flat_params(same_model)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("kind", list(MODELS))
def test_entry_point_leaves_the_callers_model_bit_identical(kind, entry):
    model = MODELS[kind]()
    x, y = pb.data()
    ob.cross_entropy(model(x), y).backward()  # the caller has gradients lying around; they must stay
    before = pb.snapshot(model)
    result = ENTRY_POINTS[entry](model)
    assert pb.same(before, pb.snapshot(model)), f"{entry} changed the caller's {kind} model"
    values = [result] if not isinstance(result, tuple) else list(result)
    for value in values:
        if isinstance(value, torch.Tensor):
            assert bool(torch.isfinite(value).all()), f"{entry} on {kind}: non-finite result"


@pytest.mark.parametrize("entry", ["functional_loss", "gradient", "hvp-auto", "batched_loss", "loss_plane"])
def test_dropout_in_train_mode_is_refused_before_anything_is_touched(entry):
    model = pb.dropout_net(train=True)
    before = pb.snapshot(model)
    with pytest.raises(ValueError, match=r"Dropout.*train mode|train mode.*Dropout|stochastic"):
        ENTRY_POINTS[entry](model)
    assert pb.same(before, pb.snapshot(model))


def test_batchnorm_in_train_mode_is_deterministic_and_uses_batch_statistics():
    model = pb.batchnorm_net(train=True)
    cost, theta = _cost(model), _theta(model)
    assert torch.equal(cost(theta), cost(theta))
    x, y = pb.data()
    with torch.no_grad():
        expected = ob.cross_entropy(pb.batchnorm_net(train=True)(x), y)  # a fresh copy's train-mode forward
    assert torch.allclose(cost(theta), expected, atol=1e-12)
    v = torch.randn_like(theta)
    assert torch.equal(ob.hvp(cost, theta, v), ob.hvp(cost, theta, v))


def test_temporary_params_keeps_an_earlier_graph_valid_and_restores_the_objects():
    model = pb.tied_net()
    x, y = pb.data()
    loss = ob.cross_entropy(model(x), y)  # a graph built before the block
    with ob.temporary_params(model, torch.zeros_like(_theta(model))) as inside:
        assert float(ob.get_flat_params(inside).abs().max()) == 0.0
        assert inside[2].weight is inside[4].weight  # tied weights stay tied
    loss.backward()  # would fail had the block written the parameters in place
    assert model[0].weight.grad is not None


def test_tied_weights_agree_with_the_general_path():
    model = pb.tied_net()
    cost, theta = _cost(model), _theta(model)
    thetas = torch.stack([theta, 0.5 * theta])
    direct = torch.stack([cost(t) for t in thetas])
    assert torch.allclose(ob.batched_loss(cost, thetas), direct, atol=1e-12)
    runs = ob.gradient_descent_many(cost, thetas, lr=0.1, steps=1)
    assert torch.allclose(runs.grad_norm[0], torch.stack([ob.gradient(cost, t).norm() for t in thetas]), atol=1e-10)


# ---------------------------------------------------------------- properties (hypothesis)

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_mlps(draw):
    sizes = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(2, 4)))]
    activation = draw(st.sampled_from(["tanh", "sigmoid", "linear"]))
    seed = draw(st.integers(0, 1000))
    net = ob.mlp(sizes, activation, seed=seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(draw(st.integers(1, 6)), sizes[0], generator=g, dtype=torch.float64)
    y = torch.randn(x.shape[0], sizes[-1], generator=g, dtype=torch.float64)
    return ob.functional_loss(net, ob.squared_error, x, y), ob.get_flat_params(net), g


@PROPERTY
@given(small_mlps(), st.floats(-3, 3), st.floats(-3, 3))
def test_hvp_is_linear_in_v_and_symmetric(problem, a, b):
    cost, theta, g = problem
    u, v = torch.randn(2, theta.numel(), generator=g, dtype=torch.float64)
    hu, hv = ob.hvp(cost, theta, u), ob.hvp(cost, theta, v)
    assert torch.allclose(ob.hvp(cost, theta, a * u + b * v), a * hu + b * hv, atol=1e-9)
    assert math.isclose(float(u @ hv), float(v @ hu), rel_tol=1e-8, abs_tol=1e-10)
    assert torch.allclose(ob.hvp(cost, theta, v, method="double_backward"), hv, atol=1e-10)


@PROPERTY
@given(small_mlps())
def test_lanczos_extremes_bracket_rayleigh_quotients(problem):
    cost, theta, g = problem
    extremes = ob.hessian_extremes(cost, theta, max_iter=200, tol=1e-10)
    h = ob.hessian(cost, theta)
    for v in torch.randn(8, theta.numel(), generator=g, dtype=torch.float64):
        quotient = float(v @ h @ v / (v @ v))
        scale = 1e-8 * max(1.0, abs(extremes.largest), abs(extremes.smallest))
        assert extremes.smallest - scale <= quotient <= extremes.largest + scale


@PROPERTY
@given(st.integers(1, 3), st.integers(0, 2**31))
def test_cost_is_unchanged_by_permuting_hidden_units(depth, seed):
    sizes = [3] + [4] * depth + [2]
    net = ob.mlp(sizes, "tanh", seed=seed % 1000, dtype=torch.float64)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(seed))
    twin = ob.mlp(sizes, "tanh", seed=seed % 1000, dtype=torch.float64)
    with torch.no_grad():  # permute the units of the first hidden layer: same function
        twin[0].weight.copy_(net[0].weight[perm]); twin[0].bias.copy_(net[0].bias[perm])
        twin[2].weight.copy_(net[2].weight[:, perm])
    cost, cost_twin = (ob.functional_loss(n, ob.squared_error, x, y) for n in (net, twin))
    assert math.isclose(float(cost(ob.get_flat_params(net))), float(cost_twin(ob.get_flat_params(twin))), rel_tol=1e-12)


BAD_VALUES = st.sampled_from([
    None, "0", 2.5, -1, 0, True, float("nan"), float("inf"), [1.0, 2.0],
    torch.tensor([]), torch.tensor(float("nan")), torch.tensor([1, 2, 3]), torch.full((3,), float("nan")),
    torch.zeros(2, 2, 2), torch.zeros(7, dtype=torch.float64),
])


def _base_problem():
    net = ob.mlp([3, 4, 2], "tanh", seed=0, dtype=torch.float64)
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randint(0, 2, (6,))
    cost = ob.functional_loss(net, ob.cross_entropy, x, y)
    return net, cost, ob.get_flat_params(net)


CALLS = {
    "gradient": (lambda a: ob.gradient(**a), lambda net, cost, th: dict(loss=cost, theta=th)),
    "hvp": (lambda a: ob.hvp(**a), lambda net, cost, th: dict(loss=cost, theta=th, v=torch.ones_like(th))),
    "hessian": (lambda a: ob.hessian(**a), lambda net, cost, th: dict(loss=cost, theta=th)),
    "hessian_extremes": (lambda a: ob.hessian_extremes(**a), lambda net, cost, th: dict(loss=cost, theta=th, k=1, seed=0)),
    "top_eigenvalue": (lambda a: ob.top_eigenvalue(**a), lambda net, cost, th: dict(loss=cost, theta=th, seed=0)),
    "hutchinson_trace": (lambda a: ob.hutchinson_trace(**a), lambda net, cost, th: dict(loss=cost, theta=th, n_samples=3, seed=0)),
    "morse_index": (lambda a: ob.morse_index(**a), lambda net, cost, th: dict(eigenvalues=torch.tensor([-1.0, 2.0]), tol=1e-8)),
    "actual_change": (lambda a: ob.actual_change(**a), lambda net, cost, th: dict(loss=cost, theta=th, eps=torch.tensor([0.1]))),
    "functional_loss": (lambda a: ob.functional_loss(**a)(ob.get_flat_params(a["model"]) if isinstance(a["model"], torch.nn.Module) else None),
                        lambda net, cost, th: dict(model=net, loss_fn=ob.cross_entropy, inputs=cost.inputs, targets=cost.targets)),
    "set_flat_params": (lambda a: ob.set_flat_params(**a), lambda net, cost, th: dict(model=ob.mlp([3, 4, 2], seed=0, dtype=torch.float64), theta=th)),
    "gradient_descent_many": (lambda a: ob.gradient_descent_many(**a),
                              lambda net, cost, th: dict(loss=cost, thetas=th[None], lr=0.1, steps=2)),
    "mlp": (lambda a: ob.mlp(**a), lambda net, cost, th: dict(sizes=[2, 3], activation="tanh", seed=0)),
    "digits": (lambda a: ob.digits(**a), lambda net, cost, th: dict(val_fraction=0.3, seed=0)),
    "squared_error": (lambda a: ob.squared_error(**a), lambda net, cost, th: dict(outputs=torch.zeros(4, 2), targets=torch.zeros(4, 2))),
}


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CALLS)), st.data(), BAD_VALUES)
def test_bad_arguments_raise_a_clear_error_or_give_a_finite_answer(name, data, bad):
    call, build = CALLS[name]
    net, cost, theta = _base_problem()
    args = build(net, cost, theta)
    which = data.draw(st.sampled_from(sorted(args)))
    args[which] = bad
    try:
        result = call(args)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert which in message or which.rstrip("s") in message or type(bad).__name__ in message, (
            f"{name}({which}={bad!r}) raised {error!r}, which does not name {which}")
        return
    for value in result if isinstance(result, tuple) else [result]:
        if isinstance(value, torch.Tensor):
            assert bool(torch.isfinite(value).all()), f"{name}({which}={bad!r}) returned non-finite values"
        elif isinstance(value, float):
            assert math.isfinite(value), f"{name}({which}={bad!r}) returned {value}"


def _page_seeded_calls():
    from optbook.local_minima import symmetry
    from optbook.saddle_points import random_matrices, spin_glass

    return {
        "spin_glass.couplings": lambda seed: spin_glass.couplings(5, seed=seed),
        "random_matrices.positive_definite_fraction": lambda seed: random_matrices.positive_definite_fraction(
            [1, 2], samples=50, seed=seed),
        "symmetry.permuted_twin": lambda seed: symmetry.permuted_twin(ob.mlp([2, 3, 1]), seed=seed),
        "landscape.random_directions": lambda seed: ob.random_directions(ob.mlp([2, 3, 1]), seed=seed),
    }


@pytest.mark.parametrize("name", sorted(_page_seeded_calls()))
@pytest.mark.parametrize("seed", ["0", 2.5, None, -1, True])
def test_page_functions_refuse_a_bad_seed_by_name(name, seed):
    call = _page_seeded_calls()[name]
    with pytest.raises((TypeError, ValueError), match="seed"):
        call(seed)
