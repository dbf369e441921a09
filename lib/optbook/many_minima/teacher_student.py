"""Safran & Shamir's teacher-student problem in closed form, and gradient descent on many students.

A student with n ReLU units and output weights fixed to 1, ``x -> sum_i relu(w_i . x)``, learns a
teacher of the same form with k orthonormal units ``V = I_k`` from Gaussian inputs x ~ N(0, I_d),
d = k. The population cost has a closed form (Cho & Saul's arc-cosine kernel):

    F(W) = 1/2 sum_ij g(w_i, w_j) - sum_ij g(w_i, v_j) + 1/2 sum_ij g(v_i, v_j),
    g(u, v) = |u| |v| (sin t + (pi - t) cos t) / (2 pi),   t = angle(u, v),

so its global minimum is 0 (W = V up to the order of the units), and a gradient step costs a few
batched n x n products: hundreds of students descend in one tensor of shape (R, n, d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .._validate import check_positive, check_positive_int, check_tensor
from ..runs import Runs

__all__ = ["pair_kernel", "population_cost", "population_gradient", "xavier_students", "teacher",
           "descend", "newton_polish", "hessians", "Minima", "classify"]

_EPS = 1e-30


def _check_pair(W: object, V: object) -> tuple[Tensor, Tensor]:
    check_tensor("W", W, ndim=3)
    check_tensor("V", V)
    if V.dim() not in (2, 3) or V.shape[-1] != W.shape[-1] or (V.dim() == 3 and V.shape[0] != W.shape[0]):
        raise ValueError(f"W (R, n, d) and V (k, d) or (R, k, d) must share R and d: W has shape "
                         f"{tuple(W.shape)}, V {tuple(V.shape)}")
    return W, V.expand(W.shape[0], *V.shape[-2:]) if V.dim() == 2 else V


def _angles(U: Tensor, V: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Norms of U's and V's rows and the angles between them: (R, n), (R, m), (R, n, m)."""
    nu, nv = U.norm(dim=-1), V.norm(dim=-1)
    cos = (U @ V.transpose(-1, -2)) / (nu[..., :, None] * nv[..., None, :]).clamp_min(_EPS)
    return nu, nv, torch.arccos(cos.clamp(-1.0, 1.0))


def pair_kernel(U: Tensor, V: Tensor) -> Tensor:
    """g(u_i, v_j) = E[relu(u_i . x) relu(v_j . x)] for x ~ N(0, I), for every pair of rows.

    Parameters
    ----------
    U : Tensor, shape (R, n, d)
    V : Tensor, shape (R, m, d)

    Returns
    -------
    Tensor, shape (R, n, m)

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.

    References
    ----------
    cho2009kernel, safran2018spurious

    Examples
    --------
    >>> u = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64)
    >>> round(float(pair_kernel(u, u)), 6), 0.5   # E[relu(x1)^2] = 1/2
    (0.5, 0.5)
    """
    check_tensor("U", U, ndim=3)
    check_tensor("V", V, ndim=3)
    if U.shape[0] != V.shape[0] or U.shape[2] != V.shape[2]:
        raise ValueError(f"U (R, n, d) and V (R, m, d) must share R and d, got {tuple(U.shape)} and {tuple(V.shape)}")
    nu, nv, t = _angles(U, V)
    return nu[..., :, None] * nv[..., None, :] * (torch.sin(t) + (math.pi - t) * torch.cos(t)) / (2 * math.pi)


def population_cost(W: Tensor, V: Tensor) -> Tensor:
    """F(W) = 1/2 E[(sum_i relu(w_i . x) - sum_j relu(v_j . x))^2], x ~ N(0, I_d), for R students at once.

    Parameters
    ----------
    W : Tensor, shape (R, n, d)
        The students' hidden weights (one row per unit).
    V : Tensor, shape (k, d) or (R, k, d)
        The teacher's hidden weights.

    Returns
    -------
    Tensor, shape (R,)

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.

    References
    ----------
    safran2018spurious

    Examples
    --------
    >>> V = teacher(3)
    >>> population_cost(V[None], V).abs().max() < 1e-12
    tensor(True)
    """
    W, V = _check_pair(W, V)
    return (0.5 * pair_kernel(W, W).sum((-1, -2)) - pair_kernel(W, V).sum((-1, -2))
            + 0.5 * pair_kernel(V, V).sum((-1, -2)))


