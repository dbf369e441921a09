"""Claims of chapters/local_minima.md (8.2.2), checked for the seeds in OPTBOOK_SEEDS with the chapter's settings.

Each threshold is what the page states; `claims.claim` adds the room (2 % of the threshold, or an
absolute amount stated at the call). The page's settings come from the library (`LOCAL_MINIMA`, Table 1's in
`LOCAL_MINIMA.table1`), so that they exist once.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from claims import SEEDS, claim, fact

import optbook as ob
from optbook.local_minima import LOCAL_MINIMA, bad_minima as bm, restarts as rs, symmetry as sym

CH = LOCAL_MINIMA
ALPHAS = list(CH.rescale_alphas)
ROUNDING = 1e-5  # "floating-point rounding" on the page, for float32 networks


@pytest.fixture(scope="module")
def digits():
    return ob.digits(val_fraction=0.4)


@pytest.fixture(scope="module")
def trained_nets(digits):
    """The chapter's 64-16-10 ReLU nets after full-batch GD, one per seed in SEEDS (one vmap)."""
    net = ob.mlp(list(CH.net_sizes), activation="relu")
    loss = ob.functional_loss(net, ob.cross_entropy, digits.x_train, digits.y_train)
    starts = torch.stack([ob.get_flat_params(ob.mlp(list(CH.net_sizes), activation="relu", seed=s)) for s in SEEDS])
    return net, loss, starts, ob.gradient_descent_many(loss, starts, lr=CH.net_lr, steps=CH.net_steps)


def _trained(runs, k):
    model = ob.mlp(list(CH.net_sizes), activation="relu")
    ob.set_flat_params(model, runs.final_params[k])
    return model


@pytest.mark.parametrize("seed", SEEDS)
def test_convex_starts_agree(digits, seed):
    convex = rs.convex_restarts(digits, restarts=CH.convex_restarts, weight_decay=CH.weight_decay,
                                steps=CH.convex_steps, seed=seed)
    # "the same cost to within float32 rounding, gradient norms below 1e-5"
    claim("convex: range of final costs", convex.cost.max() - convex.cost.min(), "<", ROUNDING)
    claim("convex: final gradient norms", convex.grad_norm, "<", ROUNDING)
    # "the parameters are not all the same ... remove the bias shift and the end points coincide"
    claim("convex: spread of end points", convex.max_distance_from_mean(), ">", 0.5)
    claim("convex: spread without the bias shift", convex.max_distance_without_bias_shift(), "<", 1e-4)


def test_network_starts_end_apart_at_different_costs(trained_nets):
    _, _, starts, runs = trained_nets
    costs = runs.loss[-1]
    if len(SEEDS) > 1:
        # "their costs differ in the third decimal" (the convex runs' agree to 1e-5)
        claim("net: range of final costs", float(costs.max() - costs.min()), ">", 1e-3)
        # "training moves the runs apart: every pair ends more than twice as far apart as it started"
        iu = torch.triu_indices(len(SEEDS), len(SEEDS), 1).unbind()
        ratio = torch.cdist(runs.final_params, runs.final_params)[iu] / torch.cdist(starts, starts)[iu]
        claim("net: end distance / start distance, every pair", ratio, ">", 2.0)


def test_permutation_keeps_function_and_cost_and_has_a_barrier(digits, trained_nets):
    net, loss, _, runs = trained_nets
    for k, seed in enumerate(SEEDS):
        trained = _trained(runs, k)
        twin = sym.permuted_twin(trained, seed=seed)
        theta, theta_twin = ob.get_flat_params(trained), ob.get_flat_params(twin)
        claim("permuted twin: output difference", sym.max_output_difference(trained, twin, digits.x_val), "<", ROUNDING)
        claim("permuted twin: cost difference", abs(float(loss(theta) - loss(theta_twin))), "<", ROUNDING)
        _, line = sym.cost_along_line(loss, theta, theta_twin, num=41)
        # "the cost in between is more than twice the cost at the ends"
        claim("permutation line: peak / end cost", float(line.max()) / max(float(line[0]), float(line[-1])), ">", 2.0)
    fact("log10 (100!)^3 = 473.9", sym.log10_arrangements(100, 3) == pytest.approx(473.9, abs=0.1))


