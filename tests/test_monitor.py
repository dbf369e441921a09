"""Unit tests for optbook.monitor: float64 oracles, the model left as found, loud failures."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
import torch
from torch import nn

import optbook as ob
from optbook.diagnosing import train_digits_mlp
from optbook.monitor import MonitorRecord, TrainingMonitor, eval_mode


def _data(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def _net(seed: int = 0) -> nn.Module:
    return ob.mlp([5, 6, 3], "tanh", seed=seed, dtype=torch.float64)


def _one_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = nn.functional.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    return loss


class WithDropoutAndBatchNorm(nn.Module):
    """A model whose train mode differs from its eval mode in both ways the monitor must handle."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.layers = nn.Sequential(nn.Linear(5, 8, dtype=torch.float64), nn.BatchNorm1d(8, dtype=torch.float64),
                                    nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def test_probe_matches_dense_hessian_oracle():
    x, y = _data()
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.3)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=0)
    _one_step(net, x, y)
    monitor.step()
    loss = ob.functional_loss(net, nn.functional.cross_entropy, x, y)
    theta = ob.get_flat_params(net)
    g, h = ob.gradient(loss, theta), ob.hessian(loss, theta)
    r = monitor.record
    assert r.gTg[0] == pytest.approx(float(g @ g), rel=1e-10)
    assert r.gTHg[0] == pytest.approx(float(g @ h @ g), rel=1e-10)
    assert r.ratio[0] == pytest.approx(0.15 * float(g @ h @ g) / float(g @ g), rel=1e-10)
    assert r.lr == [0.3]
    grads = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert r.grad_norm[0] == pytest.approx(float(grads.norm()), rel=1e-10)


def test_lanczos_extremes_match_eigvalsh():
    x, y = _data()
    net = _net()
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, lr=0.1, every=1, eigen_every=0,
                              lanczos_iter=ob.n_params(net))
    _one_step(net, x, y)
    monitor.step()
    monitor.final_check()
    eigenvalues = ob.hessian_eigenvalues(ob.functional_loss(net, nn.functional.cross_entropy, x, y),
                                         ob.get_flat_params(net))
    assert monitor.record.lambda_max[0] == pytest.approx(float(eigenvalues[-1]), rel=1e-6)
    assert monitor.record.lambda_min[0] == pytest.approx(float(eigenvalues[0]), abs=1e-6 * float(eigenvalues[-1]))
    assert monitor.record.eigen_steps == [1] and monitor.record.probe_steps == [0, 1]


def test_schedule_and_step_size_follow_the_optimizer():
    x, y = _data()
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=2, eigen_every=3)
    for _ in range(7):
        _one_step(net, x, y)
        monitor.step()
        opt.step()
        scheduler.step()
    r = monitor.record
    assert r.steps == list(range(7))
    assert r.probe_steps == [0, 2, 4, 6]
    assert r.lr == [1.0, 0.25, 0.0625, 0.015625]
    assert r.eigen_steps == [3, 6] and r.eigen_lr == [0.125, 0.015625]


def test_model_params_grads_mode_buffers_and_rng_left_as_found():
    x, y = _data()
    model = WithDropoutAndBatchNorm()
    model.train()
    model.layers[3].eval()  # a mixed state must come back exactly as it was
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()
    monitor = TrainingMonitor(model, nn.functional.cross_entropy, x, y, lr=0.1, every=1, eigen_every=1)
    monitor.step(loss)
    monitor.final_check()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters()))
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(rng, torch.get_rng_state())


def test_probe_runs_in_eval_mode_and_is_deterministic():
    x, y = _data()
    model = WithDropoutAndBatchNorm().train()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    monitor = TrainingMonitor(model, nn.functional.cross_entropy, x, y, lr=0.1, every=1, eigen_every=0)
    monitor.step(loss)
    monitor.step(loss)
    with eval_mode(model), torch.no_grad():
        expected = float(nn.functional.cross_entropy(model(x), y))
    assert monitor.record.probe_loss == [pytest.approx(expected, rel=1e-12)] * 2
    assert monitor.record.gTHg[0] == monitor.record.gTHg[1]
    assert model.training


