"""Gradient, Hessian-vector products and the second-order picture of a gradient step (eq. 8.10).

All functions take a cost ``J(theta)`` as a callable on a flat parameter vector (see
`optbook.params.functional_loss`) and return detached tensors. Hessian-vector products are
exact and cost a small constant times a gradient (Pearlmutter 1994). `HessianOperator` builds
the gradient graph once and reuses it (double backpropagation), which is what an eigen-solver
needs when it asks for many products at the same point; a one-shot `hvp` goes forward-mode
first, then backward, which is cheaper when nothing is reused.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor
from torch.autograd import forward_ad

from ._validate import check_callable, check_float_tensor, check_positive, check_tensor, check_vector
from .params import LossFn


@contextmanager
def _torch_internal_jit_quiet() -> Iterator[None]:
    """Hide the DeprecationWarning torch.func and forward-mode AD raise from their own torch.jit.script."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        yield


def _check_theta(loss: LossFn, theta: Tensor) -> Tensor:
    """theta is a finite float vector, as long as the cost's parameter vector when the cost knows it."""
    check_callable("loss", loss)
    check_float_tensor("theta", theta, ndim=1)
    size = getattr(loss, "size", None)
    if isinstance(size, int) and theta.numel() != size:
        raise ValueError(f"theta must have {size} entries (the model's trainable parameters), got {theta.numel()}")
    return theta


def _leaf(theta: Tensor) -> Tensor:
    check_float_tensor("theta", theta, ndim=1)
    return theta.detach().clone().requires_grad_(True)


def _checked_loss(loss: LossFn, theta: Tensor) -> Tensor:
    check_callable("loss", loss)
    value = loss(theta)
    if not isinstance(value, Tensor) or value.dim() != 0:
        raise ValueError(f"loss must return a scalar tensor, got {getattr(value, 'shape', type(value).__name__)}")
    if not bool(torch.isfinite(value)):
        raise ValueError(f"loss is not finite at theta (got {value.item()})")
    return value


def gradient(loss: LossFn, theta: Tensor) -> Tensor:
    """The gradient g = dJ/dtheta at ``theta``.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).

    Returns
    -------
    g : Tensor, shape (P,)
        The gradient, detached.

    Raises
    ------
    TypeError
        If ``loss`` is not callable or ``theta`` is not a floating-point tensor.
    ValueError
        If ``theta`` is not 1-D, empty, non-finite or of the wrong length, or ``loss`` does not
        return a finite scalar at ``theta``.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> theta = torch.ones(3, dtype=torch.float64)
    >>> ob.gradient(J, theta).tolist()  # d * theta
    [1.0, 2.0, 3.0]
    """
    leaf = _leaf(_check_theta(loss, theta))
    (g,) = torch.autograd.grad(_checked_loss(loss, leaf), leaf)
    return g.detach()


