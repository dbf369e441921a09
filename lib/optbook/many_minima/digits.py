"""The digits for comparison: many restarts of a small ReLU network, the best cost as the reference.

Here no global minimum is known; the lowest training cost over all restarts stands in for it
(stated as such on the page). Each run's validation error is recorded against the step, for the
essay's question of what stopping early costs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validate import check_positive, check_positive_int
from ..batched import mlp_outputs
from ..data import Split
from ..losses import cross_entropy
from ..models import mlp
from ..params import functional_loss
from ..runs import Runs
from ..training import gradient_descent_many

__all__ = ["default_starts", "digits_restarts"]


def default_starts(sizes: tuple[int, int, int], restarts: int, seed: int) -> Tensor:
    """R PyTorch-default (uniform +-1/sqrt(fan_in)) starts of a one-hidden-layer MLP, flat [R, P].

    Parameters
    ----------
    sizes : (int, int, int)
        Inputs, hidden units, outputs.
    restarts, seed : int

    Returns
    -------
    Tensor, shape (R, P), float32, in `optbook.mlp`'s layout (W1, b1, W2, b2; W as [out, in]).

    Raises
    ------
    TypeError
        If ``sizes`` is not three ints or ``seed`` is not an int.
    ValueError
        If a size or ``restarts`` < 1.

    Examples
    --------
    >>> default_starts((4, 3, 2), 5, seed=0).shape
    torch.Size([5, 23])
    """
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 3:
        raise TypeError(f"sizes must be a tuple (inputs, hidden, outputs), got {sizes!r:.40}")
    n_in, width, n_out = (check_positive_int(f"sizes[{i}]", v) for i, v in enumerate(sizes))
    restarts = check_positive_int("restarts", restarts)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    g = torch.Generator().manual_seed(seed)
    pieces = []
    for count, fan_in in ((width * n_in, n_in), (width, n_in), (n_out * width, width), (n_out, width)):
        pieces.append((torch.rand(restarts, count, generator=g) * 2 - 1) / fan_in ** 0.5)
    return torch.cat(pieces, dim=1)


def digits_restarts(data: Split, width: int, restarts: int, seed: int, lr: float, steps: int,
                    record_every: int) -> Runs:
    """Full-batch gradient descent on a 64-width-10 ReLU network from R starts at once, on the digits.

    Parameters
    ----------
    data : Split
        The digits (`optbook.digits`).
    width, restarts, seed : int
    lr : float
    steps, record_every : int
        ``steps`` must be a multiple of ``record_every``.

    Returns
    -------
    Runs
        ``loss`` [T, R] (training cross-entropy), ``grad_norm`` [T, R], ``params`` [T, R, P],
        ``series["val_error"]`` and ``series["train_error"]`` [T, R].

    Raises
    ------
    TypeError
        If ``data`` is not a Split or a number has the wrong type.
    ValueError
        If a size or count < 1, ``lr`` <= 0, or ``steps`` is not a multiple of ``record_every``.

    Examples
    --------
    >>> import optbook as ob
    >>> runs = digits_restarts(ob.digits(), width=4, restarts=3, seed=0, lr=0.5, steps=20, record_every=10)
    >>> runs.loss.shape, runs["val_error"].shape
    (torch.Size([3, 3]), torch.Size([3, 3]))
    """
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    width, steps, record_every = (check_positive_int(n, v) for n, v in
                                  (("width", width), ("steps", steps), ("record_every", record_every)))
    check_positive("lr", lr)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    sizes = (data.x_train.shape[1], width, int(data.y_train.max()) + 1)
    model = mlp(sizes, activation="relu", dtype=data.x_train.dtype)
    loss = functional_loss(model, cross_entropy, data.x_train, data.y_train)
    theta = default_starts(sizes, restarts, seed).to(data.x_train.dtype)
    marks, costs, norms, params, val, train = [], [], [], [], [], []
    last = steps // record_every
    for chunk in range(last + 1):  # the last call takes one step only, for the cost at the end
        part = gradient_descent_many(loss, theta, lr, record_every if chunk < last else 1, record_every=record_every)
        marks.append(chunk * record_every)
        costs.append(part.loss[0])
        norms.append(part.grad_norm[0])
        params.append(theta)
        with torch.no_grad():
            val.append((mlp_outputs(model, data.x_val, theta).argmax(1) != data.y_val).double().mean(-1))
            train.append((mlp_outputs(model, data.x_train, theta).argmax(1) != data.y_train).double().mean(-1))
        theta = part.final_params
    return Runs(torch.tensor(marks), torch.stack(costs), grad_norm=torch.stack(norms), params=torch.stack(params),
                series={"val_error": torch.stack(val).to(costs[0].dtype),
                        "train_error": torch.stack(train).to(costs[0].dtype)},
                settings=dict(width=width, lr=lr, seed=seed))
