"""Loss planes, directions, interpolation, path planes and the flat-region helpers against exact answers."""

import math

import pytest
import torch

import optbook as ob
from optbook import flat_regions as fr
from optbook import landscape


def quadratic(a: torch.Tensor):
    """J(theta) = 1/2 theta^T A theta: every plane and line value is known in closed form."""
    return lambda theta: 0.5 * theta @ (a @ theta)


@pytest.fixture(scope="module")
def small_problem():
    data = ob.digits(dtype=torch.float64)
    net = ob.mlp([64, 6, 10], seed=3, dtype=torch.float64)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train[:200], data.y_train[:200])
    return data, net, loss


# ---------------------------------------------------------------- loss_plane

@pytest.mark.parametrize("chunk_size", [None, 1, 7, 1000])
def test_loss_plane_matches_direct_evaluation(small_problem, chunk_size):
    _, net, loss = small_problem
    theta = ob.get_flat_params(net)
    d1, d2 = landscape.random_directions(net, seed=0)
    alphas, betas = torch.linspace(-1, 1, 5), torch.linspace(-0.5, 0.5, 4)
    grid = ob.loss_plane(loss, theta, d1, d2, alphas, betas, chunk_size=chunk_size)
    assert grid.shape == (5, 4)
    direct = torch.stack([torch.stack([loss(theta + a * d1 + b * d2) for b in betas]) for a in alphas])
    assert torch.allclose(grid, direct.detach(), rtol=1e-12, atol=1e-12)


def test_loss_plane_on_a_quadratic_is_exact():
    a = torch.diag(torch.tensor([2.0, -1.0, 3.0], dtype=torch.float64))
    center = torch.tensor([0.5, 0.0, -1.0], dtype=torch.float64)
    d1, d2 = torch.eye(3, dtype=torch.float64)[:2]
    alphas, betas = torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 2.0])
    grid = ob.loss_plane(quadratic(a), center, d1, d2, alphas, betas)
    for i, x in enumerate(alphas):
        for j, y in enumerate(betas):
            expected = 0.5 * (2 * (0.5 + x) ** 2 - y**2 + 3 * 1.0)
            assert float(grid[i, j]) == pytest.approx(float(expected), abs=1e-14)


