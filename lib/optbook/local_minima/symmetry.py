"""Non-identifiability of neural networks: why they have many equal-cost minima (sec. 8.2.2).

* Weight-space symmetry: permuting the hidden units of a layer (incoming and outgoing weights
  together) gives a different parameter vector with the same function; m layers of n units have
  (n!)^m such arrangements (`log10_arrangements`). The straight line between a minimum and its
  permuted twin usually crosses a cost barrier (`cost_along_line`), so the cost is not convex.
* Scaling symmetry: in a ReLU or maxout network, multiplying a unit's incoming weights and bias
  by alpha > 0 and its outgoing weights by 1/alpha leaves the function unchanged, because
  relu(alpha z) = alpha relu(z) and max(alpha z_1, ..., alpha z_k) = alpha max(z_1, ..., z_k).
  Each minimum therefore lies on a continuous set of equal-cost minima, unless a penalty such as
  weight decay depends on the weights themselves (`one_unit_cost_grid`).

All functions return new models; the caller's model is never modified.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from .._validate import (check_callable, check_int_sequence, check_module, check_nonnegative, check_positive,
                         check_positive_int, check_seed, check_tensor, check_vector)
from ..batched import batched_loss
from ..params import LossFn


class Maxout(nn.Module):
    """Maxout activation (Goodfellow et al. 2013): the max over groups of ``pieces`` consecutive inputs."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = check_positive_int("pieces", pieces, minimum=2)

    def forward(self, z: Tensor) -> Tensor:
        if z.shape[-1] % self.pieces:
            raise ValueError(f"input width {z.shape[-1]} is not a multiple of pieces={self.pieces}")
        return z.unflatten(-1, (z.shape[-1] // self.pieces, self.pieces)).amax(-1)


def maxout_mlp(sizes: list[int], pieces: int = 2, seed: int = 0) -> nn.Sequential:
    """A fully connected maxout net: each hidden unit is the max of ``pieces`` linear pieces."""
    check_int_sequence("sizes", sizes)
    if len(sizes) < 3:
        raise ValueError(f"sizes needs input, at least one hidden and output width, got {list(sizes)}")
    for i, width in enumerate(sizes):
        check_positive_int(f"sizes[{i}]", width)
    check_positive_int("pieces", pieces, minimum=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed("seed", seed))
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            layers.append(nn.Linear(n_in, n_out if last else n_out * pieces))
            if not last:
                layers.append(Maxout(pieces))
        return nn.Sequential(*layers)


def _hidden_layers(model: nn.Module) -> list[tuple[nn.Linear, nn.Module, nn.Linear]]:
    """(incoming Linear, activation, outgoing Linear) for each hidden layer of a Sequential MLP."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential MLP, got {type(model).__name__}")
    mods = list(model)
    linears = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("model must have at least one hidden layer (two Linear layers)")
    layers = []
    for a, b in zip(linears[:-1], linears[1:]):
        if b - a != 2:
            raise ValueError("model must alternate Linear and one activation module")
        layers.append((mods[a], mods[a + 1], mods[b]))
    return layers


def _pieces(activation: nn.Module) -> int:
    return activation.pieces if isinstance(activation, Maxout) else 1


def n_hidden_units(model: nn.Module) -> list[int]:
    """Number of units in each hidden layer (a maxout unit counts once, whatever its pieces)."""
    return [incoming.out_features // _pieces(act) for incoming, act, _ in _hidden_layers(model)]


def _check_layer(model: nn.Module, layer: int) -> tuple[nn.Linear, nn.Module, nn.Linear]:
    layers = _hidden_layers(model)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
        raise ValueError(f"layer must be an integer in [0, {len(layers) - 1}], got {layer!r}")
    return layers[layer]


def permute_hidden_units(model: nn.Module, perm: Tensor, layer: int = 0) -> nn.Module:
    """A copy of ``model`` whose hidden ``layer`` has its units reordered by ``perm`` (weight-space symmetry).

    Unit ``perm[j]`` of the original becomes unit j: its incoming weights and bias (rows of the
    incoming layer) and its outgoing weights (columns of the next layer) move together.
    """
    _check_layer(model, layer)
    n = n_hidden_units(model)[layer]
    check_vector("perm", perm, size=n)
    if perm.dtype not in (torch.int64, torch.int32) or not torch.equal(torch.sort(perm).values, torch.arange(n)):
        raise ValueError(f"perm must be a permutation of 0..{n - 1}, got {perm.tolist()}")
    twin = copy.deepcopy(model)
    incoming, act, outgoing = _check_layer(twin, layer)
    k = _pieces(act)
    rows = (perm.long()[:, None] * k + torch.arange(k)).reshape(-1)
    with torch.no_grad():
        incoming.weight.copy_(incoming.weight[rows])
        if incoming.bias is not None:
            incoming.bias.copy_(incoming.bias[rows])
        outgoing.weight.copy_(outgoing.weight[:, perm.long()])
    return twin


def permuted_twin(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every hidden layer's units shuffled by a random non-identity permutation."""
    twin = model
    g = torch.Generator().manual_seed(check_seed("seed", seed))
    for layer, n in enumerate(n_hidden_units(model)):
        if n < 2:
            raise ValueError(f"hidden layer {layer} has {n} unit: nothing to permute")
        perm = torch.randperm(n, generator=g)
        while torch.equal(perm, torch.arange(n)):
            perm = torch.randperm(n, generator=g)
        twin = permute_hidden_units(twin, perm, layer)
    return twin if twin is not model else copy.deepcopy(model)


def log10_arrangements(n: int, m: int) -> float:
    """log10 of (n!)^m, the number of equivalent orderings of m hidden layers of n units each."""
    check_positive_int("n", n)
    check_positive_int("m", m)
    return m * math.lgamma(n + 1) / math.log(10)


def rescale_hidden_unit(model: nn.Module, alpha: float, unit: int = 0, layer: int = 0) -> nn.Module:
    """A copy of ``model`` with one ReLU/maxout unit's incoming weights and bias times alpha, outgoing times 1/alpha.

    For ReLU, leaky ReLU, linear and maxout units this leaves the network's function unchanged
    (positive homogeneity); for tanh or sigmoid it does not, and a ValueError says so.
    """
    check_positive("alpha", alpha)
    incoming, act, outgoing = _check_layer(model, layer)
    if not isinstance(act, (nn.ReLU, nn.LeakyReLU, nn.Identity, Maxout)):
        raise ValueError(f"scaling symmetry needs a positively homogeneous activation (ReLU, maxout), got {act}")
    n = incoming.out_features // _pieces(act)
    if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < n:
        raise ValueError(f"unit must be an integer in [0, {n - 1}], got {unit!r}")
    twin = copy.deepcopy(model)
    incoming, act, outgoing = _check_layer(twin, layer)
    k = _pieces(act)
    rows = slice(unit * k, unit * k + k)
    with torch.no_grad():
        incoming.weight[rows] *= alpha
        if incoming.bias is not None:
            incoming.bias[rows] *= alpha
        outgoing.weight[:, unit] /= alpha
    return twin


def max_output_difference(model_a: nn.Module, model_b: nn.Module, inputs: Tensor) -> float:
    """Largest absolute difference between the two models' outputs on ``inputs``."""
    check_module("model_a", model_a)
    check_module("model_b", model_b)
    check_tensor("inputs", inputs, ndim=2)
    with torch.no_grad():
        return float((model_a(inputs) - model_b(inputs)).abs().max())


def cost_along_line(loss: LossFn, theta_a: Tensor, theta_b: Tensor, num: int = 41) -> tuple[Tensor, Tensor]:
    """Cost J((1 - t) theta_a + t theta_b) at ``num`` evenly spaced t in [0, 1], in one batched call."""
    check_callable("loss", loss)
    check_vector("theta_a", theta_a)
    check_vector("theta_b", theta_b, size=theta_a.numel())
    check_positive_int("num", num, minimum=3)
    t = torch.linspace(0, 1, num, dtype=theta_a.dtype)
    thetas = (1 - t)[:, None] * theta_a + t[:, None] * theta_b
    return t, batched_loss(loss, thetas)


def one_unit_cost_grid(w_in: Tensor, w_out: Tensor, x: Tensor, y: Tensor, weight_decay: float = 0.0) -> Tensor:
    """Cost of f(x) = w_out * relu(w_in * x) on a grid [len(w_in), len(w_out)], plus weight_decay * (w_in^2 + w_out^2).

    Without weight decay the cost depends only on the product w_in * w_out (for w_in > 0), so its
    minima form the hyperbola w_in * w_out = const; the penalty breaks the symmetry.
    """
    check_vector("w_in", w_in)
    check_vector("w_out", w_out)
    check_vector("x", x)
    check_vector("y", y, size=x.numel())
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not \
            math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    a, b = w_in[:, None, None], w_out[None, :, None]
    pred = b * torch.relu(a * x)
    cost = 0.5 * ((pred - y) ** 2).mean(-1)
    return cost + weight_decay * (a[..., 0] ** 2 + b[..., 0] ** 2)


def one_unit_decay_optimum(x: Tensor, y: Tensor, weight_decay: float) -> tuple[float, float]:
    """Minimizer (w_in = w_out = w, product p = w^2) of `one_unit_cost_grid`'s cost for data y = s * x, x > 0.

    For x > 0 the cost is 0.5 * mean((p - s)^2 x^2) + weight_decay * (w_in^2 + w_out^2) with p = w_in * w_out.
    For a given product the penalty is smallest when w_in = w_out (w_in^2 + w_out^2 >= 2 p), so the
    minimizer lies on that diagonal, with p = s - 2 * weight_decay / mean(x^2): *inside* the
    hyperbola w_in * w_out = s of the minimizers without decay (closer to the origin), not on it.
    Returns (w, p); p is clipped at 0 (a strong penalty switches the unit off).
    """
    check_vector("x", x)
    check_vector("y", y, size=x.numel())
    check_nonnegative("weight_decay", weight_decay)
    if not bool((x > 0).all()):
        raise ValueError("x must be positive (the unit is then active on every point)")
    slope = y / x
    if not torch.allclose(slope, slope[0].expand_as(slope)):
        raise ValueError("y must be a fixed multiple of x (y = s * x)")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not \
            math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    product = max(float(slope[0]) - 2 * weight_decay / float((x**2).mean()), 0.0)
    return product**0.5, product