class HessianOperator:
    """The Hessian H of J at one point, as a matrix-free operator v -> Hv.

    The gradient graph is built once in ``__init__``; each product is one extra backward pass
    (double backpropagation, Pearlmutter 1994). ``n_matvec`` counts the products taken, so solvers
    can report their cost. Calling the operator is `matvec`.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).

    Attributes
    ----------
    value : Tensor, shape ()
        J(theta), detached.
    gradient : Tensor, shape (P,)
        The gradient at theta, detached.
    dim : int
        P.
    dtype : torch.dtype
        theta's dtype.
    n_matvec : int
        Hessian-vector products taken so far (a `matmat` of k rows counts k).

    Raises
    ------
    TypeError
        If ``loss`` is not callable or ``theta`` is not a floating-point tensor.
    ValueError
        If ``theta`` is not 1-D, empty, non-finite or of the wrong length, or ``loss`` does not
        return a finite scalar at ``theta``.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> op = ob.HessianOperator(J, torch.ones(3, dtype=torch.float64))
    >>> op(torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)).tolist()
    [1.0, 2.0, 3.0]
    >>> op.value.item(), op.dim, op.n_matvec
    (3.0, 3, 1)
    """

    def __init__(self, loss: LossFn, theta: Tensor):
        self._theta = _leaf(_check_theta(loss, theta))
        self.value = _checked_loss(loss, self._theta)
        (self._grad,) = torch.autograd.grad(self.value, self._theta, create_graph=True)
        self._linear = not self._grad.requires_grad  # J linear in theta: the gradient is constant, H = 0
        self.value = self.value.detach()
        self.gradient = self._grad.detach()
        self.dim = self._theta.numel()
        self.dtype = self._theta.dtype
        self.n_matvec = 0

    def matvec(self, v: Tensor) -> Tensor:
        """Return the exact product Hv.

        Parameters
        ----------
        v : Tensor, shape (P,)
            A finite direction (cast to theta's dtype and device).

        Returns
        -------
        Tensor, shape (P,)
            H v, detached (zeros when J is linear in theta).

        Raises
        ------
        TypeError
            If ``v`` is not a tensor.
        ValueError
            If ``v`` is not 1-D of length P, or has non-finite entries.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> x, y = ob.xor()
        >>> J = ob.functional_loss(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64), ob.squared_error, x, y[:, None])
        >>> theta = torch.linspace(-1, 1, 13, dtype=torch.float64)
        >>> v = torch.ones(13, dtype=torch.float64)
        >>> torch.allclose(ob.HessianOperator(J, theta).matvec(v), ob.hessian(J, theta) @ v)
        True
        """
        check_vector("v", v, size=self.dim)
        self.n_matvec += 1
        if self._linear:
            return torch.zeros_like(self.gradient)
        (hv,) = torch.autograd.grad(
            self._grad, self._theta, grad_outputs=v.to(self._theta.device, self.dtype), retain_graph=True,
            allow_unused=True,
        )
        return torch.zeros_like(self.gradient) if hv is None else hv.detach()

    __call__ = matvec

    def matmat(self, vs: Tensor) -> Tensor:
        """Return H V^T for the rows of ``vs`` [k, P] in one batched backward pass (k products).

        Parameters
        ----------
        vs : Tensor, shape (k, P)
            k finite directions, one per row.

        Returns
        -------
        Tensor, shape (k, P)
            Row i is H vs[i] (H is symmetric, so this is (H V^T)^T = V H).

        Raises
        ------
        TypeError
            If ``vs`` is not a tensor.
        ValueError
            If ``vs`` is not 2-D with P columns, or has non-finite entries.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
        >>> op = ob.HessianOperator(lambda x: 0.5 * (x * x * d).sum(), torch.zeros(3, dtype=torch.float64))
        >>> torch.equal(op.matmat(torch.eye(3, dtype=torch.float64)), torch.diag(d)), op.n_matvec
        (True, 3)
        """
        check_tensor("vs", vs, ndim=2)
        if vs.shape[1] != self.dim:
            raise ValueError(f"vs must have {self.dim} columns, got {vs.shape[1]}")
        self.n_matvec += vs.shape[0]
        if self._linear:
            return torch.zeros(vs.shape, dtype=self.dtype, device=self.gradient.device)
        (hv,) = torch.autograd.grad(
            self._grad, self._theta, grad_outputs=vs.to(self._theta.device, self.dtype), retain_graph=True,
            is_grads_batched=True,
        )
        return hv.detach()


HVP_METHODS = ("auto", "forward", "double_backward")


def hvp(loss: LossFn, theta: Tensor, v: Tensor, method: str = "auto") -> Tensor:
    """One exact Hessian-vector product H(theta) v.

    ``"forward"`` (reverse-over-forward): a forward-mode pass carries v along to give the
    directional derivative J'(theta)v, and one backward pass of that gives Hv. On CPU it is the
    cheaper one-shot product for convolutional and large models (convolutions' double-backward is
    slow and allocates more; the Performance page has the ratios), a little dearer for tiny ones.
    ``"double_backward"`` (Pearlmutter 1994): build the gradient graph, backpropagate v through
    it; works for every loss autograd can differentiate twice. ``"auto"`` picks by the model behind
    the cost (`default_hvp_method`), and falls back to ``"double_backward"`` when forward-mode AD
    cannot handle the loss's operations (torch's own softmax and cross-entropy,
    pytorch/pytorch#162350; `optbook.cross_entropy` is fine).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).
    v : Tensor, shape (P,)
        The finite floating-point direction.
    method : {"auto", "forward", "double_backward"}, optional
        How to take the product (see above); default ``"auto"``.

    Returns
    -------
    Tensor, shape (P,)
        H(theta) v, detached (exact up to rounding).

    Raises
    ------
    TypeError
        If ``loss`` is not callable, or ``theta`` or ``v`` is not a floating-point tensor.
    ValueError
        If ``theta`` or ``v`` is not 1-D, non-finite or of the wrong length, ``method`` is unknown,
        or ``loss`` does not return a finite scalar.
    RuntimeError, NotImplementedError
        With ``method="forward"``, when forward-mode AD cannot handle an operation of the loss.

    References
    ----------
    .. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> theta = torch.ones(3, dtype=torch.float64)
    >>> v = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    >>> ob.hvp(J, theta, v).tolist()  # diag(d) v
    [1.0, -2.0, 6.0]

    Both methods agree with the dense Hessian on a small network:

    >>> x, y = ob.xor()
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> L = ob.functional_loss(net, ob.squared_error, x, y[:, None])
    >>> theta, v = ob.get_flat_params(net), torch.ones(13, dtype=torch.float64)
    >>> H = ob.hessian(L, theta)
    >>> all(torch.allclose(ob.hvp(L, theta, v, method=m), H @ v) for m in ("forward", "double_backward"))
    True
    """
    _check_theta(loss, theta)
    check_float_tensor("v", v, ndim=1)
    check_vector("v", v, size=theta.numel())
    if method not in HVP_METHODS:
        raise ValueError(f"method must be one of {HVP_METHODS}, got {method!r}")
    chosen = default_hvp_method(loss) if method == "auto" else method
    if chosen == "double_backward":
        return HessianOperator(loss, theta).matvec(v)
    try:
        return _reverse_over_forward(loss, theta, v)
    except (RuntimeError, NotImplementedError):
        if method == "forward":
            raise
        return HessianOperator(loss, theta).matvec(v)


