"""Batched full-batch GD / minibatch SGD with monitors, against plain loops and dense Hessians (float64)."""

import numpy as np
import pytest
import torch

import optbook as ob

from optbook.ill_conditioning import sharpening as S


@pytest.fixture
def problem():
    data = ob.blobs(n=40, n_features=3, n_classes=3, seed=1, dtype=torch.float64)
    model = ob.mlp([3, 5, 3], "tanh", seed=0, dtype=torch.float64)
    thetas = S.initial_params([3, 5, 3], [0, 1], dtype=torch.float64)
    return data, model, thetas


def test_full_batch_gd_matches_a_plain_loop_and_the_monitors(problem):
    data, model, thetas = problem
    data = data.one_hot()
    before = ob.get_flat_params(model)
    lrs = torch.tensor([0.3, 0.7], dtype=torch.float64)
    runs = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=12, monitor_every=5)
    assert torch.equal(ob.get_flat_params(model), before)  # the template model is never touched
    assert runs.monitor_steps.tolist() == [0, 5, 10, 12]
    loss = ob.functional_loss(model, ob.squared_error, data.x_train, data.y_train)
    for r in range(2):
        theta = thetas[r].clone()
        for t in range(13):
            g = ob.gradient(loss, theta)
            assert runs.loss[t, r].item() == pytest.approx(loss(theta).item(), rel=1e-12)
            assert runs.grad_norm[t, r].item() == pytest.approx(g.norm().item(), rel=1e-12)
            if t in runs.monitor_steps.tolist():
                m = runs.monitor_steps.tolist().index(t)
                gc = ob.gradient_curvature(loss, theta)
                assert runs.gTg[m, r].item() == pytest.approx(gc.gTg, rel=1e-10)
                assert runs.gTHg[m, r].item() == pytest.approx(gc.gTHg, rel=1e-8, abs=1e-14)
                assert runs.ratio[m, r].item() == pytest.approx(gc.ratio(lrs[r].item()), rel=1e-8, abs=1e-14)
                assert torch.allclose(runs.params[m, r], theta, rtol=1e-12, atol=1e-14)
                with ob.temporary_params(model, theta):
                    val = ob.classification_error(model(data.x_val), data.y_val)
                assert runs.val_error[m, r].item() == pytest.approx(val)
            theta = theta - lrs[r] * g


def test_looped_runs_match_the_vmapped_ones(problem):
    data, model, thetas = problem
    data = data.one_hot()
    lrs = torch.tensor([0.3, 0.7], dtype=torch.float64)
    a = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=8, monitor_every=4)
    b = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=8, monitor_every=4, vectorize=False)
    for name in ["loss", "grad_norm", "gTg", "gTHg", "train_error", "val_error", "params"]:
        assert torch.allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-14), name
    c = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=4, batch_size=7, monitor_every=2, seed=1)
    d = S._monitored_descent(model, ob.squared_error, data, thetas, lrs, 4, 2, 7, 1, vectorize=False)
    assert torch.allclose(c.grad_norm, d.grad_norm, rtol=1e-10) and torch.allclose(c.gTHg, d.gTHg, rtol=1e-8)


def test_full_batch_gd_keeps_divergent_runs(problem):
    data, model, thetas = problem
    runs = S.full_batch_gd(model, ob.squared_error, data.one_hot(), thetas,
                           torch.tensor([0.1, 1e4], dtype=torch.float64), steps=40, monitor_every=10)
    assert torch.isfinite(runs.loss[:, 0]).all()
    assert runs.loss[-1, 1] > runs.loss[0, 1] or not torch.isfinite(runs.loss[-1, 1])


