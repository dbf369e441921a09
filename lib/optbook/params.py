"""A network's parameters as one flat vector theta, and its cost as a function J(theta).

Everything in the library that studies the cost surface (curvature, spectra, planes,
critical points) works on flat vectors. `functional_loss` turns a model, a loss and data into
a pure function of theta that `torch.func` can transform, so many parameter vectors can be
evaluated in one batched call, and the model itself is never modified.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ._validate import check_tensor, check_vector

LossFn = Callable[[Tensor], Tensor]


def _named_trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")
    return named


def num_params(model: nn.Module) -> int:
    """Number of trainable scalars P in ``model``."""
    return sum(p.numel() for _, p in _named_trainable(model))


def get_flat_params(model: nn.Module) -> Tensor:
    """Copy of the trainable parameters as one detached vector of length P."""
    return torch.cat([p.detach().reshape(-1) for _, p in _named_trainable(model)]).clone()


def set_flat_params(model: nn.Module, theta: Tensor) -> None:
    """Write the flat vector ``theta`` into the model's trainable parameters, in place."""
    named = _named_trainable(model)
    check_vector("theta", theta, size=sum(p.numel() for _, p in named))
    with torch.no_grad():
        for (_, p), piece in zip(named, theta.split([p.numel() for _, p in named])):
            p.copy_(piece.view_as(p))


@contextmanager
def temporary_params(model: nn.Module, theta: Tensor) -> Iterator[nn.Module]:
    """Evaluate ``model`` at ``theta`` inside the block; restore the original weights after."""
    saved = get_flat_params(model)
    set_flat_params(model, theta)
    try:
        yield model
    finally:
        set_flat_params(model, saved)


def unflatten(model: nn.Module, theta: Tensor) -> dict[str, Tensor]:
    """Split a flat vector (or a leading batch of them) into the model's named parameter shapes."""
    named = _named_trainable(model)
    sizes = [p.numel() for _, p in named]
    pieces = theta.split(sizes, dim=-1)
    batch = theta.shape[:-1]
    return {n: piece.reshape(*batch, *p.shape) for (n, p), piece in zip(named, pieces)}


class FunctionalLoss:
    """``J(theta) = loss_fn(model_theta(inputs), targets)`` as a pure function of a flat theta.

    Never touches the model's own weights and works under ``torch.func.vmap``/``grad``/
    ``hessian``; buffers (if any) are taken from the model. It keeps the model, loss and data it
    was built from, so that tools such as `optbook.landscape.loss_plane` can exploit the
    network's structure.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], inputs: Tensor,
                 targets: Tensor):
        named = _named_trainable(model)
        check_tensor("inputs", inputs)
        check_tensor("targets", targets)
        if inputs.shape[0] != targets.shape[0]:
            raise ValueError(
                f"inputs and targets must have the same number of rows, got {inputs.shape[0]} and {targets.shape[0]}"
            )
        self.model, self.loss_fn, self.inputs, self.targets = model, loss_fn, inputs, targets
        self.size = sum(p.numel() for _, p in named)
        self.frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
        self.frozen.update(dict(model.named_buffers()))

    def __call__(self, theta: Tensor) -> Tensor:
        if theta.shape[-1] != self.size:
            raise ValueError(f"theta must have {self.size} entries, got {theta.shape[-1]}")
        params = unflatten(self.model, theta)
        params.update(self.frozen)
        loss_value = self.loss_fn(functional_call(self.model, params, (self.inputs,)), self.targets)
        if loss_value.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss_value.shape)}")
        return loss_value


def functional_loss(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
) -> FunctionalLoss:
    """Return ``J(theta) = loss_fn(model_theta(inputs), targets)``, a pure function of theta."""
    return FunctionalLoss(model, loss_fn, inputs, targets)


def batched_loss(loss: LossFn, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
    """Evaluate ``loss`` at each row of ``thetas`` [B, P] in one vectorized call (no grad)."""
    check_tensor("thetas", thetas, ndim=2)
    with torch.no_grad():
        return torch.func.vmap(loss, chunk_size=chunk_size)(thetas)
