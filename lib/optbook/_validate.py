"""Argument checks shared by the library: fail loudly, name the argument."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from torch import Tensor


def check_tensor(name: str, value: object, ndim: int | None = None, finite: bool = True) -> Tensor:
    """Return ``value`` if it is a tensor of the wanted rank with finite entries, else raise.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.
    ndim : int or None, optional
        The required number of dimensions (None: any).
    finite : bool, optional
        Whether floating-point entries must all be finite (default True).

    Returns
    -------
    Tensor
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not a ``torch.Tensor``.
    ValueError
        If it has the wrong number of dimensions, no entries, or (with ``finite``) a nan or inf.

    Examples
    --------
    >>> check_tensor("v", torch.ones(2, 3), ndim=2).shape
    torch.Size([2, 3])
    >>> check_tensor("v", torch.tensor([1.0, float("nan")]))
    Traceback (most recent call last):
        ...
    ValueError: v contains non-finite values (nan or inf)
    """
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
    """Return a finite 1-D tensor, optionally of a given length.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.
    size : int or None, optional
        The required length (None: any).

    Returns
    -------
    Tensor, shape (size,)
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not a tensor.
    ValueError
        If it is not 1-D, is empty, has non-finite entries or the wrong length.

    Examples
    --------
    >>> check_vector("theta", torch.zeros(13), size=13).shape
    torch.Size([13])
    >>> check_vector("theta", torch.zeros(12), size=13)
    Traceback (most recent call last):
        ...
    ValueError: theta must have 13 entries, got 12
    """
    check_tensor(name, value, ndim=1)
    if size is not None and value.numel() != size:
        raise ValueError(f"{name} must have {size} entries, got {value.numel()}")
    return value


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a bool is refused).
    ValueError
        If it is not finite or not > 0.

    Examples
    --------
    >>> check_positive("lr", 1)
    1.0
    >>> check_positive("lr", -0.1)
    Traceback (most recent call last):
        ...
    ValueError: lr must be a finite number > 0, got -0.1
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.
    minimum : int, optional
        The smallest allowed value (default 1).

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (a bool or float is refused).
    ValueError
        If it is below ``minimum``.

    Examples
    --------
    >>> check_positive_int("n_samples", 2, minimum=2)
    2
    >>> check_positive_int("epochs", 2.0)
    Traceback (most recent call last):
        ...
    TypeError: epochs must be an integer, got float
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_fraction(name: str, value: object, open_interval: bool = True) -> float:
    """Return ``value`` if it lies in (0, 1) (or [0, 1] when ``open_interval`` is False).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.
    open_interval : bool, optional
        Whether 0 and 1 are excluded (default True).

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a bool is refused).
    ValueError
        If it lies outside the interval.

    Examples
    --------
    >>> check_fraction("val_fraction", 0.3), check_fraction("p", 1, open_interval=False)
    (0.3, 1.0)
    >>> check_fraction("val_fraction", 1)
    Traceback (most recent call last):
        ...
    ValueError: val_fraction must lie in (0, 1), got 1
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    low_ok = value > 0 if open_interval else value >= 0
    high_ok = value < 1 if open_interval else value <= 1
    if not (low_ok and high_ok):
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return float(value)


def check_seed(name: str, value: object) -> int:
    """Return ``value`` if it is a non-negative integer seed (not a bool, float or string).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is negative.

    Examples
    --------
    >>> check_seed("seed", 0)
    0
    >>> check_seed("seed", True)
    Traceback (most recent call last):
        ...
    TypeError: seed must be an integer, got bool True
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def check_float_tensor(name: str, value: object, ndim: int | None = None) -> Tensor:
    """Return a finite floating-point tensor (integer inputs would silently truncate results).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.
    ndim : int or None, optional
        The required number of dimensions (None: any).

    Returns
    -------
    Tensor
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not a tensor, or not of a floating-point dtype.
    ValueError
        As `check_tensor` (rank, empty, non-finite).

    Examples
    --------
    >>> check_float_tensor("theta", torch.zeros(3, dtype=torch.float64), ndim=1).dtype
    torch.float64
    >>> check_float_tensor("theta", torch.arange(3))
    Traceback (most recent call last):
        ...
    TypeError: theta must be a floating-point tensor, got torch.int64
    """
    check_tensor(name, value, ndim=ndim)
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
    return value


def check_callable(name: str, value: object) -> object:
    """Return ``value`` if it can be called.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not callable.

    Examples
    --------
    >>> check_callable("loss", abs) is abs
    True
    >>> check_callable("loss", 3.0)
    Traceback (most recent call last):
        ...
    TypeError: loss must be callable, got float
    """
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_float_dtype(name: str, value: object) -> torch.dtype:
    """Return ``value`` if it is a floating-point ``torch.dtype``.

    Examples
    --------
    >>> check_float_dtype("dtype", torch.float64)
    torch.float64
    """
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype, got {value!r}")
    return value


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number (a 0-d tensor counts as one).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number or a 0-d real tensor (a bool is refused).
    ValueError
        If it is nan or infinite.

    Examples
    --------
    >>> check_real("near", -10), check_real("near", torch.tensor(0.5))
    (-10.0, 0.5)
    >>> check_real("near", float("inf"))
    Traceback (most recent call last):
        ...
    ValueError: near must be a finite number, got inf
    """
    if isinstance(value, Tensor) and value.dim() == 0 and value.dtype != torch.bool and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