def test_loss_plane_leaves_model_untouched_and_has_no_grad(small_problem):
    _, net, loss = small_problem
    before = [p.detach().clone() for p in net.parameters()]
    theta = ob.get_flat_params(net)
    d1, d2 = landscape.random_directions(net, seed=1)
    grid = ob.loss_plane(loss, theta, d1, d2, torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 3))
    assert not grid.requires_grad
    assert all(torch.equal(b, p) for b, p in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_loss_plane_rejects_bad_inputs(small_problem):
    _, net, loss = small_problem
    theta = ob.get_flat_params(net)
    d1, d2 = landscape.random_directions(net, seed=0)
    grid = torch.linspace(-1, 1, 3)
    with pytest.raises(TypeError, match="loss"):
        ob.loss_plane("not callable", theta, d1, d2, grid, grid)
    with pytest.raises(ValueError, match="d1"):
        ob.loss_plane(loss, theta, d1[:-1], d2, grid, grid)
    with pytest.raises(ValueError, match="d2"):
        ob.loss_plane(loss, theta, d1, d2[None], grid, grid)
    with pytest.raises(ValueError, match="center"):
        ob.loss_plane(loss, theta * float("nan"), d1, d2, grid, grid)
    with pytest.raises(ValueError, match="alphas"):
        ob.loss_plane(loss, theta, d1, d2, torch.tensor([0.0, float("inf")]), grid)
    with pytest.raises(ValueError, match="betas"):
        ob.loss_plane(loss, theta, d1, d2, grid, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="chunk_size"):
        ob.loss_plane(loss, theta, d1, d2, grid, grid, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size"):
        ob.loss_plane(loss, theta, d1, d2, grid, grid, chunk_size=2.5)


def test_auto_chunk_size_shrinks_with_bigger_intermediates():
    data = ob.digits()
    small = ob.mlp([64, 4, 10], seed=0)
    wide = ob.mlp([64, 256, 10], seed=0)
    chunk_small = landscape.auto_chunk_size(ob.functional_loss(small, ob.cross_entropy, data.x_train, data.y_train),
                                            ob.get_flat_params(small))
    chunk_wide = landscape.auto_chunk_size(ob.functional_loss(wide, ob.cross_entropy, data.x_train, data.y_train),
                                           ob.get_flat_params(wide))
    assert landscape.MIN_CHUNK <= chunk_wide < chunk_small <= landscape.MAX_CHUNK
    with pytest.raises(ValueError, match="cache_bytes"):
        landscape.auto_chunk_size(lambda t: t.sum(), torch.zeros(3), cache_bytes=0)


# ---------------------------------------------------------------- random_directions

def test_random_directions_are_filter_normalized_with_zero_biases(small_problem):
    _, net, _ = small_problem
    before = ob.get_flat_params(net)
    d1, d2 = landscape.random_directions(net, seed=5)
    assert torch.equal(before, ob.get_flat_params(net))
    for d in (d1, d2):
        pieces = ob.unflatten(net, d)
        for name, p in net.named_parameters():
            if p.dim() == 1:
                assert torch.count_nonzero(pieces[name]) == 0, name
            else:
                assert torch.allclose(pieces[name].norm(dim=1), p.detach().norm(dim=1), rtol=1e-12)
    assert not torch.allclose(d1, d2)
    again = landscape.random_directions(net, seed=5)
    assert torch.equal(again[0], d1) and torch.equal(again[1], d2)
    assert not torch.equal(landscape.random_directions(net, seed=6)[0], d1)


def test_random_directions_without_normalization_are_plain_gaussians(small_problem):
    _, net, _ = small_problem
    d1, _ = landscape.random_directions(net, seed=0, filter_normalize=False, ignore_biases=False)
    assert torch.count_nonzero(d1) == d1.numel()
    assert 0.8 < float(d1.std()) < 1.2
    with pytest.raises(TypeError, match="seed"):
        landscape.random_directions(net, seed=1.5)
    with pytest.raises(TypeError, match="model"):
        landscape.random_directions("net", seed=0)


# ---------------------------------------------------------------- interpolate, barrier_height

def test_interpolate_on_a_quadratic_and_at_the_ends(small_problem):
    a = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64))
    theta_a, theta_b = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    alphas = torch.linspace(-0.5, 1.5, 9)
    values = ob.interpolate(quadratic(a), theta_a, theta_b, alphas)
    expected = 0.5 * ((1 - alphas.double()) ** 2 + 4 * alphas.double() ** 2)
    assert torch.allclose(values, expected, atol=1e-14)
    _, net, loss = small_problem
    theta = ob.get_flat_params(net)
    other = theta + 0.1
    ends = ob.interpolate(loss, theta, other, [0.0, 1.0])
    assert float(ends[0]) == pytest.approx(float(loss(theta)), rel=1e-12)
    assert float(ends[1]) == pytest.approx(float(loss(other)), rel=1e-12)
    with pytest.raises(ValueError, match="theta_b"):
        ob.interpolate(loss, theta, other[:-1], alphas)
    with pytest.raises(ValueError, match="alphas"):
        ob.interpolate(loss, theta, other, torch.tensor([]))


def test_barrier_height():
    assert landscape.barrier_height(torch.tensor([1.0, 0.5, 0.2])) == 0.0
    assert landscape.barrier_height(torch.tensor([0.1, 0.9, 0.3])) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="path_losses"):
        landscape.barrier_height(torch.tensor([1.0]))


# ---------------------------------------------------------------- trajectory_plane

def synthetic_path() -> torch.Tensor:
    """A path in R^4 from (1,0,0,0) to (3,0,0,0) bulging to (2,1,0,0), with a small wiggle off the plane."""
    t = torch.linspace(0, 1, 21, dtype=torch.float64)
    path = torch.zeros(21, 4, dtype=torch.float64)
    path[:, 0] = 1 + 2 * t
    path[:, 1] = torch.sin(math.pi * t)
    path[:, 2] = 0.01 * torch.sin(2 * math.pi * t)
    return path


