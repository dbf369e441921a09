"""Many parameter vectors of one small MLP evaluated in a single pass, for restarts and planes.

`torch.func.vmap(loss)` works for any model, but for the small fully connected nets of the book
two things make it slow on a CPU: every op goes through the batching machinery, and the loss
reduces over the classes, the *last* and shortest axis (PyTorch's log-softmax over 3 or 10
classes runs about ten times slower per element than over a long axis; measured). Here a plain
MLP is run directly as batched matrix products with activations laid out
[runs, units, examples], so the loss reduces over classes along contiguous memory. Same values
as the model's own forward pass up to rounding; differentiable, so autograd gives every run's
gradient from the summed cost.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from ._validate import check_positive_int, check_tensor
from .losses import cross_entropy, squared_error
from .params import LossFn, _named_trainable



def tanh(h: Tensor) -> Tensor:
    """tanh; in float32 as 2 sigmoid(2h) - 1 (within 2e-7), five times faster than torch.tanh on CPU (measured).

    Parameters
    ----------
    h : Tensor
        Pre-activations, any shape; other dtypes than float32 go to ``torch.tanh``.

    Returns
    -------
    Tensor, shape of ``h``
        tanh(h), differentiable.

    Examples
    --------
    >>> import torch
    >>> from optbook.batched import tanh
    >>> h = torch.linspace(-5, 5, 101)
    >>> torch.allclose(tanh(h), torch.tanh(h), rtol=0, atol=2e-7)
    True
    """
    if h.dtype != torch.float32:
        return torch.tanh(h)
    return torch.sigmoid(2 * h) * 2 - 1


def tanh_(h: Tensor) -> Tensor:
    """In-place `tanh`, for evaluations without gradients.

    Parameters
    ----------
    h : Tensor
        Pre-activations, any shape; overwritten.

    Returns
    -------
    Tensor
        ``h`` itself, now holding tanh(h).

    Examples
    --------
    >>> import torch
    >>> from optbook.batched import tanh_
    >>> h = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    >>> tanh_(h) is h, torch.allclose(h, torch.tanh(torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)))
    (True, True)
    """
    if h.dtype != torch.float32:
        return h.tanh_()
    return h.mul_(2).sigmoid_().mul_(2).sub_(1)


ELEMENTWISE = {nn.Tanh: tanh, nn.ReLU: torch.relu, nn.Sigmoid: torch.sigmoid, nn.Identity: lambda h: h}
IN_PLACE = {nn.Tanh: tanh_, nn.ReLU: Tensor.relu_, nn.Sigmoid: Tensor.sigmoid_, nn.Identity: lambda h: h}
ColumnLoss = Callable[[Tensor], Tensor]


def plain_mlp(loss: LossFn) -> nn.Sequential | None:
    """The network behind ``loss`` if it is a Linear/elementwise nn.Sequential with every parameter trained.

    Parameters
    ----------
    loss : callable
        A cost; its ``model`` attribute (as on `optbook.params.FunctionalLoss`) is inspected.

    Returns
    -------
    torch.nn.Sequential or None
        The model when it starts with a Linear layer, has only Linear and tanh/ReLU/sigmoid/
        identity layers, no buffers, no frozen or tied parameters; otherwise None.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> J = ob.functional_loss(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64), ob.squared_error, x, y[:, None])
    >>> ob.batched.plain_mlp(J) is J.model
    True
    >>> ob.batched.plain_mlp(lambda theta: (theta ** 2).sum()) is None
    True
    """
    model = getattr(loss, "model", None)
    if not isinstance(model, nn.Sequential) or not len(model) or not isinstance(model[0], nn.Linear):
        return None
    if any(not isinstance(m, (nn.Linear, *ELEMENTWISE)) for m in model) or list(model.buffers()):
        return None
    if any(not p.requires_grad for p in model.parameters()):
        return None
    if len(list(model.named_parameters(remove_duplicate=False))) != len(list(model.named_parameters())):
        return None  # tied weights: the general path handles them
    if any(m.training for m in model.modules() if not isinstance(m, (nn.Linear, *ELEMENTWISE, nn.Sequential))):
        return None
    return model


def columnwise_loss(loss_fn: Callable, targets: Tensor) -> ColumnLoss | None:
    """A known loss as a function of outputs laid out [runs, classes, examples] -> [runs].

    Knows the library's `cross_entropy` (class indices or probabilities) and `squared_error`;
    returns None for any other loss, which callers then evaluate one run at a time.

    Parameters
    ----------
    loss_fn : callable
        The loss of the cost (``FunctionalLoss.loss_fn``).
    targets : Tensor, shape (N,) of long, or (N, C)
        Class indices, or probability / regression targets.

    Returns
    -------
    callable or None
        ``outputs -> losses`` mapping a Tensor of shape (R, C, N) to shape (R,) (the loss of each
        run), or None when ``loss_fn`` is not a known loss.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], dtype=torch.float64)  # (N, C)
    >>> labels = torch.tensor([0, 2])
    >>> column_loss = ob.batched.columnwise_loss(ob.cross_entropy, labels)
    >>> torch.isclose(column_loss(logits.T[None])[0], ob.cross_entropy(logits, labels)).item()
    True
    >>> ob.batched.columnwise_loss(torch.nn.functional.l1_loss, labels) is None
    True
    """
    if loss_fn in (cross_entropy, nn.functional.cross_entropy):
        if targets.dim() == 1:  # class indices
            index = targets[None, None, :]

            def cross_entropy_of_indices(out: Tensor) -> Tensor:
                top = out.amax(1, keepdim=True).detach()  # a shift: log-sum-exp does not depend on it
                log_norm = (out - top).exp().sum(1).log() + top[:, 0]
                picked = out.gather(1, index.expand(out.shape[0], 1, -1))[:, 0]
                return (log_norm - picked).mean(1)

            return cross_entropy_of_indices
        probabilities = targets.T[None]
        return lambda out: -(probabilities * out.log_softmax(1)).sum(1).mean(1)
    if loss_fn is squared_error:
        wanted = targets.T[None]
        return lambda out: 0.5 * (out - wanted).pow(2).sum(1).mean(1)
    return None


def mlp_losses(loss: LossFn, thetas: Tensor) -> Tensor:
    """J(theta_r) for each row of ``thetas`` [R, P] of a plain MLP with a known loss, as one pass.

    Parameters
    ----------
    loss : FunctionalLoss
        From `optbook.functional_loss` on a plain MLP (see `plain_mlp`) with `optbook.cross_entropy`
        or `optbook.squared_error`.
    thetas : Tensor, shape (R, P)
        One parameter vector per row.

    Returns
    -------
    Tensor, shape (R,)
        The cost of each run; differentiable with respect to ``thetas``.

    Raises
    ------
    ValueError
        If ``loss`` is not of that kind, or ``thetas`` is not 2-D, empty, non-finite or without
        exactly P columns.
    TypeError
        If ``thetas`` is not a tensor.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> J = ob.functional_loss(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64), ob.squared_error, x, y[:, None])
    >>> thetas = torch.randn(4, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(ob.batched.mlp_losses(J, thetas), torch.stack([J(t) for t in thetas]))
    True
    """
    model = plain_mlp(loss)
    column_loss = columnwise_loss(loss.loss_fn, loss.targets) if model is not None else None
    if column_loss is None:
        raise ValueError("loss must come from ob.functional_loss on a plain Linear/activation nn.Sequential "
                         "with ob.cross_entropy or ob.squared_error; use torch.func.vmap(loss) otherwise")
    check_tensor("thetas", thetas, ndim=2)
    if thetas.shape[1] != sum(p.numel() for _, p in _named_trainable(model)):
        raise ValueError(f"thetas must have one column per trainable parameter of the model, got {thetas.shape[1]}")
    return _forward(model, column_loss, loss.inputs, thetas)


def mlp_outputs(model: nn.Sequential, inputs: Tensor, thetas: Tensor, first_layer: Tensor | None = None) -> Tensor:
    """The outputs of a plain MLP at each row of ``thetas``, laid out [runs, outputs, examples].

    The library's one batched forward pass: `mlp_losses` (and so `evaluator`, `batched_loss`,
    `optbook.gradient_descent_many`), the landscape's planes and the restarts of the local-minima
    page all run through it. Differentiable; without gradients (``torch.no_grad``) the activations
    run in place. Nothing is checked (callers check): diverged runs stay non-finite.

    Parameters
    ----------
    model : nn.Sequential
        A plain MLP (see `plain_mlp`); only its structure is used, never its parameters.
    inputs : Tensor, shape (N, in)
        The examples, shared by every run.
    thetas : Tensor, shape (R, P)
        One flat parameter vector per run, in the model's layout; with ``first_layer``, only the
        parameters after the first layer's (the first layer's are then not needed).
    first_layer : Tensor, shape (R, out, N), optional
        The first Linear layer's output, when the caller has it already (the landscape computes
        it affinely in the plane's coordinates); that layer is then skipped.

    Returns
    -------
    Tensor, shape (R, outputs, N)

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 2], seed=0, dtype=torch.float64)
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> out = mlp_outputs(net, x, ob.get_flat_params(net)[None])
    >>> out.shape, torch.allclose(out[0].T, net(x))
    (torch.Size([1, 2, 5]), True)
    """
    named = _named_trainable(model)
    if first_layer is not None:
        named = [(name, p) for name, p in named if not name.startswith("0.")]
    sizes = [p.numel() for _, p in named]
    # contiguous pieces: a strided bias would give baddbmm's output a classes-last layout (2x slower loss)
    pieces = {name: piece.reshape(-1, *p.shape).contiguous()
              for (name, p), piece in zip(named, thetas.split(sizes, dim=1))}
    return layer_outputs(model, inputs, pieces, first_layer)


def layer_outputs(model: nn.Sequential, inputs: Tensor, pieces: dict[str, Tensor],
                  first_layer: Tensor | None = None) -> Tensor:
    """`mlp_outputs` on parameters given per layer: ``pieces[name]`` is [R, *shape] for each of the model's names.

    The landscape combines each layer's weights from a plane's directions itself (cheaper than
    building whole parameter vectors) and calls this; nothing is checked.
    """
    dtype = first_layer.dtype if first_layer is not None else next(iter(pieces.values())).dtype
    h, fresh = inputs.T.to(dtype), False  # [in, examples], shared by every run
    in_place = not torch.is_grad_enabled()
    for index, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            if index == 0 and first_layer is not None:
                h = first_layer
            elif layer.bias is not None and h.dim() == 3:
                h = torch.baddbmm(pieces[f"{index}.bias"][:, :, None], pieces[f"{index}.weight"], h)
            else:
                h = torch.matmul(pieces[f"{index}.weight"], h)  # [R, out, examples]
                if layer.bias is not None:
                    h = h + pieces[f"{index}.bias"][:, :, None]
            fresh = True
        else:
            h = (IN_PLACE if in_place and fresh else ELEMENTWISE)[type(layer)](h)
    return h


def _forward(model: nn.Sequential, column_loss: ColumnLoss, inputs: Tensor, thetas: Tensor) -> Tensor:
    """The batched loss, unchecked: diverged (non-finite) runs stay non-finite."""
    return column_loss(mlp_outputs(model, inputs, thetas))


def evaluator(loss: LossFn) -> Callable[[Tensor], Tensor]:
    """thetas [R, P] -> losses [R]: `mlp_losses` when it applies, else ``torch.func.vmap(loss)``.

    The one batched evaluator of the library: `batched_loss`, `optbook.gradient_descent_many` and
    the landscape's planes all go through it. It returns a function, with gradients, and checks
    nothing: a diverged (non-finite) run stays non-finite.

    Parameters
    ----------
    loss : callable
        The cost ``theta -> Tensor, shape ()``.

    Returns
    -------
    callable
        ``thetas -> losses``, Tensor of shape (R, P) to Tensor of shape (R,).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> J = ob.functional_loss(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64), ob.squared_error, x, y[:, None])
    >>> thetas = torch.randn(4, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> torch.allclose(ob.batched.evaluator(J)(thetas), torch.func.vmap(J)(thetas))
    True
    >>> d = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> ob.batched.evaluator(lambda t: 0.5 * (t * t * d).sum())(torch.ones(3, 2, dtype=torch.float64)).tolist()
    [1.5, 1.5, 1.5]
    """
    model = plain_mlp(loss)
    column_loss = columnwise_loss(loss.loss_fn, loss.targets) if model is not None else None
    if column_loss is None:
        return torch.func.vmap(loss)
    return lambda thetas: _forward(model, column_loss, loss.inputs, thetas)


def batched_loss(loss: LossFn, thetas: Tensor, chunk_size: int | None = None) -> Tensor:
    """Evaluate ``loss`` at each row of ``thetas`` [B, P] with the batched evaluator (no grad).

    Parameters
    ----------
    loss : callable
        A cost ``theta -> Tensor, shape ()`` that ``torch.func.vmap`` can batch (e.g. from
        `functional_loss`).
    thetas : Tensor, shape (B, P)
        One parameter vector per row.
    chunk_size : int or None, optional
        Rows per vectorized chunk (bounds memory); None evaluates all rows at once.

    Returns
    -------
    Tensor, shape (B,)
        ``loss(thetas[b])`` for each row b.

    Raises
    ------
    TypeError
        If ``thetas`` is not a tensor.
    ValueError
        If ``thetas`` is not 2-D, empty or non-finite.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> J = ob.functional_loss(net, ob.squared_error, x, y[:, None])
    >>> thetas = torch.stack([ob.get_flat_params(net), torch.zeros(13, dtype=torch.float64)])
    >>> values = ob.batched_loss(J, thetas)
    >>> values.shape, values[1].item()
    (torch.Size([2]), 0.25)
    >>> bool(torch.isclose(values[0], J(thetas[0])))
    True
    """
    check_tensor("thetas", thetas, ndim=2)
    if chunk_size is not None:
        check_positive_int("chunk_size", chunk_size)
    evaluate = evaluator(loss)
    with torch.no_grad():
        if chunk_size is None:
            return evaluate(thetas)
        return torch.cat([evaluate(chunk) for chunk in thetas.split(chunk_size)])
