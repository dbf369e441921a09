"""Lanczos, dense spectra, Hutchinson's trace and the Morse index against exact answers."""

import pytest
import torch

import optbook as ob


def test_lanczos_on_known_spectrum_finds_both_ends():
    eigenvalues = torch.linspace(-3.0, 10.0, 200, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(200, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    a = q @ torch.diag(eigenvalues) @ q.T
    spec = ob.lanczos(lambda v: a @ v, 200, k=2, which="both", max_iter=200, tol=1e-10)
    assert spec.converged
    assert spec.smallest == pytest.approx(-3.0, rel=1e-8)
    assert spec.largest == pytest.approx(10.0, rel=1e-8)
    top = spec.eigenvectors[-1]
    assert torch.allclose(a @ top, 10.0 * top, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessian_extremes_agree_with_eigvalsh_on_small_nets(seed):
    data = ob.digits(dtype=torch.float64)
    net = ob.mlp([64, 8, 10], seed=seed, dtype=torch.float64)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train[:300], data.y_train[:300])
    theta = ob.get_flat_params(net)
    exact = ob.hessian_eigenvalues(loss, theta)
    spec = ob.hessian_extremes(loss, theta, k=2, max_iter=300, tol=1e-10, seed=seed)
    assert spec.converged
    assert torch.allclose(spec.eigenvalues[:2], exact[:2], rtol=1e-5)
    assert torch.allclose(spec.eigenvalues[-2:], exact[-2:], rtol=1e-5)
    assert ob.top_eigenvalue(loss, theta, tol=1e-10, max_iter=300) == pytest.approx(float(exact[-1]), rel=1e-5)
    assert spec.n_matvec < theta.numel()


def test_saddle_index_and_hutchinson():
    saddle = lambda x: x[0] ** 2 - x[1] ** 2
    origin = torch.zeros(2, dtype=torch.float64)
    eigenvalues = ob.hessian_eigenvalues(saddle, origin)
    assert torch.allclose(eigenvalues, torch.tensor([-2.0, 2.0], dtype=torch.float64))
    assert ob.index_fraction(eigenvalues) == 0.5
    assert ob.morse_index(eigenvalues) == eigenvalues.numel() // 2
    mean, stderr = ob.hutchinson_trace(lambda x: 0.5 * (x**2 * torch.arange(1.0, 11.0, dtype=torch.float64)).sum(),
                                       torch.zeros(10, dtype=torch.float64), n_samples=10)
    assert mean == pytest.approx(55.0)  # Rademacher probes are exact for a diagonal Hessian
    assert stderr == pytest.approx(0.0, abs=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="which"):
        ob.lanczos(lambda v: v, 5, which="middle")
    with pytest.raises(ValueError, match="k=9"):
        ob.lanczos(lambda v: v, 5, k=9)
    with pytest.raises(TypeError, match="dim"):
        ob.lanczos(lambda v: v, 2.5)
    with pytest.raises(ValueError, match="matvec returned non-finite"):
        ob.lanczos(lambda v: v * float("nan"), 5)
    with pytest.raises(ValueError, match="eigenvalues"):
        ob.morse_index(torch.tensor([], dtype=torch.float64))
    with pytest.raises(ValueError, match="n_samples"):
        ob.hutchinson_trace(lambda x: (x**2).sum(), torch.zeros(3), n_samples=1)