@pytest.mark.parametrize("method", ["farthest", "pca"])
def test_trajectory_plane_coordinates(method):
    path = synthetic_path()
    plane = ob.trajectory_plane(path, method=method)
    assert torch.allclose(plane.path[0], torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(plane.path[-1], torch.tensor([1.0, 0.0], dtype=torch.float64), atol=1e-12)
    assert float(plane.d1 @ plane.d2) == pytest.approx(0.0, abs=1e-12)
    assert float(plane.d2.norm()) == pytest.approx(float(plane.d1.norm()))
    # the bulge is along e2 with height 1, i.e. 1/2 in units of |d1| = 2 (sign is a convention)
    assert float(plane.path[10, 1].abs()) == pytest.approx(0.5, abs=1e-3)
    # theta = 0 projects to a = -1/2 (one half of |d1| behind the start), b = 0, and lies on the plane
    assert torch.allclose(plane.origin, torch.tensor([-0.5, 0.0], dtype=torch.float64), atol=1e-3)
    assert plane.origin_distance == pytest.approx(0.0, abs=1e-3)
    assert float(plane.path_distance.max()) == pytest.approx(0.01, rel=0.05)
    assert 0.99 < plane.captured_variance <= 1.0
    point = plane.point(0.3, -0.2)
    assert torch.allclose(plane.coordinates(point), torch.tensor([0.3, -0.2], dtype=torch.float64), atol=1e-12)


def test_trajectory_plane_rejects_degenerate_paths():
    with pytest.raises(ValueError, match="thetas_along_path"):
        ob.trajectory_plane(torch.zeros(5))
    with pytest.raises(ValueError, match="at least 3"):
        ob.trajectory_plane(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="same point"):
        ob.trajectory_plane(torch.ones(4, 3))
    line = torch.linspace(0, 1, 5)[:, None] * torch.ones(1, 3)
    with pytest.raises(ValueError, match="straight line"):
        ob.trajectory_plane(line)
    with pytest.raises(ValueError, match="method"):
        ob.trajectory_plane(synthetic_path(), method="random")


def test_plane_hessian_of_a_quadratic():
    a = torch.diag(torch.tensor([2.0, -3.0, 5.0, 7.0], dtype=torch.float64))
    plane = ob.trajectory_plane(synthetic_path())
    h = landscape.plane_hessian(quadratic(a), plane, torch.tensor([0.2, 0.1]))
    basis = torch.stack([plane.d1, plane.d2])
    assert torch.allclose(h, basis @ a @ basis.T, atol=1e-10)


# ---------------------------------------------------------------- record_path, trajectory_view

def test_record_path_is_gradient_descent_and_leaves_model_untouched():
    data = ob.digits(dtype=torch.float64)
    small = ob.data.Split(data.x_train[:100], data.y_train[:100], data.x_val[:50], data.y_val[:50])
    net = ob.mlp([64, 5, 10], seed=0, dtype=torch.float64)
    before = ob.get_flat_params(net)
    path, per_step = fr.record_path(net, ob.cross_entropy, small, lr=0.3, steps=7, record_every=3)
    assert torch.equal(before, ob.get_flat_params(net))
    assert path.steps.tolist() == [0, 3, 6, 7] and per_step.steps.tolist() == list(range(7))
    loss = ob.functional_loss(net, ob.cross_entropy, small.x_train, small.y_train)
    theta = before.clone()
    for step in range(7):
        g = ob.gradient(loss, theta)
        assert float(per_step.loss[step, 0]) == pytest.approx(float(loss(theta)), rel=1e-12)
        assert float(per_step.grad_norm[step, 0]) == pytest.approx(float(g.norm()), rel=1e-10)
        if step in (0, 3, 6):
            assert float(path.loss[path.steps.tolist().index(step), 0]) == pytest.approx(float(loss(theta)), rel=1e-12)
        theta = theta - 0.3 * g
    assert torch.allclose(path.final_params[0], theta, atol=1e-12)
    assert float(path.final_loss[0]) == pytest.approx(float(loss(theta)), rel=1e-12)
    with pytest.raises(ValueError, match="lr"):
        fr.record_path(net, ob.cross_entropy, small, lr=-1.0, steps=3)
    with pytest.raises(ValueError, match="record_every"):
        fr.record_path(net, ob.cross_entropy, small, lr=0.1, steps=3, record_every=0)
    with pytest.raises(ValueError, match="diverged"):
        fr.record_path(net, lambda out, y: out.sum() * float("inf"), small, lr=0.1, steps=5)


def test_minibatch_record_path_is_seeded():
    data = ob.digits()
    net = ob.mlp([64, 4, 10], seed=0)
    one, _ = fr.record_path(net, ob.cross_entropy, data, lr=0.1, steps=30, batch_size=32, seed=1)
    two, _ = fr.record_path(net, ob.cross_entropy, data, lr=0.1, steps=30, batch_size=32, seed=1)
    three, _ = fr.record_path(net, ob.cross_entropy, data, lr=0.1, steps=30, batch_size=32, seed=2)
    assert torch.equal(one.params, two.params)
    assert not torch.equal(one.final_params, three.final_params)


def test_trajectory_view_grid_matches_loss_plane():
    data = ob.digits()
    net = ob.mlp([64, 4, 10], seed=0, bias=False, init_scale=0.1)
    alphas, betas = torch.linspace(-0.2, 1.2, 4), torch.linspace(-0.5, 0.5, 3)
    view = fr.trajectory_view(net, ob.cross_entropy, data, alphas, betas, lr=0.2, steps=40,
                                     batch_size=64, record_every=5)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train, data.y_train)
    assert view.grid.shape == (4, 3)
    assert float(view.grid[1, 1]) == pytest.approx(float(loss(view.plane.point(float(alphas[1]), float(betas[1])))),
                                                   rel=1e-5)
    assert float(view.path.loss[-1, 0]) == pytest.approx(float(loss(view.path.final_params[0])), rel=1e-5)