def test_rescaling_keeps_relu_and_maxout_functions(digits, trained_nets):
    _, loss, _, runs = trained_nets
    for k, seed in enumerate(SEEDS):
        trained = _trained(runs, k)
        maxout = sym.maxout_mlp([64, 8, 10], pieces=3, seed=seed)
        relu_diff = max(sym.max_output_difference(trained, sym.rescale_hidden_unit(trained, a, unit=u), digits.x_val)
                        for a in ALPHAS for u in range(CH.net_sizes[1]))
        maxout_diff = max(sym.max_output_difference(maxout, sym.rescale_hidden_unit(maxout, a, unit=u), digits.x_val)
                          for a in ALPHAS for u in range(8))
        claim("ReLU rescaling: output difference", relu_diff, "<", ROUNDING)
        claim("maxout rescaling: output difference", maxout_diff, "<", ROUNDING)
        cost_diff = max(abs(float(loss(ob.get_flat_params(sym.rescale_hidden_unit(trained, a, unit=3))) - loss(runs.final_params[k])))
                        for a in ALPHAS)
        claim("ReLU rescaling: cost difference", cost_diff, "<", ROUNDING)


def test_one_unit_hyperbola_and_weight_decay():
    w = torch.linspace(0.05, 3, 200, dtype=torch.float64)
    x = torch.linspace(0.2, 2.0, 10, dtype=torch.float64)
    free = sym.one_unit_cost_grid(w, w, x, 1.5 * x)
    near_min = free < 1e-4
    products = (w[:, None] * w[None, :])[near_min]
    fact("without decay the near-minimal cells lie along the hyperbola w_in w_out = 1.5",
         bool(near_min.sum() > 20) and bool(torch.allclose(products, torch.full_like(products, 1.5), atol=0.02)))
    decayed = sym.one_unit_cost_grid(w, w, x, 1.5 * x, weight_decay=0.05)
    i, j = divmod(int(decayed.argmin()), decayed.shape[1])
    w_star, p_star = sym.one_unit_decay_optimum(x, 1.5 * x, 0.05)
    step = float(w[1] - w[0])
    # "the decayed optimum lies on the diagonal w_in = w_out, inside the hyperbola (product below 1.5)"
    fact("decayed grid minimum on the diagonal, at the closed-form point",
         abs(float(w[i]) - w_star) <= step and abs(float(w[j]) - w_star) <= step)
    claim("decayed optimum: product w_in w_out", float(w[i] * w[j]), "<", 1.5)


