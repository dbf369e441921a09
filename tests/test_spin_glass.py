"""Unit tests for optbook.spin_glass: explicit-sum and finite-difference oracles in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from optbook.saddle_points import spin_glass as sg


@pytest.fixture(scope="module")
def small():
    j = sg.couplings(5, seed=3)
    s = sg.on_sphere(torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    return j, s


def test_couplings_are_symmetric(small):
    j, _ = small
    assert j.shape == (5, 5, 5)
    assert torch.allclose(j, j.permute(1, 0, 2)) and torch.allclose(j, j.permute(2, 1, 0))


def test_energy_matches_an_explicit_sum_over_unsymmetrized_couplings():
    n = 4
    raw = torch.randn(n, n, n, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    s = sg.on_sphere(torch.randn(1, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    j = sg.couplings(n, seed=7)  # the same draw, symmetrized
    explicit = sum(raw[a, b, c] * s[0, a] * s[0, b] * s[0, c] for a in range(n) for b in range(n) for c in range(n))
    assert float(sg.energy(j, s)[0]) == pytest.approx(float(explicit) / n / n, rel=1e-12)
    assert torch.allclose(sg.energy(j, -s), -sg.energy(j, s))  # H is odd


def test_riemannian_gradient_is_the_projected_autograd_gradient(small):
    j, s = small
    n = s.shape[-1]
    leaf = s.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((n * sg.energy(j, leaf)).sum(), leaf)
    expected = g - (g * s).sum(-1, keepdim=True) * s / n
    assert torch.allclose(sg.riemannian_gradient(j, s), expected, atol=1e-12)
    assert torch.allclose((sg.riemannian_gradient(j, s) * s).sum(-1), torch.zeros(4, dtype=torch.float64), atol=1e-10)


def test_riemannian_hessian_matches_second_derivative_along_great_circles(small):
    j, s = small
    n = s.shape[-1]
    hess = sg.riemannian_hessian(j, s)
    u = torch.randn(4, n, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    u = u - (u * s).sum(-1, keepdim=True) * s / n
    u = u / u.norm(dim=-1, keepdim=True)
    h = 1e-4

    def total(t):
        return n * sg.energy(j, s * math.cos(t) + math.sqrt(n) * u * math.sin(t))

    second = (total(h) - 2 * total(0.0) + total(-h)) / h**2
    v = math.sqrt(n) * u
    quadratic_form = torch.einsum("bi,bij,bj->b", v, hess, v)
    assert torch.allclose(second, quadratic_form, rtol=1e-5, atol=1e-5)


def test_tangent_eigenvalues_drop_the_normal_direction(small):
    j, s = small
    lam = sg.tangent_eigenvalues(j, s)
    assert lam.shape == (4, 4)
    full = torch.linalg.eigvalsh(sg.riemannian_hessian(j, s))
    for b in range(4):  # the full spectrum is the tangent one plus an exact zero
        merged = torch.sort(torch.cat([lam[b], torch.zeros(1, dtype=torch.float64)])).values
        assert torch.allclose(merged, full[b], atol=1e-9)


def test_theory_index_and_semicircle():
    assert sg.theory_index_fraction(-1.7) == 0.0 and sg.theory_index_fraction(1.7) == 1.0
    assert float(sg.theory_index_fraction(0.0)) == pytest.approx(0.5)
    assert float(sg.theory_index_fraction(sg.THRESHOLD_ENERGY)) == pytest.approx(0.0, abs=1e-12)
    values = sg.theory_index_fraction(np.linspace(-2, 2, 50))
    assert np.all(np.diff(values) >= 0)
    x = np.linspace(-20, 20, 200001)
    assert np.trapezoid(sg.semicircle_density(x, -0.8), x) == pytest.approx(1.0, abs=1e-4)
    # the fraction of the density below zero is the index
    below = x < 0
    assert np.trapezoid(sg.semicircle_density(x[below], -0.8), x[below]) == pytest.approx(float(sg.theory_index_fraction(-0.8)), abs=1e-3)


def test_find_critical_points_returns_distinct_converged_points():
    j = sg.couplings(8, seed=1)
    points = sg.find_critical_points(j, n_starts=60, max_warmup=50, seed=0)
    assert len(points.energy) > 5
    assert np.all(points.grad_norm < 1e-9)
    assert np.all(np.diff(points.energy) >= 0)
    grad = sg.riemannian_gradient(j, points.spins).norm(dim=-1)
    assert float(grad.max()) < 1e-9
    overlaps = (points.spins @ points.spins.T) / 8 - torch.eye(len(points.energy), dtype=torch.float64) * 2
    assert float(overlaps.max()) < 1 - 1e-6  # no point twice
    assert np.all((points.index_fraction >= 0) & (points.index_fraction <= 1))
    assert points.n_minima + points.n_saddles <= len(points.energy)


def test_census_shapes_and_counts():
    result = sg.census([3, 4], disorder_seeds=(0, 1), n_starts=200)
    assert result.minima.shape == (2, 2) and result.saddles.shape == (2, 2)
    assert (result.minima >= 1).all()  # H has a global minimum on the sphere
    assert result.saturated.dtype == bool


def test_binned_index():
    j = sg.couplings(10, seed=0)
    points = sg.find_critical_points(j, n_starts=80, max_warmup=100, seed=1)
    bins = sg.binned_index_fraction(points, [-2.0, -1.0, 0.0, 1.0], min_count=1)
    assert set(bins) == {"energy", "index_fraction", "theory", "count"}
    assert bins["count"].sum() <= len(points.energy)
    with pytest.raises(ValueError):
        sg.binned_index_fraction(points, [0.0, -1.0])


def test_bad_arguments_raise():
    j = sg.couplings(4, seed=0)
    with pytest.raises(ValueError):
        sg.couplings(1)
    with pytest.raises(ValueError):
        sg.energy(j, torch.ones(2, 5, dtype=torch.float64))
    with pytest.raises(TypeError):
        sg.energy(j, [[1.0, 0.0, 0.0, 0.0]])
    with pytest.raises(ValueError):
        sg.on_sphere(torch.zeros(1, 4))
    with pytest.raises(ValueError):
        sg.find_critical_points(torch.zeros(4, 4, 3, dtype=torch.float64))
    with pytest.raises(ValueError):
        sg.find_critical_points(j, n_starts=0)
    with pytest.raises(ValueError):
        sg.find_critical_points(j, lr=-0.1)
    with pytest.raises(ValueError):
        sg.find_critical_points(j, tol=0.0)
    with pytest.raises(ValueError):
        sg.theory_index_fraction(float("nan"))
    with pytest.raises(ValueError):
        sg.census([])
    with pytest.raises(ValueError):
        sg.census([2])


def test_mirror_images_have_the_negated_spectrum():
    # H is odd: at -s the gradient is the same and the Riemannian Hessian is negated
    j = sg.couplings(6, seed=0)
    points = sg.find_critical_points(j, n_starts=40, max_warmup=20, seed=0)
    mirror = sg.mirror_eigenvalues(j, points)
    torch.testing.assert_close(mirror, -points.eigenvalues.flip(-1), atol=1e-8, rtol=0)


def test_argument_checks_name_the_argument():
    j = sg.couplings(5, seed=0)
    with pytest.raises(ValueError, match="couplings must not be all zero"):
        sg.find_critical_points(torch.zeros(3, 3, 3, dtype=torch.float64), n_starts=2)
    with pytest.raises(ValueError, match="couplings must be a cube"):
        sg.energy(torch.zeros(5, 5, 4, dtype=torch.float64), torch.ones(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="spins must have 5 columns"):
        sg.energy(j, torch.ones(2, 4, dtype=torch.float64))
    points = sg.find_critical_points(j, n_starts=10, max_warmup=5, seed=0)
    with pytest.raises(ValueError, match="couplings has 6 spins, but points has 5"):
        sg.mirror_eigenvalues(sg.couplings(6), points)
    with pytest.raises(TypeError, match="points must be a CriticalPoints"):
        sg.binned_index_fraction({"energy": [0.0]}, edges=[-1.0, 0.0])
    with pytest.raises(TypeError, match=r"disorder_seeds\[0\] must be an integer"):
        sg.census([3], disorder_seeds=(0.5,))
