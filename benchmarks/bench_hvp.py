"""Hessian-vector products and Hessian eigenvalues: optbook against PyHessian (power iteration).

(1) The cost of one exact Hessian-vector product relative to one gradient (Pearlmutter 1994:
a small constant; target at most 3x) for a small MLP, a small CNN and a ~1M-parameter MLP, with
`ob.hvp(method="forward")` (reverse-over-forward: a forward-mode pass, then one backward pass), with double
backpropagation (builds the gradient graph, then one more backward pass) and with
`ob.HessianOperator.matvec` (graph built once and reused, what eigen-solvers do). Each time
comes with the minor page faults per call: glibc hands large freed blocks back to the OS, so a
computation whose peak memory exceeds what the process keeps pays to fault pages in again.

(2) The top Hessian eigenvalue of one model on one batch: `ob.lanczos` on `ob.HessianOperator`
against PyHessian's power iteration (Yao et al. 2020), both from the same model, data and relative
tolerance, both checked against the dense Hessian's eigenvalues. Also the top-5 eigenvalues, the
most negative eigenvalue (Lanczos gives it; power iteration on H finds the eigenvalue of largest
magnitude, not the smallest) and Hutchinson's trace with the same number of probes.

PyHessian is given its best case: a single batch (so it reuses one gradient graph, as its code
intends), a private copy of the model (it switches the model to eval mode and leaves a gradient
graph in ``.grad``), and enough iterations to meet the tolerance.
"""

from __future__ import annotations

import copy
import sys
import warnings

import torch
from torch import nn

import optbook as ob
from benchmarks.timing import interleaved_medians, minor_page_faults, pin_threads, row, timed

BENCH = "hvp"
TOL = 1e-5  # relative tolerance given to both eigen-solvers
AGREE = 1e-3  # the two top eigenvalues must agree to this relative difference


def _digits(n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    data = ob.digits(seed=0)
    return data.x_train[:n_rows], data.y_train[:n_rows]


def hvp_cost(quick: bool = False) -> list[dict]:
    """Rows for (1): median time of an HVP and of a gradient, and their ratio, per model."""
    n_rows = 64 if quick else 1024
    repeats = 2 if quick else 15
    large = ([64, 64, 64, 10], "MLP 64-64-64-10 (quick stand-in for the ~1M MLP)") if quick else \
        ([64, 1024, 1024, 10], "~1M MLP 64-1024-1024-10")
    models = {
        "small MLP 64-32-10": ob.mlp([64, 32, 10], seed=0),
        "small CNN (2 conv + linear)": ob.models.digits_cnn(seed=0),
        large[1]: ob.mlp(large[0], seed=0),
    }
    x, y = _digits(n_rows)
    rows = []
    for case, model in models.items():
        loss = ob.functional_loss(model, ob.cross_entropy, x, y)
        theta = ob.get_flat_params(model)
        v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(1))
        op = ob.HessianOperator(loss, theta)
        fns = {
            "gradient": lambda: ob.gradient(loss, theta),
            "hvp": lambda: ob.hvp(loss, theta, v, method="forward"),
            "double_backward": lambda: ob.hvp(loss, theta, v, method="double_backward"),
            "default": lambda: ob.hvp(loss, theta, v),
            "matvec": lambda: op.matvec(v),
        }
        t = interleaved_medians(fns, repeats=repeats)
        faults = {name: minor_page_faults(fn) for name, fn in fns.items()}
        p = theta.numel()
        rows += [
            row(BENCH, case, "parameters", p, "", notes=f"batch of {n_rows} digits, ob.cross_entropy"),
            row(BENCH, case, "gradient time (median)", 1e3 * t["gradient"], "ms", notes=_faults(faults, "gradient")),
            row(BENCH, case, "ob.hvp time (median)", 1e3 * t["default"], "ms", notes=_faults(faults, "default")),
            row(BENCH, case, "ob.hvp / gradient", t["default"] / t["gradient"], "x", "<= 3",
                t["default"] / t["gradient"] <= 3, f"the default method, {ob.curvature.default_hvp_method(loss)!r}"),
            row(BENCH, case, "reverse-over-forward / gradient", t["hvp"] / t["gradient"], "x", "", None,
                "ob.hvp(method='forward'): a forward-mode pass, then one backward pass; " + _faults(faults, "hvp")),
            row(BENCH, case, "double backward / gradient", t["double_backward"] / t["gradient"], "x", "", None,
                "ob.hvp(method='double_backward'): forward + backward + one double-backward pass; "
                + _faults(faults, "double_backward")),
            row(BENCH, case, "default ob.hvp / faster method", t["default"] / min(t["hvp"], t["double_backward"]),
                "x", "<= 1.1", t["default"] / min(t["hvp"], t["double_backward"]) <= 1.1,
                f"the default picks {ob.curvature.default_hvp_method(loss)!r} for this model"),
            row(BENCH, case, "HessianOperator.matvec / gradient", t["matvec"] / t["gradient"], "x", "<= 3",
                t["matvec"] / t["gradient"] <= 3, "gradient graph built once and reused"),
        ]
    return rows