def test_probe_reads_the_current_running_statistics_at_every_probe():
    # the probe copies the model once and reloads its buffers: each probe must see this step's BatchNorm
    x, y = _data(64)
    torch.manual_seed(0)
    model = WithDropoutAndBatchNorm().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = TrainingMonitor(model, nn.functional.cross_entropy, x[:16], y[:16], opt, every=2, eigen_every=0)
    expected = []
    for step, batch in enumerate(torch.randperm(64).split(8)):
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        if step % 2 == 0:
            with eval_mode(model), torch.no_grad():
                expected.append(float(nn.functional.cross_entropy(model(x[:16]), y[:16])))
        monitor.step(loss)
        opt.step()
    assert len(set(expected)) == len(expected) == 4  # parameters and running statistics moved
    assert monitor.record.probe_loss == [pytest.approx(e, rel=1e-12) for e in expected]


def test_probe_copies_the_model_again_when_its_frozen_tensors_change():
    x, y = _data(32)
    torch.manual_seed(0)
    model = WithDropoutAndBatchNorm().eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = TrainingMonitor(model, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=0)
    for step in range(4):
        if step == 2:  # freeze the first layer mid-run: its weight becomes a frozen tensor of J
            model.layers[0].weight.requires_grad_(False)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.step(loss)
        assert monitor.record.probe_loss[-1] == pytest.approx(loss.item(), rel=1e-12)  # eval mode: the same cost
        opt.step()
    assert monitor._loss.frozen.keys() >= {"layers.0.weight"}


def test_monitoring_does_not_change_training():
    plain = train_digits_mlp(0.5, epochs=2, monitored=False)
    watched = train_digits_mlp(0.5, epochs=2, every=5, eigen_every=20)
    for a, b in zip(plain.model.parameters(), watched.model.parameters()):
        assert torch.equal(a, b)
    assert watched.record.eigen_steps == [20, 40]  # steps 0-39; 40 is the final check
    assert 0 < watched.monitor_seconds < watched.seconds


def test_monitoring_a_dropout_batchnorm_model_does_not_change_its_training():
    x, y = _data(64)
    finals = []
    for monitored in (False, True):
        torch.manual_seed(0)
        model = WithDropoutAndBatchNorm().train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        monitor = TrainingMonitor(model, nn.functional.cross_entropy, x[:16], y[:16], opt, every=2, eigen_every=3)
        for batch in torch.randperm(64).split(8):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            if monitored:
                monitor.step(loss)
            opt.step()
        finals.append(model.state_dict())
    assert all(torch.equal(finals[0][k], finals[1][k]) for k in finals[0])


def test_divergence_is_recorded_and_raised():
    x, y = _data()
    net = _net()
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, lr=0.1, every=1)
    loss = _one_step(net, x, y)
    monitor.step(loss)
    with pytest.raises(ValueError, match="diverged"):
        monitor.step(torch.tensor(float("nan")))
    assert monitor.record.diverged_at == 1 and monitor.record.steps == [0]
    torch.manual_seed(0)
    linear, xs = nn.Linear(5, 1), torch.randn(64, 5)
    opt = torch.optim.SGD(linear.parameters(), lr=10.0)
    monitor = TrainingMonitor(linear, nn.functional.mse_loss, xs, xs.sum(1, keepdim=True), opt, every=1)
    with pytest.raises(ValueError, match="diverged"):
        for _ in range(1000):
            loss = nn.functional.mse_loss(linear(xs), xs.sum(1, keepdim=True))
            opt.zero_grad()
            loss.backward()
            monitor.step(loss)
            opt.step()
    assert monitor.record.diverged_at == len(monitor.record.steps) > 10
    assert min(monitor.record.ratio) > 1  # the probe saw it coming from the first step


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_models_device():
    x, y = _data()
    net = _net().cuda()
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, lr=0.1, every=1, eigen_every=1)
    _one_step(net, x.cuda(), y.cuda())
    monitor.step()
    monitor.final_check()
    assert len(monitor.record.lambda_max) == 1


