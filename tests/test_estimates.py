"""Unit tests for optbook.estimates: per-layer curvature and whole-data curvature with standard errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import optbook as ob
from optbook.estimates import Estimate, dataset_curvature, layer_curvature, parameter_blocks
from optbook.monitor import TrainingMonitor


def _data(n: int = 48, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


class TwoLinearParts(nn.Module):
    """logits = A x[:, :3] + B x[:, 3:]: linear in its parameters, so cross-entropy is convex (H is PSD)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.a = nn.Linear(3, 3, dtype=torch.float64)
        self.b = nn.Linear(2, 3, bias=False, dtype=torch.float64)

    def forward(self, x):
        return self.a(x[:, :3]) + self.b(x[:, 3:])


def _dense(model, x, y, loss_fn=nn.functional.cross_entropy):
    return ob.hessian(ob.functional_loss(model, loss_fn, x, y), ob.get_flat_params(model))


def test_layer_blocks_add_up_to_the_whole_and_obey_interlacing():
    x, y = _data()
    net = ob.mlp([5, 6, 4, 3], "tanh", seed=0, dtype=torch.float64)
    layers = layer_curvature(net, nn.functional.cross_entropy, x, y, lanczos_iter=60, trace_samples=64)
    h = _dense(net, x, y)
    top = float(torch.linalg.eigvalsh(h)[-1])
    assert [layer.name for layer in layers] == ["0", "2", "4"]
    assert sum(layer.trace.mean for layer in layers) == pytest.approx(float(h.trace()), rel=1e-10)
    assert all(layer.trace.stderr == 0 for layer in layers)  # every block <= 64 parameters: exact
    for (_, block), layer in zip(parameter_blocks(net), layers):
        assert layer.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(h[block, block])[-1]), rel=1e-6)
        assert layer.lambda_max <= top * (1 + 1e-9)  # Cauchy interlacing: a block never exceeds the whole


def test_for_a_psd_hessian_the_whole_is_bounded_by_the_sum_of_its_blocks():
    x, y = _data()
    model = TwoLinearParts()
    layers = layer_curvature(model, nn.functional.cross_entropy, x, y, lanczos_iter=20)
    eigenvalues = torch.linalg.eigvalsh(_dense(model, x, y))
    assert eigenvalues[0] > -1e-12  # convex: PSD
    tops = [layer.lambda_max for layer in layers]
    assert max(tops) <= float(eigenvalues[-1]) * (1 + 1e-9) <= sum(tops) * (1 + 1e-9)


def test_hutchinson_block_trace_is_unbiased_within_its_error_bar():
    x, y = _data()
    net = ob.mlp([5, 16, 3], "tanh", seed=0, dtype=torch.float64)
    h = _dense(net, x, y)
    layers = layer_curvature(net, nn.functional.cross_entropy, x, y, trace_samples=200, seed=3)
    big = layers[0]  # 96 parameters: exact (<= 200)
    assert big.trace.stderr == 0
    layers = layer_curvature(net, nn.functional.cross_entropy, x, y, trace_samples=40, seed=3)
    big, block = layers[0], parameter_blocks(net)[0][1]
    exact = float(h[block, block].trace())
    assert big.trace.n == 40 and big.trace.stderr > 0
    assert abs(big.trace.mean - exact) < 4 * big.trace.stderr


def _least_squares(n=96, p=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.5, 0.2], dtype=torch.float64)
    model = nn.Linear(p, 1, bias=False, dtype=torch.float64)
    return x, model, (lambda out, t: 0.5 * ((out - t) ** 2).mean())


def test_dataset_curvature_known_answers_on_least_squares():
    x, model, mse = _least_squares()
    t = x.sum(1, keepdim=True) + 1.0
    batches = [(x[i : i + 24], t[i : i + 24]) for i in range(0, 96, 24)]
    est = dataset_curvature(model, mse, batches, lanczos_iter=10)
    h = x.T @ x / 96
    hs = [xb.T @ xb / 24 for xb, _ in batches]
    assert est.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(h)[-1]), rel=1e-10) and est.lambda_max_converged
    per_batch = torch.tensor([float(torch.linalg.eigvalsh(hb)[-1]) for hb in hs], dtype=torch.float64)
    assert torch.allclose(est.batch_values, per_batch, rtol=1e-8)
    assert est.batch_lambda_max.mean >= est.lambda_max  # lambda_max is convex (Jensen)
    assert est.batch_lambda_max.stderr == pytest.approx(float(per_batch.std() / 2), rel=1e-8)  # std / sqrt(B)
    theta = ob.get_flat_params(model)
    g = ob.gradient(ob.functional_loss(model, mse, x, t), theta)
    assert est.gTg == pytest.approx(float(g @ g), rel=1e-10)
    assert est.gTHg.mean == pytest.approx(float(g @ h @ g), rel=1e-10)
    assert est.trace.mean == pytest.approx(float(h.trace()), rel=1e-10)  # P = 4 <= 32 probes: exact per batch
    assert est.loss == pytest.approx(float(mse(model(x), t).detach()), rel=1e-12)
    assert est.n_batches == 4 and est.n_examples == 96


