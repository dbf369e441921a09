"""Many restarts of one model, trained together: do bad minima matter as networks grow?

In the spirit of Choromanska et al. (2015), `train_restarts` trains R one-hidden-layer ReLU
networks per width on the digits as ONE batched tensor computation (each restart's weights
are a slice of a [R, ...] tensor and the summed loss gives every restart its own gradient), so
that histograms of the final train and test costs can be compared across widths.
`convex_restarts` does the same for a convex model (L2-regularized multinomial logistic
regression), where every start must end at the same cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .._validate import check_float_dtype, check_int_sequence, check_positive, check_positive_int, check_seed
from ..batched import evaluator, mlp_outputs
from ..data import Split
from ..losses import cross_entropy
from ..models import mlp
from ..params import functional_loss




@dataclass(frozen=True)
class RestartResults:
    """Final train/test costs and errors of R restarts for each width (arrays [W, R])."""

    widths: tuple[int, ...]
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    final_grad_norm: np.ndarray
    steps: int
    lr: float
    momentum: float

    def std(self, which: str = "test_loss") -> np.ndarray:
        """Standard deviation across restarts, one value per width."""
        return getattr(self, _check_which(which)).std(axis=1, ddof=1)

    def mean(self, which: str = "test_loss") -> np.ndarray:
        """Mean across restarts, one value per width."""
        return getattr(self, _check_which(which)).mean(axis=1)


def _check_which(which: str) -> str:
    allowed = ("train_loss", "test_loss", "train_error", "test_error", "final_grad_norm")
    if which not in allowed:
        raise ValueError(f"which must be one of {allowed}, got {which!r}")
    return which


def init_one_hidden_layer(n_in: int, width: int, n_out: int, restarts: int, seed: int,
                          dtype: torch.dtype = torch.float32) -> list[Tensor]:
    """R independent PyTorch-default (uniform +-1/sqrt(fan_in)) initializations, stacked on dim 0."""
    for name, value in (("n_in", n_in), ("width", width), ("n_out", n_out), ("restarts", restarts)):
        check_positive_int(name, value)
    check_float_dtype("dtype", dtype)
    g = torch.Generator().manual_seed(check_seed("seed", seed))

    def uniform(*shape: int, fan_in: int) -> Tensor:
        bound = 1.0 / fan_in**0.5
        return ((torch.rand(restarts, *shape, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(dtype)

    return [uniform(n_in, width, fan_in=n_in), uniform(width, fan_in=n_in),
            uniform(width, n_out, fan_in=width), uniform(n_out, fan_in=width)]


def _flat_starts(params: Sequence[Tensor]) -> Tensor:
    """`init_one_hidden_layer`'s [W1, b1, W2, b2] as flat vectors [R, P] in `optbook.mlp`'s layout."""
    w1, b1, w2, b2 = params
    return torch.cat([w1.transpose(1, 2).flatten(1), b1, w2.transpose(1, 2).flatten(1), b2], dim=1)


def _final_numbers(model: nn.Sequential, thetas: Tensor, data: Split, cost) -> dict[str, Tensor]:
    """Train/test cost and error and the final gradient norm of each run [R] (one batched forward each)."""
    with torch.enable_grad():
        thetas = thetas.detach().requires_grad_(True)
        loss = cost(thetas)
        (grads,) = torch.autograd.grad(loss.sum(), thetas)
    out_train = mlp_outputs(model, data.x_train, thetas.detach())  # [R, classes, examples]
    out_test = mlp_outputs(model, data.x_val, thetas.detach())
    test_loss = evaluator(functional_loss(model, cross_entropy, data.x_val, data.y_val))(thetas.detach())
    return {"train_loss": loss.detach(), "test_loss": test_loss,
            "train_error": (out_train.argmax(1) != data.y_train).double().mean(-1),
            "test_error": (out_test.argmax(1) != data.y_val).double().mean(-1),
            "final_grad_norm": grads.norm(dim=1)}


@torch.no_grad()
def train_restarts(
    data: Split,
    widths: Sequence[int] = (2, 4, 8, 16, 32, 64),
    restarts: int = 30,
    steps: int = 600,
    lr: float = 0.5,
    momentum: float = 0.0,
    seed: int = 0,
) -> RestartResults:
    """Full-batch GD (cross-entropy, optional heavy-ball momentum) from ``restarts`` inits per width."""
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    if data.y_train.dim() != 1:
        raise ValueError("data must have class-index targets (not one-hot)")
    widths = check_int_sequence("widths", widths)
    check_seed("seed", seed)
    check_positive_int("restarts", restarts, minimum=2)
    check_positive_int("steps", steps)
    check_positive("lr", lr)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    x, y = data.x_train, data.y_train
    n_classes = data.n_classes
    rows = {k: [] for k in ("train_loss", "test_loss", "train_error", "test_error", "final_grad_norm")}
    for i, width in enumerate(widths):
        model = mlp([x.shape[1], width, n_classes], activation="relu", dtype=x.dtype)  # the layout only
        cost = evaluator(functional_loss(model, cross_entropy, x, y))  # the one batched forward, [R, P] -> [R]
        thetas = _flat_starts(init_one_hidden_layer(x.shape[1], width, n_classes, restarts, seed * 1000 + i, x.dtype))
        velocity = torch.zeros_like(thetas)
        for _ in range(steps):
            with torch.enable_grad():
                point = thetas.requires_grad_(True)
                (grads,) = torch.autograd.grad(cost(point).sum(), point)
            thetas = thetas.detach()
            velocity.mul_(momentum).add_(grads)
            thetas.sub_(lr * velocity)
        for key, value in _final_numbers(model, thetas, data, cost).items():
            rows[key].append(value)
    arrays = {k: torch.stack(v).double().numpy() for k, v in rows.items()}
    return RestartResults(widths=widths, steps=steps, lr=float(lr), momentum=float(momentum), **arrays)


@dataclass(frozen=True)
class ConvexRestarts:
    """Final costs [R], gradient norms [R], weights [R, D, C] and biases [R, C] of convex restarts."""

    cost: np.ndarray
    grad_norm: np.ndarray
    weights: Tensor
    biases: Tensor

    def max_distance_from_mean(self) -> float:
        """Largest distance of any run's (weights, biases) from the runs' mean: how far apart the ends are."""
        flat = torch.cat([self.weights.flatten(1), self.biases], 1)
        return float((flat - flat.mean(0)).norm(dim=1).max())

    def max_distance_without_bias_shift(self) -> float:
        """The same, after removing each run's mean bias (the flat direction of the softmax)."""
        biases = self.biases - self.biases.mean(1, keepdim=True)
        flat = torch.cat([self.weights.flatten(1), biases], 1)
        return float((flat - flat.mean(0)).norm(dim=1).max())


