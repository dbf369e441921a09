"""Local minima with high cost exist, even without hidden units (sec. 8.2.2).

* A single sigmoid unit with squared loss on two points (a construction in the line of Sontag &
  Sussmann 1989, Brady et al. 1989 and Auer, Herbster & Warmuth 1996): E(w) = (s(w) - 0.05)^2 +
  (s(-10 w) - 0.05)^2 has a strict local minimum at w = -2.944 (E = 0.9025) besides the global
  one at w = 0.1755 (E = 0.2533). Copied onto d input axes it has 2^d minima, one of them global.
  With cross-entropy (the loss that matches the sigmoid) the same data give a convex cost.
* Swirszcz, Czarnecki & Pascanu (2016): small ReLU networks on tiny data sets (XOR, "jellyfish")
  often fail to reach zero training error (their Table 1), and a one-unit ReLU regression net on
  their data set D1 has a non-global local minimum at cost 18 (the global cost is 14).

Every experiment runs all its random starts as one batched tensor computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .._validate import (check_callable, check_float_dtype, check_float_tensor, check_fraction, check_int_sequence,
                         check_positive, check_positive_int, check_real, check_seed, check_tensor, check_vector)
from ..curvature import gradient
from ..runs import Runs
from ..spectrum import hessian_eigenvalues

LOSSES = ("squared", "cross_entropy")


# --- a single sigmoid unit -------------------------------------------------------------------


def sigmoid_unit_data(d: int = 1, near: float = 1.0, far: float = -10.0, target: float = 0.05,
                      dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Two points per input axis, x = near * e_k and x = far * e_k, both with target ``target``.

    With the defaults and d = 1 this is the two-point set whose squared-loss cost has a bad
    strict local minimum; d axes give a separable cost with 2^d local minima.
    """
    check_positive_int("d", d)
    check_real("near", near)
    check_real("far", far)
    check_fraction("target", target)
    check_float_dtype("dtype", dtype)
    if near == 0 or far == 0 or (near > 0) == (far > 0):
        raise ValueError(f"near and far must be non-zero and of opposite signs, got {near} and {far}")
    eye = torch.eye(d, dtype=dtype)
    x = torch.cat([near * eye, far * eye])
    return x, torch.full((2 * d,), float(target), dtype=dtype)


