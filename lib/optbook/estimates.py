"""Curvature you can trust: per layer, and over a whole data set with standard errors.

A top eigenvalue measured on one small batch is one draw from a wide distribution (PyHessian's
users report 10x differences between batches). `dataset_curvature` averages over the batches of a
DataLoader (or any iterable of ``(inputs, targets)``): lambda_max of the whole-data Hessian
H = sum_b w_b H_b (Lanczos on the averaged operator), the per-batch lambda_max with its spread,
g^T H g for the whole-data gradient, and Hutchinson's tr(H), each with a standard error over the
batches and a convergence flag. `layer_curvature` gives lambda_max and the trace of each layer's
diagonal block of H: the block traces add up to tr(H) exactly, every block's lambda_max is at most
lambda_max(H) (Cauchy interlacing), and for a positive semi-definite H, lambda_max(H) is at most
the sum of the blocks' (the whole is bounded by its parts).

Both evaluate the model in eval mode and never write its parameters, gradients, buffers or flags.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from torch import Tensor, nn

from ._validate import check_module, check_positive, check_positive_int, check_seed
from .curvature import HessianOperator
from .losses import Loss
from .params import functional_loss, get_flat_params
from .spectrum import lanczos

__all__ = ["DatasetCurvature", "Estimate", "LayerCurvature", "dataset_curvature", "eval_mode", "layer_curvature",
           "parameter_blocks"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode inside the block; restore each one's own flag after."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training


def parameter_blocks(model: nn.Module) -> list[tuple[str, slice]]:
    """The layers of ``model`` as slices of its flat parameter vector (one per module owning parameters).

    Parameters
    ----------
    model : torch.nn.Module
        The network; its trainable parameters, in the order of `optbook.get_flat_params`.

    Returns
    -------
    list of (str, slice)
        Each module that owns trainable parameters (its name, ``"(root)"`` for the model itself)
        with the slice of the flat vector its parameters occupy.

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    ValueError
        If it has no trainable parameters.

    Examples
    --------
    >>> from torch import nn
    >>> parameter_blocks(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    [('0', slice(0, 9, None)), ('2', slice(9, 13, None))]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    blocks: list[tuple[str, slice]] = []
    start = 0
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        owner = name.rpartition(".")[0] or "(root)"
        if blocks and blocks[-1][0] == owner:
            blocks[-1] = (owner, slice(blocks[-1][1].start, start + p.numel()))
        else:
            blocks.append((owner, slice(start, start + p.numel())))
        start += p.numel()
    if not blocks:
        raise ValueError("model has no trainable parameters")
    return blocks


@dataclass(frozen=True)
class Estimate:
    """A mean over samples with its standard error.

    Attributes
    ----------
    mean : float
        The estimate.
    stderr : float
        Its standard error (0 when it is exact).
    n : int
        The number of samples it rests on.

    Examples
    --------
    >>> e = Estimate(10.0, 0.2, 8)
    >>> e.relative_error, e.converged(0.05), str(e)
    (0.02, True, '10 +- 0.2 (n = 8)')
    """

    mean: float
    stderr: float
    n: int

    @property
    def relative_error(self) -> float:
        """stderr / |mean| (inf at mean 0 with a positive stderr, 0 when exact)."""
        if self.stderr == 0:
            return 0.0
        return self.stderr / abs(self.mean) if self.mean else math.inf

    def converged(self, rel_tol: float) -> bool:
        """Whether the standard error is at most ``rel_tol`` times |mean|."""
        return self.relative_error <= rel_tol

    def __str__(self) -> str:
        return f"{self.mean:.4g} +- {self.stderr:.2g} (n = {self.n})"


def _weighted_estimate(values: Tensor, weights: Tensor) -> Estimate:
    """The weighted mean sum w_b x_b (weights summing to 1) with the standard error of a mean over batches."""
    values = values.to(torch.float64)
    mean = float(weights @ values)
    n = values.numel()
    if n < 2:
        return Estimate(mean, math.nan, n)
    var = float(((values - mean) ** 2).sum() / (n - 1))
    return Estimate(mean, math.sqrt(var * float((weights**2).sum())), n)


def _hvps(op: HessianOperator, vs: Tensor, chunk: int = 64) -> Tensor:
    """H vs^T for the rows of ``vs`` in batched backward passes of at most ``chunk`` rows."""
    return torch.cat([op.matmat(part) for part in vs.split(chunk)]) if vs.shape[0] else vs


def _block_trace(op: HessianOperator, block: slice, samples: int, generator: torch.Generator) -> Estimate:
    """tr of H's diagonal block: exact from unit vectors when it has at most ``samples`` coordinates,
    else Hutchinson with Rademacher probes on the block."""
    size = block.stop - block.start
    exact = size <= samples
    rows = size if exact else samples
    vs = torch.zeros(rows, op.dim, dtype=op.dtype, device=op.gradient.device)
    if exact:
        vs[:, block] = torch.eye(size, dtype=op.dtype, device=vs.device)
    else:
        signs = torch.randint(0, 2, (rows, size), generator=generator).to(op.dtype) * 2 - 1
        vs[:, block] = signs.to(vs.device)
    quad = (vs[:, block] * _hvps(op, vs)[:, block]).sum(1).to("cpu", torch.float64)
    if exact:
        return Estimate(float(quad.sum()), 0.0, rows)
    return Estimate(float(quad.mean()), float(quad.std() / math.sqrt(rows)), rows)


def _top(matvec, dim: int, max_iter: int, generator: torch.Generator):
    return lanczos(matvec, dim, k=1, which="largest", max_iter=max_iter, tol=1e-6, generator=generator)


def _as_cpu(op: HessianOperator):
    device = op.gradient.device
    return lambda v: op.matvec(v.to(device, op.dtype)).to("cpu", torch.float64)


@dataclass(frozen=True)
class LayerCurvature:
    """The curvature of one layer's diagonal Hessian block.

    Attributes
    ----------
    name : str
        The module's name (see `optbook.monitor.parameter_blocks`).
    size : int
        Its number of parameters.
    lambda_max : float
        The largest eigenvalue of its block H_bb (Lanczos).
    trace : Estimate
        tr(H_bb): exact (stderr 0) for blocks of at most ``trace_samples`` parameters, else Hutchinson.

    Examples
    --------
    >>> LayerCurvature("0", 9, 2.5, Estimate(4.0, 0.0, 9)).trace.mean
    4.0
    """

    name: str
    size: int
    lambda_max: float
    trace: Estimate


def layer_curvature(
    model: nn.Module, loss_fn: Loss, inputs: Tensor, targets: Tensor, *, lanczos_iter: int = 30,
    trace_samples: int = 64, seed: int = 0,
) -> tuple[LayerCurvature, ...]:
    """lambda_max and the trace of each layer's diagonal block of the Hessian of the loss on a batch.

    Parameters
    ----------
    model : torch.nn.Module
        The network; its layers are the modules that own trainable parameters.
    loss_fn : callable
        ``(outputs, targets) -> scalar tensor``.
    inputs : Tensor, shape (N, ...)
        The batch.
    targets : Tensor, shape (N, ...)
        Its targets.
    lanczos_iter : int, optional
        Most Hessian-vector products per block's Lanczos (default 30, capped at the block size).
    trace_samples : int, optional
        Blocks of at most this many parameters get their exact trace (one HVP per parameter);
        larger ones Hutchinson's estimate with this many Rademacher probes (default 64).
    seed : int, optional
        Seeds the Lanczos starts and the probes.

    Returns
    -------
    tuple of LayerCurvature
        One per layer, in the order of the flat parameter vector.

    Raises
    ------
    TypeError
        If ``model`` is not a module or ``loss_fn`` not callable.
    ValueError
        If an integer argument is out of range or the loss is not a finite scalar.

    References
    ----------
    .. [1] Z. Yao et al., "PyHessian: neural networks through the lens of the Hessian", 2020
       (``yao2020pyhessian``).
    .. [2] M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
       Laplacian smoothing splines", 1989 (``hutchinson1989stochastic``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> x, y = ob.xor()
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> layers = layer_curvature(net, ob.squared_error, x, y[:, None])
    >>> [(l.name, l.size) for l in layers]
    [('0', 9), ('2', 4)]
    >>> J = ob.functional_loss(net, ob.squared_error, x, y[:, None])
    >>> h = ob.hessian(J, ob.get_flat_params(net))
    >>> abs(sum(l.trace.mean for l in layers) - float(h.trace())) < 1e-10
    True
    """
    check_module("model", model)
    check_positive_int("lanczos_iter", lanczos_iter)
    check_positive_int("trace_samples", trace_samples, minimum=2)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    blocks = parameter_blocks(model)
    with eval_mode(model):
        op = HessianOperator(functional_loss(model, loss_fn, inputs, targets), get_flat_params(model))
        full = _as_cpu(op)
        out = []
        for name, block in blocks:
            size = block.stop - block.start
            restricted = _restrict(full, block, op.dim)
            top = _top(restricted, size, lanczos_iter, generator).largest
            out.append(LayerCurvature(name, size, top, _block_trace(op, block, trace_samples, generator)))
    return tuple(out)


def _restrict(matvec, block: slice, dim: int):
    def restricted(v: Tensor) -> Tensor:
        full = torch.zeros(dim, dtype=torch.float64)
        full[block] = v
        return matvec(full)[block]

    return restricted


@dataclass(frozen=True)
class DatasetCurvature:
    """Curvature of the loss over a whole data set (the average of its batches), with error bars.

    Attributes
    ----------
    lambda_max : float
        The top eigenvalue of the whole-data Hessian H = sum_b w_b H_b (w_b = n_b / N), by Lanczos
        on the averaged operator.
    lambda_max_converged : bool
        Whether that Lanczos run met its tolerance.
    batch_lambda_max : Estimate
        The mean and standard error of the per-batch top eigenvalues lambda_max(H_b): what one
        batch's measurement scatters around (at least ``lambda_max`` on average, lambda_max being
        convex).
    batch_values : Tensor, shape (B,)
        The per-batch lambda_max(H_b).
    gTHg, gTg : Estimate, float
        g^T H g = sum_b w_b g^T H_b g for the whole-data gradient g (standard error over batches),
        and g^T g.
    trace : Estimate
        tr(H) = sum_b w_b tr(H_b), each tr(H_b) by Hutchinson (exact when P <= ``trace_samples``);
        standard error over the batches.
    n_batches, n_examples : int
        B and N.
    loss : float
        The whole-data loss sum_b w_b J_b.
    converged : bool
        Lanczos converged and the standard errors of gTHg and trace are at most ``rel_tol`` of
        their means.

    Examples
    --------
    >>> e = Estimate(1.0, 0.0, 2)
    >>> d = DatasetCurvature(3.0, True, Estimate(3.5, 0.2, 2), torch.tensor([3.3, 3.7]), e, 1.0, e, 2, 64, True)
    >>> d.batch_lambda_max.mean >= d.lambda_max
    True
    """

    lambda_max: float
    lambda_max_converged: bool
    batch_lambda_max: Estimate
    batch_values: Tensor
    gTHg: Estimate
    gTg: float
    trace: Estimate
    n_batches: int
    n_examples: int
    converged: bool
    loss: float = math.nan


def _take(batches: Iterable, max_batches: int, device: torch.device) -> list[tuple[Tensor, Tensor]]:
    """The first ``max_batches`` (inputs, targets) pairs of ``batches``, checked, on ``device``."""
    if isinstance(batches, (Tensor, str)) or not hasattr(batches, "__iter__"):
        raise TypeError(f"batches must be an iterable of (inputs, targets) pairs, e.g. a DataLoader, got {type(batches).__name__}")
    pairs = []
    for item in batches:
        if len(pairs) == max_batches:
            break
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(t, Tensor) for t in item)):
            raise TypeError("batches must yield (inputs, targets) pairs of tensors")
        if item[0].shape[0] == 0:
            raise ValueError("batches must not yield an empty batch")
        pairs.append((item[0].to(device), item[1].to(device)))
    if not pairs:
        raise ValueError("batches yielded no batch")
    return pairs