# ---------------------------------------------------------------- plateaus and spectra

def test_with_hidden_bias():
    net = ob.mlp([3, 4, 2], seed=0)
    saturated = fr.with_hidden_bias(net, 3.0)
    assert torch.equal(saturated[0].bias, torch.full((4,), 3.0))
    assert not torch.equal(net[0].bias, saturated[0].bias)
    assert torch.equal(saturated[0].weight, net[0].weight)
    with pytest.raises(TypeError, match="model"):
        fr.with_hidden_bias(ob.mlp([3, 4, 2], bias=False), 1.0)
    with pytest.raises(ValueError, match="value"):
        fr.with_hidden_bias(net, float("nan"))


def test_plateau_span():
    losses = torch.tensor([3.0, 2.31, 2.30, 2.29, 1.5, 2.30, 2.30, 0.5])
    assert fr.plateau_span(losses, 2.3, rel_tol=0.01) == (1, 4)
    assert fr.plateau_span(losses, 10.0) == (0, 0)
    with pytest.raises(ValueError, match="level"):
        fr.plateau_span(losses, 0.0)
    with pytest.raises(ValueError, match="losses"):
        fr.plateau_span(torch.zeros(2, 2), 1.0)


def test_largest_gap_and_bulk_share():
    eigenvalues = torch.tensor([-0.001, 0.0, 0.001, 0.002, 0.5, 0.6, 3.0, 3.2, 4.0], dtype=torch.float64)
    assert fr.largest_gap(eigenvalues, search=4) == (3, pytest.approx(5.0))
    assert fr.bulk_share(eigenvalues, 0.01) == pytest.approx(4 / 9)
    with pytest.raises(ValueError, match="eigenvalues"):
        fr.largest_gap(torch.tensor([-1.0, -2.0, -3.0]))
    with pytest.raises(ValueError, match="search"):
        fr.largest_gap(eigenvalues, search=1)
    with pytest.raises(ValueError, match="rel_tol"):
        fr.bulk_share(eigenvalues, 0.0)


def one_hot_mse(outputs, targets):
    """A loss the fast path does not know: it must fall back to one call per point."""
    return ((outputs - torch.nn.functional.one_hot(targets, outputs.shape[-1])) ** 2).mean()