LARGE_MODEL = 2**17  # parameters; above it reverse-over-forward wins for plain MLPs too


def default_hvp_method(loss: LossFn) -> str:
    """The cheaper one-shot HVP for the model behind ``loss``, by a rule the benchmarks measured.

    On this CPU (Performance page, `make benchmarks`): a small MLP costs 1.9 gradients by double
    backpropagation against 2.5 reverse-over-forward; a small CNN 2.7 against 2.2 (convolutions'
    double-backward is slow); a 1M-parameter MLP 2.9 against 2.7. So: ``"forward"`` for models with
    convolutions or more than ``LARGE_MODEL`` parameters, ``"double_backward"`` otherwise and for a
    cost that is not built from a model.

    Parameters
    ----------
    loss : callable
        The cost; its ``model`` and ``size`` attributes (as on `optbook.params.FunctionalLoss`) are
        read when present.

    Returns
    -------
    {"forward", "double_backward"}
        The method `hvp` uses with ``method="auto"``.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> ob.curvature.default_hvp_method(lambda x: (x ** 4).sum())  # no model behind it
    'double_backward'
    >>> x, y = ob.xor()
    >>> L = ob.functional_loss(ob.mlp([2, 3, 1]), ob.squared_error, x.float(), y[:, None].float())
    >>> ob.curvature.default_hvp_method(L)
    'double_backward'
    >>> cnn = ob.models.digits_cnn(seed=0)
    >>> L = ob.functional_loss(cnn, ob.cross_entropy, torch.zeros(2, 64), torch.tensor([0, 1]))
    >>> ob.curvature.default_hvp_method(L)
    'forward'
    """
    model = getattr(loss, "model", None)
    if not isinstance(model, torch.nn.Module):
        return "double_backward"
    if any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules()):
        return "forward"
    return "forward" if getattr(loss, "size", 0) > LARGE_MODEL else "double_backward"


def _reverse_over_forward(loss: LossFn, theta: Tensor, v: Tensor) -> Tensor:
    leaf = _leaf(theta)
    with forward_ad.dual_level():
        with _torch_internal_jit_quiet():  # the first make_dual loads torch's jvp decompositions
            dual = forward_ad.make_dual(leaf, v.to(leaf.device, leaf.dtype))
        value = _checked_loss(loss, dual)
        slope = forward_ad.unpack_dual(value).tangent  # J'(theta) v, still a function of theta
    if slope is None or not slope.requires_grad:  # J'(theta)v does not depend on theta: Hv = 0
        return torch.zeros_like(leaf).detach()
    (hv,) = torch.autograd.grad(slope, leaf, allow_unused=True)
    return torch.zeros_like(leaf).detach() if hv is None else hv.detach()


def functional_hvp(loss: LossFn):
    """The Hessian-vector product as a pure function ``(theta, v) -> H(theta) v`` for `torch.func`.

    Forward-over-reverse (``jvp`` of ``grad``): unlike `hvp`, which calls autograd, it composes
    with ``torch.func.vmap``, so many runs' products are taken in one batched call (the
    ill-conditioning page monitors g^T H g of all its runs at once this way).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``; it must be a pure function `torch.func` can trace.

    Returns
    -------
    callable
        ``(theta, v) -> Hv``, Tensors of shape (P,), (P,) to (P,).

    References
    ----------
    pearlmutter1994fast

    Examples
    --------
    >>> import torch
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> hv = functional_hvp(lambda x: 0.5 * (x * x * d).sum())
    >>> thetas, vs = torch.zeros(4, 3, dtype=torch.float64), torch.ones(4, 3, dtype=torch.float64)
    >>> torch.func.vmap(hv)(thetas, vs)[0].tolist()
    [1.0, 2.0, 3.0]
    """
    check_callable("loss", loss)
    return lambda theta, v: torch.func.jvp(torch.func.grad(loss), (theta,), (v,))[1]