def test_bad_input_fails_loudly():
    x, y = _data()
    net = _net()
    ce = nn.functional.cross_entropy
    frozen = _net()
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        TrainingMonitor(frozen, ce, x, y, lr=0.1)
    with pytest.raises(TypeError, match="model"):
        TrainingMonitor(lambda v: v, ce, x, y, lr=0.1)
    with pytest.raises(TypeError, match="loss_fn"):
        TrainingMonitor(net, "ce", x, y, lr=0.1)
    with pytest.raises(ValueError, match="scalar"):
        TrainingMonitor(net, lambda out, t: out, x, y, lr=0.1)
    with pytest.raises(ValueError, match="not finite"):
        TrainingMonitor(net, lambda out, t: ce(out, t) / 0.0 * 0.0, x, y, lr=0.1)
    with pytest.raises(TypeError, match="tensor"):
        TrainingMonitor(net, lambda out, t: 1.0, x, y, lr=0.1)
    with pytest.raises(TypeError, match="probe_inputs"):
        TrainingMonitor(net, ce, x.tolist(), y, lr=0.1)
    with pytest.raises(ValueError, match="exactly one"):
        TrainingMonitor(net, ce, x, y)
    with pytest.raises(ValueError, match="exactly one"):
        TrainingMonitor(net, ce, x, y, torch.optim.SGD(net.parameters(), lr=0.1), lr=0.1)
    with pytest.raises(TypeError, match="optimizer"):
        TrainingMonitor(net, ce, x, y, "sgd")
    with pytest.raises(ValueError, match="every"):
        TrainingMonitor(net, ce, x, y, lr=0.1, every=0)
    with pytest.raises(ValueError, match="lr"):
        TrainingMonitor(net, ce, x, y, lr=-1.0)
    monitor = TrainingMonitor(net, ce, x, y, lr=0.1)
    with pytest.raises(ValueError, match="final_check|nothing recorded"):
        monitor.final_check()
    with pytest.raises(ValueError, match="after loss.backward"):
        monitor.step()
    _one_step(net, x, y)
    with pytest.raises(ValueError, match="scalar"):
        monitor.step(torch.ones(3))
    with pytest.raises(TypeError, match="loss"):
        monitor.step(1.0)
    groups = torch.optim.SGD([{"params": net[0].parameters(), "lr": 0.1}, {"params": net[2].parameters(), "lr": 0.2}])
    with pytest.raises(ValueError, match="different step sizes"):
        TrainingMonitor(net, ce, x, y, groups).step()
    with pytest.raises(ValueError, match="recorded series"):
        MonitorRecord().array("nothing")


# --- Optimizer-aware stability: each limit is exact on a quadratic --------------------------------

class Quadratic(nn.Module):
    """J(x) = 1/2 x^T diag(a) x as a module (inputs ignored), float64."""

    def __init__(self, a: torch.Tensor, x0: torch.Tensor):
        super().__init__()
        self.register_buffer("a", a)
        self.x = nn.Parameter(x0.clone())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.a * self.x * self.x).sum()


def _value(outputs, targets):
    return outputs


EPS_ADAPTIVE = 1e8  # Adam/RMSprop with eps >> |g|: P = eps I (times Adam's bias factor, -> 1), frozen
# name, optimizer factory (params, lr), lr * limit (the constant c of limit = c / lr), P's scale
LIMIT_CASES = [
    ("SGD", lambda p, lr: torch.optim.SGD(p, lr=lr), 2.0, 1.0),
    ("heavy ball 0.9", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 3.8, 1.0),
    ("heavy ball 0.5, dampening 0.5", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.5, dampening=0.5), 6.0, 1.0),
    ("Nesterov 0.9", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 3.8 / 2.8, 1.0),
    ("Adam 0.9", lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.9, 0.0), eps=EPS_ADAPTIVE), 38.0, EPS_ADAPTIVE),
    ("AdamW 0.8", lambda p, lr: torch.optim.AdamW(p, lr=lr, betas=(0.8, 0.0), eps=EPS_ADAPTIVE, weight_decay=0.0),
     18.0, EPS_ADAPTIVE),
    ("RMSprop", lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.0, eps=EPS_ADAPTIVE), 2.0, EPS_ADAPTIVE),
    ("RMSprop, momentum 0.5", lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.0, eps=EPS_ADAPTIVE, momentum=0.5),
     3.0, EPS_ADAPTIVE),
]
TOP = 50.0


def _growth(make, lr: float, steps: int = 1500) -> float:
    """|x_T| / |x_0| for the optimizer on the quadratic, inf once it overflows."""
    model = Quadratic(torch.linspace(1.0, TOP, 5, dtype=torch.float64), torch.full((5,), 1e-20, dtype=torch.float64))
    opt = make(model.parameters(), lr)
    for _ in range(steps):
        opt.zero_grad()
        model(None).backward()
        opt.step()
        if not bool(torch.isfinite(model.x).all()):
            return float("inf")
    return float(model.x.detach().norm() / (1e-20 * 5**0.5))


