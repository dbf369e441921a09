"""2-D loss surfaces: `ob.landscape.loss_plane` against PyPI `loss-landscapes` (`random_plane`).

Both evaluate the full-batch loss on a 41 x 41 grid of the plane through the model's parameters
spanned by two directions. `loss-landscapes` walks the grid with in-place updates of the model
and one forward pass per point in a Python loop; the library forms each point afresh and
evaluates chunks of points at once (batched matrix products for an MLP, see `optbook.batched`).

Same values: `random_plane` draws its own filter-normalized directions, so the benchmark draws
them again from the same seed with the package's own functions, and asks the library for the
loss at exactly the points the package visited. Its walk is not a rectangular grid: on even rows
it steps along the second direction *before* the first evaluation, on odd rows after, so
alternate rows are offset by one step (loss-landscapes 3.0.6, `main.py`). The library is given
those coordinates row by row. Its own grid is also checked against a float64 direct evaluation.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

import optbook as ob
from benchmarks.timing import interleaved_medians, pin_threads, row

BENCH = "landscape"
STEPS = 41
SEED = 0


def _peer():
    try:
        import loss_landscapes
        from loss_landscapes.metrics import Loss
        from loss_landscapes.model_interface import model_parameters as mp
        from loss_landscapes.model_interface.model_wrapper import wrap_model
    except ImportError:
        return None
    return loss_landscapes, Loss, mp, wrap_model


def peer_plane(peer, model: nn.Module, x, y, steps: int, seed: int):
    """loss-landscapes' random_plane (filter normalization, distance 1) on a copy of the model."""
    loss_landscapes, Loss, _, _ = peer
    torch.manual_seed(seed)
    metric = Loss(nn.functional.cross_entropy, x, y)
    return loss_landscapes.random_plane(model, metric, distance=1, steps=steps, normalization="filter",
                                        deepcopy_model=True)


def peer_directions(peer, model: nn.Module, steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The two flat directions `random_plane` uses, redrawn with its own functions and seed."""
    _, _, mp, wrap_model = peer
    torch.manual_seed(seed)
    start = wrap_model(copy.deepcopy(model)).get_module_parameters()
    dir_one = mp.rand_u_like(start)
    dir_two = mp.orthogonal_to(dir_one)
    dir_one.filter_normalize_(start)
    dir_two.filter_normalize_(start)
    dir_one.mul_(((start.model_norm() / 1) / steps) / dir_one.model_norm())
    dir_two.mul_(((start.model_norm() / 1) / steps) / dir_two.model_norm())
    flat = [torch.cat([p.reshape(-1) for p in d.parameters]).detach().clone() for d in (dir_one, dir_two)]
    return flat[0], flat[1]


def peer_coordinates(steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Coefficients of d1 (rows) and of d2 on even and on odd rows of the walk `random_plane` takes."""
    half = steps / 2
    index = torch.arange(steps, dtype=torch.float64)
    return index - half, index + 1 - half, index - half


def _direct(loss64, center, d1, d2, alphas, betas) -> torch.Tensor:
    """The loss at each grid point, one plain float64 evaluation per point (the oracle)."""
    out = torch.empty(len(alphas), len(betas), dtype=torch.float64)
    with torch.no_grad():
        for i, a in enumerate(alphas):
            for j, b in enumerate(betas):
                out[i, j] = loss64(center + a * d1 + b * d2)
    return out


def compare(case: str, sizes: list[int], n_rows: int, steps: int, repeats: int, speed_target: float,
            oracle_stride: int) -> list[dict]:
    """Rows for one model: values against the peer and a float64 oracle, and the time ratio."""
    from optbook import landscape

    model = ob.mlp(sizes, seed=0)
    data = ob.digits(seed=0)
    x, y = data.x_train[:n_rows], data.y_train[:n_rows]
    loss = ob.functional_loss(model, ob.cross_entropy, x, y)
    center = ob.get_flat_params(model)
    case = f"{case}: MLP {'-'.join(map(str, sizes))} (P={center.numel()}), {n_rows} digits, {steps}x{steps}"
    peer = _peer()
    if peer is not None:
        d1, d2 = peer_directions(peer, model, steps, SEED)
    else:  # the library side still runs: directions of the same kind (filter-normalized)
        d1, d2 = landscape.random_directions(model, seed=SEED, ignore_biases=False)
        d1, d2 = d1 / steps / 2, d2 / steps / 2
    alphas, betas_even, betas_odd = peer_coordinates(steps)
    rows = []

    # the library's own grid against a float64 evaluation of the same points (a subgrid if large)
    grid = landscape.loss_plane(loss, center, d1, d2, alphas, betas_odd)
    model64 = copy.deepcopy(model).double()
    loss64 = ob.functional_loss(model64, ob.cross_entropy, x.double(), y)
    sub = slice(None, None, oracle_stride)
    oracle = _direct(loss64, center.double(), d1.double(), d2.double(), alphas[sub], betas_odd[sub])
    err = float((grid[sub, sub].double() - oracle).abs().max())
    rows.append(row(BENCH, case, "max |loss_plane - float64 direct evaluation|", err, "", "< 1e-5", err < 1e-5,
                    f"checked at {oracle.numel()} grid points"))

    fns = {"lib": lambda: landscape.loss_plane(loss, center, d1, d2, alphas, betas_odd)}
    if peer is not None:
        fns["peer"] = lambda: peer_plane(peer, model, x, y, steps, SEED)
    t = interleaved_medians(fns, repeats=repeats, warmup=0 if repeats == 1 else 1)
    rows.append(row(BENCH, case, "ob.landscape.loss_plane time (median)", 1e3 * t["lib"], "ms",
                    notes=f"chunk size {landscape.auto_chunk_size(loss, center)} (automatic)"))
    if peer is None:
        return rows

    values = torch.as_tensor(peer_plane(peer, model, x, y, steps, SEED), dtype=torch.float64)
    lib_even = landscape.loss_plane(loss, center, d1, d2, alphas, betas_even).double()
    lib = torch.where((torch.arange(steps) % 2 == 0)[:, None], lib_even, grid.double())
    diff = float((lib - values).abs().max())
    speedup = t["peer"] / t["lib"]
    rows += [
        row(BENCH, case, "max |loss_plane - loss-landscapes| (same points)", diff, "", "< 1e-5", diff < 1e-5,
            "the package's directions redrawn from its seed; its alternate rows are offset by one step"),
        row(BENCH, case, "loss-landscapes random_plane time (median)", 1e3 * t["peer"], "ms",
            notes="Python loop, one forward pass per point"),
        row(BENCH, case, "speed-up: loss-landscapes time / loss_plane time", speedup, "x", f">= {speed_target:g}",
            speedup >= speed_target),
    ]
    return rows


def run(quick: bool = False) -> list[dict]:
    """All rows of this benchmark; ``quick`` uses the smallest sizes (smoke test)."""
    pin_threads()
    if quick:
        rows = compare("book-size", [64, 8, 10], 64, 5, 1, 5.0, 1)
        rows += compare("large", [64, 64, 10], 64, 5, 1, 1.0, 2)
    else:
        rows = compare("book-size", [64, 16, 10], 512, STEPS, 7, 5.0, 1)
        rows += compare("large (~100k)", [64, 320, 240, 10], 512, STEPS, 3, 1.0, 5)
    if _peer() is None:
        rows.append(row(BENCH, "loss-landscapes", "peer comparison", "skipped", "",
                        notes="loss-landscapes is not installed"))
    return rows
