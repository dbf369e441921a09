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
    """Extreme eigenvalues (ascending) with their eigenvectors and what they cost.

    Returned by `lanczos`, `hessian_extremes`.

    Attributes
    ----------
    eigenvalues : Tensor, shape (m,)
        The wanted Ritz values, ascending, float64 (m = k for one end, up to 2k for both).
    eigenvectors : Tensor, shape (m, P)
        Unit Ritz vectors, row i for ``eigenvalues[i]``.
    n_matvec : int
        Operator products taken (the Lanczos iterations).
    converged : bool
        Whether every wanted Ritz pair met the tolerance (or the Krylov space was exhausted).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> s = ob.Spectrum(torch.tensor([-1.0, 3.0]), torch.eye(2), n_matvec=2, converged=True)
    >>> s.smallest, s.largest
    (-1.0, 3.0)
    """

    eigenvalues: Tensor
    eigenvectors: Tensor
    n_matvec: int
    converged: bool

    @property
    def largest(self) -> float:
        """The largest eigenvalue found, ``eigenvalues[-1]``, as a float.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> ob.Spectrum(torch.tensor([-1.0, 3.0]), torch.eye(2), n_matvec=2, converged=True).largest
        3.0
        """
        return float(self.eigenvalues[-1])

    @property
    def smallest(self) -> float:
        """The smallest (most negative) eigenvalue found, ``eigenvalues[0]``, as a float.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> ob.Spectrum(torch.tensor([-1.0, 3.0]), torch.eye(2), n_matvec=2, converged=True).smallest
        -1.0
        """
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
    The Krylov basis is fully re-orthogonalized (twice per step) and kept in float64.

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` for a symmetric A, taking and returning a Tensor of shape (dim,) (float64 in;
        any float dtype and device out), e.g. a `optbook.HessianOperator`.
    dim : int
        The size of A, >= 1.
    k : int, optional
        How many eigenvalues at each wanted end (default 1).
    which : {"largest", "smallest", "both"}, optional
        Which end(s) of the spectrum (default ``"both"``).
    max_iter : int, optional
        Most products to take (capped at ``dim``); default 100.
    tol : float, optional
        Relative residual tolerance, > 0; default 1e-7.
    generator : torch.Generator or None, optional
        Draws the random start vector (None: torch's global generator).

    Returns
    -------
    Spectrum
        The wanted eigenvalues (ascending), their vectors, the number of products and whether it
        converged within ``max_iter``.

    Raises
    ------
    TypeError
        If ``matvec`` is not callable, ``generator`` is not a ``torch.Generator``, or ``dim``,
        ``k``, ``max_iter`` are not integers or ``tol`` not a number.
    ValueError
        If ``dim``, ``k``, ``max_iter`` or ``tol`` are not positive, ``which`` is unknown, ``k``
        exceeds the Krylov dimension ``min(max_iter, dim)``, or ``matvec`` returns non-finite values.

    References
    ----------
    .. [1] C. Lanczos, "An iteration method for the solution of the eigenvalue problem of linear
       differential and integral operators", J. Res. Nat. Bur. Standards, 1950
       (``lanczos1950iteration``).
    .. [2] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    Both ends of a diagonal operator with eigenvalues evenly spread over [-1, 10]:

    >>> import torch
    >>> import optbook as ob
    >>> d = torch.linspace(-1.0, 10.0, 200, dtype=torch.float64)
    >>> s = ob.lanczos(lambda v: d * v, 200, k=2, generator=torch.Generator().manual_seed(0))
    >>> [round(x, 6) for x in s.eigenvalues.tolist()] == [round(x, 6) for x in d[[0, 1, -2, -1]].tolist()]
    True
    >>> s.converged, s.eigenvectors.shape
    (True, torch.Size([4, 200]))
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
    """The k largest and k smallest Hessian eigenvalues at ``theta`` by Lanczos on exact HVPs.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector.
    k : int, optional
        How many eigenvalues at each end (default 1).
    max_iter : int, optional
        Most Hessian-vector products (default 100).
    tol : float, optional
        Relative residual tolerance of `lanczos` (default 1e-7).
    seed : int, optional
        Seeds the random start vector (default 0).

    Returns
    -------
    Spectrum
        Up to 2k eigenvalues (ascending) with vectors; ``n_matvec`` is the number of HVPs.

    Raises
    ------
    TypeError
        If ``loss`` is not callable, ``theta`` is not a floating-point tensor, or ``k``,
        ``max_iter``, ``seed`` are not integers or ``tol`` not a number.
    ValueError
        If an argument is out of range, ``theta`` is not a finite vector of the right length, or
        ``loss`` is not a finite scalar at ``theta``.

    References
    ----------
    .. [1] C. Lanczos, "An iteration method for the solution of the eigenvalue problem of linear
       differential and integral operators", J. Res. Nat. Bur. Standards, 1950
       (``lanczos1950iteration``).
    .. [2] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> J = ob.functional_loss(net, ob.squared_error, x, y[:, None])
    >>> theta = ob.get_flat_params(net)
    >>> ends = ob.hessian_extremes(J, theta).eigenvalues
    >>> torch.allclose(ends, ob.hessian_eigenvalues(J, theta)[[0, -1]], atol=1e-6)
    True
    """
    check_positive_int("k", k)
    check_positive_int("max_iter", max_iter)
    check_positive("tol", tol)
    check_seed("seed", seed)
    op = HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    return lanczos(op, op.dim, k=k, which="both", max_iter=max_iter, tol=tol, generator=generator)


def top_eigenvalue(loss: LossFn, theta: Tensor, max_iter: int = 100, tol: float = 1e-6, seed: int = 0) -> float:
    """The sharpness lambda_max(H) at ``theta`` (Lanczos).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector.
    max_iter : int, optional
        Most Hessian-vector products (default 100).
    tol : float, optional
        Relative residual tolerance of `lanczos` (default 1e-6).
    seed : int, optional
        Seeds the random start vector (default 0).

    Returns
    -------
    float
        The largest eigenvalue of the Hessian at ``theta``.

    Raises
    ------
    TypeError, ValueError
        As `hessian_extremes`.

    References
    ----------
    .. [1] C. Lanczos, "An iteration method for the solution of the eigenvalue problem of linear
       differential and integral operators", J. Res. Nat. Bur. Standards, 1950
       (``lanczos1950iteration``).
    .. [2] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d): a saddle of index 1
    >>> round(ob.top_eigenvalue(J, torch.ones(4, dtype=torch.float64)), 6)
    3.0
    """
    check_positive_int("max_iter", max_iter)
    check_positive("tol", tol)
    check_seed("seed", seed)
    op = HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    return lanczos(op, op.dim, k=1, which="largest", max_iter=max_iter, tol=tol, generator=generator).largest


def hessian_eigenvalues(loss: LossFn, theta: Tensor) -> Tensor:
    """All eigenvalues (ascending, float64) of the dense Hessian: for small models only.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector.

    Returns
    -------
    Tensor, shape (P,)
        The eigenvalues of the symmetrized Hessian, ascending, float64.

    Raises
    ------
    TypeError, ValueError
        As `optbook.hessian`.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d): a saddle of index 1
    >>> ob.hessian_eigenvalues(J, torch.ones(4, dtype=torch.float64)).tolist()
    [-1.0, 0.5, 2.0, 3.0]
    """
    h = hessian(loss, theta).to(torch.float64)
    return torch.linalg.eigvalsh(0.5 * (h + h.T))


def hutchinson_trace(
    loss: LossFn, theta: Tensor, n_samples: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Hutchinson's estimate of tr(H) with Rademacher probes: (mean, standard error).

    Each probe z has independent entries +-1, so E[z^T H z] = tr(H); one probe costs one
    Hessian-vector product.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector.
    n_samples : int, optional
        Number of probes, >= 2 (default 100).
    seed : int, optional
        Seeds the probes (default 0).

    Returns
    -------
    mean : float
        The estimate of tr(H).
    stderr : float
        Its standard error, std(z^T H z) / sqrt(n_samples).

    Raises
    ------
    TypeError
        If ``n_samples`` or ``seed`` is not an integer, or ``loss``/``theta`` are invalid.
    ValueError
        If ``n_samples`` < 2, ``seed`` < 0, or ``theta``/``loss`` fail their checks.

    References
    ----------
    .. [1] M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
       Laplacian smoothing splines", Comm. Statist. Simulation Comput., 1989
       (``hutchinson1989stochastic``).
    .. [2] Z. Yao et al., "PyHessian: neural networks through the lens of the Hessian", 2020
       (``yao2020pyhessian``).

    Examples
    --------
    For a diagonal Hessian every probe gives z^T H z = tr(H) exactly (z_i^2 = 1), so the
    standard error is 0:

    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d): a saddle of index 1
    >>> mean, stderr = ob.hutchinson_trace(J, torch.ones(4, dtype=torch.float64), n_samples=10)
    >>> round(mean, 6), round(stderr, 6)
    (4.5, 0.0)
    """
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

    Parameters
    ----------
    eigenvalues : Tensor, shape (P,)
        Finite Hessian eigenvalues (any order), e.g. from `hessian_eigenvalues`.
    tol : float, optional
        Relative threshold in [0, 1): eigenvalues within ``tol * max|lambda|`` of zero count as
        flat, not negative (default 1e-8).

    Returns
    -------
    int
        The number of clearly negative eigenvalues: the Morse index of the critical point.

    Raises
    ------
    TypeError
        If ``eigenvalues`` is not a tensor.
    ValueError
        If ``eigenvalues`` is not 1-D, empty or non-finite, or ``tol`` is not in [0, 1).

    References
    ----------
    .. [1] Y. Dauphin et al., "Identifying and attacking the saddle point problem in
       high-dimensional non-convex optimization", NeurIPS 2014 (``dauphin2014identifying``).

    Examples
    --------
    >>> morse_index(torch.tensor([-2.0, -1e-12, 1.0, 3.0]))
    1
    >>> import optbook as ob
    >>> d = torch.tensor([-1.0, 0.5, 2.0, 3.0], dtype=torch.float64)
    >>> ob.morse_index(ob.hessian_eigenvalues(lambda x: 0.5 * (x * x * d).sum(), torch.zeros(4, dtype=torch.float64)))
    1
    """
    check_tensor("eigenvalues", eigenvalues, ndim=1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ValueError(f"tol must be a number in [0, 1), got {tol!r}")  # a negative tol would count positives
    scale = float(eigenvalues.abs().max())
    return int((eigenvalues < -tol * scale).sum())


def index_fraction(eigenvalues: Tensor, tol: float = 1e-8) -> float:
    """The index fraction alpha: the index divided by the number of eigenvalues (0 at a minimum, 1 at a maximum).

    Parameters
    ----------
    eigenvalues : Tensor, shape (P,)
        Finite Hessian eigenvalues (any order).
    tol : float, optional
        Relative threshold in [0, 1), as in `morse_index` (default 1e-8).

    Returns
    -------
    float
        ``morse_index(eigenvalues, tol) / P``, in [0, 1].

    Raises
    ------
    TypeError, ValueError
        As `morse_index`.

    References
    ----------
    .. [1] Y. Dauphin et al., "Identifying and attacking the saddle point problem in
       high-dimensional non-convex optimization", NeurIPS 2014 (``dauphin2014identifying``).
    .. [2] A. J. Bray and D. S. Dean, "Statistics of critical points of Gaussian fields on
       large-dimensional spaces", Phys. Rev. Lett., 2007 (``bray2007statistics``).

    Examples
    --------
    >>> index_fraction(torch.tensor([-2.0, -1.0, 1.0, 3.0]))
    0.5
    >>> index_fraction(torch.tensor([1.0, 2.0])), index_fraction(torch.tensor([-1.0, -2.0]))
    (0.0, 1.0)
    """
    return morse_index(eigenvalues, tol) / eigenvalues.numel()


# --- Spectral density by stochastic Lanczos quadrature -------------------------------------------

@dataclass(frozen=True)
class SpectralDensity:
    """The eigenvalue density of a symmetric operator as Gauss quadrature rules, one per random probe.

    Probe i gives nodes theta_ij (Ritz values) and weights w_ij (squared first components of the
    tridiagonal matrix's eigenvectors, summing to 1) such that sum_j w_ij f(theta_ij) approximates
    v_i^T f(A) v_i, exactly for polynomials f of degree < 2m; averaged over Rademacher probes v_i
    this estimates (1/P) tr f(A) = the integral of f against the eigenvalue density.

    Attributes
    ----------
    nodes : Tensor, shape (n_probes, m)
        Ritz values of each probe's Lanczos run, float64.
    weights : Tensor, shape (n_probes, m)
        Their quadrature weights (each row sums to 1).
    dim : int
        P, the operator's size.
    n_matvec : int
        Operator products taken (n_probes * m).

    References
    ----------
    .. [1] B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net optimization via
       Hessian eigenvalue density", ICML 2019 (``ghorbani2019investigation``).
    .. [2] G. H. Golub and G. Meurant, "Matrices, Moments and Quadrature with Applications", 2010
       (``golub2010matrices``).

    Examples
    --------
    >>> import torch
    >>> d = SpectralDensity(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.5, 0.5]]), dim=2, n_matvec=2)
    >>> d.moment(1), d.moment(2), d.cdf(torch.tensor([0.0, 2.0, 5.0])).tolist()
    (2.0, 5.0, [0.0, 0.5, 1.0])
    """

    nodes: Tensor
    weights: Tensor
    dim: int
    n_matvec: int

    def _per_probe(self, k: int) -> Tensor:
        return (self.weights * self.nodes**k).sum(1)

    def moment(self, k: int) -> float:
        """The k-th moment of the density, an unbiased estimate of tr(A^k) / P for k < 2m."""
        check_positive_int("k", k, minimum=0)
        return float(self._per_probe(k).mean())

    def moment_stderr(self, k: int) -> float:
        """The standard error of `moment` over the probes (nan with one probe)."""
        check_positive_int("k", k, minimum=0)
        values = self._per_probe(k)
        return float(values.std() / values.numel() ** 0.5) if values.numel() > 1 else float("nan")

    def cdf(self, x: Tensor) -> Tensor:
        """The estimated fraction of eigenvalues <= each x, shape of ``x``."""
        x = check_tensor("x", torch.as_tensor(x, dtype=torch.float64))
        below = (self.nodes[..., None] <= x.reshape(1, 1, -1)).to(torch.float64)
        return (self.weights[..., None] * below).sum(1).mean(0).reshape(x.shape)

    def density(self, grid: Tensor, sigma: float) -> Tensor:
        """The density smoothed by a Gaussian of width ``sigma``, on the points of ``grid``."""
        grid = check_tensor("grid", torch.as_tensor(grid, dtype=torch.float64), ndim=1)
        check_positive("sigma", sigma)
        z = (grid.reshape(1, 1, -1) - self.nodes[..., None]) / sigma
        kernel = torch.exp(-0.5 * z**2) / (sigma * (2 * torch.pi) ** 0.5)
        return (self.weights[..., None] * kernel).sum(1).mean(0)


SLQ_BASIS_BYTES = 2**30
"""Memory for the Lanczos bases of the probes run together (float64, n_iter x P each): 1 GiB."""


def _batched_lanczos(matmat: Callable[[Tensor], Tensor], start: Tensor, m: int) -> tuple[Tensor, Tensor]:
    """m Lanczos steps from each row of ``start`` at once (full re-orthogonalization, twice): the
    tridiagonal matrices' (alphas [k, m], betas [k, m - 1])."""
    k, dim = start.shape
    basis = torch.empty(k, m, dim, dtype=torch.float64)  # probe-major: each probe's basis is one matrix
    basis[:, 0] = start / start.norm(dim=1, keepdim=True)
    alphas, betas = torch.zeros(k, m, dtype=torch.float64), torch.zeros(k, max(m - 1, 0), dtype=torch.float64)
    for j in range(m):
        q = basis[:, j]
        w = matmat(q).to("cpu", torch.float64)
        if not bool(torch.isfinite(w).all()):
            raise ValueError("matvec returned non-finite values")
        alphas[:, j] = (q * w).sum(1)
        done = basis[:, : j + 1]  # [k, j + 1, P]
        for _ in range(2):  # w -= Q (Q^T w), per probe, as batched matrix-vector products
            w = w - torch.bmm(torch.bmm(done, w[:, :, None]).transpose(1, 2), done)[:, 0]
        if j == m - 1:
            break
        beta = w.norm(dim=1)
        scale = alphas[:, : j + 1].abs().amax(1).clamp_min(1e-300)
        alive = beta > 1e-10 * scale  # an exhausted Krylov space: the rest of its rule gets weight 0
        betas[:, j] = torch.where(alive, beta, torch.zeros_like(beta))
        basis[:, j + 1] = w / beta.clamp_min(1e-300)[:, None] * alive[:, None]
    return alphas, betas


def slq_density(
    matvec: MatVec, dim: int, n_probes: int = 10, n_iter: int = 80, seed: int = 0,
    matmat: Callable[[Tensor], Tensor] | None = None,
) -> SpectralDensity:
    """The eigenvalue density of a symmetric operator by stochastic Lanczos quadrature.

    ``n_probes`` Rademacher vectors (``torch.randint(0, 2, (n_probes, dim), generator=g) * 2 - 1``
    with ``g = torch.Generator().manual_seed(seed)``) each start ``n_iter`` Lanczos steps with full
    re-orthogonalization; all probes advance together, one batched product per step when ``matmat``
    is given, in groups whose bases fit in `SLQ_BASIS_BYTES`. Each tridiagonal matrix's eigenvalues
    and squared first eigenvector components are a Gauss quadrature rule for the density.

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` for a symmetric A (Tensor of shape (dim,)), e.g. a `optbook.HessianOperator`.
    dim : int
        P, the size of A.
    n_probes : int, optional
        Random probes (default 10).
    n_iter : int, optional
        Lanczos steps per probe, m (default 80, capped at ``dim``).
    seed : int, optional
        Seeds the probes.
    matmat : callable or None, optional
        ``V -> (A V^T)^T`` for rows V [k, dim]: all probes in one product (e.g.
        ``HessianOperator.matmat``); without it each probe's product is a `matvec`.

    Returns
    -------
    SpectralDensity

    Raises
    ------
    TypeError
        If ``matvec`` (or a given ``matmat``) is not callable or an integer argument is not an integer.
    ValueError
        If an integer argument is out of range or the operator returns non-finite values.

    References
    ----------
    .. [1] B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net optimization via
       Hessian eigenvalue density", ICML 2019 (``ghorbani2019investigation``).
    .. [2] Z. Yao et al., "PyHessian: neural networks through the lens of the Hessian", 2020
       (``yao2020pyhessian``).

    Examples
    --------
    A diagonal operator with eigenvalues 1, ..., 100: the moments of the density are the
    eigenvalues' mean and mean square (for a diagonal operator, a Rademacher probe gives them
    exactly; in general, in expectation), and half the eigenvalues lie below 50.5.

    >>> import torch
    >>> d = torch.arange(1.0, 101.0, dtype=torch.float64)
    >>> density = slq_density(lambda v: d * v, 100, n_probes=20, n_iter=30)
    >>> round(density.moment(1), 6), round(density.moment(2), 6)
    (50.5, 3383.5)
    >>> abs(float(density.cdf(torch.tensor(50.5))) - 0.5) < 0.1
    True
    """
    check_callable("matvec", matvec)
    if matmat is not None:
        check_callable("matmat", matmat)
    check_positive_int("dim", dim)
    check_positive_int("n_probes", n_probes)
    check_positive_int("n_iter", n_iter)
    check_seed("seed", seed)
    m = min(n_iter, dim)
    generator = torch.Generator().manual_seed(seed)
    start = torch.randint(0, 2, (n_probes, dim), generator=generator).to(torch.float64) * 2 - 1
    product = matmat if matmat is not None else (lambda rows: torch.stack([matvec(row) for row in rows]))
    group = max(1, SLQ_BASIS_BYTES // (8 * m * dim))  # probes per batched run, so the bases fit in memory
    runs = [_batched_lanczos(product, part, m) for part in start.split(group)]
    alphas, betas = torch.cat([a for a, _ in runs]), torch.cat([b for _, b in runs])
    t = torch.diag_embed(alphas) + torch.diag_embed(betas, 1) + torch.diag_embed(betas, -1)
    nodes, vectors = torch.linalg.eigh(t)
    return SpectralDensity(nodes, vectors[:, 0, :] ** 2, dim, n_probes * m)


def hessian_density(loss: LossFn, theta: Tensor, n_probes: int = 10, n_iter: int = 80, seed: int = 0) -> SpectralDensity:
    """The Hessian's eigenvalue density at ``theta`` by stochastic Lanczos quadrature (`slq_density`).

    All probes advance together: one batched Hessian-vector product (`HessianOperator.matmat`) per
    Lanczos step.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``.
    theta : Tensor, shape (P,)
        The point.
    n_probes, n_iter, seed : int, optional
        As `slq_density`.

    Returns
    -------
    SpectralDensity

    Raises
    ------
    TypeError, ValueError
        As `HessianOperator` and `slq_density`.

    References
    ----------
    .. [1] B. Ghorbani, S. Krishnan and Y. Xiao, "An investigation into neural net optimization via
       Hessian eigenvalue density", ICML 2019 (``ghorbani2019investigation``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> J = ob.functional_loss(net, ob.squared_error, x, y[:, None])
    >>> theta = ob.get_flat_params(net)
    >>> density = hessian_density(J, theta, n_probes=4, n_iter=13)  # m = P: each rule is exact
    >>> exact = ob.hessian_eigenvalues(J, theta)
    >>> abs(density.moment(2) - float((exact**2).mean())) < 4 * density.moment_stderr(2)
    True
    """
    op = HessianOperator(loss, theta)
    device, dtype = op.gradient.device, op.dtype

    def rows(vs: Tensor) -> Tensor:
        return op.matmat(vs.to(device, dtype)).to("cpu", torch.float64)

    return slq_density(op.matvec, op.dim, n_probes, n_iter, seed, matmat=rows)