@pytest.mark.parametrize("sizes, activation, loss_name", [
    ([5, 7, 3], "tanh", "cross_entropy"), ([5, 6, 4, 3], "relu", "cross_entropy"), ([5, 3], "linear", "cross_entropy"),
    ([5, 7, 3], "tanh", "soft_cross_entropy"), ([5, 7, 3], "sigmoid", "squared_error"), ([5, 7, 3], "tanh", "unknown"),
])
def test_mlp_fast_path_equals_the_generic_evaluation(sizes, activation, loss_name):
    """loss_plane/interpolate exploit an MLP's linear first layer; the values must not change."""
    data = ob.blobs(n=40, n_features=5, n_classes=3, seed=2, dtype=torch.float64)
    net = ob.mlp(sizes, activation=activation, seed=1, dtype=torch.float64)
    one_hot = torch.nn.functional.one_hot(data.y_train, 3).to(torch.float64)
    loss_fn, targets = {"cross_entropy": (ob.cross_entropy, data.y_train),
                        "soft_cross_entropy": (ob.cross_entropy, 0.8 * one_hot + 0.2 / 3),
                        "squared_error": (ob.squared_error, one_hot),
                        "unknown": (one_hot_mse, data.y_train)}[loss_name]
    loss = ob.functional_loss(net, loss_fn, data.x_train, targets)
    assert (ob.batched.columnwise_loss(loss_fn, targets) is None) == (loss_name == "unknown")
    generic = lambda theta: loss(theta)  # hides the structure: the generic vmapped path
    theta = ob.get_flat_params(net)
    d1, d2 = torch.randn(2, theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grid = torch.linspace(-1, 1, 7, dtype=torch.float64)
    for chunk in (None, 1, 5):
        fast = landscape.loss_plane(loss, theta, d1, d2, grid, grid, chunk_size=chunk)
        assert torch.allclose(fast, landscape.loss_plane(generic, theta, d1, d2, grid, grid), atol=1e-12)
    line = landscape.interpolate(loss, theta, theta + d1, grid)
    assert torch.allclose(line, landscape.interpolate(generic, theta, theta + d1, grid), atol=1e-12)


def test_gap_after_and_outlier_separation():
    eigenvalues = torch.tensor([-0.5, 0.1, 0.2, 0.4, 1.0, 2.0, 4.0], dtype=torch.float64)
    assert fr.gap_after(eigenvalues, 1) == pytest.approx(2.0)
    assert fr.gap_after(eigenvalues, 3) == pytest.approx(2.5)
    assert fr.gap_after(eigenvalues.flip(0), 3) == pytest.approx(2.5)  # order does not matter
    assert fr.outlier_separation(eigenvalues, 2) == pytest.approx(3.0 / 0.7)
    assert fr.outlier_separation(eigenvalues, 3) == pytest.approx((7.0 / 3) / (0.7 / 3))
    with pytest.raises(ValueError, match="more than k"):
        fr.gap_after(eigenvalues, 7)
    with pytest.raises(ValueError, match="positive"):
        fr.gap_after(eigenvalues, 6)
    with pytest.raises(ValueError, match="k"):
        fr.gap_after(eigenvalues, 0)
    with pytest.raises(ValueError, match="2k"):
        fr.outlier_separation(eigenvalues, 4)
    with pytest.raises(ValueError, match="positive"):
        fr.outlier_separation(torch.tensor([3.0, 2.0, -1.0, -2.0]), 2)


def test_flat_regions_setup_builds_the_chapter_networks():
    setup = fr.FLAT_REGIONS
    with pytest.raises(AttributeError):
        setup.lr = 1.0  # frozen: the page and its tests share one setting
    net = fr.small_net(0)
    assert [m.in_features for m in net if isinstance(m, torch.nn.Linear)] == list(setup.sizes[:-1])
    assert all(m.bias is None for m in net if isinstance(m, torch.nn.Linear))
    default = ob.mlp(list(setup.sizes), seed=0, bias=False)
    assert torch.allclose(ob.get_flat_params(net), setup.init_scale * ob.get_flat_params(default))
    assert fr.small_net(0, init_scale=1.0, dtype=torch.float64)[0].weight.dtype == torch.float64
    assert setup.training == dict(lr=setup.lr, steps=setup.steps, batch_size=setup.batch_size,
                                  record_every=setup.record_every)
    assert setup.line_alphas()[0] == setup.line[0] and len(setup.line_alphas()) == setup.line[2]
    assert len(setup.random_axis()) == setup.random_plane[2]


def test_plateau_runs_and_spectrum_run_on_a_tiny_setup():
    """The chapter's runs on a tiny network: records as `record_path` gives them, spectra as the dense Hessian."""
    data = ob.digits(dtype=torch.float64)
    small = ob.data.Split(data.x_train[:60], data.y_train[:60], data.x_val[:10], data.y_val[:10])
    setup = fr.FlatRegionsSetup(sizes=(64, 3, 10), plateau_steps=5, spectrum_sizes=(64, 2, 10),
                                       spectrum_steps=3)
    runs = fr.plateau_runs(small, seed=1, setup=setup)
    assert runs.level == pytest.approx(math.log(10))
    net = ob.mlp([64, 3, 10], seed=1, dtype=torch.float64)
    expected = fr.record_path(fr.with_hidden_bias(net, setup.plateau_bias), ob.cross_entropy, small,
                                     lr=setup.plateau_lr, steps=5, record_every=5)[1]
    assert torch.allclose(runs.saturated.loss, expected.loss)
    assert runs.span == fr.plateau_span(runs.saturated.loss[:, 0], runs.level, rel_tol=setup.plateau_tol)
    spectrum = fr.spectrum_run(small, seed=2, setup=setup)
    onehot = small.one_hot()
    cost = ob.functional_loss(ob.mlp([64, 2, 10], seed=2, dtype=torch.float64), ob.squared_error, onehot.x_train, onehot.y_train)
    assert torch.allclose(spectrum.initial, torch.linalg.eigvalsh(ob.hessian(cost, spectrum.path.params[0, 0])), atol=1e-10)
    assert spectrum.final_cost == pytest.approx(float(cost(spectrum.path.final_params[0])))
