"""A network's parameters as one flat vector theta, and its cost as a function J(theta).

Everything in the library that studies the cost surface (curvature, spectra, planes,
critical points) works on flat vectors. `functional_loss` turns a model, a loss and data into
a pure function of theta that `torch.func` can transform, so many parameter vectors can be
evaluated in one batched call.

The library never writes the caller's model: not its parameters, buffers, gradients or
train/eval flags. `functional_loss` evaluates a private copy of the model, taken when it is
called, so J(theta) is a deterministic function:

- BatchNorm (and InstanceNorm with running statistics) in **train mode** normalizes with the
  statistics of the batch it is given, as in training, and updates no running statistics; in
  eval mode it uses the running statistics frozen at the time of the call.
- Dropout (any rate above 0) and RReLU in train mode would make J random (two evaluations at the
  same theta differ, and so would two Hessian-vector products): they are **refused** with a
  ValueError naming the module. Put the model in eval mode (or build it without them) first.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ._validate import check_callable, check_float_tensor, check_tensor, check_vector

LossFn = Callable[[Tensor], Tensor]


def _named_trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")
    return named


def n_params(model: nn.Module) -> int:
    """Number of trainable scalars P in ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        The network; only parameters with ``requires_grad=True`` count (a shared parameter once).

    Returns
    -------
    int
        P, the length of the flat parameter vector theta.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    ValueError
        If ``model`` has no trainable parameters.

    Examples
    --------
    A 2-3-1 MLP has 2*3 + 3 parameters in its first layer and 3*1 + 1 in its second:

    >>> import torch
    >>> import optbook as ob
    >>> ob.n_params(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64))
    13
    """
    return sum(p.numel() for _, p in _named_trainable(model))


def get_flat_params(model: nn.Module) -> Tensor:
    """Copy of the trainable parameters as one detached vector of length P.

    Parameters
    ----------
    model : torch.nn.Module
        The network; its trainable parameters are concatenated in ``named_parameters`` order.

    Returns
    -------
    theta : Tensor, shape (P,)
        A new tensor (no grad, not sharing memory with the model) in the parameters' dtype.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    ValueError
        If ``model`` has no trainable parameters.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> theta = ob.get_flat_params(net)
    >>> theta.shape, theta.dtype, theta.requires_grad
    (torch.Size([13]), torch.float64, False)
    >>> torch.equal(theta[:6], net[0].weight.detach().reshape(-1))  # the first layer's weight comes first
    True
    """
    return torch.cat([p.detach().reshape(-1) for _, p in _named_trainable(model)]).clone()


def set_flat_params(model: nn.Module, theta: Tensor) -> None:
    """Write the flat vector ``theta`` into the model's trainable parameters, in place.

    Parameters
    ----------
    model : torch.nn.Module
        The network to overwrite (the one function of `optbook.params` that writes a model).
    theta : Tensor, shape (P,)
        Finite values, laid out as `get_flat_params` returns them.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module`` or ``theta`` is not a tensor.
    ValueError
        If the model has no trainable parameters, or ``theta`` is not 1-D, empty, non-finite or
        not of length P.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> ob.set_flat_params(net, torch.arange(13, dtype=torch.float64))
    >>> ob.get_flat_params(net)[-1].item()  # the last bias
    12.0
    """
    named = _named_trainable(model)
    check_vector("theta", theta, size=sum(p.numel() for _, p in named))
    with torch.no_grad():
        for (_, p), piece in zip(named, theta.split([p.numel() for _, p in named])):
            p.copy_(piece.view_as(p))


@contextmanager
def temporary_params(model: nn.Module, theta: Tensor) -> Iterator[nn.Module]:
    """Evaluate ``model`` at ``theta`` inside the block; the original parameters come back after.

    The model's Parameter objects are swapped for new ones holding ``theta`` and swapped back on
    exit (also on an error); the original tensors are never written, so a graph built from them
    before the block can still be backpropagated, and an optimizer holding them is unaffected.
    Shared (tied) parameters stay shared.

    Parameters
    ----------
    model : torch.nn.Module
        The network to evaluate.
    theta : Tensor, shape (P,)
        Finite floating-point values for the trainable parameters (cast to their dtype).

    Yields
    ------
    torch.nn.Module
        ``model`` itself, holding ``theta`` until the block ends.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module`` or ``theta`` is not a floating-point tensor.
    ValueError
        If the model has no trainable parameters, or ``theta`` is not 1-D, non-finite or not of
        length P.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> before = ob.get_flat_params(net)
    >>> x = torch.ones(4, 2, dtype=torch.float64)
    >>> with ob.temporary_params(net, torch.zeros(13, dtype=torch.float64)) as zeroed:
    ...     print(float(zeroed(x).detach().abs().sum()))  # all weights and biases zero: the output is 0
    0.0
    >>> torch.equal(ob.get_flat_params(net), before)
    True
    """
    named = _named_trainable(model)
    check_float_tensor("theta", theta, ndim=1)
    check_vector("theta", theta, size=sum(p.numel() for _, p in named))
    pieces = theta.detach().split([p.numel() for _, p in named])
    new = {id(p): nn.Parameter(piece.reshape(p.shape).to(p.dtype).clone()) for (_, p), piece in zip(named, pieces)}
    slots = [(module, key, param) for module in model.modules() for key, param in module._parameters.items()
             if param is not None and id(param) in new]
    try:
        for module, key, param in slots:
            module._parameters[key] = new[id(param)]
        yield model
    finally:
        for module, key, param in slots:
            module._parameters[key] = param


def unflatten(model: nn.Module, theta: Tensor) -> dict[str, Tensor]:
    """Split a flat vector (or a leading batch of them) into the model's named parameter shapes.

    Parameters
    ----------
    model : torch.nn.Module
        The network whose trainable parameters give the names and shapes.
    theta : Tensor, shape (P,) or (..., P)
        One flat parameter vector, or a batch of them along leading dimensions.

    Returns
    -------
    dict of str to Tensor
        For each trainable parameter name, a view of ``theta`` of shape ``(..., *param.shape)``.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    ValueError
        If the model has no trainable parameters.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> {name: tuple(piece.shape) for name, piece in ob.unflatten(net, torch.zeros(5, 13)).items()}
    {'0.weight': (5, 3, 2), '0.bias': (5, 3), '2.weight': (5, 1, 3), '2.bias': (5, 1)}
    """
    named = _named_trainable(model)
    sizes = [p.numel() for _, p in named]
    pieces = theta.split(sizes, dim=-1)
    batch = theta.shape[:-1]
    return {n: piece.reshape(*batch, *p.shape) for (n, p), piece in zip(named, pieces)}


_STOCHASTIC = (nn.modules.dropout._DropoutNd, nn.RReLU)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)


def _evaluation_copy(model: nn.Module) -> nn.Module:
    """A private copy of ``model`` whose forward pass is a deterministic function of its parameters."""
    for name, module in model.named_modules():
        if module.training and isinstance(module, _STOCHASTIC) and getattr(module, "p", 1.0) > 0:
            raise ValueError(f"model has a stochastic module in train mode ({name or 'model'}: "
                             f"{type(module).__name__}), so J(theta) would be random: call model.eval() first")
    try:
        twin = copy.deepcopy(model)
    except Exception as error:  # pragma: no cover - exotic modules
        raise TypeError(f"model cannot be copied ({error}); the library evaluates a copy so as not to touch it")
    for module in twin.modules():
        if module.training and isinstance(module, _NORMS) and module.track_running_stats:
            module.track_running_stats = False  # normalize with the batch, update nothing
            module.running_mean = module.running_var = module.num_batches_tracked = None
    return twin


def _frozen_tensors(model: nn.Module) -> dict[str, Tensor]:
    """Every name of a frozen parameter or buffer of ``model``: what J(theta) takes from the model besides theta."""
    frozen = {n: p for n, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}
    frozen.update(dict(model.named_buffers(remove_duplicate=False)))
    return frozen


class FunctionalLoss:
    """``J(theta) = loss_fn(model_theta(inputs), targets)`` as a pure function of a flat theta.

    Works under ``torch.func.vmap``/``grad``/``hessian``. The model is copied when this object is
    made (see the module docstring for train-mode BatchNorm and Dropout); frozen parameters and
    buffers are those of that moment. It keeps the copy, the loss and the data, so that tools such
    as `optbook.landscape.loss_plane` can exploit the network's structure. Usually made by
    `functional_loss`.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is copied, never written.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> Tensor, shape ()``, e.g. `optbook.cross_entropy`.
    inputs : Tensor, shape (N, ...)
        Floating-point inputs, one example per row.
    targets : Tensor, shape (N, ...)
        Targets, one per row of ``inputs``.

    Attributes
    ----------
    model : torch.nn.Module
        The private copy that is evaluated.
    loss_fn, inputs, targets
        As given.
    size : int
        P, the number of trainable parameters (the length of theta).
    dtype : torch.dtype
        The dtype of the model's first trainable parameter.
    frozen : dict of str to Tensor
        The copy's frozen parameters and buffers, passed unchanged to every evaluation.

    Raises
    ------
    TypeError
        If ``model`` is not a module, ``loss_fn`` is not callable, ``inputs`` is not a
        floating-point tensor or ``targets`` is not a tensor; at call time, if theta is not a
        floating-point tensor; if ``model`` cannot be copied.
    ValueError
        If the model has no trainable parameters or a stochastic module (Dropout, RReLU) in train
        mode, ``inputs`` and ``targets`` differ in rows or are empty or non-finite; at call time, if
        theta's last dimension is not P or ``loss_fn`` does not return a scalar.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> x, y = ob.xor()
    >>> J = ob.params.FunctionalLoss(net, ob.squared_error, x, y[:, None])
    >>> J.size, J.dtype
    (13, torch.float64)
    >>> bool(torch.isclose(J(ob.get_flat_params(net)), ob.squared_error(net(x), y[:, None])))
    True
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], inputs: Tensor,
                 targets: Tensor):
        named = _named_trainable(model)
        check_callable("loss_fn", loss_fn)
        check_float_tensor("inputs", inputs)
        check_tensor("targets", targets)
        if inputs.shape[0] != targets.shape[0]:
            raise ValueError(
                f"inputs and targets must have the same number of rows, got {inputs.shape[0]} and {targets.shape[0]}"
            )
        self.model = _evaluation_copy(model)
        self.loss_fn, self.inputs, self.targets = loss_fn, inputs, targets
        self.size = sum(p.numel() for _, p in named)
        self.dtype = named[0][1].dtype
        # Every name a trainable tensor goes by (a tied weight has several), fixed once: the pieces
        # of theta are handed to each alias, so a shared Parameter stays shared.
        aliases: dict[int, list[str]] = {}
        for name, p in self.model.named_parameters(remove_duplicate=False):
            aliases.setdefault(id(p), []).append(name)
        twin_named = _named_trainable(self.model)
        self._layout = [(aliases[id(p)], p.shape) for _, p in twin_named]
        self._sizes = [p.numel() for _, p in twin_named]
        self.frozen = {n: t.detach() for n, t in _frozen_tensors(self.model).items()}

    def reload_frozen(self, model: nn.Module) -> None:
        """Re-read the frozen parameters and buffers (copies) from ``model``, the module this was made from.

        A monitor that evaluates J at many points of one training run copies the model once and
        reloads only what training changes besides theta (BatchNorm's running statistics, frozen
        layers), instead of copying the whole model at every point; for a model without frozen
        tensors this is a walk over its names.

        Parameters
        ----------
        model : torch.nn.Module
            The module the copy was made from (or one with the same frozen names and shapes); it
            is read, never written.

        Raises
        ------
        TypeError
            If ``model`` is not a module.
        ValueError
            If ``model``'s frozen names are not the copy's, or one has another shape.

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)).eval()
        >>> J = ob.functional_loss(net, ob.squared_error, torch.ones(3, 2), torch.zeros(3, 2))
        >>> with torch.no_grad():
        ...     net[1].running_mean += 1.0
        >>> J.reload_frozen(net)
        >>> J.frozen["1.running_mean"].tolist()
        [1.0, 1.0]
        """
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        current = _frozen_tensors(model)
        if current.keys() != self.frozen.keys():
            raise ValueError(f"model's frozen tensors are not those this cost was made with (missing "
                             f"{sorted(self.frozen.keys() - current.keys())}, new {sorted(current.keys() - self.frozen.keys())})")
        for name, old in self.frozen.items():
            if current[name].shape != old.shape:
                raise ValueError(f"model's frozen tensor {name!r} has shape {tuple(current[name].shape)}, "
                                 f"not {tuple(old.shape)}: reload from the module this cost was made from")
        self.frozen = {name: current[name].detach().clone() for name in self.frozen}

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """The pieces of ``theta`` (or of a leading batch of them) under every name they go by.

        Parameters
        ----------
        theta : Tensor, shape (P,) or (..., P)
            One flat parameter vector, or a batch of them along leading dimensions.

        Returns
        -------
        dict of str to Tensor
            Each trainable parameter's piece, shape ``(..., *param.shape)``, under each of its
            names (a tied weight appears under every name it has).

        Examples
        --------
        >>> import torch
        >>> import optbook as ob
        >>> x, y = ob.xor()
        >>> J = ob.functional_loss(ob.mlp([2, 3, 1], dtype=torch.float64), ob.squared_error, x, y[:, None])
        >>> tuple(J.unflatten(torch.zeros(13, dtype=torch.float64))["0.weight"].shape)
        (3, 2)
        """
        batch = theta.shape[:-1]
        params = {}
        for (names, shape), piece in zip(self._layout, theta.split(self._sizes, dim=-1)):
            piece = piece.reshape(*batch, *shape)
            params.update({name: piece for name in names})
        return params

    def __call__(self, theta: Tensor) -> Tensor:
        if not isinstance(theta, Tensor):
            raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
        if not theta.is_floating_point():
            raise TypeError(f"theta must be a floating-point tensor, got {theta.dtype}")
        if theta.dim() == 0 or theta.shape[-1] != self.size:
            raise ValueError(f"theta must have {self.size} entries, got shape {tuple(theta.shape)}")
        params = self.unflatten(theta)
        params.update(self.frozen)
        outputs = functional_call(self.model, params, (self.inputs,), tie_weights=False)
        loss_value = self.loss_fn(outputs, self.targets)
        if not isinstance(loss_value, Tensor) or loss_value.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar tensor, got {getattr(loss_value, 'shape', type(loss_value))}")
        return loss_value


