"""Claims of chapters/flat_regions.md (Figure 8.2, straight lines, plateaus, the spectrum), for three seeds.

The settings are the chapter's. Each claim is checked for seeds 0, 1 and 2 (the page shows seed 0):
the seed sets the network's initial weights and the minibatch order. The Hessian at theta = 0 does
not depend on the seed (only on the data), so its exact eigenvalue counts are checked once.
"""

import math

import pytest
import torch

import optbook as ob
from optbook import landscape

SEEDS = [0, 1, 2]
SIZES, INIT_SCALE = [64, 16, 10], 0.1
TRAINING = dict(lr=0.2, steps=2000, batch_size=64, record_every=10)
LN10 = math.log(10)


@pytest.fixture(scope="module")
def data():
    return ob.digits()


def small_net(seed, init_scale=INIT_SCALE, dtype=torch.float32):
    return ob.mlp(SIZES, seed=seed, init_scale=init_scale, bias=False, dtype=dtype)


@pytest.fixture(scope="module", params=SEEDS)
def figure_82(request, data):
    """The chapter's Figure 8.2 run for one seed: path, plane, cost along the path."""
    seed = request.param
    net = small_net(seed)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train, data.y_train)
    record = landscape.record_path(net, ob.cross_entropy, data, seed=seed, **TRAINING)
    plane = ob.trajectory_plane(record.thetas)
    path_loss = ob.batched_loss(loss, record.thetas)
    return dict(seed=seed, loss=loss, record=record, plane=plane, path_loss=path_loss)


# ---------------------------------------------------------------- Figure 8.2

def test_zero_point_is_a_critical_saddle_above_the_solution(figure_82, data):
    """theta = 0 is an exact critical point with both signs of curvature and cost ln 10 > final cost."""
    data64 = ob.digits(dtype=torch.float64)
    loss64 = ob.functional_loss(small_net(figure_82["seed"], dtype=torch.float64), ob.cross_entropy,
                                data64.x_train, data64.y_train)
    zero = torch.zeros(figure_82["plane"].center.numel(), dtype=torch.float64)
    assert float(ob.gradient(loss64, zero).norm()) < 1e-12
    assert float(loss64(zero)) == pytest.approx(LN10, abs=1e-12)
    extremes = ob.hessian_extremes(loss64, zero, k=1)
    assert extremes.smallest < -0.1 and extremes.largest > 0.1
    assert float(figure_82["path_loss"][-1]) < LN10 - 2.0


def test_hessian_at_zero_has_paired_eigenvalues_counted_by_the_correlation_rank():
    """The text: n_negative = n_positive = hidden units x rank of the pixel-error correlation, the rest zero."""
    data64 = ob.digits(dtype=torch.float64)
    loss64 = ob.functional_loss(small_net(0, dtype=torch.float64), ob.cross_entropy, data64.x_train, data64.y_train)
    eigenvalues = landscape.dense_hessian_spectrum(loss64, torch.zeros(ob.num_params(small_net(0)), dtype=torch.float64))
    scale = float(eigenvalues.abs().max())
    n_neg = int((eigenvalues < -1e-8 * scale).sum())
    n_pos = int((eigenvalues > 1e-8 * scale).sum())
    errors = torch.full((len(data64.y_train), 10), 0.1, dtype=torch.float64) - data64.one_hot().y_train
    rank = int(torch.linalg.matrix_rank(data64.x_train.T @ errors))
    assert rank <= 9
    assert n_neg == n_pos == SIZES[1] * rank
    assert torch.allclose(eigenvalues, -eigenvalues.flip(0), atol=1e-10)


def test_zero_point_sits_next_to_the_start_on_the_plane(figure_82):
    plane = figure_82["plane"]
    length = float(plane.d1.norm())
    assert plane.origin_distance < 0.05 * length
    assert float(plane.origin.abs().max()) < 0.02
    assert plane.captured_variance > 0.95
    assert float(plane.path_distance.max()) < 0.15 * length


def test_on_the_plane_the_saddle_looks_like_a_summit(figure_82):
    """Both curvatures of the slice at the zero point's projection are negative (the text's 'summit')."""
    plane = figure_82["plane"]
    curvatures = torch.linalg.eigvalsh(landscape.plane_hessian(figure_82["loss"], plane, plane.origin))
    assert float(curvatures[-1]) < 0


