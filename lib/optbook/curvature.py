"""Gradient, Hessian-vector products and the second-order picture of a gradient step (eq. 8.10).

All functions take a cost ``J(theta)`` as a callable on a flat parameter vector (see
`optbook.params.functional_loss`) and return detached tensors. Hessian-vector products use
double backpropagation (Pearlmutter 1994): exact, and a small constant times the cost of a
gradient. `HessianOperator` builds the gradient graph once and reuses it, which is what an
eigen-solver needs when it asks for many products at the same point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

from ._validate import check_positive, check_tensor, check_vector
from .params import LossFn


def _leaf(theta: Tensor) -> Tensor:
    check_vector("theta", theta)
    return theta.detach().clone().requires_grad_(True)


def _checked_loss(loss: LossFn, theta: Tensor) -> Tensor:
    value = loss(theta)
    if not isinstance(value, Tensor) or value.dim() != 0:
        raise ValueError("loss must return a scalar tensor")
    if not bool(torch.isfinite(value)):
        raise ValueError(f"loss is not finite at theta (got {value.item()})")
    return value


def gradient(loss: LossFn, theta: Tensor) -> Tensor:
    """The gradient g = dJ/dtheta at ``theta``."""
    leaf = _leaf(theta)
    (g,) = torch.autograd.grad(_checked_loss(loss, leaf), leaf)
    return g.detach()


class HessianOperator:
    """The Hessian H of J at one point, as a matrix-free operator v -> Hv.

    The gradient graph is built once in ``__init__``; each product is one extra backward pass.
    ``n_matvec`` counts the products taken, so solvers can report their cost.
    """

    def __init__(self, loss: LossFn, theta: Tensor):
        self._theta = _leaf(theta)
        self.value = _checked_loss(loss, self._theta)
        (self._grad,) = torch.autograd.grad(self.value, self._theta, create_graph=True)
        self.value = self.value.detach()
        self.gradient = self._grad.detach()
        self.dim = self._theta.numel()
        self.dtype = self._theta.dtype
        self.n_matvec = 0

    def matvec(self, v: Tensor) -> Tensor:
        """Return the exact product Hv."""
        check_vector("v", v, size=self.dim)
        self.n_matvec += 1
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
        (hv,) = torch.autograd.grad(
            self._grad, self._theta, grad_outputs=vs.to(self._theta.device, self.dtype), retain_graph=True,
            is_grads_batched=True,
        )
        return hv.detach()


def hvp(loss: LossFn, theta: Tensor, v: Tensor) -> Tensor:
    """One exact Hessian-vector product H(theta) v by double backpropagation."""
    check_vector("v", v, size=theta.numel())
    return HessianOperator(loss, theta).matvec(v)


def hessian(loss: LossFn, theta: Tensor) -> Tensor:
    """The dense P x P Hessian (for small models: P up to a few thousand)."""
    check_vector("theta", theta)
    with warnings.catch_warnings():  # torch.func's own internals call the deprecated torch.jit.script
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
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
    check_vector("eps", eps)
    g = gradient(loss, theta)
    with torch.no_grad():
        steps = theta.detach() - eps.to(theta.dtype)[:, None] * g
        return torch.func.vmap(loss)(steps) - loss(theta.detach())
