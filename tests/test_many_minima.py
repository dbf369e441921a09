"""Unit tests of optbook.many_minima against known answers (float64 oracles)."""

import math

import pytest
import torch

from optbook.many_minima import MANY_MINIMA, minima as mm, teacher_student as ts


def test_cost_matches_monte_carlo():
    V = ts.teacher(4)
    W = ts.xavier_students(2, 5, 4, seed=3)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400_000, 4, generator=gen, dtype=torch.float64)
    for r in range(2):
        diff = torch.relu(x @ W[r].T).sum(1) - torch.relu(x @ V.T).sum(1)
        mc = 0.5 * diff.pow(2)
        stderr = float(mc.std() / math.sqrt(len(mc)))
        assert abs(float(mc.mean()) - float(ts.population_cost(W, V)[r])) < 5 * stderr


def test_cost_at_zero_is_closed_form():
    k = 5
    V = ts.teacher(k)
    W = torch.full((1, 2, k), 1e-300, dtype=torch.float64)  # the student's terms vanish
    expected = 0.5 * (k / 2 + k * (k - 1) / (2 * math.pi))
    assert abs(float(ts.population_cost(W, V)) - expected) < 1e-12


def test_gradient_matches_autograd_and_finite_differences():
    V = ts.teacher(4)
    W = ts.xavier_students(3, 5, 4, seed=1)
    leaf = W.clone().requires_grad_(True)
    torch.stack([ts._smooth_cost(w, V) for w in leaf]).sum().backward()
    analytic = ts.population_gradient(W, V)
    assert torch.allclose(leaf.grad, analytic, atol=1e-12)
    eps, e = 1e-6, torch.zeros_like(W)
    e[0, 2, 1] = eps
    fd = (ts.population_cost(W + e, V) - ts.population_cost(W - e, V))[0] / (2 * eps)
    assert abs(float(fd) - float(analytic[0, 2, 1])) < 1e-8


def test_smooth_cost_equals_cost_and_hessian_matches_finite_differences():
    V = ts.teacher(3)
    W = ts.xavier_students(2, 4, 3, seed=2)
    assert torch.allclose(torch.stack([ts._smooth_cost(w, V) for w in W]), ts.population_cost(W, V), atol=1e-13)
    H = ts.hessians(W, V)
    eps = 1e-5
    for j in (0, 5, 11):
        e = torch.zeros(1, 12, dtype=torch.float64)
        e[0, j] = eps
        plus = ts.population_gradient((W[:1].flatten(1) + e).reshape(1, 4, 3), V).flatten()
        minus = ts.population_gradient((W[:1].flatten(1) - e).reshape(1, 4, 3), V).flatten()
        assert torch.allclose(H[0, j], (plus - minus) / (2 * eps), atol=1e-7)


def test_global_minimum_is_zero_with_a_strict_hessian():
    V = ts.teacher(6)
    assert float(ts.population_cost(V[None][:, [3, 1, 0, 5, 2, 4]], V)) < 1e-14
    assert float(mm.global_curvature(6)[0]) > 0.05


def test_newton_polish_finds_safran_shamirs_k6_minimum():
    """The published spurious minimum of k = n = 6 (cost 0.025081, lambda_min 0.0047), from its rounded layout."""
    k, odd = 6, 5
    W = torch.full((k, k), -0.0504, dtype=torch.float64)
    W[:, odd] = 0.3080
    W[range(k - 1), range(k - 1)] = 0.9867
    W[odd] = 0.2245
    W[odd, odd] = -0.6015
    V = ts.teacher(k)
    polished = ts.newton_polish(W[None], V, iterations=10)
    assert float(ts.population_gradient(polished, V).abs().max()) < 1e-12
    assert abs(float(ts.population_cost(polished, V)) - 0.025081) < 5e-6
    assert abs(float(torch.linalg.eigvalsh(ts.hessians(polished, V)[0])[0]) - 0.0047) < 5e-4


def test_descend_reduces_cost_and_leaves_the_start_alone():
    V = ts.teacher(3)
    W0 = ts.xavier_students(6, 3, 3, seed=0)
    copy = W0.clone()
    runs = ts.descend(W0, V, steps=300, record_every=100, fast_lr=0.3, fast_from=100)
    assert torch.equal(W0, copy)
    assert runs.loss.shape == (4, 6) and runs.params.shape == (4, 6, 9)
    assert bool((runs.loss[-1] < runs.loss[0]).all())


def test_distinct_points_and_alignment_undo_a_shuffle():
    W = ts.xavier_students(1, 5, 4, seed=7)[0]
    shuffled = W[[4, 2, 0, 1, 3]]
    assert torch.equal(mm.align_units(W, shuffled), W)
    assert mm.distinct_points(torch.stack([W, shuffled, W + 1.0]), 1e-9) == 2


