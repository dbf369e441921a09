"""Unit tests of optbook.linear_networks against float64 oracles, and its argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import optbook as ob
from optbook import linear_networks as ln

LAM = torch.arange(6, 0, -1, dtype=torch.float64)


# --- Baldi & Hornik -------------------------------------------------------------------------


def test_random_orthogonal_is_orthogonal_and_seeded():
    q = ln.random_orthogonal(5, seed=3)
    assert torch.allclose(q @ q.T, torch.eye(5, dtype=torch.float64), atol=1e-12)
    assert torch.equal(q, ln.random_orthogonal(5, seed=3))
    assert not torch.allclose(q, ln.random_orthogonal(5, seed=4))


def test_covariance_has_the_requested_spectrum():
    sigma, q = ln.covariance_with_spectrum(LAM, seed=1)
    assert torch.allclose(torch.linalg.eigvalsh(sigma).flip(0), LAM, atol=1e-12)
    assert torch.allclose(sigma @ q, q * LAM, atol=1e-12)


def test_autoencoder_loss_is_the_mean_reconstruction_error():
    sigma, q = ln.covariance_with_spectrum(LAM, seed=0)
    n_samples = 50
    g = torch.Generator().manual_seed(0)
    z, _ = torch.linalg.qr(torch.randn(n_samples, 6, dtype=torch.float64, generator=g))  # orthonormal columns
    data = math.sqrt(n_samples) * z @ torch.diag(LAM.sqrt()) @ q.T  # rows x with mean x x^T = Sigma
    assert torch.allclose(data.T @ data / n_samples, sigma, atol=1e-10)
    theta = torch.randn(24, dtype=torch.float64, generator=g)
    a, b = ln.split_autoencoder(theta, 6, 2)
    oracle = 0.5 * ((data - data @ a.T @ b.T) ** 2).sum(1).mean()
    assert torch.allclose(ln.autoencoder_loss(sigma, 2)(theta), oracle, rtol=1e-12)


def test_critical_point_params_is_critical_with_the_predicted_cost():
    sigma, q = ln.covariance_with_spectrum(LAM, seed=2)
    loss = ln.autoencoder_loss(sigma, 2)
    gauge = torch.tensor([[2.0, 1.0], [0.5, 1.5]], dtype=torch.float64)
    for subset in [(0, 1), (2, 5), (3,), ()]:
        theta = ln.critical_point_params(q, subset, 2, gauge)
        assert float(ob.gradient(loss, theta).norm()) < 1e-12
        assert float(loss(theta)) == pytest.approx(ln.subset_cost(LAM, subset), abs=1e-12)


def test_index_formula_small_cases():
    assert ln.predicted_index(LAM, (0, 1), 2) == 0
    assert ln.predicted_index(LAM, (), 2) == 12  # p * n at the origin
    assert ln.predicted_index(LAM, (5,), 2) == 5 + 5  # five larger left out, one idle unit x five directions


def test_gauge_orbit_dimension():
    sigma, q = ln.covariance_with_spectrum(LAM, seed=0)
    for subset, dim in [((0, 1), 4), ((2,), 3), ((), 0)]:
        theta = ln.critical_point_params(q, subset, 2)
        basis = ln.gauge_directions(theta, 6, 2)
        assert basis.shape[0] == dim
        if dim:
            assert torch.allclose(basis @ basis.T, torch.eye(dim, dtype=torch.float64), atol=1e-12)


def test_enumeration_uses_the_dense_hessian_of_the_library():
    points = ln.autoencoder_critical_points(LAM, 2, seed=0)
    assert len(points) == 1 + 6 + 15
    sigma, _ = ln.covariance_with_spectrum(LAM, seed=0)
    loss = ln.autoencoder_loss(sigma, 2)
    point = points[3]
    assert torch.allclose(point.eigenvalues, ob.hessian_eigenvalues(loss, point.theta), atol=1e-10)
    assert point.index_fraction == pytest.approx(ob.index_fraction(point.eigenvalues))


def test_staircase_is_monotone_detects_an_inversion():
    def fake(cost, index):
        return ln.CriticalPoint((), torch.zeros(1), cost, cost, 0.0, torch.zeros(1), index, 0, 0, 0.0, 1.0, index)

    assert ln.staircase_is_monotone([fake(1.0, 0), fake(2.0, 1), fake(2.0, 1), fake(3.0, 5)])
    assert not ln.staircase_is_monotone([fake(1.0, 0), fake(2.0, 3), fake(3.0, 2)])
    assert ln.staircase_inversions([fake(1.0, 4), fake(2.0, 3), fake(3.0, 2)]) == 3


def test_random_starts_run_batched():
    runs = ln.autoencoder_random_starts(LAM, 2, n_starts=5, steps=20, record_every=10)
    assert runs.loss.shape == (3, 5)
    assert runs.final_params.shape == (5, 24)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: ln.covariance_with_spectrum(torch.tensor([1.0, 2.0], dtype=torch.float64)), ValueError),
        (lambda: ln.covariance_with_spectrum(torch.tensor([2.0, -1.0], dtype=torch.float64)), ValueError),
        (lambda: ln.covariance_with_spectrum(torch.tensor([2.0, math.nan], dtype=torch.float64)), ValueError),
        (lambda: ln.covariance_with_spectrum([3.0, 2.0]), TypeError),
        (lambda: ln.autoencoder_loss(torch.eye(3, dtype=torch.float64), 3), ValueError),
        (lambda: ln.autoencoder_loss(torch.ones(3, 2, dtype=torch.float64), 1), ValueError),
        (lambda: ln.autoencoder_loss(torch.eye(3, dtype=torch.float64), 1.5), TypeError),
        (lambda: ln.autoencoder_critical_points(LAM, 0), ValueError),
        (lambda: ln.autoencoder_critical_points(LAM, 2, seed=0.5), TypeError),
        (lambda: ln.critical_point_params(torch.eye(6, dtype=torch.float64), (0, 1, 2), 2), ValueError),
        (lambda: ln.autoencoder_random_starts(LAM, 2, n_starts=0), ValueError),
        (lambda: ln.autoencoder_random_starts(LAM, 2, scale=-1.0), ValueError),
        (lambda: ln.split_autoencoder(torch.zeros(5), 6, 2), ValueError),
    ],
)
def test_baldi_hornik_argument_checks(call, error):
    with pytest.raises(error):
        call()


# --- Saxe et al. -----------------------------------------------------------------------------


def test_hierarchical_data_singular_values():
    x, y = ln.hierarchical_data(3)
    assert x.shape == (8, 8) and y.shape == (8, 15)
    modes = ln.data_modes(x, y)
    expected = torch.tensor([15, 7, 3, 3, 1, 1, 1, 1], dtype=torch.float64).sqrt()
    assert torch.allclose(modes.s, expected, atol=1e-12)
    assert torch.allclose(modes.u.T @ (y.T @ x) @ modes.v, torch.diag(expected), atol=1e-12)
    assert ln.distinct_groups(modes.s) == [[0], [1], [2, 3], [4, 5, 6, 7]]


def test_saxe_curve_solves_its_ode_and_the_half_time_formula():
    s = torch.tensor([3.0, 1.0], dtype=torch.float64)
    u0 = torch.tensor([1e-3, 1e-2], dtype=torch.float64)
    tau = 50.0
    t = torch.linspace(0, 200, 2001, dtype=torch.float64)
    u = ln.saxe_mode_strength(t, s, u0, tau)
    assert torch.allclose(u[0], u0)
    du = (u[2:] - u[:-2]) / (t[2] - t[0])
    assert torch.allclose(tau * du, 2 * u[1:-1] * (s - u[1:-1]), atol=1e-3)
    half = ln.saxe_half_time(s, u0, tau)
    assert torch.allclose(ln.saxe_mode_strength(half, s, u0, tau).diagonal(), s / 2, rtol=1e-10)


def test_deep_curve_at_depth_two_is_the_closed_form():
    s = torch.tensor([2.0, 1.0], dtype=torch.float64)
    u0 = torch.tensor([1e-3, 1e-3], dtype=torch.float64)
    t = torch.linspace(0, 8, 81, dtype=torch.float64)
    assert torch.allclose(ln.deep_mode_strength(t, s, u0, 2), ln.saxe_mode_strength(t, s, u0), atol=1e-6)
    deep = ln.deep_mode_strength(t, s, u0, 4)
    assert bool((deep[-1] <= s + 1e-9).all()) and bool((deep[1:] >= deep[:-1] - 1e-12).all())


def test_half_learning_times_interpolates():
    steps = torch.tensor([0, 10, 20, 30])
    strength = torch.tensor([[0.0, 0.0], [0.2, 0.1], [0.6, 0.2], [1.0, 0.3]], dtype=torch.float64)
    s = torch.tensor([1.0, 1.0], dtype=torch.float64)
    t_half = ln.half_learning_times(strength, s, steps)
    assert t_half[0] == pytest.approx(17.5)
    assert math.isinf(t_half[1])


@pytest.mark.parametrize("depth", [2, 3])
def test_simulation_gradient_matches_autograd(depth):
    x, y = ln.hierarchical_data(2)
    lr = 0.05
    runs = ln.simulate_linear_net(x, y, depth=depth, width=5, init_scales=0.7, lrs=lr, steps=1, record_every=1, seed=3)
    weights = ln.linear_net_init(ln.data_modes(x, y), 1, depth, 5, torch.tensor([0.7], dtype=torch.float64), seed=3)
    theta = torch.cat([w[0].reshape(-1) for w in weights])
    loss = ln.linear_net_loss(x, y, depth, 5)
    after = theta - lr * ob.gradient(loss, theta)
    assert float(runs.loss[0, 0]) == pytest.approx(float(loss(theta)), rel=1e-12)
    assert float(runs.loss[1, 0]) == pytest.approx(float(loss(after)), rel=1e-12)


def test_decoupled_start_has_the_requested_strength():
    x, y = ln.hierarchical_data(3)
    runs = ln.simulate_linear_net(x, y, depth=3, width=10, lrs=0.01, steps=1, seed=0, n_runs=2, decoupled_u0=1e-3)
    assert torch.allclose(runs["strength"][0], torch.full((2, 8), 1e-3, dtype=torch.float64), rtol=1e-10)


def test_simulation_leaves_the_data_untouched_and_flags_divergence():
    x, y = ln.hierarchical_data(3)
    x0, y0 = x.clone(), y.clone()
    runs = ln.simulate_linear_net(x, y, depth=2, init_scales=0.3, lrs=torch.tensor([0.01, 2.0]), steps=50)
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert runs.diverged.tolist() == [False, True]


def test_origin_hessian_strict_at_depth_two_and_zero_at_depth_three():
    x, y = ln.hierarchical_data(2)
    s = ln.data_modes(x, y).s
    eig2 = ln.origin_hessian_eigenvalues(x, y, 2, width=3)
    expected = torch.cat([s, -s]).repeat_interleave(3).sort().values
    nonzero = eig2[eig2.abs() > 1e-10]
    assert torch.allclose(nonzero, expected, atol=1e-10)
    assert float(ln.origin_hessian_eigenvalues(x, y, 3, width=3).abs().max()) == 0.0


def test_mode_trajectory_conserves_a2_minus_b2_and_ends_on_the_valley():
    path = ln.mode_trajectory(0.3, -0.1, s=1.5, t_max=20.0)
    invariant = path[:, 0] ** 2 - path[:, 1] ** 2
    assert np.allclose(invariant, invariant[0], atol=1e-8)
    assert np.allclose(path[-1], ln.mode_endpoint(0.3, -0.1, s=1.5), atol=1e-6)
    stable = ln.mode_trajectory(0.5, -0.5, s=1.0, t_max=20.0)
    assert np.abs(stable[-1]).max() < 0.1  # on the stable manifold it flows into the saddle


def test_batched_trajectories_match_single_ones_and_hyperbolas_are_level_sets():
    starts = np.array([0.3, -0.2, 0.05])
    batched = ln.mode_trajectory(starts, 0.1, s=1.0, t_max=5.0, n_points=50)
    assert batched.shape == (50, 2, 3)
    assert np.allclose(batched[:, :, 1], ln.mode_trajectory(-0.2, 0.1, s=1.0, t_max=5.0, n_points=50))
    for level, curve in zip(np.repeat([-1.0, 0.5], 2), ln.hyperbolas(np.array([-1.0, 0.5]), extent=2.0)):
        assert np.allclose(curve[:, 0] ** 2 - curve[:, 1] ** 2, level)
        assert np.abs(curve).max() <= 2.0


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: ln.hyperbolas(np.array([1.0]), extent=0.0), ValueError),
        (lambda: ln.hierarchical_data(0), ValueError),
        (lambda: ln.hierarchical_data(2.0), TypeError),
        (lambda: ln.data_modes(2 * torch.eye(4, dtype=torch.float64), torch.ones(4, 3, dtype=torch.float64)), ValueError),
        (lambda: ln.data_modes(torch.eye(4, dtype=torch.float64), torch.ones(3, 3, dtype=torch.float64)), ValueError),
        (lambda: ln.saxe_mode_strength(torch.zeros(3), torch.ones(2), torch.zeros(2)), ValueError),
        (lambda: ln.saxe_mode_strength(torch.zeros(3), torch.ones(2), torch.ones(2), tau=0.0), ValueError),
        (lambda: ln.saxe_half_time(torch.ones(2), torch.ones(2)), ValueError),
        (lambda: ln.deep_mode_strength(torch.tensor([2.0, 1.0]), torch.ones(1), torch.full((1,), 0.1), 3), ValueError),
        (lambda: ln.deep_mode_strength(torch.tensor([0.0, 1.0]), torch.ones(1), torch.full((1,), 0.1), 1), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(2), lrs=-0.1), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(2), init_scales=math.nan), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(2), lrs=torch.ones(3), init_scales=torch.ones(2)), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(2), depth=1), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(2), steps=0), ValueError),
        (lambda: ln.simulate_linear_net(*ln.hierarchical_data(3), width=4, decoupled_u0=1e-3), ValueError),
        (lambda: ln.mode_trajectory(math.nan, 0.1), ValueError),
        (lambda: ln.mode_trajectory(0.1, 0.1, s=0.0), ValueError),
        (lambda: ln.mode_endpoint(0.1, 0.1, s=-1.0), ValueError),
        (lambda: ln.linear_net_loss(torch.eye(3), torch.ones(3, 2), depth=2, width=0), ValueError),
    ],
)
def test_saxe_argument_checks(call, error):
    with pytest.raises(error):
        call()


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_run_verdict_agrees_with_the_stability_limit_at_the_boundary(depth):
    # a balanced minimum has lambda_max = D s^(2 - 2/D); 10% below the limit the run settles, 10% above it cannot
    x, y = ln.hierarchical_data(3)
    s = ln.data_modes(x, y).s
    limit = ln.stable_step_limit(float(s[0]), depth)
    assert limit == pytest.approx(2 / (depth * float(s[0]) ** (2 - 2 / depth)))
    rates = torch.tensor([0.9 * limit, 1.1 * limit], dtype=torch.float64)
    runs = ln.simulate_linear_net(x, y, depth=depth, width=16, lrs=rates, steps=1500, record_every=5, seed=0,
                                  n_runs=2, decoupled_u0=0.3)
    below = ln.run_verdict(runs["strength"][:, 0], runs.loss[:, 0], s, runs.steps, lr=float(rates[0]), depth=depth)
    above = ln.run_verdict(runs["strength"][:, 1], runs.loss[:, 1], s, runs.steps, lr=float(rates[1]), depth=depth)
    assert below.kind == "learning" and below.learned == 8 and "stable step" not in below.text
    assert above.kind in ("oscillating", "diverged") and above.learned == 0
    assert "largest stable step" in above.text


def test_run_verdict_names_what_the_curves_show():
    s = torch.tensor([2.0, 1.0], dtype=torch.float64)
    steps = torch.arange(0, 200, 5)
    t = steps.to(torch.float64)[:, None]
    sigmoid = s / (1 + torch.exp(-(t - torch.tensor([50.0, 120.0])) / 5))  # two modes learned in turn
    learned = ln.run_verdict(sigmoid, torch.ones(40), s, steps)
    assert learned.kind == "learning" and learned.learned == 2 and learned.first_plateau == pytest.approx(50, abs=5)
    rising = ln.run_verdict(s / (1 + torch.exp(-(t - torch.tensor([50.0, 195.0])) / 5)), torch.ones(40), s, steps)
    assert rising.learned == 1 and rising.rising == 1 and rising.text.endswith("1 still rising")
    swinging = sigmoid.clone()
    swinging[-8:, 0] = s[0] * torch.tensor([0.2, 1.4] * 4, dtype=torch.float64)  # a period-2 swing, as at depth 4, lr 0.1
    verdict = ln.run_verdict(swinging, torch.ones(40), s, steps)
    assert verdict.kind == "oscillating" and verdict.swing == pytest.approx((0.2, 1.4)) and "never settles" in verdict.text
    assert ln.run_verdict(sigmoid, torch.full((40,), 1e7), s, steps).kind == "diverged"
    flat = ln.run_verdict(torch.full((40, 2), 1e-3, dtype=torch.float64), torch.ones(40), s, steps)
    assert flat.kind == "plateau" and flat.text.startswith("still on the plateau")
    with pytest.raises(ValueError, match="strength"):
        ln.run_verdict(sigmoid[:, :1], torch.ones(40), s, steps)
    with pytest.raises(ValueError, match="window"):
        ln.run_verdict(sigmoid, torch.ones(40), s, steps, window=2.0)
    with pytest.raises(ValueError, match="depth"):
        ln.stable_step_limit(2.0, 1)


def test_blow_up_time_is_where_the_small_u_solution_ends():
    # u(t) = [u0^-(1-2/D) - (D-2) s t / tau]^(-D/(D-2)) solves tau u' = D s u^(2-2/D) and blows up at t*
    s, u0, depth, tau = 2.0, 1e-3, 4, 10.0
    t_star = float(ln.blow_up_time(s, u0, depth, tau))
    t = torch.tensor([0.0, 0.5 * t_star, 0.9 * t_star], dtype=torch.float64)
    u = (u0 ** (-(1 - 2 / depth)) - (depth - 2) * s * t / tau) ** (-depth / (depth - 2))
    h = 1e-6 * t_star
    du = ((u0 ** (-(1 - 2 / depth)) - (depth - 2) * s * (t + h) / tau) ** (-depth / (depth - 2)) - u) / h
    assert torch.allclose(tau * du, depth * s * u ** (2 - 2 / depth), rtol=1e-4)
    assert t_star == pytest.approx(tau * u0 ** -0.5 / (2 * s))
    with pytest.raises(ValueError, match="depth"):
        ln.blow_up_time(s, u0, 2)
    with pytest.raises(ValueError, match="u0"):
        ln.blow_up_time(s, 0.0, 3)


def test_widget_grid_trains_every_pair_in_one_batch():
    x, y = ln.hierarchical_data(2)
    runs, pairs = ln.widget_grid(x, y, 2, scales=(0.1, 0.3), rates=(0.01, 0.03), steps=20, record_every=5)
    assert pairs == [(0.1, 0.01), (0.1, 0.03), (0.3, 0.01), (0.3, 0.03)]
    assert runs.settings["lrs"].tolist() == [0.01, 0.03, 0.01, 0.03] and runs.settings["init_scales"].tolist() == [0.1, 0.1, 0.3, 0.3]
    assert runs["strength"].shape[1] == 4
    with pytest.raises(ValueError, match="scales must not be empty"):
        ln.widget_grid(x, y, 2, scales=())


def test_saxe_section_argument_checks_name_the_argument():
    s = torch.tensor([3.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match="u0 must be a number or have one entry per mode"):
        ln.deep_mode_strength(torch.linspace(0, 1, 3, dtype=torch.float64), s, torch.full((1, 2), 1e-3), 3)
    with pytest.raises(ValueError, match="u0 .* must broadcast against s"):
        ln.saxe_half_time(s, torch.full((3,), 1e-3, dtype=torch.float64))
    # one u0 row per run broadcasts against s (the page's [runs, modes] starting strengths)
    assert ln.saxe_half_time(s, torch.full((4, 2), 1e-3, dtype=torch.float64)).shape == (4, 2)
    with pytest.raises(ValueError, match="strength must have one row per recorded step"):
        ln.half_learning_times(torch.zeros(4, 2), s, torch.arange(5))
    with pytest.raises(ValueError, match="t_half must be"):
        ln.learned_in_order(torch.tensor([1.0, math.nan]), s)
    with pytest.raises(TypeError, match=r"points\[0\] must be a CriticalPoint"):
        ln.staircase_inversions([0.5])
    with pytest.raises(ValueError, match=r"subset\[1\] must be < 3"):
        ln.subset_cost(torch.tensor([3.0, 2.0, 1.0]), (0, 3))
    with pytest.raises(ValueError, match="subset must not repeat"):
        ln.predicted_index(torch.tensor([3.0, 2.0, 1.0]), (0, 0), 2)
    # a number against a tensor is still a valid pair of coordinates for the flow
    da, db = ln.mode_flow(0.5, torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert da.shape == db.shape == (2,)
    with pytest.raises(TypeError, match="a and b must both be tensors or both arrays"):
        ln.mode_flow(np.array([0.5]), torch.tensor([1.0]))