def _faults(faults: dict[str, int | None], name: str) -> str:
    """A note saying how many pages one call faulted in (a fresh allocation costs time too)."""
    return "" if faults[name] is None else f"{faults[name]} minor page faults per call"


class _CountingHVP:
    """Wraps PyHessian's hessian_vector_product to count how many products it takes."""

    def __init__(self, module):
        self.module, self.original, self.count = module, module.hessian_vector_product, 0

    def __enter__(self):
        def counted(*args, **kwargs):
            self.count += 1
            return self.original(*args, **kwargs)

        self.module.hessian_vector_product = counted
        return self

    def __exit__(self, *exc):
        self.module.hessian_vector_product = self.original


def _pyhessian_module():
    try:
        import pyhessian  # noqa: F401
    except ImportError:
        return None
    return sys.modules["pyhessian.hessian"]


def _library_spectrum(loss, theta, k: int, which: str, seed: int) -> ob.Spectrum:
    op = ob.HessianOperator(loss, theta)
    generator = torch.Generator().manual_seed(seed)
    return ob.lanczos(op, op.dim, k=k, which=which, max_iter=300, tol=TOL, generator=generator)


def _pyhessian_top(module, model, x, y, top_n: int, seed: int) -> tuple[list[float], int]:
    torch.manual_seed(seed)
    with _CountingHVP(module) as counter, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyHessian's own backward(create_graph=True)
        h = module.hessian(copy.deepcopy(model), nn.functional.cross_entropy, data=(x, y), cuda=False)
        values, _ = h.eigenvalues(maxIter=1000, tol=TOL, top_n=top_n)
    return values, counter.count


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-30)


def eigenvalues(quick: bool = False) -> list[dict]:
    """Rows for (2): top, top-5, most negative eigenvalue and trace, library vs PyHessian vs dense."""
    sizes = [64, 8, 10] if quick else [64, 24, 10]
    n_rows = 128 if quick else 512
    repeats = 1 if quick else 5
    model = ob.mlp(sizes, seed=0)
    x, y = _digits(n_rows)
    loss = ob.functional_loss(model, ob.cross_entropy, x, y)
    theta = ob.get_flat_params(model)
    dense = ob.hessian(loss, theta).to(torch.float64)  # the oracle: the dense Hessian, in float64
    exact = torch.linalg.eigvalsh(0.5 * (dense + dense.T))
    exact_trace = float(dense.diagonal().sum())
    case = f"MLP {'-'.join(map(str, sizes))} (P={theta.numel()}), {n_rows} digits"
    rows = [row(BENCH, case, "exact lambda_max (dense eigvalsh)", float(exact[-1]), "",
                notes=f"lambda_min {float(exact[0]):.4g}; tolerance {TOL:g} for both solvers")]
    module = _pyhessian_module()

    # top eigenvalue
    fns = {"lib": lambda: _library_spectrum(loss, theta, 1, "largest", seed=0)}
    if module is not None:
        fns["peer"] = lambda: _pyhessian_top(module, model, x, y, 1, seed=0)
    t = interleaved_medians(fns, repeats=repeats, warmup=0 if quick else 1)
    lib = fns["lib"]()
    lib_top = lib.largest
    rows += [
        row(BENCH, case, "top eigenvalue: ob.lanczos", lib_top, "",
            notes=f"rel. error vs dense {_rel(lib_top, float(exact[-1])):.1e}"),
        row(BENCH, case, "top eigenvalue: ob.lanczos HVPs", lib.n_matvec, "HVPs"),
        row(BENCH, case, "top eigenvalue: ob.lanczos time (median)", 1e3 * t["lib"], "ms"),
    ]
    if module is not None:
        peer_values, peer_hvps = fns["peer"]()
        peer_top = float(peer_values[0])
        rows += [
            row(BENCH, case, "top eigenvalue: PyHessian power iteration", peer_top, "",
                notes=f"rel. error vs dense {_rel(peer_top, float(exact[-1])):.1e}"),
            row(BENCH, case, "top eigenvalue: PyHessian HVPs", peer_hvps, "HVPs"),
            row(BENCH, case, "top eigenvalue: PyHessian time (median)", 1e3 * t["peer"], "ms"),
            row(BENCH, case, "top eigenvalue: relative difference lib vs PyHessian", _rel(lib_top, peer_top), "",
                f"< {AGREE:g}", _rel(lib_top, peer_top) < AGREE),
            row(BENCH, case, "top eigenvalue: HVPs PyHessian / lib", peer_hvps / lib.n_matvec, "x", "> 1",
                peer_hvps > lib.n_matvec),
            row(BENCH, case, "top eigenvalue: time PyHessian / lib", t["peer"] / t["lib"], "x", "> 1",
                t["peer"] > t["lib"]),
        ]
    rows += _top5(loss, theta, exact, model, x, y, module, case)
    rows += _smallest(loss, theta, exact, case)
    rows += _trace(loss, theta, exact_trace, model, x, y, module, case, quick)
    return rows