def test_minibatch_sgd_matches_a_plain_loop(problem):
    data, model, thetas = problem
    before = ob.get_flat_params(model)
    runs = S.minibatch_sgd(model, ob.cross_entropy, data, thetas, lr=0.5, batch_size=6, epochs=2, seed=3)
    assert torch.equal(ob.get_flat_params(model), before)
    n = data.x_train.shape[0]
    assert runs.steps_per_epoch == n // 6
    rng = torch.Generator().manual_seed(3)
    theta = thetas.clone()
    step = 0
    for epoch in range(2):
        full = ob.functional_loss(model, ob.cross_entropy, data.x_train, data.y_train)
        for r in range(2):
            assert runs.epoch_grad_norm[epoch, r].item() == pytest.approx(ob.gradient(full, theta[r]).norm().item())
            assert runs.train_loss[epoch, r].item() == pytest.approx(full(theta[r]).item())
        orders = [torch.randperm(n, generator=rng) for _ in range(2)]
        for b in range(n // 6):
            for r in range(2):
                idx = orders[r][b * 6 : (b + 1) * 6]
                batch = ob.functional_loss(model, ob.cross_entropy, data.x_train[idx], data.y_train[idx])
                g = ob.gradient(batch, theta[r])
                assert runs.minibatch_grad_norm[step, r].item() == pytest.approx(g.norm().item(), rel=1e-10)
                theta[r] = theta[r] - 0.5 * g
            step += 1
    with ob.temporary_params(model, theta[1]):
        assert runs.val_error[-1, 1].item() == pytest.approx(ob.classification_error(model(data.x_val), data.y_val))


def test_full_batch_sgd_equals_gradient_descent(problem):
    data, model, thetas = problem
    n = data.x_train.shape[0]
    sgd = S.minibatch_sgd(model, ob.cross_entropy, data, thetas, lr=0.2, batch_size=n, epochs=5)
    gd = S.full_batch_gd(model, ob.cross_entropy, data, thetas, torch.full((2,), 0.2, dtype=torch.float64),
                         steps=5, monitor_every=1)
    assert torch.allclose(sgd.minibatch_grad_norm, gd.grad_norm[:-1], rtol=1e-10)
    assert torch.allclose(sgd.epoch_grad_norm, gd.grad_norm, rtol=1e-10)


def test_sharpness_matches_the_dense_spectrum(problem):
    data, model, thetas = problem
    loss = ob.functional_loss(model, ob.cross_entropy, data.x_train, data.y_train)
    expected = torch.stack([ob.hessian_eigenvalues(loss, t)[-1] for t in thetas])
    got = S.sharpness(model, ob.cross_entropy, data, thetas, tol=1e-10)
    assert torch.allclose(got.to(torch.float64), expected, rtol=1e-6)


def test_window_mean_matches_running_average():
    values = torch.rand(50, 3, dtype=torch.float64)
    got = S.window_mean(values, 7)
    for r in range(3):
        assert np.allclose(got[:, r].numpy(), ob.running_average(values[:, r].numpy(), 7))


def test_stays_up_on_known_curves():
    t = torch.arange(400, dtype=torch.float64)
    rising = torch.where(t < 100, 1.0 - 0.009 * t, 0.1 + 0.01 * (t - 100)).clamp(max=2.0)
    decaying = torch.exp(-t / 100)
    mean, low = S.stays_up(torch.stack([rising, decaying], 1), window=1)
    assert mean[0].item() == pytest.approx(2.0 / 0.1)  # the last quarter sits at the clamp, 20x the low point
    assert low[0].item() == pytest.approx(2.0 / 0.1)
    assert low[1].item() == pytest.approx(1.0)  # a decaying norm has its minimum at the end
    assert mean[1].item() == pytest.approx((decaying[300:].mean() / decaying[-1]).item())
    with pytest.raises(ValueError, match="grad_norm"):
        S.stays_up(torch.ones(3, 1), window=1)


def test_tail_mean_averages_the_last_monitor_points():
    marks = torch.arange(0, 101, 20)  # 0, 20, ..., 100
    values = torch.arange(6, dtype=torch.float64).reshape(-1, 1).repeat(1, 2)
    ones = torch.ones(6, 2)
    runs = S.MonitoredRuns(torch.tensor([0.1, 0.2]), ones, ones, marks, ones, ones, ones, ones, torch.zeros(6, 2, 1))
    assert S.tail_mean(runs, values, 40).tolist() == [4.0, 4.0]  # steps 60, 80, 100
    with pytest.raises(ValueError, match="values"):
        S.tail_mean(runs, values[:-1], 40)


def test_gradient_alignment_against_the_dense_hessian(problem):
    data, model, thetas = problem
    lam, share = S.gradient_alignment(model, ob.cross_entropy, data, thetas, max_iter=200, tol=1e-10)
    loss = ob.functional_loss(model, ob.cross_entropy, data.x_train, data.y_train)
    for r in range(2):
        h = torch.autograd.functional.hessian(loss, thetas[r])
        eig, vec = torch.linalg.eigh(0.5 * (h + h.T))
        g = ob.gradient(loss, thetas[r])
        assert lam[r].item() == pytest.approx(eig[-1].item(), rel=1e-6)
        assert share[r].item() == pytest.approx(((g @ vec[:, -1]) ** 2 / (g @ g)).item(), rel=1e-4, abs=1e-10)


def test_curvature_growth_compares_the_end_with_the_low_point():
    steps = 100
    grad_norm = torch.cat([torch.linspace(1, 0.01, 20), torch.linspace(0.01, 1, 81)]).reshape(-1, 1)
    marks = torch.arange(0, steps + 1, 10)
    gthg = torch.where(marks < 30, 0.1, 5.0).to(torch.float64).reshape(-1, 1)
    ones = torch.ones_like(gthg)
    runs = S.MonitoredRuns(torch.tensor([0.1]), grad_norm, grad_norm, marks, ones, gthg, ones, ones,
                           torch.zeros(len(marks), 1, 1))
    # no smoothing (window 1): low point at step 19, near it only mark 20 (gTHg 0.1); last quarter 5.0
    assert S.curvature_growth(runs, window=1).item() == pytest.approx(50.0)
    # near the low point the median ignores one burst: marks 10-30 within 10 steps of step 19 of a wider window
    spiky = gthg.clone()
    spiky[1] = 3.0  # mark 10
    runs = S.MonitoredRuns(torch.tensor([0.1]), grad_norm, grad_norm, marks, ones, spiky, ones, ones,
                           torch.zeros(len(marks), 1, 1))
    assert S.curvature_growth(runs, window=10).item() == pytest.approx(50.0)


def test_digits_experiments_have_the_documented_shapes():
    runs, model, data = S.digits_full_batch_gd([0, 1], [0.4, 0.2], steps=4, monitor_every=2)
    assert runs.loss.shape == (5, 2) and runs.gTg.shape == (3, 2)
    assert runs.params.shape == (3, 2, ob.num_params(model))
    assert data.y_train.dim() == 2
    cnn, model, _ = S.digits_cnn_full_batch_gd([0, 1], [0.15, 0.1], steps=4, monitor_every=2)
    assert cnn.loss.shape == (5, 2) and cnn.params.shape == (3, 2, ob.num_params(model))
    assert torch.equal(cnn.params[0, 1], ob.get_flat_params(ob.models.digits_cnn(seed=1)))
    sgd, _, data = S.digits_minibatch_sgd([0, 1, 2], epochs=1, batch_size=400)
    assert sgd.minibatch_grad_norm.shape == (data.x_train.shape[0] // 400, 3)
    assert sgd.val_error.shape == (2, 3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, d, t: S.full_batch_gd("net", ob.squared_error, d, t, torch.ones(2), 3), "model"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, (d.x_train, d.y_train), t, torch.ones(2), 3), "data"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t[:, :-1], torch.ones(2), 3), "thetas"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t[0], torch.ones(2), 3), "thetas"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t * float("nan"), torch.ones(2), 3), "thetas"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t, torch.ones(3), 3), "lrs"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t, -torch.ones(2), 3), "lrs"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t, torch.ones(2), 0), "steps"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d, t, torch.ones(2), 3, monitor_every=0), "monitor_every"),
        (lambda m, d, t: S.minibatch_sgd(m, ob.cross_entropy, d, t, lr=0.0, batch_size=4, epochs=1), "lr"),
        (lambda m, d, t: S.minibatch_sgd(m, ob.cross_entropy, d, t, lr=0.1, batch_size=10_000, epochs=1), "batch_size"),
        (lambda m, d, t: S.minibatch_sgd(m, ob.cross_entropy, d, t, lr=0.1, batch_size=4, epochs=0), "epochs"),
        (lambda m, d, t: S.initial_params([3, 5, 3], []), "seeds"),
        (lambda m, d, t: S.window_mean(torch.ones(5), 0), "window"),
        (lambda m, d, t: S.digits_full_batch_gd([0, 1], [0.4], steps=2), "same length"),
        (lambda m, d, t: S.digits_full_batch_gd([0], [-0.4], steps=2), "lrs"),
        (lambda m, d, t: S.digits_minibatch_sgd([], epochs=1), "seeds"),
        (lambda m, d, t: S.digits_cnn_full_batch_gd([], [], steps=2), "seeds"),
        (lambda m, d, t: S.digits_cnn_full_batch_gd([0, 1], [0.1], steps=2), "same length"),
        (lambda m, d, t: S.digits_cnn_full_batch_gd([0], [0.0], steps=2), "lrs"),
        (lambda m, d, t: S.full_batch_gd(m, ob.squared_error, d.one_hot(), t, torch.ones(2), 3, vectorize=1), "vectorize"),
    ],
)
def test_bad_arguments_fail_loudly(problem, call, match):
    data, model, thetas = problem
    with pytest.raises((ValueError, TypeError), match=match):
        call(model, data, thetas)


