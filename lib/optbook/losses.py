"""Losses of a network's outputs against targets: the cost J is one of these, averaged over rows.

Both are written out so that forward-mode and reverse-mode automatic differentiation can be
combined (reverse-over-forward Hessian-vector products, `optbook.hvp`), and so that the batched
evaluator (`optbook.batched`) can recognise them and reduce along contiguous memory.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Loss = Callable[[Tensor, Tensor], Tensor]


def _check_pair(outputs: object, targets: object) -> None:
    """Type checks that also work inside torch.func transforms (no values are read)."""
    for name, value in (("outputs", outputs), ("targets", targets)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not outputs.is_floating_point():
        raise TypeError(f"outputs must be a floating-point tensor, got {outputs.dtype}")
    if outputs.dim() == 0 or outputs.shape[0] == 0:
        raise ValueError(f"outputs must have at least one row, got shape {tuple(outputs.shape)}")


def squared_error(outputs: Tensor, targets: Tensor) -> Tensor:
    """Half the squared distance to the (one-hot) targets, summed over outputs, mean over rows.

    Parameters
    ----------
    outputs : Tensor, shape (N, C)
        The network's floating-point outputs (or shape (N,) for one output per row).
    targets : Tensor, same shape as ``outputs``
        The targets (one-hot rows for classification).

    Returns
    -------
    Tensor, shape ()
        ``0.5 * ((outputs - targets) ** 2).sum(-1).mean()``.

    Raises
    ------
    TypeError
        If either argument is not a tensor, or ``outputs`` is not floating-point.
    ValueError
        If ``outputs`` has no rows, or ``targets`` is not shaped like ``outputs`` (an [N, 1] against
        [N] pair would broadcast to [N, N] silently).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> outputs = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    >>> ob.squared_error(outputs, torch.zeros(2, 2)).item()  # (0.5 * 5 + 0) / 2
    1.25
    """
    _check_pair(outputs, targets)
    if targets.shape != outputs.shape:  # [N, 1] against [N] would broadcast to [N, N] silently
        raise ValueError(f"targets must have the shape of outputs {tuple(outputs.shape)}, got {tuple(targets.shape)}")
    return 0.5 * ((outputs - targets) ** 2).sum(-1).mean()


def log_softmax(outputs: Tensor, dim: int = -1) -> Tensor:
    """log softmax along ``dim``, written out so that forward-mode and reverse-mode AD can be combined.

    torch's own softmax family updates a saved tensor in place in its forward-mode derivative,
    which breaks a backward pass taken through it (pytorch/pytorch#162350); reverse-over-forward
    Hessian-vector products (`optbook.hvp`) need that combination. The max is a shift the value
    does not depend on, so it is detached.

    Parameters
    ----------
    outputs : Tensor
        Floating-point scores (logits).
    dim : int, optional
        The class dimension (default -1).

    Returns
    -------
    Tensor, shape of ``outputs``
        ``outputs - logsumexp(outputs, dim)``.

    Examples
    --------
    >>> import torch
    >>> from optbook.losses import log_softmax
    >>> x = torch.tensor([[1.0, 2.0, 3.0], [0.0, -5.0, 5.0]], dtype=torch.float64)
    >>> torch.allclose(log_softmax(x), torch.log_softmax(x, -1))
    True
    """
    shifted = outputs - outputs.detach().amax(dim, keepdim=True)
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


def cross_entropy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Softmax cross-entropy, mean over rows, with class-index or probability (one-hot) targets.

    Equal to ``nn.functional.cross_entropy`` (classes along dim 1), and usable with forward-mode AD.

    Parameters
    ----------
    outputs : Tensor, shape (N, C) or (N, C, ...)
        Floating-point logits, classes along dim 1 (or shape (C,) for a single row).
    targets : Tensor, shape (N, ...) of long, or shape of ``outputs`` (float)
        Class indices, or class probabilities (one-hot rows) shaped like ``outputs``.

    Returns
    -------
    Tensor, shape ()
        The mean over rows of -log softmax(outputs)[target] (or of -sum p log softmax).

    Raises
    ------
    TypeError
        If either argument is not a tensor, ``outputs`` is not floating-point, or ``targets`` is
        neither ``torch.long`` indices nor floating-point probabilities shaped like ``outputs``.
    ValueError
        If ``outputs`` has no rows, or index ``targets`` have the wrong shape.
    RuntimeError
        If a class index is out of range (values are not read before ``gather``, so that the loss
        works under ``torch.func.vmap``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], dtype=torch.float64)
    >>> labels = torch.tensor([0, 2])
    >>> torch.isclose(ob.cross_entropy(logits, labels), torch.nn.functional.cross_entropy(logits, labels)).item()
    True
    >>> one_hot = torch.nn.functional.one_hot(labels, 3).to(torch.float64)
    >>> torch.isclose(ob.cross_entropy(logits, one_hot), ob.cross_entropy(logits, labels)).item()
    True
    """
    _check_pair(outputs, targets)
    class_dim = 1 if outputs.dim() > 1 else 0
    log_probs = log_softmax(outputs, class_dim)
    if targets.shape == outputs.shape and targets.is_floating_point():
        return -(targets * log_probs).sum(class_dim).mean()
    if targets.dtype != torch.long:
        raise TypeError(f"targets must be class indices (torch.long) or probabilities shaped like outputs, "
                        f"got {targets.dtype} of shape {tuple(targets.shape)}")
    expected = outputs.shape[:class_dim] + outputs.shape[class_dim + 1:]
    if targets.shape != expected:
        raise ValueError(f"targets must have shape {tuple(expected)} for outputs of shape {tuple(outputs.shape)}, "
                         f"got {tuple(targets.shape)}")
    # an index out of range fails in gather ("index 9 is out of bounds"); checking values here would
    # read them, which torch.func.vmap over minibatches cannot do
    return -log_probs.gather(class_dim, targets.unsqueeze(class_dim)).mean()


def classification_error(outputs: Tensor, targets: Tensor) -> float:
    """Fraction of rows whose largest output is not the target class (index or one-hot).

    Parameters
    ----------
    outputs : Tensor, shape (N, C)
        Scores; the predicted class of a row is its argmax.
    targets : Tensor, shape (N,) or (N, C)
        Class indices, or one-hot (or probability) rows whose argmax is the class.

    Returns
    -------
    float
        The error rate in [0, 1].

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> outputs = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    >>> round(ob.classification_error(outputs, torch.tensor([0, 0, 1])), 6)  # rows 2 and 3 wrong
    0.666667
    >>> ob.classification_error(outputs, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    0.0
    """
    labels = targets.argmax(-1) if targets.dim() == outputs.dim() else targets
    return float((outputs.argmax(-1) != labels).to(torch.float64).mean())