def _top5(loss, theta, exact, model, x, y, module, case) -> list[dict]:
    seconds, lib = timed(lambda: _library_spectrum(loss, theta, 5, "largest", seed=0))
    lib5 = lib.eigenvalues.flip(0)
    exact5 = exact[-5:].flip(0)
    lib_err = float(((lib5 - exact5).abs() / exact5.abs()).max())
    rows = [row(BENCH, case, "top-5: ob.lanczos max rel. error vs dense", lib_err, "", "< 1e-3", lib_err < 1e-3,
                f"{lib.n_matvec} HVPs, {1e3 * seconds:.0f} ms (one run)")]
    if module is not None:
        seconds, (values, hvps) = timed(lambda: _pyhessian_top(module, model, x, y, 5, seed=0))
        peer5 = torch.tensor(sorted(values, reverse=True), dtype=torch.float64)
        by_magnitude = exact[exact.abs().argsort(descending=True)[:5]].sort(descending=True).values
        peer_err = float(((peer5 - by_magnitude).abs() / by_magnitude.abs()).max())
        rows += [
            row(BENCH, case, "top-5: PyHessian max rel. error vs dense", peer_err, "", "", None,
                f"{hvps} HVPs, {1e3 * seconds:.0f} ms (one run); deflated power iteration finds the 5 of "
                "largest magnitude"),
            row(BENCH, case, "top-5: HVPs PyHessian / lib", hvps / lib.n_matvec, "x", "> 1", hvps > lib.n_matvec),
        ]
    return rows


def _smallest(loss, theta, exact, case) -> list[dict]:
    seconds, lib = timed(lambda: _library_spectrum(loss, theta, 1, "smallest", seed=0))
    err = abs(lib.smallest - float(exact[0])) / float(exact.abs().max())
    return [row(BENCH, case, "lambda_min: ob.lanczos error vs dense / lambda_max", err, "", "< 1e-3", err < 1e-3,
                f"lambda_min {lib.smallest:.4g} (dense {float(exact[0]):.4g}), {lib.n_matvec} HVPs, "
                f"{1e3 * seconds:.0f} ms; PyHessian's power iteration has no way to ask for it")]


def _trace(loss, theta, exact_trace: float, model, x, y, module, case, quick: bool) -> list[dict]:
    n_probes = 20 if quick else 100
    fns = {"lib": lambda: ob.hutchinson_trace(loss, theta, n_samples=n_probes, seed=0)}

    def peer():
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            h = module.hessian(copy.deepcopy(model), nn.functional.cross_entropy, data=(x, y), cuda=False)
        samples = h.trace(maxIter=n_probes, tol=0.0)  # tol=0: exactly n_probes probes, as the library
        mean = float(torch.tensor(samples, dtype=torch.float64).mean())
        return mean, float(torch.tensor(samples, dtype=torch.float64).std()) / len(samples) ** 0.5

    if module is not None:
        fns["peer"] = peer
    t = interleaved_medians(fns, repeats=1 if quick else 3, warmup=0)
    mean, stderr = fns["lib"]()
    ok = abs(mean - exact_trace) <= 3 * stderr
    rows = [
        row(BENCH, case, "trace: exact (dense)", exact_trace, ""),
        row(BENCH, case, "trace: ob.hutchinson_trace", mean, "", "within 3 s.e. of exact", ok,
            f"{n_probes} Rademacher probes, s.e. {stderr:.3g}"),
        row(BENCH, case, "trace: ob.hutchinson_trace time (median)", 1e3 * t["lib"], "ms"),
    ]
    if module is not None:
        peer_mean, peer_stderr = peer()
        rows += [
            row(BENCH, case, "trace: PyHessian", peer_mean, "", "within 3 s.e. of exact",
                abs(peer_mean - exact_trace) <= 3 * peer_stderr, f"{n_probes} probes, s.e. {peer_stderr:.3g}"),
            row(BENCH, case, "trace: time PyHessian / lib", t["peer"] / t["lib"], "x", "", None,
                "same number of HVPs; both reuse one gradient graph; seeded alike, both draw the same "
                "Rademacher probes, hence the same estimate"),
        ]
    return rows


def run(quick: bool = False) -> list[dict]:
    """All rows of this benchmark; ``quick`` uses the smallest sizes (smoke test)."""
    pin_threads()
    rows = hvp_cost(quick) + eigenvalues(quick)
    if _pyhessian_module() is None:
        rows.append(row(BENCH, "PyHessian", "peer comparison", "skipped", "", notes="pyhessian is not installed"))
    return rows
