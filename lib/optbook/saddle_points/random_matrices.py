"""The coin-tossing argument of sec. 8.2.3, measured on random symmetric matrices.

If the signs of a Hessian's n eigenvalues were independent coin tosses, a critical point would be
a minimum with probability 2^-n. For a matrix from the Gaussian orthogonal ensemble (GOE) the
eigenvalues repel each other, and all n of them are positive far more rarely: the probability
falls like exp(-(ln 3 / 4) n^2) (Dean & Majumdar 2006). `positive_definite_fraction` measures it
by plain sampling for small n and by importance sampling (a shifted, narrowed GOE as proposal)
where the event is too rare to sample directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .._validate import check_int_sequence, check_positive, check_positive_int, check_real_array, check_seed

DEAN_MAJUMDAR_RATE = math.log(3) / 4  # theta in P(all eigenvalues > 0) ~ exp(-theta n^2), beta = 1
EXACT_FRACTION_N2 = (2 - math.sqrt(2)) / 4  # P(a 2 x 2 GOE matrix is positive definite), exactly



def sample_goe(n: int, size: int, generator: torch.Generator | None = None) -> Tensor:
    """``size`` GOE matrices [size, n, n]: (A + A^T)/2 with A iid N(0, 1), density ~ exp(-tr H^2 / 2)."""
    check_positive_int("n", n)
    check_positive_int("size", size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    a = torch.randn(size, n, n, generator=generator, dtype=torch.float64)
    return 0.5 * (a + a.transpose(-1, -2))


def coin_tossing_fraction(n: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """The coin-tossing estimate 2^-n that all n eigenvalue signs come up positive."""
    ns = np.atleast_1d(np.asarray(n))
    if ns.dtype.kind not in "iu" or (ns < 1).any():
        raise ValueError(f"n must hold positive integers, got {n!r}")
    return 2.0 ** (-ns.astype(float))


def dean_majumdar_fraction(n: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """The leading large-n law exp(-(ln 3 / 4) n^2) (Dean & Majumdar 2006), without its prefactor."""
    ns = np.atleast_1d(np.asarray(n))
    if ns.dtype.kind not in "iu" or (ns < 1).any():
        raise ValueError(f"n must hold positive integers, got {n!r}")
    return np.exp(-DEAN_MAJUMDAR_RATE * ns.astype(float) ** 2)


@dataclass(frozen=True)
class PositiveFraction:
    """Estimated P(all eigenvalues > 0) for each n, with its standard error and the method used."""

    n: np.ndarray
    fraction: np.ndarray
    std_error: np.ndarray
    method: tuple[str, ...]


def _plain_estimate(n: int, samples: int, generator: torch.Generator, chunk: int) -> tuple[float, float]:
    hits, done = 0, 0
    while done < samples:
        size = min(chunk, samples - done)
        hits += int((torch.linalg.eigvalsh(sample_goe(n, size, generator))[:, 0] > 0).sum())
        done += size
    p = hits / samples
    return p, math.sqrt(max(p * (1 - p), 1.0 / samples) / samples)


def _importance_estimate(
    n: int, samples: int, generator: torch.Generator, chunk: int, shift: float, scale: float
) -> tuple[float, float]:
    """Sample H' = scale * GOE + shift * sqrt(n) I and weight by p_GOE(H') / q(H')."""
    c = shift * math.sqrt(n)
    dims = n * (n + 1) / 2  # independent entries of a symmetric matrix
    eye = torch.eye(n, dtype=torch.float64)
    weights = []
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        h = scale * sample_goe(n, size, generator) + c * eye
        log_p = -0.5 * (h * h).sum((-1, -2))
        log_q = -0.5 * ((h - c * eye) ** 2).sum((-1, -2)) / scale**2 - dims * math.log(scale)
        positive = torch.linalg.eigvalsh(h)[:, 0] > 0
        weights.append(torch.where(positive, torch.exp(log_p - log_q), torch.zeros(())))
        done += size
    w = torch.cat(weights)
    return float(w.mean()), float(w.std() / math.sqrt(samples))


def positive_definite_fraction(
    ns: Sequence[int],
    samples: int = 20000,
    seed: int = 0,
    importance_from: int = 5,
    shift: float = 0.6,
    scale: float = 0.75,
    chunk: int = 50000,
) -> PositiveFraction:
    """Fraction of n x n GOE matrices with all eigenvalues positive, for each n in ``ns``.

    Plain sampling below ``importance_from``; from there on importance sampling with the proposal
    ``scale * GOE + shift * sqrt(n) I`` (the event has probability ~1e-4 at n = 5 and ~1e-9 at
    n = 8, far too rare to count hits). Its weights are exact density ratios, so the estimate is
    unbiased; its standard error grows with n, and is reported. The weights have finite variance
    only when ``scale`` > 1/sqrt(2) (E_q[w^2] = int p^2/q diverges otherwise: rare huge weights
    then spoil both the estimate and its standard error), hence the default 0.75.
    """
    ns = list(check_int_sequence("ns", ns))
    check_positive_int("samples", samples, minimum=2)
    check_positive_int("importance_from", importance_from)
    check_positive("shift", shift)
    check_positive("scale", scale)
    if scale <= 1 / math.sqrt(2):
        raise ValueError(f"scale must exceed 1/sqrt(2) = 0.707 (finite-variance weights), got {scale}")
    check_positive_int("chunk", chunk)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    fractions, errors, methods = [], [], []
    for n in ns:
        if n < importance_from:
            p, se = _plain_estimate(n, samples, generator, chunk)
            methods.append("sampling")
        else:
            p, se = _importance_estimate(n, samples, generator, chunk, shift, scale)
            methods.append("importance sampling")
        fractions.append(p)
        errors.append(se)
    return PositiveFraction(np.array(ns), np.array(fractions), np.array(errors), tuple(methods))


def fitted_quadratic_rate(ns: Sequence[int], fractions: Sequence[float]) -> float:
    """Fit -ln P = theta n^2 + b n + c and return theta, to compare with ln 3 / 4 (Dean & Majumdar)."""
    x = check_real_array("ns", ns, ndim=1)
    p = check_real_array("fractions", fractions, ndim=1)
    if x.ndim != 1 or x.shape != p.shape:
        raise ValueError(f"ns and fractions must be 1-D of equal length, got {x.shape} and {p.shape}")
    if x.size < 3:
        raise ValueError(f"need at least 3 points to fit a quadratic, got {x.size}")
    if not np.all(np.isfinite(p)) or (p <= 0).any() or (p > 1).any():
        raise ValueError("fractions must lie in (0, 1]")
    theta, _, _ = np.polyfit(x, -np.log(p), 2)
    return float(theta)