def test_path_escapes_quickly_then_crawls_along_a_flat_valley(figure_82):
    record, path_loss = figure_82["record"], figure_82["path_loss"]
    escape = int(torch.nonzero(path_loss < 0.5 * LN10)[0])
    assert int(record.steps[escape]) < 0.2 * TRAINING["steps"]
    half = int((record.steps <= TRAINING["steps"] // 2).sum()) - 1
    total_drop = float(path_loss[0] - path_loss[-1])
    assert float(path_loss[half] - path_loss[-1]) < 0.05 * total_drop
    lengths = record.thetas.diff(dim=0).norm(dim=1)
    assert float(lengths[escape:].sum()) > 0.6 * float(lengths.sum())


def test_straight_line_from_start_to_solution_is_monotone(figure_82):
    """Tolerance 1e-4 for float32 rounding; the chapter's 61-point line on [-0.25, 1.25]."""
    alphas = torch.linspace(-0.25, 1.25, 61)
    record = figure_82["record"]
    values = ob.interpolate(figure_82["loss"], record.start, record.end, alphas)
    inside = values[(alphas >= 0) & (alphas <= 1)]
    assert float(inside.diff().max()) <= 1e-4  # the stated tolerance
    assert float(inside.diff().max()) < 0  # the text: in fact every step along the line lowers the cost
    assert float(inside[0] - inside[-1]) > 2.0


def test_straight_line_between_two_solutions_has_a_barrier(figure_82, data):
    seed = figure_82["seed"]
    other = landscape.record_path(small_net(seed + 100), ob.cross_entropy, data, seed=seed + 100, **TRAINING)
    alphas = torch.linspace(0, 1, 41)
    values = ob.interpolate(figure_82["loss"], figure_82["record"].end, other.end, alphas)
    assert landscape.barrier_height(values) > 0.1
    assert abs(float(values[0] - values[-1])) < 0.05  # two solutions of about the same cost


def test_with_default_scale_the_zero_point_is_far_from_the_plane(figure_82, data):
    seed = figure_82["seed"]
    record = landscape.record_path(small_net(seed, init_scale=1.0), ob.cross_entropy, data, seed=seed, **TRAINING)
    default = ob.trajectory_plane(record.thetas)
    small = figure_82["plane"]
    default_ratio = default.origin_distance / float(default.d1.norm())
    small_ratio = small.origin_distance / float(small.d1.norm())
    assert default_ratio > 0.1
    assert default_ratio > 5 * small_ratio


def test_solution_is_the_bottom_of_a_random_filter_normalized_plane(figure_82):
    """The chapter's Li et al. (2018) view: on a 41 x 41 random plane the solution is the lowest point."""
    trained = small_net(figure_82["seed"])
    ob.set_flat_params(trained, figure_82["record"].end)
    r1, r2 = ob.random_directions(trained, seed=figure_82["seed"])
    axis = torch.linspace(-1, 1, 41)
    grid = ob.loss_plane(figure_82["loss"], figure_82["record"].end, r1, r2, axis, axis)
    assert int(grid.argmin()) == grid.numel() // 2
    assert float(grid.max()) > float(grid[20, 20]) + 1.0
    for r in (r1, r2):  # nearly orthogonal to the direction the path took
        assert abs(float(torch.nn.functional.cosine_similarity(r, figure_82["plane"].d1, dim=0))) < 0.2


# ---------------------------------------------------------------- plateau from saturated units

@pytest.mark.parametrize("seed", SEEDS)
def test_saturated_units_make_a_plateau_at_chance(data, seed):
    net = ob.mlp(SIZES, seed=seed)
    saturated = landscape.record_path(landscape.with_hidden_bias(net, 3.0), ob.cross_entropy, data, lr=1.0,
                                      steps=800, record_every=800)
    reference = landscape.record_path(net, ob.cross_entropy, data, lr=1.0, steps=800, record_every=800)
    first, last = landscape.plateau_span(saturated.step_loss, LN10, rel_tol=0.01)
    assert first <= 10 and last - first >= 200
    plateau_grad = float(saturated.step_grad_norm[first:last].median())
    assert plateau_grad < 1e-2
    assert plateau_grad < 0.1 * float(reference.step_grad_norm[:50].median())
    assert float(saturated.step_loss[-1]) < 0.3
    in_plateau = saturated.step_grad_norm[first:last]
    assert float(in_plateau[-1] / in_plateau.min()) > 2.0  # the gradient grows before the fall
    ref_first, ref_last = landscape.plateau_span(reference.step_loss, LN10, rel_tol=0.01)
    assert ref_last - ref_first < 10


# ---------------------------------------------------------------- the spectrum after training

@pytest.mark.parametrize("seed", SEEDS)
def test_spectrum_has_a_flat_bulk_and_one_outlier_per_class(data, seed):
    onehot = data.one_hot()
    net = ob.mlp([64, 32, 10], seed=seed)
    mse = ob.functional_loss(net, ob.squared_error, onehot.x_train, onehot.y_train)
    run = landscape.record_path(net, ob.squared_error, onehot, lr=0.2, steps=1000, record_every=1000)
    start = landscape.dense_hessian_spectrum(mse, run.start)
    trained = landscape.dense_hessian_spectrum(mse, run.end)
    k, ratio = landscape.largest_gap(trained, search=30)
    assert k == 10 and ratio > 1.2
    k_start, ratio_start = landscape.largest_gap(start, search=30)
    assert k_start == 10 and ratio_start > ratio  # there at initialization, with a sharper gap
    assert float(trained[-1]) > float(start[-1])  # training lifts the outliers
    bulk = landscape.bulk_share(trained, 0.01)
    assert bulk > 0.85 and bulk > landscape.bulk_share(start, 0.01) + 0.1
    assert float(trained[0]) < 0 and abs(float(trained[0])) < 0.01 * float(trained[-1])