@pytest.mark.parametrize("name, make, c, scale", LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_each_limit_is_exact_just_below_converges_just_above_diverges(name, make, c, scale):
    for factor in (0.97, 1.03):  # lambda_max(P^-1 H) = factor * limit
        lr = factor * c * scale / TOP
        grows = _growth(make, lr)
        assert (grows > 1e3) if factor > 1 else (grows < 1e-3), (name, factor, grows)


@pytest.mark.parametrize("name, make, c, scale", LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_the_monitor_reads_the_limit_and_measures_the_preconditioned_sharpness(name, make, c, scale):
    lr = 0.97 * c * scale / TOP
    model = Quadratic(torch.linspace(1.0, TOP, 5, dtype=torch.float64), torch.full((5,), 1e-20, dtype=torch.float64))
    opt = make(model.parameters(), lr)
    dummy = torch.zeros(1, dtype=torch.float64)
    monitor = TrainingMonitor(model, _value, dummy, dummy, opt, every=50, eigen_every=100, lanczos_iter=5)
    for _ in range(200):
        opt.zero_grad()
        loss = model(None)
        loss.backward()
        monitor.step(loss)
        opt.step()
    monitor.final_check()
    r = monitor.record
    assert r.limit[-1] == pytest.approx(c / lr, rel=1e-12) and r.eigen_limit[-1] == r.limit[-1]
    p = ob.monitor.preconditioner(opt, [model.x])
    oracle = float(torch.linalg.eigvalsh(torch.diag(p.rsqrt()) @ torch.diag(model.a) @ torch.diag(p.rsqrt()))[-1])
    assert r.sharpness[-1] == pytest.approx(oracle, rel=1e-6)
    assert r.stability[-1] == pytest.approx(0.97, rel=1e-3)  # Adam's bias factor 1 - 0.9^201 is 1 to 1e-9
    assert r.lambda_max[-1] == pytest.approx(TOP, rel=1e-6)  # the raw Hessian's, whatever the optimizer
    assert r.ratio[-1] <= r.stability[-1] * (1 + 1e-9)  # a Rayleigh quotient never exceeds the top eigenvalue
    assert ob.diagnose_training(r).verdict("ill-conditioning").finding.startswith("ill-conditioning")


def test_adam_preconditioner_follows_pytorchs_update():
    """P from the state reproduces the step Adam takes: theta_new = theta - lr P^-1 m_t."""
    g = torch.Generator().manual_seed(0)
    model = Quadratic(torch.rand(6, generator=g, dtype=torch.float64) + 0.5, torch.randn(6, generator=g, dtype=torch.float64))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1, amsgrad=True)
    for _ in range(5):
        opt.zero_grad()
        model(None).backward()
        opt.step()
    before = model.x.detach().clone()
    opt.zero_grad()
    model(None).backward()
    opt.step()
    p = ob.monitor.preconditioner(opt, [model.x])  # the state after the step it took
    m = opt.state[model.x]["exp_avg"]
    assert torch.allclose(model.x.detach(), before - 0.01 * m / p, rtol=1e-12, atol=1e-15)
    assert ob.monitor.stability_rule(opt).weight_decay == 0.1  # Adam's decay is L2: it adds to H
    assert ob.monitor.stability_rule(torch.optim.AdamW(model.parameters(), weight_decay=0.1)).weight_decay == 0.0


def test_weight_decay_adds_to_the_curvature_the_rule_judges():
    model = Quadratic(torch.linspace(1.0, TOP, 5, dtype=torch.float64), torch.ones(5, dtype=torch.float64))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, weight_decay=10.0)
    dummy = torch.zeros(1, dtype=torch.float64)
    monitor = TrainingMonitor(model, _value, dummy, dummy, opt, every=1, eigen_every=1, lanczos_iter=5)
    model(None).backward()
    monitor.step()
    monitor.final_check()
    assert monitor.record.sharpness[-1] == pytest.approx(TOP + 10.0, rel=1e-8)
    assert monitor.record.lambda_max[-1] == pytest.approx(TOP, rel=1e-8)
    assert monitor.record.stability[-1] == pytest.approx(0.01 * (TOP + 10) / 2, rel=1e-8)


def test_an_unknown_optimizer_gets_no_verdict_on_the_step():
    x, y = _data()
    net = _net()
    opt = torch.optim.Adagrad(net.parameters(), lr=0.1)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=2)
    for _ in range(6):
        _one_step(net, x, y)
        monitor.step()
        opt.step()
    monitor.final_check()
    r = monitor.record
    assert "Adagrad" in r.optimizer and not r.stability_known
    assert all(v != v for v in r.ratio + r.stability + r.limit)  # nan: never a guessed number
    finding = ob.diagnose_training(r).finding("ill-conditioning")
    assert finding.startswith("not judged") and "Adagrad" in finding
    assert ob.diagnose_training(r).finding("negative curvature")  # the other tests still run