def dataset_curvature(
    model: nn.Module, loss_fn: Loss, batches: Iterable, *, max_batches: int = 10, lanczos_iter: int = 30,
    trace_samples: int = 32, rel_tol: float = 0.05, seed: int = 0,
) -> DatasetCurvature:
    """lambda_max, g^T H g and tr(H) of the loss over many batches, with standard errors.

    The loss of each batch must be its mean over the examples (PyTorch's default), so that the
    whole-data loss is sum_b w_b J_b with w_b = n_b / N. Holds one gradient graph per batch while it
    runs; cost: B (2 ``lanczos_iter`` + ``trace_samples`` + 1) Hessian-vector products.

    Parameters
    ----------
    model : torch.nn.Module
        The network (evaluated in eval mode, left as found).
    loss_fn : callable
        ``(outputs, targets) -> scalar tensor`` (mean-reduced).
    batches : iterable of (Tensor, Tensor)
        E.g. a ``torch.utils.data.DataLoader``; the first ``max_batches`` are used.
    max_batches : int, optional
        B at most (default 10).
    lanczos_iter : int, optional
        Most Hessian-vector products per Lanczos run (default 30).
    trace_samples : int, optional
        Rademacher probes per batch for the trace (default 32; exact when P <= it).
    rel_tol : float, optional
        The convergence flag's relative standard error (default 0.05).
    seed : int, optional
        Seeds the Lanczos starts and the probes.

    Returns
    -------
    DatasetCurvature

    Raises
    ------
    TypeError
        If ``model``, ``loss_fn`` or ``batches`` have the wrong type, or a batch is not a pair of tensors.
    ValueError
        If an argument is out of range, no batch comes, or a loss is not a finite scalar.

    References
    ----------
    .. [1] Z. Yao et al., "PyHessian: neural networks through the lens of the Hessian", 2020
       (``yao2020pyhessian``).
    .. [2] M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
       Laplacian smoothing splines", 1989 (``hutchinson1989stochastic``).

    Examples
    --------
    Least squares: every H_b = X_b^T X_b / n_b is known, and the whole-data H = X^T X / N.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(64, 3, generator=g, dtype=torch.float64)
    >>> model = torch.nn.Linear(3, 1, bias=False, dtype=torch.float64)
    >>> mse = lambda out, y: 0.5 * ((out - y) ** 2).mean()
    >>> est = dataset_curvature(model, mse, [(x[i:i + 16], x[i:i + 16, :1]) for i in range(0, 64, 16)])
    >>> h = x.T @ x / 64
    >>> round(est.lambda_max, 8) == round(float(torch.linalg.eigvalsh(h)[-1]), 8), est.n_batches
    (True, 4)
    >>> round(est.trace.mean, 8) == round(float(h.trace()), 8)  # P = 3 <= trace_samples: exact per batch
    True
    """
    check_module("model", model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    check_positive_int("max_batches", max_batches)
    check_positive_int("lanczos_iter", lanczos_iter)
    check_positive_int("trace_samples", trace_samples, minimum=2)
    check_positive("rel_tol", rel_tol)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    theta = get_flat_params(model)
    pairs = _take(batches, max_batches, theta.device)
    with eval_mode(model):
        ops = [HessianOperator(functional_loss(model, loss_fn, x, y), theta) for x, y in pairs]
        return _dataset_estimates(ops, [len(x) for x, _ in pairs], lanczos_iter, trace_samples, rel_tol, generator)


def _dataset_estimates(ops: list[HessianOperator], sizes: list[int], lanczos_iter: int, trace_samples: int,
                       rel_tol: float, generator: torch.Generator) -> DatasetCurvature:
    weights = torch.tensor(sizes, dtype=torch.float64) / sum(sizes)
    products = [_as_cpu(op) for op in ops]
    dim = ops[0].dim

    def averaged(v: Tensor) -> Tensor:
        return sum(w * product(v) for w, product in zip(weights.tolist(), products))

    top = _top(averaged, dim, lanczos_iter, generator)
    per_batch = torch.tensor([_top(product, dim, lanczos_iter, generator).largest for product in products],
                             dtype=torch.float64)
    g = sum(w * op.gradient.to("cpu", torch.float64) for w, op in zip(weights.tolist(), ops))
    quad = torch.tensor([float(g @ product(g)) for product in products], dtype=torch.float64)
    traces = torch.tensor([_block_trace(op, slice(0, dim), trace_samples, generator).mean for op in ops],
                          dtype=torch.float64)
    gTHg, trace = _weighted_estimate(quad, weights), _weighted_estimate(traces, weights)
    converged = top.converged and all(e.converged(rel_tol) for e in (gTHg, trace))
    return DatasetCurvature(top.largest, top.converged, _weighted_estimate(per_batch, weights), per_batch, gTHg,
                            float(g @ g), trace, len(ops), sum(sizes), converged,
                            float(sum(w * float(op.value) for w, op in zip(weights.tolist(), ops))))