def check_nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number >= 0.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a bool is refused).
    ValueError
        If it is not finite or is negative.

    Examples
    --------
    >>> check_nonnegative("noise", 0)
    0.0
    >>> check_nonnegative("noise", -1)
    Traceback (most recent call last):
        ...
    ValueError: noise must be a finite number >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def check_module(name: str, value: object) -> torch.nn.Module:
    """Return ``value`` if it is a ``torch.nn.Module``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument.

    Returns
    -------
    torch.nn.Module
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If ``value`` is not a module.

    Examples
    --------
    >>> check_module("model", torch.nn.Linear(2, 1)).out_features
    1
    >>> check_module("model", "net")
    Traceback (most recent call last):
        ...
    TypeError: model must be a torch.nn.Module, got str
    """
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def check_int_sequence(name: str, value: object, minimum: int = 1) -> tuple[int, ...]:
    """Return a non-empty list or tuple of integers >= ``minimum`` as a tuple; elements are named ``name[i]``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument: a list, tuple or range of integers.
    minimum : int, optional
        The smallest allowed entry (default 1).

    Returns
    -------
    tuple of int
        The entries.

    Raises
    ------
    TypeError
        If ``value`` is not a list, tuple or range, or an entry is not an integer.
    ValueError
        If it is empty or an entry is below ``minimum``.

    Examples
    --------
    >>> check_int_sequence("widths", [2, 4])
    (2, 4)
    >>> check_int_sequence("widths", [2, 0])
    Traceback (most recent call last):
        ...
    ValueError: widths[1] must be >= 1, got 0
    """
    if not isinstance(value, (list, tuple, range)):
        raise TypeError(f"{name} must be a list or tuple of integers, got {type(value).__name__}")
    if not len(value):
        raise ValueError(f"{name} must not be empty")
    return tuple(check_positive_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))


def check_real_array(name: str, value: object, ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``value`` as a float64 NumPy array (from an array, tensor, list or number), finite by default.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The argument: anything `numpy.asarray` turns into real numbers (booleans and strings refused).
    ndim : int or None, optional
        The required number of dimensions (None: any).
    finite : bool, optional
        Whether every entry must be finite (default True; False lets nan and inf through).

    Returns
    -------
    numpy.ndarray
        A float64 copy or view of ``value``.

    Raises
    ------
    TypeError
        If ``value`` does not hold real numbers.
    ValueError
        If it has the wrong number of dimensions, no entries, or a nan or inf.

    Examples
    --------
    >>> check_real_array("ns", [3, 4]).tolist()
    [3.0, 4.0]
    >>> check_real_array("ns", [[3.0]], ndim=1)
    Traceback (most recent call last):
        ...
    ValueError: ns must have 1 dimension(s), got shape (1, 1)
    """
    raw = value.detach().cpu().numpy() if isinstance(value, Tensor) else value
    try:
        kind = "" if raw is None or isinstance(raw, (str, bytes, bool)) else np.asarray(raw).dtype.kind
    except (TypeError, ValueError):  # e.g. a ragged list
        kind = ""
    if kind not in ("i", "u", "f"):
        raise TypeError(f"{name} must hold real numbers, got {type(value).__name__} {value!r:.60}")
    array = np.asarray(raw, dtype=np.float64)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if finite and not np.isfinite(array).all():
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return array
