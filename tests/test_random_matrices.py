"""Unit tests for optbook.random_matrices (float64 oracles: exact n = 2 value, plain sampling)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from optbook.saddle_points import random_matrices as rm


def test_goe_is_symmetric_with_the_stated_variances():
    h = rm.sample_goe(3, 40000, torch.Generator().manual_seed(0))
    assert h.shape == (40000, 3, 3) and h.dtype == torch.float64
    assert torch.equal(h, h.transpose(-1, -2))
    assert abs(float(h[:, 0, 0].var()) - 1.0) < 0.03  # diagonal N(0, 1)
    assert abs(float(h[:, 0, 1].var()) - 0.5) < 0.02  # off-diagonal N(0, 1/2)


def test_coin_tossing_and_dean_majumdar_values():
    np.testing.assert_allclose(rm.coin_tossing_fraction([1, 2, 10]), [0.5, 0.25, 2.0**-10])
    np.testing.assert_allclose(rm.dean_majumdar_fraction(2), [math.exp(-math.log(3))])
    assert rm.DEAN_MAJUMDAR_RATE == pytest.approx(0.27465, abs=1e-5)


def test_plain_sampling_matches_the_exact_two_by_two_value():
    result = rm.positive_definite_fraction([2], samples=200000, seed=1)
    exact = (2 - math.sqrt(2)) / 4
    assert result.method == ("sampling",)
    assert abs(result.fraction[0] - exact) < 4 * result.std_error[0]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_importance_sampling_agrees_with_plain_sampling(n):
    plain = rm.positive_definite_fraction([n], samples=200000, seed=2)
    weighted = rm.positive_definite_fraction([n], samples=40000, seed=3, importance_from=1)
    assert weighted.method == ("importance sampling",)
    gap = abs(plain.fraction[0] - weighted.fraction[0])
    assert gap < 4 * math.hypot(plain.std_error[0], weighted.std_error[0])


def test_fitted_rate_recovers_a_known_quadratic():
    ns = np.arange(3, 9)
    probs = np.exp(-(0.3 * ns**2 + 0.5 * ns - 0.2))
    assert rm.fitted_quadratic_rate(ns, probs) == pytest.approx(0.3, rel=1e-9)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"ns": []}, ValueError),
        ({"ns": [0]}, ValueError),
        ({"ns": [2.5]}, TypeError),
        ({"ns": [2], "samples": 1}, ValueError),
        ({"ns": [2], "shift": -1.0}, ValueError),
        ({"ns": [2], "scale": 0.0}, ValueError),
        ({"ns": [2], "scale": 0.7}, ValueError),  # below 1/sqrt(2): weights of infinite variance
        ({"ns": [2], "importance_from": 0}, ValueError),
    ],
)
def test_positive_fraction_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        rm.positive_definite_fraction(**kwargs)


def test_other_functions_reject_bad_arguments():
    with pytest.raises(ValueError):
        rm.coin_tossing_fraction([0])
    with pytest.raises(ValueError):
        rm.dean_majumdar_fraction([1.5])
    with pytest.raises(ValueError):
        rm.fitted_quadratic_rate([1, 2], [0.5, 0.2])
    with pytest.raises(ValueError):
        rm.fitted_quadratic_rate([1, 2, 3], [0.5, 0.0, 0.1])
    with pytest.raises(ValueError):
        rm.fitted_quadratic_rate([1, 2, 3], [0.5, 0.1])
    with pytest.raises(ValueError):
        rm.sample_goe(0, 3)