def test_sigmoid_unit_bad_strict_minimum_and_convex_cross_entropy():
    x, y = bm.sigmoid_unit_data()
    w = torch.linspace(-8, 4, 4801, dtype=torch.float64)[:, None]
    squared = bm.sigmoid_unit_cost(w, x, y)
    minima = bm.local_minima_1d(squared)
    fact("squared loss: two local minima on the grid", len(minima) == 2, len(minima))
    costs = squared[minima]
    fact("bad minimum costs 0.9025, the global one 0.2533",
         float(costs.max()) == pytest.approx(0.9025, abs=1e-4) and float(costs.min()) == pytest.approx(0.2533, abs=1e-4))
    grad, eigs = bm.local_minimum_report(lambda v: bm.sigmoid_unit_cost(v, x, y), w[minima[costs.argmax()]])
    claim("bad minimum: gradient norm", grad, "<", 1e-4)  # at a grid point 0.0025 from the exact minimum
    claim("bad minimum: second derivative", float(eigs.min()), ">", 0.0, abs=1e-3)  # strict
    cross_entropy = bm.sigmoid_unit_cost(w, x, y, "cross_entropy")
    claim("cross-entropy: smallest second difference", float(bm.second_differences(cross_entropy).min()), ">", -1e-12, rel=0.0)
    fact("cross-entropy: one minimum", len(bm.local_minima_1d(cross_entropy)) == 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_descent_basins_of_the_sigmoid_unit(seed):
    x, y = bm.sigmoid_unit_data()
    g = torch.Generator().manual_seed(seed)
    left = -4 + 3.5 * torch.rand(30, 1, generator=g, dtype=torch.float64)    # [-4, -0.5]
    right = -0.3 + 3.3 * torch.rand(30, 1, generator=g, dtype=torch.float64)  # [-0.3, 3]
    claim("starts left of -0.5 end at the bad minimum (w < -2.5)", bm.sigmoid_unit_descent(left, x, y, lr=CH.sigmoid_unit_lr, steps=CH.sigmoid_unit_steps), "<", -2.5)
    to_good = bm.sigmoid_unit_descent(right, x, y, lr=CH.sigmoid_unit_lr, steps=CH.sigmoid_unit_steps)
    claim("starts right of -0.3 end at the global minimum: abs(w - 0.1755)", (to_good - 0.1755).abs(), "<", 1e-3)
    x2, y2 = bm.sigmoid_unit_data(d=2)
    starts = -4.5 + 7 * torch.rand(200, 2, generator=g, dtype=torch.float64)
    ends = bm.sigmoid_unit_descent(starts, x2, y2, lr=CH.sigmoid_unit_lr, steps=CH.sigmoid_unit_steps)
    basins = (ends > -0.4775).long() @ torch.tensor([2, 1])
    fact("d = 2: runs end at all 2^2 minima", len(basins.unique()) == 4)
    # "only a minority of starts find the global one" (the page's grid: about a quarter)
    claim("d = 2: fraction of starts reaching the global minimum", float((basins == 3).double().mean()), "<", 0.5)


@pytest.fixture(scope="module")
def table1():
    """The page's Table 1 for every seed in SEEDS: one batched computation per data set and optimizer."""
    rates = {}
    for name, data in [("XOR", ob.xor()), ("jellyfish", ob.jellyfish())]:
        for opt in ("gd", "adam"):
            rates[name, opt] = bm.zero_error_rates(*data, hidden=CH.table1.hidden, starts=CH.table1.starts,
                                                   optimizer=opt, lr=CH.table1.lr(opt), steps=CH.table1.steps,
                                                   seed=list(SEEDS))
            rates[name, opt, "sigmoid"] = bm.zero_error_rates(
                *data, hidden=CH.table1.hidden, starts=CH.table1.starts, optimizer=opt, lr=CH.table1.lr(opt),
                steps=CH.table1.sigmoid_steps, seed=list(SEEDS), activation="sigmoid")
    rates["jellyfish", "gd small step"] = bm.zero_error_rates(
        *ob.jellyfish(), hidden=CH.table1.hidden, starts=CH.table1.starts, optimizer="gd",
        lr=CH.table1.small_lr_gd, steps=CH.table1.small_lr_steps, seed=list(SEEDS))
    return rates  # each [len(SEEDS), len(hidden)]


def test_success_rate_rises_with_hidden_units(table1):
    for key, rates in table1.items():
        if len(key) == 3 or key[1] == "gd small step":
            continue
        name, opt = key
        # "with two hidden units fewer than half of the starts succeed; seven units succeed at least
        # 30 points more often"
        claim(f"{name} {opt}: success rate at h = 2", rates[:, 0], "<", 0.5)
        claim(f"{name} {opt}: rise in success rate from h = 2 to h = 7", rates[:, -1] - rates[:, 0], ">", 0.3)


def test_table1_against_the_paper(table1):
    paper = {k: np.asarray(v) / 100 for k, v in bm.PAPER_TABLE1.items()}
    for opt in ("gd", "adam"):
        # "for XOR ours and the paper's differ by less than 10 points on average over the widths"
        gap = np.abs(table1["XOR", opt] - paper["XOR", opt]).mean(1)
        claim(f"XOR {opt}: mean abs(ours - paper) over h", gap, "<", 0.10)
    # "on jellyfish our gradient descent succeeds less often than the paper's, on average over h"
    claim("jellyfish gd: paper - ours, mean over h", (paper["jellyfish", "gd"] - table1["jellyfish", "gd"]).mean(1),
          ">", 0.0, abs=0.03)
    # "and our Adam more often than our gradient descent, the reverse of the paper's finding"
    claim("jellyfish: Adam - GD (ours), mean over h",
          (table1["jellyfish", "adam"] - table1["jellyfish", "gd"]).mean(1), ">", 0.0, abs=0.03)
    # sigmoid columns: "with gradient descent, sigmoid units succeed more often than ReLU units on
    # average over h, on both data sets, and agree with the paper's column to within 10 points on average"
    for name in ("XOR", "jellyfish"):
        claim(f"{name} gd: sigmoid - ReLU (ours), mean over h",
              (table1[name, "gd", "sigmoid"] - table1[name, "gd"]).mean(1), ">", 0.0, abs=0.03)
        claim(f"{name} gd sigmoid: mean abs(ours - paper) over h",
              np.abs(table1[name, "gd", "sigmoid"] - paper[name, "gd", "sigmoid"]).mean(1), "<", 0.10)
    # "our Adam with sigmoid units solves jellyfish far more often than the paper's"
    claim("jellyfish adam sigmoid: ours - paper, mean over h",
          (table1["jellyfish", "adam", "sigmoid"] - paper["jellyfish", "adam", "sigmoid"]).mean(1), ">", 0.0, abs=0.03)
    # "a smaller step (0.1, run longer) raises gradient descent's success rate on jellyfish"
    claim("jellyfish gd: step 0.1 - step 0.5, mean over h",
          (table1["jellyfish", "gd small step"] - table1["jellyfish", "gd"]).mean(1), ">", 0.0, abs=0.03)


@pytest.mark.parametrize("seed", SEEDS)
def test_d1_bad_local_minimum_at_18(seed):
    x, y = bm.d1_data()
    cost = lambda p: bm.one_relu_cost(p, x, y)
    point = torch.tensor(bm.D1_BAD_POINT, dtype=torch.float64)
    grad, eigs = bm.local_minimum_report(cost, point)
    fact("D1: cost 18, zero gradient, no negative curvature at (1, -3, 1, 0)",
         float(cost(point)) == pytest.approx(18.0) and grad < 1e-12 and float(eigs.min()) > -1e-9)
    nearby = min(bm.min_cost_nearby(cost, point, r, samples=4000, seed=seed) for r in (1e-3, 1e-2, 1e-1))
    # "4,000 random points nearby never do better than 18": exact (the point is a minimum on a valley
    # of equal cost, so the lowest nearby cost is 18 itself, up to rounding)
    fact("D1: no nearby point costs less than 18", nearby >= 18.0 - 1e-9, nearby)
    ends = bm.one_relu_descent(x, y, seed=seed, **CH.one_relu_kwargs()).final_loss.numpy()
    fact("D1: the best run reaches the global cost 14", ends.min() == pytest.approx(14.0, abs=1e-3) and ends.min() >= 14.0 - 1e-6)
    for value in (14.0, 18.0, 21.2):
        # "each of the three end states takes at least a tenth of the runs"
        claim(f"D1: fraction of runs ending at cost {value}", float(np.mean(np.abs(ends - value) < 0.05)), ">", 0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_restart_spread_and_mean_fall_with_width(digits, seed):
    res = rs.train_restarts(digits, **CH.restart_kwargs(widths=(2, 8, 32)), seed=seed)
    for which in ("train_loss", "test_loss"):
        # "the spread and the mean of both costs fall with width" (each width against the previous one)
        claim(f"{which}: spread at a width / spread at the previous width", res.std(which)[1:] / res.std(which)[:-1], "<", 1.0)
        claim(f"{which}: mean at a width / mean at the previous width", res.mean(which)[1:] / res.mean(which)[:-1], "<", 1.0)
    # "the worst 2-unit network ends above training cost 0.3, every wider one below it"
    claim("worst 2-unit training cost", res.train_loss[0].max(), ">", 0.3)
    claim("worst training cost of the wider networks", res.train_loss[1:].max(), "<", 0.3)


@pytest.mark.parametrize("seed", SEEDS)
def test_negative_test_names_both_cases(seed):
    converging = ob.train(ob.mlp(list(CH.blobs_sizes), activation="tanh", seed=seed), ob.squared_error,
                          ob.blobs(seed=0).one_hot(), lr=CH.blobs_lr, epochs=CH.blobs_epochs, progress=False)
    digits_oh = ob.digits().one_hot()
    bouncing = ob.train(ob.mlp(list(CH.digits_sizes), activation="tanh", seed=seed), ob.squared_error,
                        digits_oh, lr=CH.digits_lr, epochs=CH.digits_epochs, progress=False)
    fact("blobs: the test says the gradient has shrunk", "has shrunk" in ob.critical_point_test(converging.per_step.grad_norm[:, 0].numpy()).finding)
    verdict = ob.critical_point_test(bouncing.per_step.grad_norm[:, 0].numpy())
    fact("digits at step 1: the test says 'not at a critical point'", verdict.finding.startswith("not at a critical point"))
    claim("digits at step 1: final / peak gradient norm", verdict.evidence["final / peak"], ">", 0.1)
    # "while the training cost falls to less than a third of its start"
    claim("digits at step 1: final / first training cost", float(bouncing.per_step.loss[-1, 0] / bouncing.per_step.loss[0, 0]), "<", 1 / 3)
    loss = ob.functional_loss(bouncing.model, ob.squared_error, digits_oh.x_train, digits_oh.y_train)
    sharpness = ob.top_eigenvalue(loss, ob.get_flat_params(bouncing.model))
    # "its sharpness is within 15 % of 2 / step = 2"
    claim("digits at step 1: sharpness / (2 / step), from below", sharpness / 2.0, ">", 0.85)
    claim("digits at step 1: sharpness / (2 / step), from above", sharpness / 2.0, "<", 1.15)