def _kernel_gradient(W: Tensor, U: Tensor) -> Tensor:
    """sum_j d g(w_i, u_j) / d w_i for every row i of W: shape (R, n, d)."""
    nw, nu, t = _angles(W, U)
    unit = W / nw[..., None].clamp_min(_EPS)
    return ((nu[..., None, :] * torch.sin(t)).sum(-1)[..., None] * unit
            + (math.pi - t) @ U) / (2 * math.pi)


def population_gradient(W: Tensor, V: Tensor) -> Tensor:
    """The analytic gradient of `population_cost` with respect to W.

    grad_{w_i} F = 1/(2 pi) [sum_j (|w_j| sin t_ij wbar_i + (pi - t_ij) w_j)
                             - sum_j (|v_j| sin t(w_i, v_j) wbar_i + (pi - t(w_i, v_j)) v_j)]

    Parameters
    ----------
    W : Tensor, shape (R, n, d)
    V : Tensor, shape (k, d) or (R, k, d)

    Returns
    -------
    Tensor, shape (R, n, d)

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.

    References
    ----------
    safran2018spurious

    Examples
    --------
    >>> V = teacher(4)
    >>> population_gradient(V[None], V).abs().max() < 1e-12
    tensor(True)
    """
    W, V = _check_pair(W, V)
    return _kernel_gradient(W, W) - _kernel_gradient(W, V)


