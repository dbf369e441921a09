"""Unit tests for optbook.saddles: closed forms on x1^2 - x2^2, autograd oracles, loud failures."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.text
import numpy as np
import pytest
import torch

import optbook as ob
from optbook.saddle_points import saddles as sd

ORIGIN = torch.zeros(2, dtype=torch.float64)


def test_saddle_cost_and_its_exact_derivatives_match_autograd():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)
    assert torch.allclose(sd.saddle_cost(x), x[:, 0] ** 2 - x[:, 1] ** 2)
    grad, hess = sd.saddle_derivatives(x)
    for b in range(2):
        assert torch.allclose(grad[b], ob.gradient(sd.saddle_cost, x[b]))
        assert torch.allclose(hess[b], ob.hessian(sd.saddle_cost, x[b]))
    assert torch.equal(torch.linalg.eigvalsh(ob.hessian(sd.saddle_cost, ORIGIN)),
                       torch.tensor([-2.0, 2.0], dtype=torch.float64))


def test_step_directions_on_a_fixed_hessian():
    hess = torch.tensor([[[3.0, 1.0], [1.0, -2.0]]], dtype=torch.float64)
    grad = torch.tensor([[0.7, -0.4]], dtype=torch.float64)
    lam, vec = torch.linalg.eigh(hess[0])
    abs_h = vec @ torch.diag(lam.abs()) @ vec.T
    assert torch.equal(sd.step_direction("gradient descent", grad, hess), grad)
    assert torch.allclose(sd.step_direction("Newton", grad, hess)[0], torch.linalg.solve(hess[0], grad[0]))
    assert torch.allclose(sd.step_direction("saddle-free Newton", grad, hess)[0], torch.linalg.solve(abs_h, grad[0]))
    damped = torch.linalg.solve(abs_h + 0.5 * torch.eye(2, dtype=torch.float64), grad[0])
    assert torch.allclose(sd.step_direction("saddle-free Newton", grad, hess, damping=0.5)[0], damped)


def test_newton_pseudo_inverse_ignores_a_zero_eigenvalue():
    hess = torch.diag(torch.tensor([2.0, 0.0], dtype=torch.float64)).unsqueeze(0)
    grad = torch.tensor([[4.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(sd.step_direction("Newton", grad, hess), torch.tensor([[2.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("use_exact", [True, False])
def test_runs_follow_the_closed_forms_on_the_saddle(use_exact):
    start = torch.tensor([[0.8, 1e-3]], dtype=torch.float64)
    kw = {"derivatives": sd.saddle_derivatives} if use_exact else {}
    lr, steps = 0.1, 12
    t = torch.arange(steps + 1, dtype=torch.float64)
    gd = sd.run_method(sd.saddle_cost, start, "gradient descent", lr, steps, **kw)
    expected = torch.stack([0.8 * (1 - 2 * lr) ** t, 1e-3 * (1 + 2 * lr) ** t], dim=-1)
    assert torch.allclose(gd.params[:, 0], expected, rtol=1e-12)
    sfn = sd.run_method(sd.saddle_cost, start, "saddle-free Newton", lr, steps, **kw)
    expected = torch.stack([0.8 * (1 - lr) ** t, 1e-3 * (1 + lr) ** t], dim=-1)
    assert torch.allclose(sfn.params[:, 0], expected, rtol=1e-12)
    newton = sd.run_method(sd.saddle_cost, start, "Newton", 1.0, 3, **kw)
    assert float(newton.params[1:].abs().max()) < 1e-15
    assert torch.allclose(gd.loss[:, 0], sd.saddle_cost(gd.params[:, 0]))


def test_run_leaves_its_starts_untouched_and_is_seeded():
    start = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    saved = start.clone()
    a = sd.run_method(sd.saddle_cost, start, "gradient descent", 0.1, 30, noise=0.01, seed=4)
    b = sd.run_method(sd.saddle_cost, start, "gradient descent", 0.1, 30, noise=0.01, seed=4)
    assert torch.equal(start, saved)
    assert torch.equal(a.params, b.params)
    quiet = sd.run_method(sd.saddle_cost, start, "gradient descent", 0.1, 30)
    assert float(quiet.params[:, 0, 1].abs().max()) == 0.0  # on the stable set without noise: never leaves


def test_a_divergent_run_is_marked_not_raised():
    start = torch.tensor([[1.0, 0.0], [0.1, 0.0]], dtype=torch.float64)
    run = sd.run_method(sd.saddle_cost, start, "gradient descent", 1.5, 100, derivatives=sd.saddle_derivatives)
    assert (run.diverged_at > 0).all()
    k = int(run.diverged_at[0])
    assert torch.isnan(run.params[k:, 0]).all() and torch.isfinite(run.params[:k, 0]).all()


def test_max_step_caps_the_step_length():
    start = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    run = sd.run_method(sd.saddle_cost, start, "gradient descent", 1.0, 1, max_step=0.1,
                        derivatives=sd.saddle_derivatives)
    assert float((run.params[1] - run.params[0]).norm()) == pytest.approx(0.1)


def test_escape_steps_and_prediction():
    distances = torch.tensor([[0.1, 0.1], [0.5, 0.2], [1.2, 0.3]], dtype=torch.float64)
    assert sd.escape_steps(distances, 1.0).tolist() == [2, -1]
    np.testing.assert_allclose(sd.predicted_escape_steps([1e-2], 0.5, 2.0), [math.ceil(math.log(100) / math.log(2))])
    assert sd.fit_log_slope(np.array([1e-2, 1e-4]), np.array([10, 20])) == pytest.approx(10 / math.log(100))


def test_tanh_network_origin_is_a_nondegenerate_saddle():
    problem = sd.tanh_saddle_problem(width=3, seed=2)
    assert float(ob.gradient(problem.loss, problem.saddle).norm()) == 0.0
    lam = problem.hessian_eigenvalues
    assert lam.numel() == 18
    assert torch.allclose(lam, -lam.flip(0), atol=1e-10)  # +- pairs
    assert float(lam.abs().min()) > 0.1
    assert torch.allclose(lam, torch.linalg.eigvalsh(ob.hessian(problem.loss, problem.saddle)), atol=1e-10)


def test_random_starts_lie_at_the_given_distances():
    starts = sd.random_starts(torch.ones(5, dtype=torch.float64), [0.1, 2.0], n_per_distance=3, seed=0)
    assert starts.shape == (6, 5)
    np.testing.assert_allclose((starts - 1).norm(dim=-1).numpy(), [0.1] * 3 + [2.0] * 3)


def test_the_saddle_figure_is_a_figure():
    import matplotlib.pyplot as plt

    fig = sd.plot_saddle_figure([-2.0, 2.0])
    assert isinstance(fig, matplotlib.figure.Figure)
    plt.close(fig)


def test_bad_arguments_raise():
    start = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    grad, hess = sd.saddle_derivatives(start)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "momentum", 0.1, 5)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "Newton", 0.0, 5)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "Newton", 0.1, 0)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "Newton", 0.1, 5, noise=-1.0)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "Newton", 0.1, 5, damping=float("inf"))
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, start, "Newton", 0.1, 5, max_step=0.0)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, torch.zeros(1, 1, 2), "Newton", 0.1, 5)
    with pytest.raises(ValueError):
        sd.run_method(sd.saddle_cost, torch.tensor([[float("nan"), 0.0]]), "Newton", 0.1, 5)
    with pytest.raises(TypeError):
        sd.run_method("not a function", start, "Newton", 0.1, 5)
    with pytest.raises(ValueError):
        sd.saddle_cost(torch.zeros(3))
    with pytest.raises(TypeError):
        sd.saddle_cost([0.0, 1.0])
    with pytest.raises(ValueError):
        sd.step_direction("Newton", grad, hess[0])
    with pytest.raises(ValueError):
        sd.step_direction("saddle-free Newton", grad, hess, damping=-1.0)
    with pytest.raises(ValueError):
        sd.escape_steps(torch.zeros(3), 1.0)
    with pytest.raises(ValueError):
        sd.predicted_escape_steps([0.0], 0.1, 2.0)
    with pytest.raises(ValueError):
        sd.fit_log_slope(np.array([1e-2, 1e-3]), np.array([5, -1]))
    with pytest.raises(ValueError):
        sd.random_starts(torch.zeros(2), [-1.0])
    with pytest.raises(ValueError):
        sd.tanh_saddle_problem(width=0)


def test_critical_point_search_reports_residuals_and_finds_true_critical_points():
    loss = sd.teacher_student_problem(width=2, n_samples=16, seed=0)
    starts = sd.random_starts(torch.zeros(8, dtype=torch.float64), [1.0] * 12, seed=0)
    saved = starts.clone()
    search = sd.critical_point_search(loss, starts, torch.arange(12) * 10, newton_steps=25)
    assert torch.equal(starts, saved)
    assert search.grad_norm.shape == (12,) and search.cost.shape == (12,)
    conv = search.converged
    assert conv.any()
    for k in np.flatnonzero(conv):  # oracle: autograd gradient and dense Hessian at the end point
        theta = search.thetas[k]
        assert float(ob.gradient(loss, theta).norm()) < 1e-8
        lam = torch.linalg.eigvalsh(ob.hessian(loss, theta))
        expected = float((lam < -1e-8 * lam.abs().max()).to(torch.float64).mean())
        assert search.index_fraction[k] == pytest.approx(expected)
    cost, index = search.distinct()
    assert cost.size <= conv.sum() and np.all(np.diff(cost) >= -1e-7)


def test_critical_point_search_rejects_bad_arguments():
    loss = sd.teacher_student_problem(width=2, n_samples=8, seed=0)
    starts = torch.zeros(3, 8, dtype=torch.float64)
    with pytest.raises(ValueError):
        sd.critical_point_search(loss, starts, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError):
        sd.critical_point_search(loss, starts, torch.zeros(3))
    with pytest.raises(ValueError):
        sd.critical_point_search(loss, starts, torch.tensor([0, -1, 2]))
    with pytest.raises(ValueError):
        sd.critical_point_search(loss, starts, torch.zeros(3, dtype=torch.long), tol=0.0)
    with pytest.raises(ValueError):
        sd.teacher_student_problem(n_samples=1)


def test_scaled_saddle_derivatives_match_autograd_and_sfn_escape_ignores_curvature():
    cost, derivatives = sd.scaled_saddle(0.3)
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grad, hess = derivatives(x)
    torch.testing.assert_close(grad, torch.func.vmap(torch.func.grad(cost))(x))
    torch.testing.assert_close(hess, torch.func.vmap(torch.func.hessian(cost))(x))
    steps = sd.escape_by_curvature("saddle-free Newton")
    assert (steps == steps[0]).all() and steps[0] > 0
    with pytest.raises(ValueError):
        sd.scaled_saddle(0.0)
    with pytest.raises(ValueError):
        sd.escape_by_curvature("momentum")


def test_argument_checks_name_the_argument():
    with pytest.raises(ValueError, match="delta must be <= radius"):
        sd.predicted_escape_steps([2.0], 0.1, 2.0, radius=1.0)
    with pytest.raises(ValueError, match="delta must hold numbers > 0"):
        sd.fit_log_slope(np.array([0.0, 1e-2]), np.array([3.0, 2.0]))
    with pytest.raises(TypeError, match="hess must be a floating-point tensor"):
        sd.step_direction("Newton", torch.ones(1, 2), torch.ones(1, 2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="distances must hold real numbers"):
        sd.random_starts(torch.zeros(2), ["far"])
    # the steppers' own calls are unchecked: a run whose rows become nan is frozen, not stopped
    run = sd.run_method(sd.saddle_cost, torch.tensor([[0.5, 1e-3]], dtype=torch.float64), "Newton", 1e3, 3)
    assert run.params.shape == (4, 1, 2)
