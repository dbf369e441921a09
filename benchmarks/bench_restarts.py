"""Many restarts: N small networks trained together (`ob.gradient_descent_many`) vs a Python loop.

The loop is what one writes by hand: for each seed, a network, `torch.optim.SGD` and full-batch
steps (forward, backward, step), keeping each step's loss. The batched version trains the same N
starting points with the same learning rate and number of steps in one vmapped computation and
also records every step's loss and gradient norm. The final parameters of every network must
agree (float32, `torch.allclose`), so the two really do the same training.
"""

from __future__ import annotations

import copy

import torch

import optbook as ob
from benchmarks.timing import interleaved_medians, pin_threads, row

BENCH = "restarts"


def loop_training(nets: list[torch.nn.Module], loss_fn, x, y, lr: float, steps: int) -> torch.Tensor:
    """Full-batch gradient descent on each network in turn; returns the final flat parameters [N, P]."""
    finals = []
    for net in nets:
        net = copy.deepcopy(net)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            loss = loss_fn(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        finals.append(ob.get_flat_params(net))
    return torch.stack(finals)


def xor_squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Half the mean squared error of a one-output net on the XOR labels."""
    return 0.5 * ((outputs.squeeze(-1) - targets) ** 2).mean()


def _cases(quick: bool) -> dict[str, tuple]:
    blobs = ob.blobs(n=300, n_features=2, n_classes=3, seed=0)
    x_xor, y_xor = ob.xor(dtype=torch.float32)
    return {
        "XOR, MLP 2-2-1": ([2, 2, 1], xor_squared_error, x_xor, y_xor, 1.0),
        "3 blobs, MLP 2-16-3": ([2, 16, 3], ob.cross_entropy, blobs.x_train, blobs.y_train, 0.5),
    }


def compare(name: str, sizes, loss_fn, x, y, lr: float, n_nets: int, steps: int, repeats: int) -> list[dict]:
    """Rows for one case: both timings, the speed-up and the per-network agreement."""
    nets = [ob.mlp(sizes, seed=seed) for seed in range(n_nets)]
    loss = ob.functional_loss(nets[0], loss_fn, x, y)
    thetas = torch.stack([ob.get_flat_params(net) for net in nets])
    fns = {
        "batched": lambda: ob.gradient_descent_many(loss, thetas, lr=lr, steps=steps).final_params,
        "loop": lambda: loop_training(nets, loss_fn, x, y, lr, steps),
    }
    # warm up with one step each (vmap's first call in a process sets up torch.func: seconds)
    ob.gradient_descent_many(loss, thetas, lr=lr, steps=1)
    loop_training(nets[:1], loss_fn, x, y, lr, 1)
    t = interleaved_medians(fns, repeats=repeats, warmup=0)
    batched, looped = fns["batched"](), fns["loop"]()
    same = torch.allclose(batched, looped, rtol=1e-4, atol=1e-5)
    max_diff = float((batched - looped).abs().max())
    moved = float((batched - thetas).abs().mean())  # the runs did train: parameters left their start
    speedup = t["loop"] / t["batched"]
    case = f"{name} (P={thetas.shape[1]}), {x.shape[0]} points, N={n_nets}, {steps} GD steps"
    return [
        row(BENCH, case, "Python loop of N trainings (median)", t["loop"], "s", notes="torch.optim.SGD, full batch"),
        row(BENCH, case, "ob.gradient_descent_many, N at once (median)", t["batched"], "s",
            notes="one batched pass per step (batched matrix products for a plain MLP with a known loss, else vmap); also records every step's loss and gradient norm"),
        row(BENCH, case, "speed-up: loop / batched", speedup, "x", ">= 5", speedup >= 5),
        row(BENCH, case, "max |final parameters batched - loop|", max_diff, "", "allclose (rtol 1e-4, atol 1e-5)",
            same and moved > 0, f"every network, float32; mean |change| from the start {moved:.3g}"),
    ]


def run(quick: bool = False) -> list[dict]:
    """All rows of this benchmark; ``quick`` uses the smallest sizes (smoke test)."""
    pin_threads()
    n_nets, steps, repeats = (10, 10, 1) if quick else (100, 100, 3)
    rows = []
    for name, (sizes, loss_fn, x, y, lr) in _cases(quick).items():
        rows += compare(name, sizes, loss_fn, x, y, lr, n_nets, steps, repeats)
    return rows