def functional_loss(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
) -> FunctionalLoss:
    """Return ``J(theta) = loss_fn(model_theta(inputs), targets)``, a pure function of theta.

    The cost that the rest of the library differentiates (`optbook.gradient`, `optbook.hvp`,
    `optbook.hessian_extremes`); see `FunctionalLoss` and the module docstring for what is copied.

    Parameters
    ----------
    model : torch.nn.Module
        The network; a private copy is evaluated, the model itself is never written.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> Tensor, shape ()``, e.g. `optbook.cross_entropy` or
        `optbook.squared_error`.
    inputs : Tensor, shape (N, ...)
        Floating-point inputs, one example per row.
    targets : Tensor, shape (N, ...)
        Targets, one per row of ``inputs``.

    Returns
    -------
    FunctionalLoss
        A callable ``theta -> Tensor, shape ()`` for theta of shape (P,), that ``torch.func`` can
        transform.

    Raises
    ------
    TypeError, ValueError
        As `FunctionalLoss` (non-module model, uncallable loss, mismatched rows, Dropout in train
        mode, ...).

    Examples
    --------
    With every parameter zero the 2-3-1 net outputs 0, so the squared error on XOR is half the
    mean of the squared labels, 0.5 * 2/4:

    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> J = ob.functional_loss(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64), ob.squared_error, x, y[:, None])
    >>> J(torch.zeros(13, dtype=torch.float64)).item()
    0.25
    """
    return FunctionalLoss(model, loss_fn, inputs, targets)
