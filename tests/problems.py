"""Shared test problems: small models the library was not written for, and a snapshot of a model.

Each builder returns a fresh seeded model (float64 unless asked), with data to evaluate it on:
BatchNorm and Dropout in train or eval mode, frozen parameters, and a weight tied across two layers.
"""

from __future__ import annotations

import torch
from torch import nn

IN, HIDDEN, OUT, ROWS = 4, 5, 3, 12


def data(dtype: torch.dtype = torch.float64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(ROWS, IN, generator=g, dtype=dtype), torch.randint(0, OUT, (ROWS,), generator=g)


def batchnorm_net(train: bool = True, dtype: torch.dtype = torch.float64) -> nn.Module:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(IN, HIDDEN, dtype=dtype), nn.BatchNorm1d(HIDDEN, dtype=dtype), nn.Tanh(),
                        nn.Linear(HIDDEN, OUT, dtype=dtype))
    with torch.no_grad():  # running statistics that differ from a fresh layer's, so a write would show
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net.train(train)


def dropout_net(train: bool = True, dtype: torch.dtype = torch.float64) -> nn.Module:
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(IN, HIDDEN, dtype=dtype), nn.Tanh(), nn.Dropout(0.3),
                        nn.Linear(HIDDEN, OUT, dtype=dtype))
    return net.train(train)


def frozen_net(dtype: torch.dtype = torch.float64) -> nn.Module:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(IN, HIDDEN, dtype=dtype), nn.Tanh(), nn.Linear(HIDDEN, OUT, dtype=dtype))
    net[0].weight.requires_grad_(False)
    return net


def tied_net(dtype: torch.dtype = torch.float64) -> nn.Module:
    """One HIDDEN x HIDDEN layer used twice (a shared Parameter), in a plain nn.Sequential."""
    torch.manual_seed(4)
    shared = nn.Linear(HIDDEN, HIDDEN, dtype=dtype)
    return nn.Sequential(nn.Linear(IN, HIDDEN, dtype=dtype), nn.Tanh(), shared, nn.Tanh(), shared, nn.Tanh(),
                         nn.Linear(HIDDEN, OUT, dtype=dtype))


def snapshot(model: nn.Module) -> list:
    """Everything of the caller's the library must not write: parameters (values, objects,
    requires_grad, .grad), buffers, and every module's train/eval flag."""
    state = []
    for name, p in model.named_parameters(remove_duplicate=False):
        state.append((name, id(p), p.detach().clone(), p.requires_grad,
                      None if p.grad is None else p.grad.clone()))
    for name, b in model.named_buffers(remove_duplicate=False):
        state.append((name, id(b), b.clone()))
    state += [(name, m.training) for name, m in model.named_modules(remove_duplicate=False)]
    return state


def same(a: list, b: list) -> bool:
    """Bit-identical snapshots."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, torch.Tensor):
                if not isinstance(v, torch.Tensor) or u.shape != v.shape or not torch.equal(u, v):
                    return False
            elif u != v:
                return False
    return True
