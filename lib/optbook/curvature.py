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
    """The gradient g = dJ/dtheta at ``theta``."""
    leaf = _leaf(_check_theta(loss, theta))
    (g,) = torch.autograd.grad(_checked_loss(loss, leaf), leaf)
    return g.detach()


class HessianOperator:
    """The Hessian H of J at one point, as a matrix-free operator v -> Hv.

    The gradient graph is built once in ``__init__``; each product is one extra backward pass.
    ``n_matvec`` counts the products taken, so solvers can report their cost.
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
        """Return the exact product Hv."""
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
        """Return H V^T for the rows of ``vs`` [k, P] in one batched backward pass (k products)."""
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


def hessian(loss: LossFn, theta: Tensor) -> Tensor:
    """The dense P x P Hessian (for small models: P up to a few thousand)."""
    _checked_loss(loss, _leaf(_check_theta(loss, theta)).detach())  # a scalar, finite cost before any work
    with _torch_internal_jit_quiet():
        return torch.func.hessian(loss)(theta.detach()).detach()


@dataclass(frozen=True)
class GradientCurvature:
    """The two numbers of eq. 8.10 at one point: g^T g and g^T H g (and the cost J)."""

    loss: float
    gTg: float
    gTHg: float

    @property
    def best_step(self) -> float:
        """Step size eps* = g^T g / g^T H g that minimizes the quadratic model along -g."""
        return self.gTg / self.gTHg if self.gTHg > 0 else float("inf")

    @property
    def critical_step(self) -> float:
        """Step size past which the quadratic model predicts that -eps g raises the cost."""
        return 2 * self.best_step

    def ratio(self, eps: float) -> float:
        """The book's ratio (eps/2) g^T H g / g^T g: above 1 the step is predicted to hurt."""
        check_positive("eps", eps)
        return 0.5 * eps * self.gTHg / self.gTg if self.gTg > 0 else float("nan")

    def predicted_change(self, eps: float | Tensor) -> float | Tensor:
        """Second-order change of J for the step -eps g: 1/2 eps^2 g^T H g - eps g^T g."""
        return predicted_change(eps, self.gTg, self.gTHg)


def gradient_curvature(loss: LossFn, theta: Tensor) -> GradientCurvature:
    """g^T g and g^T H g at ``theta`` from one gradient and one Hessian-vector product."""
    op = HessianOperator(loss, theta)
    g = op.gradient
    return GradientCurvature(
        loss=op.value.item(), gTg=float(g @ g), gTHg=float(g @ op.matvec(g))
    )


def predicted_change(eps: float | Tensor, gTg: float, gTHg: float) -> float | Tensor:
    """Eq. 8.10: J(theta - eps g) - J(theta) ~= 1/2 eps^2 g^T H g - eps g^T g."""
    return 0.5 * eps**2 * gTHg - eps * gTg


def actual_change(loss: LossFn, theta: Tensor, eps: Tensor) -> Tensor:
    """J(theta - eps g) - J(theta) for each step size in the 1-D tensor ``eps`` (batched)."""
    _check_theta(loss, theta)
    check_float_tensor("eps", eps, ndim=1)
    g = gradient(loss, theta)
    with torch.no_grad():
        steps = theta.detach() - eps.to(theta.dtype)[:, None] * g
        return torch.func.vmap(loss)(steps) - loss(theta.detach())