def test_monitored_sgd_matches_a_plain_loop_and_full_batch_limit(problem):
    data, model, thetas = problem
    data = data.one_hot()
    lrs = torch.tensor([0.3, 0.5], dtype=torch.float64)
    runs = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=6, batch_size=7, monitor_every=3, seed=4)
    n = data.x_train.shape[0]
    rng = torch.Generator().manual_seed(4)
    full = ob.functional_loss(model, ob.squared_error, data.x_train, data.y_train)
    theta = thetas.clone()
    for t in range(7):
        idx = torch.rand(2, n, generator=rng).argsort(1)[:, :7]
        if t % 3 == 0:
            m = t // 3
            for r in range(2):
                gc = ob.gradient_curvature(full, theta[r])
                assert runs.gTHg[m, r].item() == pytest.approx(gc.gTHg, rel=1e-8, abs=1e-14)
        for r in range(2):
            batch = ob.functional_loss(model, ob.squared_error, data.x_train[idx[r]], data.y_train[idx[r]])
            g = ob.gradient(batch, theta[r])
            assert runs.grad_norm[t, r].item() == pytest.approx(g.norm().item(), rel=1e-10)
            theta[r] = theta[r] - lrs[r] * g
    whole = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=5, batch_size=n, monitor_every=5)
    gd = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=5, monitor_every=5)
    assert torch.allclose(whole.grad_norm, gd.grad_norm, rtol=1e-10)
    assert torch.allclose(whole.gTHg, gd.gTHg, rtol=1e-8)
    with pytest.raises(ValueError, match="batch_size"):
        S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=5, batch_size=n + 1)
    with pytest.raises(ValueError, match="same length"):
        S.digits_monitored_sgd([0], [0.1, 0.2], batch_size=8, steps=2)
