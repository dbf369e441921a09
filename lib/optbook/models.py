"""Small networks built from a seed, so that every experiment can be re-run exactly."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._validate import check_float_dtype, check_positive, check_positive_int, check_seed

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


def mlp(
    sizes: Sequence[int],
    activation: str = "tanh",
    seed: int = 0,
    init_scale: float = 1.0,
    bias: bool = True,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A fully connected net with layer widths ``sizes`` (input first, output last).

    Weights start from PyTorch's default initialization drawn with ``seed`` and multiplied by
    ``init_scale`` (use a small scale to start near the saddle at the origin, sec. 8.2.3).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, at least two, each >= 1: input, hidden..., output.
    activation : {"tanh", "relu", "sigmoid", "linear"}, optional
        The nonlinearity after every hidden layer (none after the last); default ``"tanh"``.
    seed : int, optional
        Seeds the initialization (torch's global generator is left as it was); default 0.
    init_scale : float, optional
        Multiplies every initial weight and bias; > 0, or 0 for an all-zero start (default 1).
    bias : bool, optional
        Whether the linear layers have biases (default True).
    dtype : torch.dtype, optional
        Floating-point dtype of the parameters (default ``torch.float32``).

    Returns
    -------
    torch.nn.Sequential
        Linear, activation, ..., Linear; P = sum over layers of (n_in + bias) * n_out parameters.

    Raises
    ------
    TypeError
        If ``sizes`` is not a list or tuple, a width or ``seed`` is not an integer, ``dtype`` is not
        a floating-point dtype, or ``init_scale`` is not a number.
    ValueError
        If there are fewer than two widths, a width is < 1, ``seed`` < 0, ``activation`` is
        unknown, or ``init_scale`` is negative or not finite.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, *Deep Learning*, MIT Press, 2016, sec. 8.2.3
       (``goodfellow2016deep``).

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> net = ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)
    >>> [type(layer).__name__ for layer in net], ob.n_params(net)
    (['Linear', 'Tanh', 'Linear'], 13)
    >>> torch.equal(ob.get_flat_params(net), ob.get_flat_params(ob.mlp([2, 3, 1], seed=0, dtype=torch.float64)))
    True
    >>> float(ob.get_flat_params(ob.mlp([2, 3, 1], init_scale=0)).abs().max())
    0.0
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list or tuple of layer widths, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    for i, width in enumerate(sizes):
        check_positive_int(f"sizes[{i}]", width)
    check_seed("seed", seed)
    check_float_dtype("dtype", dtype)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if init_scale != 0:
        check_positive("init_scale", init_scale)
    devices_rng = torch.random.fork_rng(devices=[])
    with devices_rng:
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out, bias=bias, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        net = nn.Sequential(*layers)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(init_scale)
    return net


def digits_cnn(seed: int = 0, channels: int = 8, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """A small tanh CNN for the flat 8x8 digits (two 3x3 convolutions, then a linear layer), seeded.

    Input rows of 64 pixels are reshaped to one-channel 8x8 images, so the net is a drop-in
    replacement for `mlp` on `optbook.digits` (the 8x8 layout is what makes convolutions apply).

    Parameters
    ----------
    seed : int, optional
        Seeds the initialization (torch's global generator is left as it was); default 0.
    channels : int, optional
        Channels of both convolutions, >= 1 (default 8).
    dtype : torch.dtype, optional
        Floating-point dtype of the parameters (default ``torch.float32``).

    Returns
    -------
    torch.nn.Sequential
        Maps inputs of shape (N, 64) to logits of shape (N, 10).

    Raises
    ------
    TypeError
        If ``seed`` or ``channels`` is not an integer, or ``dtype`` is not a floating-point dtype.
    ValueError
        If ``seed`` < 0 or ``channels`` < 1.

    Examples
    --------
    >>> import torch
    >>> import optbook as ob
    >>> cnn = ob.models.digits_cnn(seed=0)
    >>> cnn(torch.zeros(5, 64)).shape, ob.n_params(cnn)  # 80 + 584 + 2890 parameters
    (torch.Size([5, 10]), 3554)
    """
    check_seed("seed", seed)
    channels = check_positive_int("channels", channels)
    check_float_dtype("dtype", dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, channels, 3, padding=1, dtype=dtype), nn.Tanh(),
            nn.Conv2d(channels, channels, 3, dtype=dtype), nn.Tanh(),
            nn.Flatten(), nn.Linear(channels * 6 * 6, 10, dtype=dtype),
        )