def teacher(k: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """The teacher's units: the k x k identity (k orthonormal units in d = k dimensions).

    Parameters
    ----------
    k : int
        The teacher's units (and the input dimension).
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape (k, k)

    Raises
    ------
    TypeError, ValueError
        If ``k`` is not an int >= 1.

    Examples
    --------
    >>> teacher(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    check_positive_int("k", k)
    return torch.eye(k, dtype=dtype)


def xavier_students(restarts: int, n: int, d: int, seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """R students drawn as Safran & Shamir do: entries N(0, 1/d) ("Xavier").

    Parameters
    ----------
    restarts, n, d : int
        R, the student's units, the input dimension.
    seed : int
        Seeds a private generator.

    Returns
    -------
    Tensor, shape (R, n, d)

    Raises
    ------
    TypeError
        If a size or the seed is not an int.
    ValueError
        If a size is < 1.

    Examples
    --------
    >>> xavier_students(5, 3, 4, seed=0).shape
    torch.Size([5, 3, 4])
    """
    for name, value in (("restarts", restarts), ("n", n), ("d", d)):
        check_positive_int(name, value)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(restarts, n, d, generator=gen, dtype=dtype) / math.sqrt(d)


def descend(W0: Tensor, V: Tensor, lr: float = 0.1, steps: int = 4000, record_every: int = 100,
            fast_lr: float | None = None, fast_from: int | None = None) -> Runs:
    """Gradient descent with a fixed step on every student at once (Safran & Shamir's update).

    Parameters
    ----------
    W0 : Tensor, shape (R, n, d)
        The starting students (not modified).
    V : Tensor, shape (k, d)
        The teacher.
    lr : float
        The step size (theirs: 0.1).
    steps : int
        Steps to take.
    record_every : int
        The cadence of the record.
    fast_lr, fast_from : float and int, optional
        From step ``fast_from`` on, step ``fast_lr`` instead (a faster finish once the run has
        chosen its basin; None: ``lr`` throughout).

    Returns
    -------
    Runs
        ``loss`` [T, R] (F), ``grad_norm`` [T, R] (the largest per-unit gradient norm times 2 pi,
        the quantity their stopping rule tests), ``params`` [T, R, n d].

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``lr`` or ``fast_lr`` <= 0, or ``steps`` or ``record_every`` < 1.)

    References
    ----------
    safran2018spurious

    Examples
    --------
    >>> V = teacher(3)
    >>> runs = descend(xavier_students(4, 3, 3, seed=0), V, steps=200, record_every=100)
    >>> runs.loss.shape, bool((runs.loss[-1] < runs.loss[0]).all())
    (torch.Size([3, 4]), True)
    """
    check_tensor("W0", W0, ndim=3)
    check_tensor("V", V, ndim=2)
    if V.shape[1] != W0.shape[2]:
        raise ValueError(f"W0 (R, n, d) and V (k, d) must share d, got {tuple(W0.shape)} and {tuple(V.shape)}")
    lr = check_positive("lr", lr)
    steps = check_positive_int("steps", steps)
    record_every = check_positive_int("record_every", record_every)
    fast_lr = lr if fast_lr is None else check_positive("fast_lr", fast_lr)
    fast_from = steps if fast_from is None else check_positive_int("fast_from", fast_from, minimum=0)
    W = W0.clone()
    marks, losses, norms, params = [], [], [], []
    for step in range(steps + 1):
        grad = population_gradient(W, V)
        if step % record_every == 0 or step == steps:
            marks.append(step)
            losses.append(population_cost(W, V))
            norms.append(2 * math.pi * grad.norm(dim=-1).amax(-1))
            params.append(W.flatten(1).clone())
        if step < steps:
            W = W - (lr if step < fast_from else fast_lr) * grad
    return Runs(torch.tensor(marks), torch.stack(losses), grad_norm=torch.stack(norms),
                params=torch.stack(params), settings=dict(lr=lr, steps=steps, fast_lr=fast_lr, fast_from=fast_from))


def _smooth_cost(w: Tensor, v: Tensor) -> Tensor:
    """F for one student (n, d), written so that autograd and torch.func differentiate it twice.

    The diagonal pairs g(w_i, w_i) = |w_i|^2 / 2 are taken out of the arc cosine (whose derivative
    is infinite at angle 0); the other pairs need distinct, non-parallel, nonzero rows.
    """
    def kernel(a: Tensor, b: Tensor, off_diagonal: Tensor | None) -> Tensor:
        na, nb = a.norm(dim=-1), b.norm(dim=-1)
        cos = (a @ b.T) / (na[:, None] * nb[None, :])
        if off_diagonal is not None:
            cos = torch.where(off_diagonal, cos, torch.zeros_like(cos))
        # h(c) = sqrt(1 - c^2) + (pi - arccos c) c = pi c + q(c) with q(1) = q'(1) = 0; q'' is infinite
        # at c = 1 but its share of the Hessian vanishes there, so q is dropped within 1e-14 of 1.
        parallel = cos > 1 - 1e-14
        c = torch.where(parallel, torch.zeros_like(cos), cos.clamp(-1.0, 1.0))
        q = torch.sqrt((1 - c * c).clamp_min(0.0)) - c * torch.arccos(c)
        h = math.pi * cos + torch.where(parallel, torch.zeros_like(q), q)
        g = na[:, None] * nb[None, :] * h / (2 * math.pi)
        return g if off_diagonal is None else torch.where(off_diagonal, g, torch.zeros_like(g))

    off = ~torch.eye(w.shape[0], dtype=torch.bool, device=w.device)
    same = kernel(w, w, off).sum() + 0.5 * (w * w).sum()
    off_v = ~torch.eye(v.shape[0], dtype=torch.bool, device=v.device)
    teacher_term = kernel(v, v, off_v).sum() + 0.5 * (v * v).sum()
    return 0.5 * same - kernel(w, v, None).sum() + 0.5 * teacher_term


def hessians(W: Tensor, V: Tensor) -> Tensor:
    """The exact Hessian of F at every student, by torch.func (forward over reverse), vmapped.

    Parameters
    ----------
    W : Tensor, shape (R, n, d)
        Students with nonzero, pairwise non-parallel units (F is smooth there).
    V : Tensor, shape (k, d)

    Returns
    -------
    Tensor, shape (R, n d, n d)
        Row-major in (unit, coordinate), as ``W.flatten(1)``.

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.

    Examples
    --------
    >>> V = teacher(3)
    >>> H = hessians(V[None] * 1.0, V)
    >>> H.shape, bool(torch.linalg.eigvalsh(H[0]).min() > 0)   # the global minimum is strict
    (torch.Size([1, 9, 9]), True)
    """
    W, _ = _check_pair(W, V)
    check_tensor("V", V, ndim=2)
    R, n, d = W.shape

    def flat_cost(theta: Tensor) -> Tensor:
        return _smooth_cost(theta.reshape(n, d), V)

    return torch.func.vmap(torch.func.hessian(flat_cost))(W.reshape(R, n * d))


def _difference_hessians(W: Tensor, V: Tensor, eps: float = 1e-6) -> Tensor:
    """Central differences of the analytic gradient, all students and directions in one batch.

    Accurate to about 1e-9 (rounding over eps); enough for Newton steps, and 2 n d gradients of
    the batch cost far less than the exact `hessians`.
    """
    R, n, d = W.shape
    shifts = eps * torch.eye(n * d, dtype=W.dtype).reshape(n * d, n, d)
    points = torch.cat([W[:, None] + shifts, W[:, None] - shifts], dim=1).reshape(-1, n, d)
    grads = population_gradient(points, V).reshape(R, 2, n * d, n * d)
    H = (grads[:, 0] - grads[:, 1]) / (2 * eps)
    return 0.5 * (H + H.transpose(-1, -2))


def newton_polish(W: Tensor, V: Tensor, iterations: int = 6) -> Tensor:
    """Finish gradient descent with Newton steps, kept only where they shrink the gradient.

    Near a strict minimum Newton's method converges quadratically, so a handful of steps takes
    the gradient from 1e-5 to rounding level; a step that does not reduce a student's gradient
    norm (far from a minimum, near a saddle) is not taken for that student.

    Parameters
    ----------
    W : Tensor, shape (R, n, d)
        Students after gradient descent (not modified).
    V : Tensor, shape (k, d)
    iterations : int

    Returns
    -------
    Tensor, shape (R, n, d)

    Raises
    ------
    TypeError
        If an array argument is not a tensor.
    ValueError
        If a tensor has the wrong rank or shape, is empty or holds nan or inf.
        (Also if ``iterations`` < 1.)

    Examples
    --------
    >>> V = teacher(3)
    >>> W = newton_polish(V[None] + 1e-3, V)
    >>> float(population_gradient(W, V).abs().max()) < 1e-12
    True
    """
    W, _ = _check_pair(W, V)
    iterations = check_positive_int("iterations", iterations)
    R, n, d = W.shape
    for _ in range(iterations):
        grad = population_gradient(W, V).reshape(R, n * d)
        H = _difference_hessians(W, V)
        usable = torch.isfinite(H).all(-1).all(-1)
        lam, vec = torch.linalg.eigh(torch.where(usable[:, None, None], H, torch.eye(n * d, dtype=H.dtype)))
        inverse = torch.where(lam.abs() > 1e-12, 1.0 / lam, torch.zeros_like(lam))
        step = vec @ (inverse[..., None] * (vec.transpose(-1, -2) @ grad[..., None]))
        trial = W - step.reshape(R, n, d)
        better = population_gradient(trial, V).reshape(R, -1).norm(dim=-1) < grad.norm(dim=-1)
        better &= usable & torch.isfinite(trial).all(-1).all(-1)
        W = torch.where(better[:, None, None], trial, W)
    return W
