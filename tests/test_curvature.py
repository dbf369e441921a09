"""Gradient, Hessian-vector products and eq. 8.10 against float64 oracles."""

import pytest
import torch

import optbook as ob


def quadratic(eigenvalues):
    """J(x) = 1/2 x^T A x with A = Q diag(eigenvalues) Q^T for a fixed random rotation Q."""
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(0)))
    a = q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
    return a, (lambda x: 0.5 * x @ a @ x)


@pytest.fixture
def net_problem():
    data = ob.blobs(n=60, n_features=4, n_classes=3, seed=0, dtype=torch.float64)
    net = ob.mlp([4, 6, 3], seed=0, dtype=torch.float64)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train, data.y_train)
    return net, loss, ob.get_flat_params(net)


def test_gradient_and_hvp_on_a_quadratic_are_exact():
    a, loss = quadratic([1.0, 2.0, 5.0, 10.0])
    x = torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=torch.float64)
    v = torch.tensor([0.3, 0.1, -2.0, 1.0], dtype=torch.float64)
    assert torch.allclose(ob.gradient(loss, x), a @ x)
    assert torch.allclose(ob.hvp(loss, x, v), a @ v)
    assert torch.allclose(ob.hessian(loss, x), a)


def test_hvp_matches_dense_hessian_and_finite_differences(net_problem):
    net, loss, theta = net_problem
    v = torch.randn_like(theta)
    h = torch.func.hessian(loss)(theta)
    exact = ob.hvp(loss, theta, v)
    assert torch.allclose(exact, h @ v, atol=1e-12, rtol=1e-9)
    step = 1e-5
    fd = (ob.gradient(loss, theta + step * v) - ob.gradient(loss, theta - step * v)) / (2 * step)
    assert torch.allclose(exact, fd, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
@pytest.mark.parametrize("loss_fn", [ob.cross_entropy, torch.nn.functional.cross_entropy], ids=["ob_ce", "torch_ce"])
def test_every_hvp_method_gives_the_dense_hessian_times_v(model, loss_fn):
    data = ob.digits(seed=0)
    net = ob.mlp([64, 5, 10], seed=1, dtype=torch.float64) if model == "mlp" else \
        ob.models.digits_cnn(seed=1, channels=2, dtype=torch.float64)
    loss = ob.functional_loss(net, loss_fn, data.x_train[:100].double(), data.y_train[:100])
    theta = ob.get_flat_params(net)
    v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    expected = ob.hessian(loss, theta) @ v
    methods = ["auto", "double_backward"] + (["forward"] if loss_fn is ob.cross_entropy else [])
    for method in methods:  # torch's own cross-entropy cannot go forward-mode then backward (pytorch#162350)
        assert torch.allclose(ob.hvp(loss, theta, v, method=method), expected, atol=1e-12, rtol=1e-9), method


def test_hvp_of_a_loss_linear_in_theta_is_zero():
    a = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    for method in ob.curvature.HVP_METHODS:
        assert torch.equal(ob.hvp(lambda t: a @ t, torch.ones(3, dtype=torch.float64), a, method=method),
                           torch.zeros(3, dtype=torch.float64))


def test_hessian_operator_reuses_one_graph_and_counts(net_problem):
    _, loss, theta = net_problem
    op = ob.HessianOperator(loss, theta)
    h = ob.hessian(loss, theta)
    for _ in range(3):
        v = torch.randn_like(theta)
        assert torch.allclose(op(v), h @ v, atol=1e-12)
    assert op.n_matvec == 3
    block = torch.randn(5, theta.numel(), dtype=torch.float64)
    assert torch.allclose(op.matmat(block), block @ h, atol=1e-12)
    assert op.n_matvec == 8
    with pytest.raises(ValueError, match="vs must have"):
        op.matmat(block[:, :3])
    assert torch.allclose(op.gradient, ob.gradient(loss, theta))


def test_gradient_curvature_and_step_sizes_on_a_quadratic():
    a, loss = quadratic([1.0, 4.0])
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    gc = ob.gradient_curvature(loss, x)
    g = a @ x
    assert gc.gTg == pytest.approx(float(g @ g))
    assert gc.gTHg == pytest.approx(float(g @ a @ g))
    # on a quadratic eq. 8.10 is exact: the step eps* is the exact line minimum along -g
    change = ob.actual_change(loss, x, torch.tensor([gc.best_step, gc.critical_step], dtype=torch.float64))
    assert change[0].item() == pytest.approx(gc.predicted_change(gc.best_step))
    assert change[1].item() == pytest.approx(0.0, abs=1e-12)
    assert gc.ratio(gc.critical_step) == pytest.approx(1.0)


def test_predicted_change_error_is_first_order_on_a_network(net_problem):
    _, loss, theta = net_problem
    gc = ob.gradient_curvature(loss, theta)
    eps = torch.tensor([1e-1, 1e-2, 1e-3], dtype=torch.float64)
    actual = ob.actual_change(loss, theta, eps)
    rel_err = ((actual - gc.predicted_change(eps)) / actual).abs()
    assert rel_err[1] < rel_err[0] and rel_err[2] < rel_err[1]
    assert rel_err[2] < 1e-2


def test_model_left_bit_identical(net_problem):
    net, loss, theta = net_problem
    before = [p.detach().clone() for p in net.parameters()]
    ob.gradient_curvature(loss, theta)
    ob.hessian(loss, theta)
    ob.hvp(loss, theta, torch.ones_like(theta))
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_bad_input():
    _, loss = quadratic([1.0, 2.0])
    x = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="theta"):
        ob.gradient(loss, torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="v must have 2"):
        ob.hvp(loss, x, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="method must be one of"):
        ob.hvp(loss, x, x, method="finite_differences")
    with pytest.raises(ValueError, match="loss is not finite"):
        ob.hvp(lambda t: t.sum() / 0.0, x, x, method="forward")
    with pytest.raises(ValueError, match="theta contains non-finite"):
        ob.gradient(loss, torch.tensor([1.0, float("inf")], dtype=torch.float64))
    with pytest.raises(ValueError, match="loss is not finite"):
        ob.gradient(lambda t: t.sum() / 0.0, x)
    with pytest.raises(ValueError, match="eps"):
        ob.gradient_curvature(loss, x).ratio(-1.0)
    with pytest.raises(TypeError, match="theta"):
        ob.gradient(loss, [1.0, 2.0])