def test_unequal_batches_are_weighted_by_their_size():
    x, model, mse = _least_squares()
    t = torch.zeros(96, 1, dtype=torch.float64)
    est = dataset_curvature(model, mse, [(x[:10], t[:10]), (x[10:], t[10:])])
    assert est.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(x.T @ x / 96)[-1]), rel=1e-10)


def test_dataset_curvature_of_a_network_matches_the_full_batch_hessian_and_leaves_it_as_found():
    x, y = _data(60)
    net = ob.mlp([5, 6, 3], "tanh", seed=0, dtype=torch.float64)
    net.train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=20)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    est = dataset_curvature(net, nn.functional.cross_entropy, loader, lanczos_iter=60, trace_samples=64)
    h = _dense(net, x, y)
    assert est.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(h)[-1]), rel=1e-6)
    assert est.trace.mean == pytest.approx(float(h.trace()), rel=1e-9)
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_convergence_flag_follows_the_error_bars():
    x, y = _data(200)
    net = ob.mlp([5, 32, 3], "tanh", seed=0, dtype=torch.float64)
    few = dataset_curvature(net, nn.functional.cross_entropy, [(x[i : i + 4], y[i : i + 4]) for i in range(0, 8, 4)],
                            trace_samples=2, lanczos_iter=30)
    assert not few.converged  # two batches of four examples, two probes each: wide error bars
    assert Estimate(1.0, 0.1, 2).converged(0.2) and not Estimate(1.0, 0.1, 2).converged(0.05)
    assert math.isinf(Estimate(0.0, 0.1, 2).relative_error)


def test_the_monitor_measures_whole_data_curvature_every_k_steps():
    x, y = _data(60)
    net = ob.mlp([5, 6, 3], "tanh", seed=0, dtype=torch.float64)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=20)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x[:20], y[:20], opt, every=5, eigen_every=0,
                              curvature_batches=loader, curvature_every=3)
    for _ in range(7):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.step(loss)
        opt.step()
    r = monitor.record
    assert r.dataset_steps == [0, 3, 6] and len(r.dataset_trace_se) == 3
    assert r.dataset_loss == [pytest.approx(r.loss[s], rel=1e-12) for s in (0, 3, 6)]  # the loader covers the full batch
    assert r.as_runs()["dataset"]["trace"].shape == (3, 1)
    with pytest.raises(ValueError, match="go together"):
        TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, curvature_batches=loader)


def test_bad_input_fails_loudly():
    x, y = _data()
    net = ob.mlp([5, 6, 3], "tanh", seed=0, dtype=torch.float64)
    ce = nn.functional.cross_entropy
    with pytest.raises(TypeError, match="batches"):
        dataset_curvature(net, ce, x)
    with pytest.raises(TypeError, match="pairs"):
        dataset_curvature(net, ce, [x])
    with pytest.raises(ValueError, match="no batch"):
        dataset_curvature(net, ce, [])
    with pytest.raises(ValueError, match="max_batches"):
        dataset_curvature(net, ce, [(x, y)], max_batches=0)
    with pytest.raises(TypeError, match="model"):
        layer_curvature("net", ce, x, y)
    with pytest.raises(ValueError, match="trace_samples"):
        layer_curvature(net, ce, x, y, trace_samples=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_estimates_on_the_models_device_match_the_cpu():
    x, y = _data(60)
    net = ob.mlp([5, 6, 3], "tanh", seed=0, dtype=torch.float64)
    batches = [(x[i : i + 20], y[i : i + 20]) for i in range(0, 60, 20)]
    cpu = dataset_curvature(net, nn.functional.cross_entropy, batches, trace_samples=64)
    gpu = dataset_curvature(net.cuda(), nn.functional.cross_entropy, batches, trace_samples=64)
    assert gpu.lambda_max == pytest.approx(cpu.lambda_max, rel=1e-6)
    assert gpu.trace.mean == pytest.approx(cpu.trace.mean, rel=1e-9)
    layers = layer_curvature(net, nn.functional.cross_entropy, x.cuda(), y.cuda())
    assert sum(l.trace.mean for l in layers) == pytest.approx(float(_dense(net.cpu(), x, y).trace()), rel=1e-9)