HESSIAN_BLOCK = 128  # unit vectors per batched backward pass


def hessian(loss: LossFn, theta: Tensor) -> Tensor:
    """The dense P x P Hessian (for small models: P up to a few thousand).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).

    Returns
    -------
    H : Tensor, shape (P, P)
        The Hessian d^2 J / dtheta^2 at ``theta``, detached: P exact Hessian-vector products,
        ``HESSIAN_BLOCK`` at a time through one gradient graph (batched double backpropagation;
        2-3x faster on CPU than ``torch.func.hessian`` for the book's networks, measured).

    Raises
    ------
    TypeError
        If ``loss`` is not callable or ``theta`` is not a floating-point tensor.
    ValueError
        If ``theta`` is not 1-D, empty, non-finite or of the wrong length, or ``loss`` does not
        return a finite scalar at ``theta``.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> torch.equal(ob.hessian(J, torch.ones(3, dtype=torch.float64)), torch.diag(d))
    True
    """
    op = HessianOperator(loss, theta)  # checks the arguments and the cost before any work
    eye = torch.eye(op.dim, dtype=op.dtype, device=op.gradient.device)
    return torch.cat([op.matmat(eye[start : start + HESSIAN_BLOCK]) for start in range(0, op.dim, HESSIAN_BLOCK)])


@dataclass(frozen=True)
class GradientCurvature:
    """The two numbers of eq. 8.10 at one point: g^T g and g^T H g (and the cost J).

    Usually made by `gradient_curvature`. For the step -eps g, the second-order Taylor model
    predicts the change 1/2 eps^2 g^T H g - eps g^T g (Goodfellow et al. 2016, eq. 8.10), so the
    step hurts once the curvature term outweighs the gradient term: ill-conditioning (sec. 8.2.1).

    Attributes
    ----------
    loss : float
        J(theta).
    gTg : float
        g^T g, the squared gradient norm.
    gTHg : float
        g^T H g, the curvature along the gradient.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, sec. 8.2.1,
       eq. 8.10 (``goodfellow2016deep``).

    Examples
    --------
    >>> import optbook as ob
    >>> gc = ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=2.0)
    >>> gc.best_step, gc.critical_step, gc.ratio(1.0)
    (2.0, 4.0, 0.25)
    """

    loss: float
    gTg: float
    gTHg: float

    @property
    def best_step(self) -> float:
        """Step size eps* = g^T g / g^T H g that minimizes the quadratic model along -g.

        Returns
        -------
        float
            eps*, or ``inf`` when g^T H g <= 0 (the model does not curve up along -g).

        Examples
        --------
        >>> import optbook as ob
        >>> ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=2.0).best_step
        2.0
        >>> ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=-1.0).best_step
        inf
        """
        return self.gTg / self.gTHg if self.gTHg > 0 else float("inf")

    @property
    def critical_step(self) -> float:
        """Step size past which the quadratic model predicts that -eps g raises the cost.

        Returns
        -------
        float
            2 eps* (``inf`` when g^T H g <= 0).

        Examples
        --------
        >>> import optbook as ob
        >>> gc = ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=2.0)
        >>> gc.critical_step, gc.predicted_change(gc.critical_step)
        (4.0, 0.0)
        """
        return 2 * self.best_step

    def ratio(self, eps: float) -> float:
        """The book's ratio (eps/2) g^T H g / g^T g: above 1 the step is predicted to hurt.

        Parameters
        ----------
        eps : float
            The step size, > 0.

        Returns
        -------
        float
            The ratio, or ``nan`` when g = 0.

        Raises
        ------
        TypeError
            If ``eps`` is not a real number.
        ValueError
            If ``eps`` is not finite and > 0.

        Examples
        --------
        >>> import optbook as ob
        >>> gc = ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=2.0)
        >>> gc.ratio(4.0), gc.ratio(8.0)  # 1 at the critical step
        (1.0, 2.0)
        """
        check_positive("eps", eps)
        return 0.5 * eps * self.gTHg / self.gTg if self.gTg > 0 else float("nan")

    def predicted_change(self, eps: float | Tensor) -> float | Tensor:
        """Second-order change of J for the step -eps g: 1/2 eps^2 g^T H g - eps g^T g.

        Parameters
        ----------
        eps : float or Tensor
            The step size, or a tensor of them (any shape).

        Returns
        -------
        float or Tensor
            The predicted change, shaped like ``eps`` (see `predicted_change`).

        Examples
        --------
        >>> import optbook as ob
        >>> ob.GradientCurvature(loss=1.0, gTg=4.0, gTHg=2.0).predicted_change(2.0)  # at eps*
        -4.0
        """
        return predicted_change(eps, self.gTg, self.gTHg)


