"""Unit tests for optbook.local_minima.restarts: the flat layout, batching, argument checks."""

from __future__ import annotations

import pytest
import torch

import optbook as ob
from optbook.local_minima import restarts as rs


def _small_split(n: int = 60) -> ob.Split:
    d = ob.digits(dtype=torch.float64)
    return ob.Split(d.x_train[:n], d.y_train[:n], d.x_val[:40], d.y_val[:40])


def test_flat_starts_are_the_mlp_layout():
    """The stacked initializations, flattened, are the parameters of `ob.mlp` with the same weights."""
    init = rs.init_one_hidden_layer(64, 5, 10, 3, 0, torch.float64)
    net = ob.mlp([64, 5, 10], activation="relu", dtype=torch.float64)
    with torch.no_grad():
        net[0].weight.copy_(init[0][1].T); net[0].bias.copy_(init[1][1])
        net[2].weight.copy_(init[2][1].T); net[2].bias.copy_(init[3][1])
    assert torch.equal(rs._flat_starts(init)[1], ob.get_flat_params(net))


def test_batched_runs_equal_separate_runs():
    """Restart r of a batched run is exactly the network trained alone from the same init."""
    data = _small_split()
    res = rs.train_restarts(data, widths=(3,), restarts=4, steps=20, lr=0.3, seed=1)
    init = rs.init_one_hidden_layer(64, 3, 10, 4, 1000, torch.float64)
    net = ob.mlp([64, 3, 10], activation="relu", dtype=torch.float64)
    with torch.no_grad():
        net[0].weight.copy_(init[0][2].T); net[0].bias.copy_(init[1][2])
        net[2].weight.copy_(init[2][2].T); net[2].bias.copy_(init[3][2])
    hist = ob.train(net, ob.cross_entropy, data, lr=0.3, epochs=20, progress=False)
    assert res.train_loss[0, 2] == pytest.approx(float(hist.per_epoch.final_loss[0]), rel=1e-9)
    assert res.test_loss[0, 2] == pytest.approx(float(hist.per_epoch['val_loss'][-1, 0]), rel=1e-9)


def test_results_shapes_and_summaries():
    res = rs.train_restarts(_small_split(), widths=(2, 4), restarts=3, steps=5)
    assert res.train_loss.shape == (2, 3) and res.widths == (2, 4)
    assert res.std("train_loss").shape == (2,) and res.mean("test_error").shape == (2,)
    with pytest.raises(ValueError, match="which"):
        res.std("accuracy")


def test_convex_restarts_reach_one_cost():
    res = rs.convex_restarts(_small_split(), restarts=4, steps=400, weight_decay=0.05)
    assert res.cost.max() - res.cost.min() < 1e-9
    assert res.max_distance_without_bias_shift() < 1e-4 < res.max_distance_from_mean()


def test_argument_checks():
    data = _small_split()
    with pytest.raises(TypeError, match="data"):
        rs.train_restarts((data.x_train, data.y_train))
    with pytest.raises(ValueError, match="restarts"):
        rs.train_restarts(data, restarts=1)
    with pytest.raises(ValueError, match="widths"):
        rs.train_restarts(data, widths=(2, 0))
    with pytest.raises(ValueError, match="lr"):
        rs.train_restarts(data, lr=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        rs.train_restarts(data, momentum=1.0)
    with pytest.raises(ValueError, match="one-hot"):
        rs.train_restarts(data.one_hot())
    with pytest.raises(ValueError, match="weight_decay"):
        rs.convex_restarts(data, weight_decay=0.0)
