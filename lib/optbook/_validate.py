"""Argument checks shared by the library: fail loudly, name the argument."""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from torch import Tensor


def check_tensor(name: str, value: object, ndim: int | None = None, finite: bool = True) -> Tensor:
    """Return ``value`` if it is a tensor of the wanted rank with finite entries, else raise."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return value


def check_vector(name: str, value: object, size: int | None = None) -> Tensor:
    """Return a finite 1-D tensor, optionally of a given length."""
    check_tensor(name, value, ndim=1)
    if size is not None and value.numel() != size:
        raise ValueError(f"{name} must have {size} entries, got {value.numel()}")
    return value


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_fraction(name: str, value: object, open_interval: bool = True) -> float:
    """Return ``value`` if it lies in (0, 1) (or [0, 1] when ``open_interval`` is False)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    low_ok = value > 0 if open_interval else value >= 0
    high_ok = value < 1 if open_interval else value <= 1
    if not (low_ok and high_ok):
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return float(value)


def check_seed(name: str, value: object) -> int:
    """Return ``value`` if it is a non-negative integer seed (not a bool, float or string)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def check_float_tensor(name: str, value: object, ndim: int | None = None) -> Tensor:
    """Return a finite floating-point tensor (integer inputs would silently truncate results)."""
    check_tensor(name, value, ndim=ndim)
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
    return value


def check_callable(name: str, value: object) -> object:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value
