"""Small networks built from a seed, so that every experiment can be re-run exactly."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._validate import check_positive, check_positive_int, check_seed

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
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list or tuple of layer widths, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    for i, width in enumerate(sizes):
        check_positive_int(f"sizes[{i}]", width)
    check_seed("seed", seed)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
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
    """
    check_seed("seed", seed)
    channels = check_positive_int("channels", channels)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, channels, 3, padding=1, dtype=dtype), nn.Tanh(),
            nn.Conv2d(channels, channels, 3, dtype=dtype), nn.Tanh(),
            nn.Flatten(), nn.Linear(channels * 6 * 6, 10, dtype=dtype),
        )