def test_distinct_copy_has_the_same_cost_and_is_another_point():
    V = ts.teacher(3)
    W = torch.tensor([[1.0, 0.1, 0.2], [0.0, 0.9, 0.3], [0.1, 0.0, 0.7]], dtype=torch.float64)
    other = mm.distinct_copy(W, 1e-6)
    assert float((other - W).norm()) > 1e-6
    assert abs(float(ts.population_cost(other[None], V) - ts.population_cost(W[None], V))) < 1e-13


def test_line_and_curve_barriers():
    V = ts.teacher(3)
    same = mm.line_and_curve(V, V, V, points=5, steps=5)
    assert abs(float(same["line_barrier"])) < 1e-14 and abs(float(same["curve_barrier"])) < 1e-14
    # two distinct global minima of a 2-unit student of a 1-unit teacher are joined by a zero-cost
    # straight line (split the teacher unit into two parallel halves)
    V1 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    A = torch.tensor([[0.5, 0.0], [0.5, 0.0]], dtype=torch.float64)
    B = torch.tensor([[0.2, 0.0], [0.8, 0.0]], dtype=torch.float64)
    flat = mm.line_and_curve(A, B, V1, points=7, steps=3)
    assert float(flat["line"].abs().max()) < 1e-14


def test_rescaling_keeps_cost_and_inertia_changes_sharpness():
    V = ts.teacher(3)
    out = mm.rescaling(V.clone(), V, [0.25, 1.0, 4.0])
    assert float((out["cost"]).abs().max()) < 1e-13
    assert float(out["top"][0]) > 2 * float(out["top"][1])
    assert torch.allclose(out["invariant"], out["invariant"][1].expand(3), atol=1e-10)


def test_wilson_interval_known_values():
    low, high = mm.wilson_interval(0, 100, z=1.96)
    assert low == 0.0 and abs(high - 0.037) < 1e-3
    assert mm.wilson_interval(200, 200)[1] == 1.0


@pytest.mark.parametrize("call, error", [
    (lambda: ts.population_cost(torch.ones(2, 3), ts.teacher(3)), ValueError),
    (lambda: ts.population_cost("W", ts.teacher(3)), TypeError),
    (lambda: ts.population_cost(torch.ones(1, 2, 4, dtype=torch.float64), ts.teacher(3)), ValueError),
    (lambda: ts.descend(torch.ones(1, 2, 3, dtype=torch.float64), ts.teacher(3), lr=-1.0), ValueError),
    (lambda: ts.xavier_students(2, 2, 2, seed=1.5), TypeError),
    (lambda: mm.wilson_interval(5, 3), ValueError),
    (lambda: mm.run_width(3, 3, seed="0"), TypeError),
    (lambda: mm.rescaling(ts.teacher(2), ts.teacher(2), [0.0]), ValueError),
    (lambda: mm.align_units(torch.eye(2), torch.eye(3)), ValueError),
])
def test_arguments_are_checked_by_name(call, error):
    with pytest.raises(error):
        call()


def test_settings_are_frozen():
    with pytest.raises(Exception):
        MANY_MINIMA.restarts = 5


def test_digits_restarts_record_and_starts():
    import optbook as ob
    from optbook.many_minima import digits as dg

    starts = dg.default_starts((64, 4, 10), 3, seed=0)
    assert starts.shape == (3, 64 * 4 + 4 + 4 * 10 + 10)
    assert float(starts[:, : 64 * 4].abs().max()) <= 1 / 8
    runs = dg.digits_restarts(ob.digits(), width=4, restarts=3, seed=0, lr=0.5, steps=30, record_every=10)
    assert runs.steps.tolist() == [0, 10, 20, 30]
    assert torch.equal(runs.params[0], starts)
    assert bool((runs.loss[-1] < runs.loss[0]).all())
    with pytest.raises(ValueError):
        dg.digits_restarts(ob.digits(), width=4, restarts=3, seed=0, lr=0.5, steps=25, record_every=10)


def test_line_barriers_batch_matches_one_line_at_a_time():
    V = ts.teacher(3)
    A = ts.xavier_students(1, 3, 3, seed=0)[0]
    Bs = ts.xavier_students(4, 3, 3, seed=1)
    batch = mm.line_barriers(A, Bs, V, points=9)
    single = torch.stack([mm.line_and_curve(A, B, V, points=9, steps=1)["line_barrier"] for B in Bs])
    assert torch.allclose(batch, single, atol=1e-14)