def test_adam_before_its_first_update_has_no_preconditioner_yet():
    x, y = _data()
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=1)
    _one_step(net, x, y)
    monitor.step()  # step 0: no state yet
    opt.step()
    _one_step(net, x, y)
    monitor.step()
    r = monitor.record
    assert r.ratio[0] != r.ratio[0] and r.ratio[1] == r.ratio[1] and r.limit == [pytest.approx(3800.0)] * 2
    assert len(r.stability) == 1 and r.stability[0] > 0


def test_rule_rejects_groups_with_different_momentum_and_reads_the_rest():
    net = _net()
    opt = torch.optim.SGD([{"params": net[0].parameters(), "momentum": 0.9}, {"params": net[2].parameters()}], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        ob.monitor.stability_rule(opt)
    with pytest.raises(ValueError, match="exactly one"):
        ob.monitor.stability_rule()
    with pytest.raises(TypeError, match="optimizer"):
        ob.monitor.stability_rule("adam")
    with pytest.raises(ValueError, match="knows"):
        ob.monitor.preconditioner(torch.optim.Adagrad(net.parameters()), list(net.parameters()))


def test_record_as_runs_and_json_round_trip():
    x, y = _data()
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=2, eigen_every=3, layers=True)
    for _ in range(7):
        _one_step(net, x, y)
        monitor.step(nn.functional.cross_entropy(net(x), y))
        opt.step()
    r = monitor.record
    runs = r.as_runs()
    assert runs["step"].loss.shape == (7, 1) and runs["probe"].steps.tolist() == [0, 2, 4, 6]
    assert runs["eigen"]["stability"][:, 0].tolist() == r.stability
    assert runs["eigen"]["layer_sharpness"].shape == (2, 1, 2) and runs["eigen"].settings["layer_names"] == ["0", "2"]
    assert runs["probe"]["limit"][0, 0].item() == pytest.approx(3.0 / 0.1)
    assert ob.MonitorRecord.from_json(r.to_json()) == r
    with pytest.raises(ValueError, match="JSON object"):
        ob.MonitorRecord.from_json("[1, 2]")


def test_weight_decay_may_differ_between_groups_and_each_group_gets_its_own():
    """No decay on the bias (a common set-up): H + diag(wd) with each coordinate's own coefficient."""
    x, y = _data()
    net = _net()
    opt = torch.optim.SGD([{"params": [net[0].weight, net[2].weight], "weight_decay": 5.0},
                           {"params": [net[0].bias, net[2].bias], "weight_decay": 0.0}], lr=0.1)
    monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=1,
                              lanczos_iter=ob.n_params(net))
    _one_step(net, x, y)
    monitor.step()
    monitor.final_check()
    h = ob.hessian(ob.functional_loss(net, nn.functional.cross_entropy, x, y), ob.get_flat_params(net))
    decay = torch.cat([torch.full((p.numel(),), 5.0 if p.dim() == 2 else 0.0, dtype=torch.float64)
                       for p in net.parameters()])
    assert monitor.record.sharpness[-1] == pytest.approx(float(torch.linalg.eigvalsh(h + torch.diag(decay))[-1]), rel=1e-6)
    assert ob.monitor.stability_rule(opt).weight_decay == 5.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_adam_preconditioned_sharpness_and_layers_on_the_models_device():
    x, y = _data()
    results = []
    for device in ("cpu", "cuda"):
        net = _net().to(device)
        opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=0.1)
        monitor = TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=1, eigen_every=2, layers=True,
                                  lanczos_iter=ob.n_params(net))
        for _ in range(3):
            _one_step(net, x.to(device), y.to(device))
            monitor.step()
            opt.step()
        results.append(monitor.record)
    cpu, gpu = results
    assert gpu.sharpness == pytest.approx(cpu.sharpness, rel=1e-6)
    assert gpu.ratio[1:] == pytest.approx(cpu.ratio[1:], rel=1e-6)
    assert gpu.layer_sharpness[0] == pytest.approx(cpu.layer_sharpness[0], rel=1e-6)


def test_the_library_readmes_quick_start_runs():
    """lib/README.md's quick start is a doctest: the loop, the optimizer's limit and the verdicts."""
    readme = Path(__file__).resolve().parents[1] / "lib" / "README.md"
    failures, tried = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried >= 10 and failures == 0
