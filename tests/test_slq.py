"""Unit tests for stochastic Lanczos quadrature (optbook.spectrum.slq_density): checked against dense spectra."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optbook as ob
from optbook.spectrum import SpectralDensity, hessian_density, slq_density


def _mlp_hessian(hidden: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(60, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (60,), generator=g)
    net = ob.mlp([5, hidden, 3], "tanh", seed=seed, dtype=torch.float64)
    loss = ob.functional_loss(net, nn.functional.cross_entropy, x, y)
    theta = ob.get_flat_params(net)
    return loss, theta, ob.hessian(loss, theta)


def _probes(n_probes: int, dim: int, seed: int) -> torch.Tensor:
    """The documented probes of slq_density, normalized."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(0, 2, (n_probes, dim), generator=g).to(torch.float64) * 2 - 1
    return z / dim**0.5


def test_with_m_equal_to_p_every_rule_recovers_the_spectrum():
    loss, theta, h = _mlp_hessian(hidden=4)  # P = 39
    exact = torch.linalg.eigvalsh(h)
    density = hessian_density(loss, theta, n_probes=3, n_iter=theta.numel(), seed=1)
    assert torch.allclose(density.weights.sum(1), torch.ones(3, dtype=torch.float64), atol=1e-12)
    seen = density.nodes[density.weights > 1e-8]
    gaps = (seen[:, None] - exact[None, :]).abs().min(1).values
    assert float(gaps.max()) < 1e-6 * float(exact.abs().max())


def test_moments_are_unbiased_within_their_standard_errors():
    loss, theta, h = _mlp_hessian(hidden=24)  # P = 219, m = 30 < P
    exact = torch.linalg.eigvalsh(h)
    density = hessian_density(loss, theta, n_probes=40, n_iter=30, seed=0)
    for k in (1, 2, 3, 4):  # Gauss quadrature is exact to degree 2m - 1: only the probes' noise remains
        truth = float((exact**k).mean())
        assert density.moment_stderr(k) > 0
        assert abs(density.moment(k) - truth) < 4 * density.moment_stderr(k), k
    assert density.moment(0) == pytest.approx(1.0, abs=1e-12)


def test_each_rules_cdf_is_within_one_weight_of_its_probes_cdf():
    """Chebyshev-Markov-Stieltjes: between two nodes the true (probe-weighted) CDF differs from the
    quadrature's by at most the larger of the two nodes' weights."""
    loss, theta, h = _mlp_hessian(hidden=24)
    values, vectors = torch.linalg.eigh(h)
    density = hessian_density(loss, theta, n_probes=5, n_iter=25, seed=2)
    mass = (_probes(5, theta.numel(), 2) @ vectors) ** 2  # [probes, P]: v's weight on each eigenvector
    points = torch.quantile(values, torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], dtype=torch.float64))
    for i in range(5):
        single = SpectralDensity(density.nodes[i : i + 1], density.weights[i : i + 1], density.dim, 0)
        for x in points:
            truth = float(mass[i][values <= x].sum())
            index = int(torch.searchsorted(density.nodes[i], x))
            nearby = density.weights[i, max(index - 1, 0) : index + 1].max()
            assert abs(float(single.cdf(x)) - truth) <= float(nearby) + 1e-10


def test_the_averaged_cdf_and_smoothed_density_match_the_dense_spectrum():
    loss, theta, h = _mlp_hessian(hidden=24)
    exact = torch.linalg.eigvalsh(h)
    density = hessian_density(loss, theta, n_probes=30, n_iter=40, seed=0)
    points = torch.quantile(exact, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
    dense_cdf = torch.tensor([float((exact <= x).double().mean()) for x in points], dtype=torch.float64)
    # tolerance: the largest quadrature weight (CMS, above) plus 4 standard errors of a Rademacher
    # estimate of tr(projector) / P (variance of z^T Pi z / P at most 2 rank / P^2 <= 2 / P per probe)
    room = float(density.weights.max(1).values.mean()) + 4 * (2 / theta.numel() / 30) ** 0.5
    assert (density.cdf(points) - dense_cdf).abs().max() < room
    grid = torch.linspace(float(exact[0]) - 1, float(exact[-1]) + 1, 400, dtype=torch.float64)
    sigma = 0.05 * float(exact[-1] - exact[0])
    smooth = SpectralDensity(exact[None, :], torch.full((1, exact.numel()), 1 / exact.numel(), dtype=torch.float64),
                             exact.numel(), 0).density(grid, sigma)
    l1 = float((density.density(grid, sigma) - smooth).abs().sum() * (grid[1] - grid[0]))
    assert l1 < 0.25  # both integrate to ~1; at this width the curves agree to a quarter of their mass


def test_matvec_and_matmat_give_the_same_rules_and_probes_are_grouped_to_fit_memory(monkeypatch):
    d = torch.linspace(-1.0, 5.0, 50, dtype=torch.float64)
    one = slq_density(lambda v: d * v, 50, n_probes=4, n_iter=10, seed=3)
    many = slq_density(lambda v: d * v, 50, n_probes=4, n_iter=10, seed=3, matmat=lambda vs: vs * d)
    assert torch.allclose(one.nodes, many.nodes) and torch.allclose(one.weights, many.weights)
    monkeypatch.setattr(ob.spectrum, "SLQ_BASIS_BYTES", 8 * 10 * 50)  # one probe per group
    grouped = slq_density(lambda v: d * v, 50, n_probes=4, n_iter=10, seed=3, matmat=lambda vs: vs * d)
    assert torch.allclose(one.nodes, grouped.nodes) and one.n_matvec == 40


def test_bad_input_fails_loudly():
    with pytest.raises(TypeError, match="matvec"):
        slq_density("A", 10)
    with pytest.raises(ValueError, match="n_probes"):
        slq_density(lambda v: v, 10, n_probes=0)
    with pytest.raises(ValueError, match="non-finite"):
        slq_density(lambda v: v * float("nan"), 10)
    with pytest.raises(ValueError, match="sigma"):
        slq_density(lambda v: v, 10).density(torch.zeros(3), sigma=0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_hessian_density_on_a_gpu_matches_the_cpu():
    loss, theta, _ = _mlp_hessian(hidden=8)
    cpu = hessian_density(loss, theta, n_probes=3, n_iter=20, seed=0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (60,), generator=g)
    net = ob.mlp([5, 8, 3], "tanh", seed=0, dtype=torch.float64).cuda()
    gpu = hessian_density(ob.functional_loss(net, nn.functional.cross_entropy, x.cuda(), y.cuda()),
                          ob.get_flat_params(net), n_probes=3, n_iter=20, seed=0)
    assert torch.allclose(gpu.nodes, cpu.nodes, rtol=1e-6, atol=1e-9)