@torch.no_grad()
def convex_restarts(data: Split, restarts: int = 8, weight_decay: float = 0.01, lr: float = 0.5,
                    momentum: float = 0.9, steps: int = 1500, init_scale: float = 1.0,
                    seed: int = 0) -> ConvexRestarts:
    """Multinomial logistic regression + weight_decay/2 |W|^2 on the digits from R random starts, batched.

    The cost is convex, so every start must reach the same cost. The biases are not penalized,
    and adding one constant to every class's bias leaves the softmax unchanged: the minimizers
    form a line (a flat bottom), along which each run keeps the mean bias it started with.
    """
    if not isinstance(data, Split):
        raise TypeError(f"data must be an optbook Split, got {type(data).__name__}")
    check_positive_int("restarts", restarts, minimum=2)
    check_positive("weight_decay", weight_decay)
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive("init_scale", init_scale)
    check_seed("seed", seed)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    x, y = data.x_train, data.y_train
    one_hot = torch.nn.functional.one_hot(y, data.n_classes).to(x.dtype)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    w = init_scale * torch.randn(restarts, x.shape[1], data.n_classes, generator=g, dtype=torch.float64).to(x.dtype)
    b = init_scale * torch.randn(restarts, data.n_classes, generator=g, dtype=torch.float64).to(x.dtype)
    vw, vb = torch.zeros_like(w), torch.zeros_like(b)

    def cost_and_grads() -> tuple[Tensor, Tensor, Tensor]:
        logp = torch.log_softmax(torch.matmul(x, w) + b[:, None, :], -1)
        cost = -(logp * one_hot).sum(-1).mean(-1) + 0.5 * weight_decay * (w**2).sum((1, 2))
        d = (logp.exp() - one_hot) / x.shape[0]
        return cost, torch.matmul(x.T, d) + weight_decay * w, d.sum(1)

    for _ in range(steps):
        _, gw, gb = cost_and_grads()
        vw.mul_(momentum).add_(gw)
        vb.mul_(momentum).add_(gb)
        w -= lr * vw
        b -= lr * vb
    cost, gw, gb = cost_and_grads()
    grad_norm = torch.sqrt((gw**2).sum((1, 2)) + (gb**2).sum(1))
    return ConvexRestarts(cost.double().numpy(), grad_norm.double().numpy(), w, b)
