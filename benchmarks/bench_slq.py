"""Spectral density by stochastic Lanczos quadrature: optbook against PyHessian's `density`.

(1) Accuracy and time on a small MLP whose Hessian is dense-decomposable: the same model, data,
number of probes and Lanczos steps for both; accuracy is the relative error of the density's moments 1, 2
and 4 against tr(H^k)/P from the dense eigenvalues and the largest CDF error at 9 points across the
spectrum's range. optbook advances all probes together (one batched Hessian-vector product per step);
PyHessian runs them one after another. PyHessian calls ``torch.eig``, which torch 2 removed: the
benchmark lends it an equivalent built on ``torch.linalg.eigh`` for the call (the tridiagonal
matrix is symmetric), so its algorithm runs unchanged.

(2) Usable at scale: one density of a ~1M-parameter MLP (time per probe and per Lanczos step).
"""

from __future__ import annotations

import copy
import sys
import warnings

import torch
from torch import nn

import optbook as ob
from benchmarks.timing import pin_threads, row, timed

BENCH = "slq"


def _digits(n_rows: int):
    data = ob.digits(seed=0)
    return data.x_train[:n_rows], data.y_train[:n_rows]


def _errors(nodes: torch.Tensor, weights: torch.Tensor, exact: torch.Tensor) -> tuple[float, float]:
    """(largest relative error of moments 1, 2 and 4, largest CDF error at 9 evenly spaced points of the
    spectrum's range) of the rules. Odd moments above 1 can sit near 0, and the deciles of a spectrum
    whose bulk is one cluster at 0 fall inside that cluster, so neither is a fair yardstick."""
    density = ob.spectrum.SpectralDensity(nodes.double(), weights.double(), exact.numel(), 0)
    moments = max(abs(density.moment(k) - float((exact**k).mean())) / abs(float((exact**k).mean())) for k in (1, 2, 4))
    points = torch.linspace(float(exact[0]), float(exact[-1]), 11, dtype=torch.float64)[1:-1]
    truth = torch.stack([(exact <= x).double().mean() for x in points])
    return moments, float((density.cdf(points) - truth).abs().max())


def _eig_shim(matrix, eigenvectors=False):
    values, vectors = torch.linalg.eigh(matrix)
    return torch.stack([values, torch.zeros_like(values)], 1), vectors


def _pyhessian_density(model, x, y, n_iter: int, n_probes: int):
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return None
    module = sys.modules["pyhessian.hessian"]
    torch.manual_seed(0)
    had = hasattr(torch, "eig")
    original = getattr(torch, "eig", None)
    torch.eig = _eig_shim
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            h = module.hessian(copy.deepcopy(model).float(), nn.functional.cross_entropy, data=(x.float(), y), cuda=False)
            nodes, weights = h.density(iter=n_iter, n_v=n_probes)
    finally:
        if had:
            torch.eig = original
        else:
            del torch.eig
    return torch.tensor(nodes, dtype=torch.float64), torch.tensor(weights, dtype=torch.float64)


def accuracy(quick: bool) -> list[dict]:
    """Rows for (1)."""
    hidden, n_rows, n_iter, n_probes = (8, 64, 20, 3) if quick else (16, 256, 80, 10)
    x, y = _digits(n_rows)
    model = ob.mlp([64, hidden, 10], seed=0)
    loss = ob.functional_loss(model, nn.functional.cross_entropy, x, y)
    theta = ob.get_flat_params(model)
    exact = ob.hessian_eigenvalues(loss, theta)
    case = f"MLP 64-{hidden}-10 (P = {theta.numel()}), {n_rows} digits, {n_probes} probes x {n_iter} steps"
    seconds, ours = timed(lambda: ob.spectrum.hessian_density(loss, theta, n_probes=n_probes, n_iter=n_iter))
    moments, cdf = _errors(ours.nodes, ours.weights, exact)
    rows = [row(BENCH, case, "optbook SLQ time", seconds, "s"),
            row(BENCH, case, "optbook: max relative error, moments 1, 2, 4", moments, ""),
            row(BENCH, case, "optbook: max CDF error, 9 points across the range", cdf, "")]
    peer_seconds, peer = timed(lambda: _pyhessian_density(model, x, y, n_iter, n_probes))
    if peer is None:
        return rows + [row(BENCH, case, "PyHessian density", "not installed", notes="pip install PyHessian==0.1")]
    peer_moments, peer_cdf = _errors(*peer, exact)
    return rows + [
        row(BENCH, case, "PyHessian density time", peer_seconds, "s", notes="float32, probes one after another"),
        row(BENCH, case, "PyHessian: max relative error, moments 1, 2, 4", peer_moments, "",
            notes="the same Rademacher probes (both drawn from seed 0)"),
        row(BENCH, case, "PyHessian: max CDF error, 9 points across the range", peer_cdf, ""),
        row(BENCH, case, "time PyHessian / optbook", peer_seconds / seconds, "x", "> 1", peer_seconds > seconds),
    ]


def at_scale(quick: bool) -> list[dict]:
    """Rows for (2)."""
    sizes, n_rows, n_iter, n_probes = ([64, 64, 64, 10], 64, 10, 2) if quick else ([64, 1024, 1024, 10], 256, 30, 2)
    x, y = _digits(n_rows)
    model = ob.mlp(sizes, seed=0)
    loss = ob.functional_loss(model, nn.functional.cross_entropy, x, y)
    theta = ob.get_flat_params(model)
    case = f"MLP {'-'.join(map(str, sizes))} (P = {theta.numel()}), {n_rows} digits, {n_probes} probes x {n_iter} steps"
    seconds, density = timed(lambda: ob.spectrum.hessian_density(loss, theta, n_probes=n_probes, n_iter=n_iter))
    return [row(BENCH, case, "optbook SLQ time", seconds, "s", notes="float32 model; basis kept in float64"),
            row(BENCH, case, "time per Hessian-vector product", 1e3 * seconds / density.n_matvec, "ms")]


def run(quick: bool = False) -> list[dict]:
    """All rows of this benchmark."""
    pin_threads()
    return accuracy(quick) + at_scale(quick)


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