def gradient_curvature(loss: LossFn, theta: Tensor) -> GradientCurvature:
    """g^T g and g^T H g at ``theta`` from one gradient and one Hessian-vector product.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).

    Returns
    -------
    GradientCurvature
        J(theta), g^T g and g^T H g as floats.

    Raises
    ------
    TypeError
        If ``loss`` is not callable or ``theta`` is not a floating-point tensor.
    ValueError
        If ``theta`` is not 1-D, empty, non-finite or of the wrong length, or ``loss`` does not
        return a finite scalar at ``theta``.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, eq. 8.10
       (``goodfellow2016deep``).
    .. [2] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation,
       1994 (``pearlmutter1994fast``).

    Examples
    --------
    At theta = 1 the quadratic's gradient is d, so g^T g = 1 + 4 + 9 and g^T H g = 1 + 8 + 27:

    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> gc = ob.gradient_curvature(J, torch.ones(3, dtype=torch.float64))
    >>> gc.loss, gc.gTg, gc.gTHg
    (3.0, 14.0, 36.0)
    """
    op = HessianOperator(loss, theta)
    g = op.gradient
    return GradientCurvature(
        loss=op.value.item(), gTg=float(g @ g), gTHg=float(g @ op.matvec(g))
    )


def predicted_change(eps: float | Tensor, gTg: float, gTHg: float) -> float | Tensor:
    """Eq. 8.10: J(theta - eps g) - J(theta) ~= 1/2 eps^2 g^T H g - eps g^T g.

    Parameters
    ----------
    eps : float or Tensor
        The step size, or a tensor of them (any shape).
    gTg : float
        g^T g.
    gTHg : float
        g^T H g.

    Returns
    -------
    float or Tensor
        The second-order prediction of the change in J, shaped like ``eps``.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, eq. 8.10
       (``goodfellow2016deep``).

    Examples
    --------
    >>> import optbook as ob
    >>> ob.predicted_change(0.5, gTg=14.0, gTHg=36.0)
    -2.5
    """
    return 0.5 * eps**2 * gTHg - eps * gTg


def actual_change(loss: LossFn, theta: Tensor, eps: Tensor) -> Tensor:
    """J(theta - eps g) - J(theta) for each step size in the 1-D tensor ``eps`` (batched).

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``, e.g. from `optbook.functional_loss`.
    theta : Tensor, shape (P,)
        The point: a finite floating-point vector (of the model's length P when the cost knows it).
    eps : Tensor, shape (S,)
        Finite floating-point step sizes.

    Returns
    -------
    Tensor, shape (S,)
        The true change in J for each step, to compare with `predicted_change`.

    Raises
    ------
    TypeError
        If ``loss`` is not callable, or ``theta`` or ``eps`` is not a floating-point tensor.
    ValueError
        If ``theta`` or ``eps`` is not 1-D, empty or non-finite, ``theta`` has the wrong length, or
        ``loss`` does not return a finite scalar.

    Examples
    --------
    On a quadratic the second-order prediction of eq. 8.10 is exact:

    >>> import torch
    >>> import optbook as ob
    >>> d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> J = lambda x: 0.5 * (x * x * d).sum()  # Hessian diag(d)
    >>> change = ob.actual_change(J, torch.ones(3, dtype=torch.float64), torch.tensor([0.5, 1.0]))
    >>> [round(c, 6) for c in change.tolist()]
    [-2.5, 4.0]
    >>> ob.predicted_change(1.0, gTg=14.0, gTHg=36.0)
    4.0
    """
    _check_theta(loss, theta)
    check_float_tensor("eps", eps, ndim=1)
    g = gradient(loss, theta)
    with torch.no_grad():
        steps = theta.detach() - eps.to(theta.dtype)[:, None] * g
        return torch.func.vmap(loss)(steps) - loss(theta.detach())