def sigmoid_unit_cost(w: Tensor, x: Tensor, y: Tensor, loss: str = "squared") -> Tensor:
    """Summed cost of the unit s(x . w) at each weight vector in ``w`` [..., d] (any leading batch shape).

    ``loss="squared"``: sum (s - y)^2; ``loss="cross_entropy"``: sum -y log s - (1 - y) log(1 - s).
    """
    check_float_tensor("w", w)
    check_float_tensor("x", x, ndim=2)
    check_vector("y", y, size=x.shape[0])
    if w.shape[-1] != x.shape[1]:
        raise ValueError(f"w must end in {x.shape[1]} entries (one per input), got shape {tuple(w.shape)}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return _sigmoid_unit_cost(w, x, y, loss)


def _sigmoid_unit_cost(w: Tensor, x: Tensor, y: Tensor, loss: str) -> Tensor:
    z = w @ x.T
    if loss == "squared":
        return ((torch.sigmoid(z) - y) ** 2).sum(-1)
    return (-y * torch.nn.functional.logsigmoid(z) - (1 - y) * torch.nn.functional.logsigmoid(-z)).sum(-1)


def sigmoid_unit_descent(w0: Tensor, x: Tensor, y: Tensor, lr: float = 1.0, steps: int = 2000,
                         loss: str = "squared") -> Tensor:
    """Gradient descent from every row of ``w0`` [R, d] at once; returns the final weights [R, d]."""
    check_float_tensor("w0", w0, ndim=2)
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    sigmoid_unit_cost(w0, x, y, loss)  # validates shapes and loss
    w = w0.detach().clone()
    for _ in range(steps):
        w -= lr * _sigmoid_unit_gradient(w, x, y, loss)
    return w


def sigmoid_unit_path(w0: Tensor, x: Tensor, y: Tensor, lr: float = 0.3, steps: int = 3000,
                      record_every: int = 100, loss: str = "squared") -> Tensor:
    """Gradient descent from every row of ``w0`` [R, d], recorded every ``record_every`` steps: [T, R, d]."""
    check_float_tensor("w0", w0, ndim=2)
    check_positive("lr", lr)
    check_positive_int("record_every", record_every)
    check_positive_int("steps", steps)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    sigmoid_unit_cost(w0, x, y, loss)  # validates shapes and loss
    path = [w0.detach().clone()]
    for _ in range(steps // record_every):
        path.append(sigmoid_unit_descent(path[-1], x, y, lr, record_every, loss))
    return torch.stack(path)


def _sigmoid_unit_gradient(w: Tensor, x: Tensor, y: Tensor, loss: str) -> Tensor:
    """Gradient of the summed cost for each row of w [R, d], written out (10x faster than autograd here)."""
    s = torch.sigmoid(w @ x.T)
    dz = 2 * (s - y) * s * (1 - s) if loss == "squared" else s - y
    return dz @ x


def local_minimum_report(cost: Callable[[Tensor], Tensor], point: Tensor) -> tuple[float, Tensor]:
    """Gradient norm and Hessian eigenvalues (ascending) of a scalar ``cost`` at ``point`` (exact, autograd)."""
    check_callable("cost", cost)
    check_vector("point", point)
    return float(gradient(cost, point).norm()), hessian_eigenvalues(cost, point)


def second_differences(values: Tensor) -> Tensor:
    """f[i-1] - 2 f[i] + f[i+1] along the last axis: all >= 0 on a uniform grid means convex there."""
    check_tensor("values", values)
    if values.shape[-1] < 3:
        raise ValueError("values needs at least 3 points along its last axis")
    return values[..., :-2] - 2 * values[..., 1:-1] + values[..., 2:]


def local_minima_1d(values: Tensor) -> Tensor:
    """Indices of strict interior local minima of values sampled on a 1-D grid."""
    check_vector("values", values)
    inner = (values[1:-1] < values[:-2]) & (values[1:-1] < values[2:])
    return torch.nonzero(inner).flatten() + 1


# --- Swirszcz, Czarnecki & Pascanu (2016), Table 1 ------------------------------------------


def _init_2h1(starts: int, h: int, groups: int, g: torch.Generator, dtype: torch.dtype,
              widths: Sequence[int] | None = None) -> list[Tensor]:
    """PyTorch-default init (uniform +-1/sqrt(fan_in)) for groups x starts nets 2-h-1.

    ``widths`` (one per group) gives each group's true width when nets are padded to ``h`` units:
    the output layer's fan-in is then that width, as in an unpadded net.
    """
    def uniform(*shape: int, fan_in) -> Tensor:
        return ((torch.rand(groups, starts, *shape, generator=g, dtype=torch.float64) * 2 - 1) / fan_in**0.5).to(dtype)

    fan_out_layer = torch.full((groups,), float(h), dtype=torch.float64) if widths is None else \
        torch.tensor([float(w) for w in widths], dtype=torch.float64)
    return [uniform(2, h, fan_in=2), uniform(h, fan_in=2), uniform(h, fan_in=fan_out_layer[:, None, None]),
            uniform(fan_in=fan_out_layer[:, None])]


ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid}


def _logits_2h1(params: Sequence[Tensor], x: Tensor, mask: Tensor, activation: str = "relu") -> Tensor:
    w1, b1, w2, b2 = params
    hidden = ACTIVATIONS[activation](torch.einsum("nd,gsdh->gsnh", x, w1) + b1[:, :, None, :]) * mask[:, None, None, :]
    return torch.einsum("gsnh,gsh->gsn", hidden, w2) + b2[..., None]


def _grads_2h1(params: Sequence[Tensor], x: Tensor, y: Tensor, mask: Tensor, activation: str = "relu") -> list[Tensor]:
    """Gradients of every net's mean logistic loss, backprop written out (about 3x faster than autograd here)."""
    w1, b1, w2, b2 = params
    pre = torch.einsum("nd,gsdh->gsnh", x, w1) + b1[:, :, None, :]
    unit = ACTIVATIONS[activation](pre)
    hidden = unit * mask[:, None, None, :]
    logits = torch.einsum("gsnh,gsh->gsn", hidden, w2) + b2[..., None]
    d_logits = (torch.sigmoid(logits) - y) / x.shape[0]
    slope = (pre > 0).to(pre.dtype) if activation == "relu" else unit * (1 - unit)
    d_pre = d_logits[..., None] * w2[:, :, None, :] * mask[:, None, None, :] * slope
    return [torch.einsum("nd,gsnh->gsdh", x, d_pre), d_pre.sum(2),
            torch.einsum("gsn,gsnh->gsh", d_logits, hidden), d_logits.sum(-1)]


def _adam(params: list[Tensor], grads: Sequence[Tensor], state: dict, lr: float,
          betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam step (Kingma & Ba 2015), elementwise, so every batched run is its own Adam."""
    state["t"] = state.get("t", 0) + 1
    t = state["t"]
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v = state.setdefault(i, (torch.zeros_like(p), torch.zeros_like(p)))
        m.mul_(betas[0]).add_((1 - betas[0]) * g)
        v.mul_(betas[1]).add_((1 - betas[1]) * g * g)
        step = (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
        p.sub_(lr * step)


# Swirszcz, Czarnecki & Pascanu (2016), Table 1: % of runs reaching zero training error, h = 2..7,
# keyed by (data set, optimizer) for ReLU units and (data set, optimizer, "sigmoid") for sigmoid units
PAPER_TABLE1 = {("XOR", "adam"): (28, 52, 68, 81, 91, 97), ("XOR", "gd"): (23, 47, 70, 80, 89, 89),
                ("jellyfish", "adam"): (7, 34, 50, 51, 61, 69), ("jellyfish", "gd"): (16, 33, 66, 68, 69, 86),
                ("XOR", "adam", "sigmoid"): (79, 98, 100, 100, 100, 100),
                ("XOR", "gd", "sigmoid"): (90, 100, 100, 100, 100, 100),
                ("jellyfish", "adam", "sigmoid"): (0, 0, 2, 27, 17, 58),
                ("jellyfish", "gd", "sigmoid"): (62, 100, 100, 100, 100, 100)}


def zero_error_rates(
    x: Tensor,
    y: Tensor,
    hidden: Sequence[int] = (2, 3, 4, 5, 6, 7),
    starts: int = 100,
    optimizer: str = "gd",
    lr: float | None = None,
    steps: int = 2000,
    seed: int | Sequence[int] = 0,
    activation: str = "relu",
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Fraction of random starts of a 2-h-1 net (logistic loss) that reach zero training error.

    Swirszcz et al. (2016), Table 1. All hidden sizes and all starts train together as one tensor
    computation: nets narrower than max(hidden) are padded with masked (dead) units.
    ``lr`` defaults to 0.5 for gradient descent ("gd") and 0.01 for Adam ("adam"). With a sequence
    of seeds, each seed draws its own ``starts`` starts (the same ones as a call with that seed
    alone), all seeds train in the same tensor computation, and the result has one row per seed.
    ``activation`` is the hidden units' nonlinearity, "relu" or "sigmoid" (the paper's two kinds).
    The runs compute in ``dtype`` (float32 by default: about twice as fast as float64; the starts
    are drawn in float64 either way).
    """
    check_tensor("x", x, ndim=2)
    check_vector("y", y, size=x.shape[0])
    if x.shape[1] != 2:
        raise ValueError(f"x must have 2 columns (a 2-h-1 net), got shape {tuple(x.shape)}")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("y must hold 0/1 labels")
    hidden = list(check_int_sequence("hidden", hidden))
    check_positive_int("starts", starts)
    check_positive_int("steps", steps)
    if optimizer not in ("gd", "adam"):
        raise ValueError(f"optimizer must be 'gd' or 'adam', got {optimizer!r}")
    lr = check_positive("lr", lr if lr is not None else (0.5 if optimizer == "gd" else 0.01))
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    seeds = [check_seed("seed", seed)] if isinstance(seed, (int, np.integer)) else list(
        check_int_sequence("seed", seed, minimum=0))
    x, y = x.to(dtype), y.to(dtype)
    h_max = max(hidden)
    mask = (torch.arange(h_max)[None, :] < torch.tensor(hidden)[:, None]).to(x.dtype)
    per_seed = [_init_2h1(starts, h_max, len(hidden), torch.Generator().manual_seed(s), x.dtype, hidden)
                for s in seeds]
    params = [torch.cat(parts, dim=1) for parts in zip(*per_seed)]
    state: dict = {}
    with torch.no_grad():
        for _ in range(steps):
            grads = _grads_2h1(params, x, y, mask, activation)
            if optimizer == "gd":
                for p, g in zip(params, grads):
                    p.sub_(lr * g)
            else:
                _adam(params, grads, state, lr)
        correct = ((_logits_2h1(params, x, mask, activation) > 0).to(x.dtype) == y).all(-1)
    rates = correct.to(torch.float64).reshape(len(hidden), len(seeds), starts).mean(-1).T.numpy()
    return rates[0] if isinstance(seed, (int, np.integer)) else rates


# --- Swirszcz et al.'s 1-D regression example D1 ---------------------------------------------

D1_BAD_POINT = (1.0, -3.0, 1.0, 0.0)  # (w, b, v, c): a non-global local minimum with cost 18


def d1_data(dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Swirszcz et al.'s D1 = {(5, 2), (4, 1), (3, 0), (1, -3), (-1, 3)} as inputs and targets."""
    return (torch.tensor([5.0, 4.0, 3.0, 1.0, -1.0], dtype=dtype),
            torch.tensor([2.0, 1.0, 0.0, -3.0, 3.0], dtype=dtype))


def one_relu_cost(params: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Summed squared error of v * relu(w x + b) + c at each row (w, b, v, c) of ``params`` [..., 4]."""
    check_float_tensor("params", params)
    check_vector("x", x)
    check_vector("y", y, size=x.numel())
    if params.shape[-1] != 4:
        raise ValueError(f"params must end in 4 entries (w, b, v, c), got shape {tuple(params.shape)}")
    return _one_relu_cost(params, x, y)


def _one_relu_cost(params: Tensor, x: Tensor, y: Tensor) -> Tensor:
    w, b, v, c = (params[..., i, None] for i in range(4))
    return ((v * torch.relu(w * x + b) + c - y) ** 2).sum(-1)


def min_cost_nearby(cost: Callable[[Tensor], Tensor], point: Tensor, radius: float,
                    samples: int = 2000, seed: int = 0) -> float:
    """Lowest cost among ``samples`` random points within ``radius`` of ``point`` (batched)."""
    check_callable("cost", cost)
    check_vector("point", point)
    check_positive("radius", radius)
    check_positive_int("samples", samples)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    directions = torch.randn(samples, point.numel(), generator=g, dtype=torch.float64).to(point.dtype)
    directions /= directions.norm(dim=1, keepdim=True)
    lengths = radius * torch.rand(samples, 1, generator=g, dtype=torch.float64).to(point.dtype)
    with torch.no_grad():
        return float(cost(point + lengths * directions).min())


def _one_relu_gradient(params: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Gradient of `one_relu_cost` for each row of params [R, 4], written out."""
    w, b, v, c = (params[:, i, None] for i in range(4))
    pre = w * x + b
    active = (pre > 0).to(params.dtype)
    r = 2 * (v * torch.relu(pre) + c - y)
    return torch.stack([(r * v * active * x).sum(-1), (r * v * active).sum(-1),
                        (r * torch.relu(pre)).sum(-1), r.sum(-1)], dim=-1)


def one_relu_descent(x: Tensor, y: Tensor, starts: int = 500, lr: float = 0.005, steps: int = 4000,
                     scale: float = 2.0, seed: int = 0) -> Runs:
    """Gradient descent on D1-style one-ReLU regression from ``starts`` N(0, scale^2) starts at once.

    Returns a `optbook.Runs` recorded at the start and the end (``steps`` [0, steps]): ``loss``
    [2, R], ``params`` [2, R, 4].
    """
    check_float_tensor("x", x, ndim=1)
    check_vector("y", y, size=x.numel())
    check_positive_int("starts", starts)
    check_positive("lr", lr)
    check_positive_int("steps", steps)
    check_positive("scale", scale)
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    theta0 = scale * torch.randn(starts, 4, generator=g, dtype=torch.float64).to(x.dtype)
    one_relu_cost(theta0, x, y)  # validates
    theta = theta0.clone()
    for _ in range(steps):
        theta -= lr * _one_relu_gradient(theta, x, y)
    loss = torch.stack([_one_relu_cost(theta0, x, y), _one_relu_cost(theta, x, y)])
    return Runs(torch.tensor([0, steps]), loss, params=torch.stack([theta0, theta]), settings={"lr": lr})
