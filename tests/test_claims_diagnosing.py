"""Claims of chapters/diagnosing.md, asserted for three seeds on the code that produces them."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from optbook.diagnose import diagnose_training
from optbook.monitor import KNOWN_ANSWERS, known_answer_runs, train_digits_mlp

SEEDS = (0, 1, 2)
GOOD_LR, LARGE_LR = 0.5, 12.0  # the chapter's two step sizes
CHAPTER_MONITOR = {"every": 10, "eigen_every": 100}


@functools.cache
def _known(seed: int):
    return known_answer_runs(seed)


@functools.cache
def _example(lr: float, seed: int):
    return train_digits_mlp(lr, seed=seed, **CHAPTER_MONITOR)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_known_answer_case_gets_its_verdict(seed):
    for name, record in _known(seed).items():
        diagnosis = diagnose_training(record)
        for test, expected in KNOWN_ANSWERS[name].items():
            assert diagnosis.finding(test).startswith(expected), (name, test, diagnosis.finding(test))


@pytest.mark.parametrize("seed", SEEDS)
def test_known_answer_numbers(seed):
    runs = _known(seed)
    quad = runs["quadratic, kappa 100, eps = 1.9 / lambda_max"]
    assert quad.lambda_max[-1] == pytest.approx(100.0, rel=1e-6) and quad.lambda_min[-1] == pytest.approx(1.0, rel=1e-3)
    # on a quadratic the gradient turns toward the flat directions: the ratio along g falls far below
    # the limit while eps lambda_max / 2 stays at 0.95, so only the Lanczos signal sees the limit
    assert np.median(quad.ratio[-5:]) < 0.1
    saddle = runs["saddle x1^2 - x2^2"]
    assert saddle.lambda_min[-1] == pytest.approx(-2.0, rel=1e-9) and saddle.lambda_max[-1] == pytest.approx(2.0, rel=1e-9)
    logistic = runs["logistic regression on the digits, converged"]
    assert logistic.probe_grad_norm[-1] < 1e-3 * max(logistic.probe_grad_norm)
    assert logistic.lambda_min[-1] > -1e-6 * logistic.lambda_max[-1]
    eos = runs["edge of stability: full-batch GD, squared error"]
    sharpness = np.asarray(eos.lambda_max[len(eos.lambda_max) // 2 :]) * eos.lr[0] / 2
    assert np.all(np.abs(sharpness - 1) < 0.15)  # lambda_max hovers at 2/eps
    assert abs(np.median(eos.ratio[len(eos.ratio) // 2 :]) - 1) < 0.1  # the book's ratio sits at 1
    norms = np.asarray(eos.probe_grad_norm)
    assert norms[-10:].mean() > 5 * norms[:20].min()  # the gradient norm rises (Fig. 8.1's shape)
    loss = np.asarray(eos.probe_loss)
    assert np.median(loss[-10:]) < 0.85 * np.median(loss[5:15])  # while the loss keeps falling, unevenly


@pytest.mark.parametrize("seed", SEEDS)
def test_chapter_example_good_step(seed):
    run = _example(GOOD_LR, seed)
    diagnosis = diagnose_training(run.record)
    assert diagnosis.finding("ill-conditioning").startswith("no sign of trouble")
    assert diagnosis.finding("critical point").startswith("not at a critical point")
    assert diagnosis.verdicts[0].evidence["median eps lambda_max / 2, last part"] < 0.5
    assert diagnosis.finding("negative curvature").startswith("negative curvature present: not a minimum")
    loss = np.asarray(run.record.probe_loss)
    assert np.median(loss[-5:]) < 0.9 * np.median(loss[len(loss) // 2 - 2 : len(loss) // 2 + 3])  # still falling
    assert run.val_error < 0.06


@pytest.mark.parametrize("seed", SEEDS)
def test_chapter_example_too_large_step(seed):
    run = _example(LARGE_LR, seed)
    diagnosis = diagnose_training(run.record)
    assert diagnosis.finding("ill-conditioning").startswith("ill-conditioning: the step is at the curvature limit")
    assert diagnosis.finding("critical point").startswith("not at a critical point")
    assert diagnosis.verdicts[0].evidence["median eps lambda_max / 2, last part"] > 1  # past the limit
    assert max(run.record.ratio) > 1 and min(run.record.ratio) < -1  # swings past 1 both ways
    assert run.val_error > 2 * _example(GOOD_LR, seed).val_error
