"""Eigenvalues of the Hessian: dense for small models, Lanczos for large ones, and the index.

`lanczos` needs only Hessian-vector products. With full re-orthogonalization it finds both ends
of the spectrum (the largest and the most negative eigenvalue) in a few dozen products, where
power iteration gets only the one of largest magnitude and converges slowly when the top two
are close (Golub & Van Loan, ch. 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ._validate import check_callable, check_positive, check_positive_int, check_seed, check_tensor
from .curvature import HessianOperator, hessian
from .params import LossFn

MatVec = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Spectrum:
    """Extreme eigenvalues (ascending) with their eigenvectors and what they cost."""

    eigenvalues: Tensor
    eigenvectors: Tensor
    n_matvec: int
    converged: bool

    @property
    def largest(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def smallest(self) -> float:
        return float(self.eigenvalues[0])


def lanczos(
    matvec: MatVec,
    dim: int,
    k: int = 1,
    which: str = "both",
    max_iter: int = 100,
    tol: float = 1e-7,
    generator: torch.Generator | None = None,
) -> Spectrum:
    """The ``k`` largest and/or smallest eigenvalues of a symmetric operator by Lanczos.

    ``which`` is ``"largest"``, ``"smallest"`` or ``"both"`` (k of each end). Iterates until the
    residual bound |beta_m s_mi| of every wanted Ritz pair is below ``tol * max|theta|``.
    """
    check_callable("matvec", matvec)
    check_positive_int("dim", dim)
    check_positive_int("k", k)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    check_positive_int("max_iter", max_iter)
    check_positive("tol", tol)
    if which not in ("largest", "smallest", "both"):
        raise ValueError(f"which must be 'largest', 'smallest' or 'both', got {which!r}")
    max_iter = min(max_iter, dim)
    if k > max_iter:
        raise ValueError(f"k={k} exceeds the Krylov dimension available ({max_iter})")
    basis = torch.zeros(max_iter + 1, dim, dtype=torch.float64)
    q = torch.randn(dim, dtype=torch.float64, generator=generator)
    basis[0] = q / q.norm()
    alphas, betas = [], []
    converged = False
    for m in range(max_iter):
        w = matvec(basis[m]).to(basis.device, torch.float64)  # the operator may live on a GPU
        if not bool(torch.isfinite(w).all()):
            raise ValueError("matvec returned non-finite values")
        alphas.append(float(basis[m] @ w))
        w = w - basis[: m + 1].T @ (basis[: m + 1] @ w)  # full re-orthogonalization,
        w = w - basis[: m + 1].T @ (basis[: m + 1] @ w)  # twice for stability
        beta = float(w.norm())
        ritz, vecs = _tridiagonal_eigh(alphas, betas)
        wanted = _wanted(len(ritz), k, which)
        scale = max(float(ritz.abs().max()), 1e-300)
        residuals = (beta * vecs[-1, wanted]).abs()
        if (m + 1 >= k and bool((residuals <= tol * scale).all())) or beta < 1e-12 * scale or m + 1 == dim:
            converged = True
            break
        betas.append(beta)
        basis[m + 1] = w / beta
    n = len(alphas)
    eigvecs = basis[:n].T @ vecs[:, wanted]
    return Spectrum(ritz[wanted], eigvecs.T.contiguous(), n_matvec=n, converged=converged)


def _tridiagonal_eigh(alphas: list[float], betas: list[float]) -> tuple[Tensor, Tensor]:
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if betas:
        off = torch.tensor(betas, dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return torch.linalg.eigh(t)


def _wanted(n: int, k: int, which: str) -> list[int]:
    k = min(k, n)
    if which == "largest":
        return list(range(n - k, n))
    if which == "smallest":
        return list(range(k))
    return sorted(set(range(k)) | set(range(n - k, n)))


def hessian_extremes(
    loss: LossFn, theta: Tensor, k: int = 1, max_iter: int = 100, tol: float = 1e-7, seed: int = 0
) -> Spectrum:
    """The k largest and k smallest Hessian eigenvalues at ``theta`` by Lanczos on exact HVPs."""
    check_positive_int("k", k)
    check_positive_int("max_iter", max_iter)
    check_positive("tol", tol)
    check_seed("seed", seed)
    op = HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    return lanczos(op, op.dim, k=k, which="both", max_iter=max_iter, tol=tol, generator=generator)


def top_eigenvalue(loss: LossFn, theta: Tensor, max_iter: int = 100, tol: float = 1e-6, seed: int = 0) -> float:
    """The sharpness lambda_max(H) at ``theta`` (Lanczos)."""
    check_positive_int("max_iter", max_iter)
    check_positive("tol", tol)
    check_seed("seed", seed)
    op = HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    return lanczos(op, op.dim, k=1, which="largest", max_iter=max_iter, tol=tol, generator=generator).largest


def hessian_eigenvalues(loss: LossFn, theta: Tensor) -> Tensor:
    """All eigenvalues (ascending, float64) of the dense Hessian: for small models only."""
    h = hessian(loss, theta).to(torch.float64)
    return torch.linalg.eigvalsh(0.5 * (h + h.T))


def hutchinson_trace(
    loss: LossFn, theta: Tensor, n_samples: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Hutchinson's estimate of tr(H) with Rademacher probes: (mean, standard error)."""
    check_positive_int("n_samples", n_samples, minimum=2)
    check_seed("seed", seed)
    op = HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n_samples):
        z = torch.randint(0, 2, (op.dim,), generator=generator).to(op.dtype) * 2 - 1
        samples.append(float(z @ op.matvec(z)))
    values = torch.tensor(samples, dtype=torch.float64)
    return float(values.mean()), float(values.std() / n_samples**0.5)


def morse_index(eigenvalues: Tensor, tol: float = 1e-8) -> int:
    """The index: how many eigenvalues lie below ``-tol * max|lambda|`` (0 at a minimum, P at a maximum).

    Examples
    --------
    >>> morse_index(torch.tensor([-2.0, -1e-12, 1.0, 3.0]))
    1
    """
    check_tensor("eigenvalues", eigenvalues, ndim=1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ValueError(f"tol must be a number in [0, 1), got {tol!r}")  # a negative tol would count positives
    scale = float(eigenvalues.abs().max())
    return int((eigenvalues < -tol * scale).sum())


def index_fraction(eigenvalues: Tensor, tol: float = 1e-8) -> float:
    """The index fraction alpha: the index divided by the number of eigenvalues (0 at a minimum, 1 at a maximum).

    Examples
    --------
    >>> index_fraction(torch.tensor([-2.0, -1.0, 1.0, 3.0]))
    0.5
    """
    return morse_index(eigenvalues, tol) / eigenvalues.numel()
