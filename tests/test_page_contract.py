"""The page packages' contract: every public function fails loudly on bad input, naming the argument.

For each public function of the page packages (local_minima, many_minima, saddle_points,
linear_networks, flat_regions) there is one cheap valid call below; the test replaces one argument at a time by
each value of `BAD` (wrong types, nan and inf, negative, empty, wrong shapes) and requires that
the call either succeeds (the value happens to be valid there, e.g. a seed of 0) or raises a
`TypeError` or `ValueError` whose message names that argument. A `RuntimeError`, `IndexError`,
`AttributeError`, `KeyError` or `ZeroDivisionError` from deep inside torch or numpy fails it.
(The core's contract, with property-based tests, is in test_contract.py.)
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import optbook as ob
from optbook.flat_regions import experiments as fr
from optbook.linear_networks import deep_linear as ln
from optbook.local_minima import bad_minima as bm, restarts as rs, symmetry as sym
from optbook.many_minima import MANY_MINIMA, digits as dg, minima as mm, teacher_student as ts
from optbook.saddle_points import random_matrices as rm, saddles as sd, spin_glass as sg

F64 = torch.float64
BAD = {
    "None": None, "str": "x", "nan": math.nan, "inf": math.inf, "-1": -1, "0": 0, "2.5": 2.5, "True": True,
    "[]": [], "empty": torch.tensor([]), "nan-tensor": torch.full((3,), math.nan), "3-d": torch.zeros(2, 2, 2),
    "object": object(),
}


def _split(n: int = 40) -> ob.Split:
    d = ob.digits(dtype=F64)
    return ob.Split(d.x_train[:n], d.y_train[:n], d.x_val[:20], d.y_val[:20])


def _calls() -> dict[str, tuple]:
    """name -> (function, valid keyword arguments); each call takes well under a second."""
    net = ob.mlp([2, 3, 2], seed=0, dtype=F64)
    x2, y2 = torch.randn(5, 2, dtype=F64), torch.randn(5, 2, dtype=F64)
    loss = ob.functional_loss(net, ob.squared_error, x2, y2)
    theta = ob.get_flat_params(net)
    xs, ys = bm.sigmoid_unit_data()
    xd, yd = bm.d1_data()
    eig = torch.tensor([3.0, 2.0, 1.0], dtype=F64)
    hx, hy = ln.hierarchical_data(2)
    modes = ln.data_modes(hx, hy)
    j = sg.couplings(6, seed=0)
    spins = sg.on_sphere(torch.randn(2, 6, dtype=F64))
    points = sg.find_critical_points(j, n_starts=8, max_warmup=30, newton_steps=40)
    cps = ln.autoencoder_critical_points(eig, 1)
    split = _split()
    V, W = ts.teacher(3), ts.xavier_students(2, 3, 3, seed=0)
    small = replace(MANY_MINIMA, restarts=4, steps=20, slow_steps=10, record_every=10)
    return {
        "sym.maxout_mlp": (sym.maxout_mlp, dict(sizes=[2, 3, 1], pieces=2, seed=0)),
        "sym.n_hidden_units": (sym.n_hidden_units, dict(model=net)),
        "sym.permute_hidden_units": (sym.permute_hidden_units, dict(model=net, perm=torch.tensor([2, 0, 1]), layer=0)),
        "sym.permuted_twin": (sym.permuted_twin, dict(model=net, seed=0)),
        "sym.log10_arrangements": (sym.log10_arrangements, dict(n=5, m=2)),
        "sym.rescale_hidden_unit": (sym.rescale_hidden_unit, dict(model=ob.mlp([2, 3, 2], activation="relu", dtype=F64),
                                                                  alpha=2.0, unit=1, layer=0)),
        "sym.max_output_difference": (sym.max_output_difference, dict(model_a=net, model_b=net, inputs=x2)),
        "sym.cost_along_line": (sym.cost_along_line, dict(loss=loss, theta_a=theta, theta_b=theta + 1, num=5)),
        "sym.one_unit_cost_grid": (sym.one_unit_cost_grid, dict(w_in=torch.linspace(-1, 1, 3, dtype=F64),
                                                                w_out=torch.linspace(-1, 1, 4, dtype=F64),
                                                                x=x2[:, 0], y=y2[:, 0], weight_decay=0.1)),
        # one_unit_decay_optimum needs data y = s * x with x > 0
        "sym.one_unit_decay_optimum": (sym.one_unit_decay_optimum, dict(x=x2[:, 0].abs() + 0.1, y=2 * (x2[:, 0].abs() + 0.1),
                                                                        weight_decay=0.1)),
        "bm.sigmoid_unit_data": (bm.sigmoid_unit_data, dict(d=1, near=1.0, far=-10.0, target=0.05)),
        "bm.sigmoid_unit_cost": (bm.sigmoid_unit_cost, dict(w=torch.zeros(3, 1, dtype=F64), x=xs, y=ys, loss="squared")),
        "bm.sigmoid_unit_descent": (bm.sigmoid_unit_descent, dict(w0=torch.zeros(3, 1, dtype=F64), x=xs, y=ys, lr=0.3, steps=5)),
        "bm.sigmoid_unit_path": (bm.sigmoid_unit_path, dict(w0=torch.zeros(3, 1, dtype=F64), x=xs, y=ys, lr=0.3, steps=6,
                                                            record_every=2)),
        "bm.local_minimum_report": (bm.local_minimum_report, dict(cost=lambda t: (t**2).sum(), point=torch.ones(2, dtype=F64))),
        "bm.second_differences": (bm.second_differences, dict(values=torch.tensor([1.0, 0.0, 1.0, 3.0], dtype=F64))),
        "bm.local_minima_1d": (bm.local_minima_1d, dict(values=torch.tensor([1.0, 0.0, 1.0, 3.0], dtype=F64))),
        "bm.zero_error_rates": (bm.zero_error_rates, dict(x=ob.xor()[0], y=ob.xor()[1], hidden=(2,), starts=4, optimizer="gd",
                                                          lr=0.5, steps=5, seed=0)),
        "bm.one_relu_cost": (bm.one_relu_cost, dict(params=torch.ones(3, 4, dtype=F64), x=xd, y=yd)),
        "bm.min_cost_nearby": (bm.min_cost_nearby, dict(cost=lambda t: (t**2).sum(-1), point=torch.ones(2, dtype=F64),
                                                        radius=0.1, samples=10, seed=0)),
        "bm.one_relu_descent": (bm.one_relu_descent, dict(x=xd, y=yd, starts=4, lr=0.005, steps=5, scale=1.0, seed=0)),
        "rs.init_one_hidden_layer": (rs.init_one_hidden_layer, dict(n_in=4, width=3, n_out=2, restarts=2, seed=0)),
        "rs.train_restarts": (rs.train_restarts, dict(data=split, widths=(2,), restarts=2, steps=3, lr=0.5, momentum=0.5, seed=0)),
        "rs.convex_restarts": (rs.convex_restarts, dict(data=split, restarts=2, weight_decay=0.01, lr=0.5, momentum=0.5, steps=3,
                                                        init_scale=1.0, seed=0)),
        "sd.saddle_cost": (sd.saddle_cost, dict(theta=torch.ones(2, dtype=F64))),
        "sd.saddle_derivatives": (sd.saddle_derivatives, dict(theta=torch.ones(3, 2, dtype=F64))),
        "sd.step_direction": (sd.step_direction, dict(method="Newton", grad=torch.ones(1, 2, dtype=F64),
                                                      hess=torch.eye(2, dtype=F64)[None], damping=0.1)),
        "sd.run_method": (sd.run_method, dict(loss=sd.saddle_cost, starts=torch.ones(2, 2, dtype=F64), method="gradient descent",
                                              lr=0.1, steps=3, noise=0.01, damping=0.0, seed=0, blowup=1e6, max_step=0.5)),
        "sd.escape_steps": (sd.escape_steps, dict(distances=torch.rand(5, 2, dtype=F64) * 2, radius=1.0)),
        "sd.predicted_escape_steps": (sd.predicted_escape_steps, dict(delta=1e-3, lr=0.1, curvature=2.0, radius=1.0)),
        "sd.tanh_saddle_problem": (sd.tanh_saddle_problem, dict(width=2, n_samples=8, seed=0)),
        "sd.random_starts": (sd.random_starts, dict(center=torch.zeros(3, dtype=F64), distances=[0.1, 1.0], n_per_distance=2,
                                                    seed=0)),
        "sd.fit_log_slope": (sd.fit_log_slope, dict(delta=np.array([1e-3, 1e-2, 1e-1]), steps=np.array([30.0, 20.0, 10.0]))),
        "sd.teacher_student_problem": (sd.teacher_student_problem, dict(width=2, n_samples=8, seed=0)),
        "sd.critical_point_search": (sd.critical_point_search, dict(loss=sd.saddle_cost, starts=torch.ones(2, 2, dtype=F64),
                                                                    warmup_steps=torch.tensor([0, 2]), lr=0.05, newton_steps=2,
                                                                    tol=1e-8)),
        "sd.scaled_saddle": (sd.scaled_saddle, dict(curvature=2.0)),
        "rm.sample_goe": (rm.sample_goe, dict(n=3, size=4)),
        "rm.coin_tossing_fraction": (rm.coin_tossing_fraction, dict(n=[1, 2, 3])),
        "rm.dean_majumdar_fraction": (rm.dean_majumdar_fraction, dict(n=[1, 2, 3])),
        "rm.positive_definite_fraction": (rm.positive_definite_fraction, dict(ns=[1, 2], samples=100, seed=0, importance_from=5,
                                                                              shift=0.6, scale=0.75, chunk=50)),
        "rm.fitted_quadratic_rate": (rm.fitted_quadratic_rate, dict(ns=[3, 4, 5], fractions=[0.1, 0.02, 0.002])),
        "sg.couplings": (sg.couplings, dict(n_spins=5, seed=0)),
        "sg.energy": (sg.energy, dict(couplings_=j, spins=spins)),
        "sg.on_sphere": (sg.on_sphere, dict(spins=torch.randn(2, 6, dtype=F64))),
        "sg.riemannian_gradient": (sg.riemannian_gradient, dict(couplings_=j, spins=spins)),
        "sg.riemannian_hessian": (sg.riemannian_hessian, dict(couplings_=j, spins=spins)),
        "sg.tangent_eigenvalues": (sg.tangent_eigenvalues, dict(couplings_=j, spins=spins)),
        "sg.theory_index_fraction": (sg.theory_index_fraction, dict(eps=[-1.0, -0.5])),
        "sg.semicircle_density": (sg.semicircle_density, dict(x=np.linspace(-3, 3, 5), energy_per_spin=-1.0)),
        "sg.find_critical_points": (sg.find_critical_points, dict(couplings_=j, n_starts=3, max_warmup=3, lr=0.05, newton_steps=3,
                                                                  max_step=0.5, tol=1e-9, seed=0)),
        "sg.mirror_eigenvalues": (sg.mirror_eigenvalues, dict(couplings_=j, points=points)),
        "sg.binned_index_fraction": (sg.binned_index_fraction, dict(points=points, edges=[-2.0, -1.0, 0.0], min_count=1)),
        "sg.census": (sg.census, dict(n_spins=[3], disorder_seeds=(0,), n_starts=5, newton_steps=5, seed=0)),
        "ln.random_orthogonal": (ln.random_orthogonal, dict(n=3, seed=0)),
        "ln.covariance_with_spectrum": (ln.covariance_with_spectrum, dict(eigenvalues=eig, seed=0)),
        "ln.split_autoencoder": (ln.split_autoencoder, dict(theta=torch.zeros(6, dtype=F64), n=3, p=1)),
        "ln.autoencoder_loss": (ln.autoencoder_loss, dict(sigma=torch.eye(3, dtype=F64), p=1)),
        "ln.subset_cost": (ln.subset_cost, dict(eigenvalues=eig, subset=(0,))),
        "ln.predicted_index": (ln.predicted_index, dict(eigenvalues=eig, subset=(1,), p=1)),
        "ln.gauge_directions": (ln.gauge_directions, dict(theta=torch.ones(6, dtype=F64), n=3, p=1)),
        "ln.critical_point_params": (ln.critical_point_params, dict(q=torch.eye(3, dtype=F64), subset=(0,), p=1)),
        "ln.random_gauge": (ln.random_gauge, dict(p=2, generator=torch.Generator().manual_seed(0))),
        "ln.autoencoder_critical_points": (ln.autoencoder_critical_points, dict(eigenvalues=eig, p=1, seed=0, zero_tol=1e-8)),
        "ln.staircase_inversions": (ln.staircase_inversions, dict(points=cps, rtol=1e-9)),
        "ln.staircase_is_monotone": (ln.staircase_is_monotone, dict(points=cps, rtol=1e-9)),
        "ln.autoencoder_random_starts": (ln.autoencoder_random_starts, dict(eigenvalues=eig, p=1, n_starts=2, scale=0.5, lr=0.05,
                                                                            steps=4, seed=0, record_every=2)),
        "ln.hierarchical_data": (ln.hierarchical_data, dict(levels=2)),
        "ln.data_modes": (ln.data_modes, dict(inputs=hx, targets=hy)),
        "ln.saxe_mode_strength": (ln.saxe_mode_strength, dict(t=torch.linspace(0, 5, 4, dtype=F64), s=modes.s, u0=modes.s * 1e-3,
                                                              tau=1.0)),
        "ln.saxe_half_time": (ln.saxe_half_time, dict(s=modes.s, u0=modes.s * 1e-3, tau=1.0)),
        "ln.deep_mode_strength": (ln.deep_mode_strength, dict(t=torch.linspace(0, 5, 4, dtype=F64), s=modes.s,
                                                              u0=modes.s * 1e-3, depth=3, tau=1.0)),
        "ln.blow_up_time": (ln.blow_up_time, dict(s=2.0, u0=1e-3, depth=3, tau=1.0)),
        "ln.half_learning_times": (ln.half_learning_times, dict(strength=torch.linspace(0, 2, 5, dtype=F64)[:, None],
                                                                s=torch.tensor([2.0], dtype=F64),
                                                                steps=torch.arange(5))),
        "ln.linear_net_init": (ln.linear_net_init, dict(modes=modes, n_runs=2, depth=2, width=4,
                                                        init_scales=torch.full((2,), 0.1, dtype=F64), seed=0)),
        "ln.simulate_linear_net": (ln.simulate_linear_net, dict(inputs=hx, targets=hy, depth=2, width=4, init_scales=0.1, lrs=0.01,
                                                                steps=4, record_every=2, seed=0, n_runs=2)),
        "ln.widget_grid": (ln.widget_grid, dict(inputs=hx, targets=hy, depth=2, seed=0, scales=(0.1,), rates=(0.01,), steps=4,
                                                record_every=2, width=4)),
        "ln.distinct_groups": (ln.distinct_groups, dict(s=torch.tensor([3.0, 3.0, 1.0], dtype=F64), rtol=1e-6)),
        "ln.learned_in_order": (ln.learned_in_order, dict(t_half=torch.tensor([1.0, 2.0], dtype=F64),
                                                          s=torch.tensor([2.0, 1.0], dtype=F64))),
        "ln.stable_step_limit": (ln.stable_step_limit, dict(s_max=2.0, depth=2)),
        "ln.run_verdict": (ln.run_verdict, dict(strength=torch.linspace(0, 2, 5, dtype=F64)[:, None],
                                                loss=torch.linspace(2, 0, 5, dtype=F64), s=torch.tensor([2.0], dtype=F64),
                                                steps=torch.arange(5), window=0.1, tol=0.05, lr=0.01, depth=2)),
        "ln.mode_flow": (ln.mode_flow, dict(a=np.array([0.5]), b=np.array([0.2]), s=1.0)),
        "ln.mode_trajectory": (ln.mode_trajectory, dict(a0=0.5, b0=0.2, s=1.0, t_max=2.0, n_points=5)),
        "ln.hyperbolas": (ln.hyperbolas, dict(levels=np.array([-1.0, 1.0]), extent=2.0, n_points=5)),
        "ln.mode_endpoint": (ln.mode_endpoint, dict(a0=0.5, b0=0.2, s=1.0)),
        "ln.linear_net_loss": (ln.linear_net_loss, dict(inputs=hx, targets=hy, depth=2, width=3)),
        "ln.origin_hessian_eigenvalues": (ln.origin_hessian_eigenvalues, dict(inputs=hx, targets=hy, depth=2, width=2)),
        "fr.record_path": (fr.record_path, dict(model=ob.mlp([64, 3, 10], seed=0, dtype=F64), loss_fn=ob.cross_entropy,
                                                data=split, lr=0.1, steps=3, batch_size=8, seed=0, record_every=2)),
        "fr.with_hidden_bias": (fr.with_hidden_bias, dict(model=net, value=2.0)),
        "fr.plateau_span": (fr.plateau_span, dict(losses=torch.tensor([3.0, 2.3, 2.3, 1.0], dtype=F64), level=2.3, rel_tol=0.01)),
        "fr.largest_gap": (fr.largest_gap, dict(eigenvalues=torch.linspace(0, 1, 10, dtype=F64), search=5)),
        "fr.bulk_share": (fr.bulk_share, dict(eigenvalues=torch.linspace(0, 1, 10, dtype=F64), rel_tol=0.01)),
        "fr.gap_after": (fr.gap_after, dict(eigenvalues=torch.linspace(0.1, 1, 10, dtype=F64), k=2)),
        "fr.outlier_separation": (fr.outlier_separation, dict(eigenvalues=torch.linspace(0.1, 1, 10, dtype=F64), k=2)),
        "fr.small_net": (fr.small_net, dict(seed=0, init_scale=0.5)),
        "ts.pair_kernel": (ts.pair_kernel, dict(U=W, V=W)),
        "ts.population_cost": (ts.population_cost, dict(W=W, V=V)),
        "ts.population_gradient": (ts.population_gradient, dict(W=W, V=V)),
        "ts.teacher": (ts.teacher, dict(k=3)),
        "ts.xavier_students": (ts.xavier_students, dict(restarts=2, n=3, d=3, seed=0)),
        "ts.descend": (ts.descend, dict(W0=W, V=V, lr=0.1, steps=4, record_every=2, fast_lr=0.2, fast_from=2)),
        "ts.hessians": (ts.hessians, dict(W=W, V=V)),
        "ts.newton_polish": (ts.newton_polish, dict(W=W, V=V, iterations=1)),
        "mm.wilson_interval": (mm.wilson_interval, dict(successes=3, trials=10, z=1.96)),
        "mm.distinct_points": (mm.distinct_points, dict(W=W, tol=1e-6)),
        "mm.find_families": (mm.find_families, dict(W=V[None] + 1e-6, V=V, setup=small)),
        "mm.run_width": (mm.run_width, dict(k=3, n=3, seed=0, setup=small)),
        "mm.global_curvature": (mm.global_curvature, dict(k=3)),
        "mm.output_weight_cost": (mm.output_weight_cost, dict(theta=torch.ones(12, dtype=F64), V=V)),
        "mm.rescaling": (mm.rescaling, dict(W=V.clone(), V=V, alphas=[0.5, 2.0], unit=0)),
        "mm.swap_coordinates": (mm.swap_coordinates, dict(W=V, i=0, j=1)),
        "mm.line_and_curve": (mm.line_and_curve, dict(A=V, B=mm.swap_coordinates(V, 0, 1), V=V, points=3, steps=2, lr=0.1)),
        "mm.align_units": (mm.align_units, dict(A=V, B=V)),
        "mm.distinct_copy": (mm.distinct_copy, dict(W=W[0], tol=1e-6)),
        "mm.line_barriers": (mm.line_barriers, dict(A=V, Bs=W, V=V, points=3)),
        "dg.default_starts": (dg.default_starts, dict(sizes=(4, 3, 2), restarts=2, seed=0)),
        "dg.digits_restarts": (dg.digits_restarts, dict(data=_split(), width=3, restarts=2, seed=0, lr=0.1, steps=4,
                                                        record_every=2)),
    }


CALLS = _calls()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_valid_call_works(name):
    function, kwargs = CALLS[name]
    function(**kwargs)


def _cases():
    for name, (_, kwargs) in sorted(CALLS.items()):
        for argument in kwargs:
            yield pytest.param(name, argument, id=f"{name}-{argument}")


@pytest.mark.parametrize("name, argument", list(_cases()))
def test_a_bad_argument_raises_a_clear_error(name, argument):
    function, kwargs = CALLS[name]
    unclear = []
    for label, bad in BAD.items():
        try:
            function(**{**kwargs, argument: bad})
        except (TypeError, ValueError) as error:
            if argument.rstrip("_") not in str(error):
                unclear.append(f"{label}: {type(error).__name__}: {str(error)[:90]}")
        except Exception as error:  # noqa: BLE001 - the point of the test
            unclear.append(f"{label}: {type(error).__name__}: {str(error)[:90]}")
    assert not unclear, f"{name}({argument}=...) " + " | ".join(unclear)
