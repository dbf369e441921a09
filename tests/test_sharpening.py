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
    runs, mon = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=12, monitor_every=5)
    assert torch.equal(ob.get_flat_params(model), before)  # the template model is never touched
    assert isinstance(runs, ob.Runs) and isinstance(mon, ob.Runs)
    assert runs.steps.tolist() == list(range(13)) and mon.steps.tolist() == [0, 5, 10, 12]
    ratio = S.book_ratio(mon)
    loss = ob.functional_loss(model, ob.squared_error, data.x_train, data.y_train)
    for r in range(2):
        theta = thetas[r].clone()
        for t in range(13):
            g = ob.gradient(loss, theta)
            assert runs.loss[t, r].item() == pytest.approx(loss(theta).item(), rel=1e-12)
            assert runs.grad_norm[t, r].item() == pytest.approx(g.norm().item(), rel=1e-12)
            if t in mon.steps.tolist():
                m = mon.steps.tolist().index(t)
                gc = ob.gradient_curvature(loss, theta)
                assert mon["gTg"][m, r].item() == pytest.approx(gc.gTg, rel=1e-10)
                assert mon.grad_norm[m, r].item() == pytest.approx(g.norm().item(), rel=1e-10)
                assert mon.loss[m, r].item() == pytest.approx(loss(theta).item(), rel=1e-12)
                assert mon["gTHg"][m, r].item() == pytest.approx(gc.gTHg, rel=1e-8, abs=1e-14)
                assert ratio[m, r].item() == pytest.approx(gc.ratio(lrs[r].item()), rel=1e-8, abs=1e-14)
                assert S.curvature_along_gradient(mon)[m, r].item() == pytest.approx(gc.gTHg / gc.gTg, rel=1e-8)
                assert torch.allclose(mon.params[m, r], theta, rtol=1e-12, atol=1e-14)
                with ob.temporary_params(model, theta):
                    val = ob.classification_error(model(data.x_val), data.y_val)
                assert mon["val_error"][m, r].item() == pytest.approx(val)
            theta = theta - lrs[r] * g


def test_looped_runs_match_the_vmapped_ones(problem):
    data, model, thetas = problem
    data = data.one_hot()
    lrs = torch.tensor([0.3, 0.7], dtype=torch.float64)
    a = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=8, monitor_every=4)
    b = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=8, monitor_every=4, vectorize=False)
    for name in ["loss", "grad_norm"]:
        assert torch.allclose(a[0][name], b[0][name], rtol=1e-10, atol=1e-14), name
    for name in ["loss", "grad_norm", "gTg", "gTHg", "train_error", "val_error", "params"]:
        assert torch.allclose(a[1][name], b[1][name], rtol=1e-10, atol=1e-14), name
    c = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=4, batch_size=7, monitor_every=2, seed=1)
    d = S._monitored_descent(model, ob.squared_error, data, thetas, lrs, 4, 2, 7, 1, vectorize=False)
    assert torch.allclose(c[0].grad_norm, d[0].grad_norm, rtol=1e-10)
    assert torch.allclose(c[1]["gTHg"], d[1]["gTHg"], rtol=1e-8)


def test_full_batch_gd_keeps_divergent_runs(problem):
    data, model, thetas = problem
    runs, _ = S.full_batch_gd(model, ob.squared_error, data.one_hot(), thetas,
                              torch.tensor([0.1, 1e4], dtype=torch.float64), steps=40, monitor_every=10)
    assert torch.isfinite(runs.loss[:, 0]).all()
    assert runs.loss[-1, 1] > runs.loss[0, 1] or not torch.isfinite(runs.loss[-1, 1])


def test_minibatch_sgd_matches_a_plain_loop(problem):
    data, model, thetas = problem
    before = ob.get_flat_params(model)
    runs, epochs = S.minibatch_sgd(model, ob.cross_entropy, data, thetas, lr=0.5, batch_size=6, epochs=2, seed=3)
    assert torch.equal(ob.get_flat_params(model), before)
    n = data.x_train.shape[0]
    assert runs.settings["steps_per_epoch"] == n // 6 == epochs.settings["steps_per_epoch"]
    assert epochs.steps.tolist() == [0, n // 6, 2 * (n // 6)]
    rng = torch.Generator().manual_seed(3)
    theta = thetas.clone()
    step = 0
    for epoch in range(2):
        full = ob.functional_loss(model, ob.cross_entropy, data.x_train, data.y_train)
        for r in range(2):
            assert epochs.grad_norm[epoch, r].item() == pytest.approx(ob.gradient(full, theta[r]).norm().item())
            assert epochs.loss[epoch, r].item() == pytest.approx(full(theta[r]).item())
        orders = [torch.randperm(n, generator=rng) for _ in range(2)]
        for b in range(n // 6):
            for r in range(2):
                idx = orders[r][b * 6 : (b + 1) * 6]
                batch = ob.functional_loss(model, ob.cross_entropy, data.x_train[idx], data.y_train[idx])
                g = ob.gradient(batch, theta[r])
                assert runs.grad_norm[step, r].item() == pytest.approx(g.norm().item(), rel=1e-10)
                assert runs.loss[step, r].item() == pytest.approx(batch(theta[r]).item(), rel=1e-10)
                theta[r] = theta[r] - 0.5 * g
            step += 1
    with ob.temporary_params(model, theta[1]):
        assert epochs["val_error"][-1, 1].item() == pytest.approx(ob.classification_error(model(data.x_val), data.y_val))


def test_full_batch_sgd_equals_gradient_descent(problem):
    data, model, thetas = problem
    n = data.x_train.shape[0]
    sgd, sgd_epochs = S.minibatch_sgd(model, ob.cross_entropy, data, thetas, lr=0.2, batch_size=n, epochs=5)
    gd, _ = S.full_batch_gd(model, ob.cross_entropy, data, thetas, torch.full((2,), 0.2, dtype=torch.float64),
                            steps=5, monitor_every=1)
    assert torch.allclose(sgd.grad_norm, gd.grad_norm[:-1], rtol=1e-10)
    assert torch.allclose(sgd_epochs.grad_norm, gd.grad_norm, rtol=1e-10)


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
    runs = ob.Runs(marks, torch.ones(6, 2))
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
    per_step = ob.Runs(torch.arange(steps + 1), grad_norm, grad_norm)
    runs = ob.Runs(marks, torch.ones_like(gthg), series={"gTHg": gthg})
    # no smoothing (window 1): low point at step 19, near it only mark 20 (gTHg 0.1); last quarter 5.0
    assert S.curvature_growth(per_step, runs, window=1).item() == pytest.approx(50.0)
    # near the low point the median ignores one burst: marks 10-30 within 10 steps of step 19 of a wider window
    spiky = gthg.clone()
    spiky[1] = 3.0  # mark 10
    runs = ob.Runs(marks, torch.ones_like(gthg), series={"gTHg": spiky})
    assert S.curvature_growth(per_step, runs, window=10).item() == pytest.approx(50.0)
    with pytest.raises(TypeError, match="Runs"):
        S.curvature_growth(grad_norm, runs, window=10)


def test_digits_experiments_have_the_documented_shapes():
    runs, mon, model, data = S.digits_full_batch_gd([0, 1], [0.4, 0.2], steps=4, monitor_every=2)
    assert runs.loss.shape == (5, 2) and mon["gTg"].shape == (3, 2)
    assert mon.params.shape == (3, 2, ob.n_params(model))
    assert data.y_train.dim() == 2
    cnn, cnn_mon, model, _ = S.digits_cnn_full_batch_gd([0, 1], [0.15, 0.1], steps=4, monitor_every=2)
    assert cnn.loss.shape == (5, 2) and cnn_mon.params.shape == (3, 2, ob.n_params(model))
    assert torch.equal(cnn_mon.params[0, 1], ob.get_flat_params(ob.models.digits_cnn(seed=1)))
    sgd, sgd_epochs, _, data = S.digits_minibatch_sgd([0, 1, 2], epochs=1, batch_size=400)
    assert sgd.grad_norm.shape == (data.x_train.shape[0] // 400, 3)
    assert sgd_epochs["val_error"].shape == (2, 3)


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
    runs, mon = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=6, batch_size=7, monitor_every=3,
                                seed=4)
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
                assert mon["gTHg"][m, r].item() == pytest.approx(gc.gTHg, rel=1e-8, abs=1e-14)
                assert mon.loss[m, r].item() == pytest.approx(full(theta[r]).item(), rel=1e-12)  # full batch
        for r in range(2):
            batch = ob.functional_loss(model, ob.squared_error, data.x_train[idx[r]], data.y_train[idx[r]])
            g = ob.gradient(batch, theta[r])
            assert runs.grad_norm[t, r].item() == pytest.approx(g.norm().item(), rel=1e-10)
            theta[r] = theta[r] - lrs[r] * g
    whole = S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=5, batch_size=n, monitor_every=5)
    gd = S.full_batch_gd(model, ob.squared_error, data, thetas, lrs, steps=5, monitor_every=5)
    assert torch.allclose(whole[0].grad_norm, gd[0].grad_norm, rtol=1e-10)
    assert torch.allclose(whole[1]["gTHg"], gd[1]["gTHg"], rtol=1e-8)
    with pytest.raises(ValueError, match="batch_size"):
        S.monitored_sgd(model, ob.squared_error, data, thetas, lrs, steps=5, batch_size=n + 1)
    with pytest.raises(ValueError, match="same length"):
        S.digits_monitored_sgd([0], [0.1, 0.2], batch_size=8, steps=2)


# --- optbook.ill_conditioning.minibatch: Figure 8.1 on a stream of distorted digits -----------------------------

from dataclasses import replace  # noqa: E402

from optbook.ill_conditioning import minibatch as M  # noqa: E402

TINY = replace(M.SETTINGS, sizes=(64, 8, 8, 10), epochs=2, batch_size=300, monitor_every=1, window=1)


def test_augment_shifts_by_at_most_one_pixel_and_adds_noise():
    image = torch.zeros(1, 8, 8)
    image[0, 3, 4] = 1.0
    moved = M.augment(image.reshape(1, 64).expand(2000, 64), 1, 0.0, torch.Generator().manual_seed(0)).reshape(-1, 8, 8)
    where = moved.reshape(2000, 64).argmax(1)
    rows, cols = where // 8, where % 8
    assert torch.equal(moved.sum((1, 2)), torch.ones(2000))  # the pixel moves, nothing is lost (not at the border)
    assert set(rows.tolist()) == {2, 3, 4} and set(cols.tolist()) == {3, 4, 5}  # all nine offsets, no others
    edge = torch.zeros(1, 64)
    edge[0, 0] = 1.0  # a corner pixel leaves the image for some shifts
    assert set(M.augment(edge.expand(500, 64), 1, 0.0, torch.Generator().manual_seed(1)).sum(1).tolist()) == {0.0, 1.0}
    noisy = M.augment(torch.zeros(4000, 64), 0, 0.3, torch.Generator().manual_seed(2))
    assert noisy.std().item() == pytest.approx(0.3, rel=0.02) and abs(noisy.mean().item()) < 0.01


def test_augmented_sgd_matches_a_plain_loop_and_each_run_has_its_own_stream():
    data = ob.digits()
    steps, monitor = M.augmented_sgd([0, 3], TINY, data=data)
    n = data.x_train.shape[0]
    per_epoch = n // TINY.batch_size
    assert steps.steps.tolist() == list(range(2 * per_epoch)) and monitor.steps.tolist() == [0, per_epoch, 2 * per_epoch]
    model = ob.mlp(list(TINY.sizes), "relu", seed=0)
    for r, seed in enumerate([0, 3]):
        theta, gen = ob.get_flat_params(ob.mlp(list(TINY.sizes), "relu", seed=seed)), torch.Generator().manual_seed(seed)
        for epoch in range(2):
            order = torch.randperm(n, generator=gen)
            x, y = M.augment(data.x_train[order], TINY.shift, TINY.noise, gen), data.y_train[order]
            for b in range(per_epoch):
                sl = slice(b * TINY.batch_size, (b + 1) * TINY.batch_size)
                batch = ob.functional_loss(model, ob.cross_entropy, x[sl], y[sl])
                g = ob.gradient(batch, theta)
                t = epoch * per_epoch + b
                assert steps.grad_norm[t, r].item() == pytest.approx(g.norm().item(), rel=1e-4)
                assert steps.loss[t, r].item() == pytest.approx(batch(theta).item(), rel=1e-5)
                theta = theta - TINY.lr * g
        assert torch.allclose(monitor.params[-1, r], theta, atol=1e-5)
    alone, _ = M.augmented_sgd([3], TINY, data=data)  # seed 3's run does not depend on its neighbours
    assert torch.allclose(alone.grad_norm[:, 0], steps.grad_norm[:, 1])


def test_control_monitor_is_the_exact_full_batch_gradient():
    data = ob.digits()
    _, monitor = M.augmented_sgd([1], TINY, augmented=False, data=data)
    model = ob.mlp(list(TINY.sizes), "relu", seed=0)
    full = ob.functional_loss(model, ob.cross_entropy, data.x_train, data.y_train)
    for m in range(3):
        theta = monitor.params[m, 0]
        assert monitor.grad_norm[m, 0].item() == pytest.approx(ob.gradient(full, theta).norm().item(), rel=1e-4)
        assert monitor.loss[m, 0].item() == pytest.approx(full(theta).item(), rel=1e-5)
        with ob.temporary_params(model, theta):
            assert monitor["val_error"][m, 0].item() == pytest.approx(ob.classification_error(model(data.x_val), data.y_val))


def test_the_two_draw_estimate_is_unbiased_where_one_draw_is_not():
    # pure noise around a known mean gradient: g_a . g_b estimates |mean|^2 without the noise term
    gen = torch.Generator().manual_seed(0)
    mean = torch.tensor([0.3, -0.4])  # |mean| = 0.5
    a, b = (mean + torch.randn(20000, 2, generator=gen) for _ in range(2))
    assert (a * b).sum(1).mean().item() == pytest.approx(0.25, abs=0.03)
    assert (a * a).sum(1).mean().item() == pytest.approx(2.25, abs=0.1)  # biased by the noise (2 x 1)


def test_epoch_running_average_and_rank_correlation_on_known_values():
    runs = ob.Runs(torch.arange(6), torch.zeros(6, 1), torch.arange(1.0, 7.0).reshape(-1, 1), settings={"steps_per_epoch": 2})
    assert M.epoch_running_average(runs, 1).flatten().tolist() == [1.5, 3.5, 5.5]
    assert M.epoch_running_average(runs, 2).flatten().tolist() == [1.5, 2.5, 4.5]
    up_down = torch.stack([torch.arange(10.0), -torch.arange(10.0), torch.tensor([0.0, 2, 1, 3, 5, 4, 6, 8, 7, 9])], 1)
    rho = M.rank_correlation(up_down)
    assert rho[0].item() == pytest.approx(1.0) and rho[1].item() == pytest.approx(-1.0)
    assert rho[2].item() == pytest.approx(1 - 6 * 6 / (10 * 99))  # Spearman's formula: six swaps of one rank


def test_figure_8_1_shape_on_made_up_runs():
    per_epoch, epochs = 2, 12
    t = torch.arange(epochs * per_epoch, dtype=torch.float64)
    rising = ob.Runs(t.long(), torch.zeros(len(t), 1), (1 + t).reshape(-1, 1), settings={"steps_per_epoch": per_epoch})
    falling = ob.Runs(t.long(), torch.zeros(len(t), 1), (1 + t.flip(0)).reshape(-1, 1), settings={"steps_per_epoch": per_epoch})
    marks = torch.arange(0, epochs + 1, 2) * per_epoch  # every 2 epochs
    val = torch.linspace(0.9, 0.1, len(marks), dtype=torch.float64).reshape(-1, 1)
    watch = ob.Runs(marks, torch.zeros(len(marks), 1), torch.full((len(marks), 1), 2.0),
                    series={"val_error": val}, settings={"steps_per_epoch": per_epoch})
    floor = ob.Runs(marks, torch.zeros(len(marks), 1), torch.full((len(marks), 1), 0.1),
                    series={"val_error": val}, settings={"steps_per_epoch": per_epoch})
    shape = M.figure_8_1_shape(rising, watch, falling, floor, window=2)
    # running averages over 2 epochs (4 steps) at epoch ends: rising 1.5, 2.5, 4.5, ..., 22.5
    assert shape.rise.item() == pytest.approx(22.5 / 2.5)
    assert shape.rank_correlation.item() == pytest.approx(1.0)
    # after epoch 2: marks at epochs 2, 4, ... ; the last window (epochs 10-12) holds marks 10 and 12
    assert shape.val_fall.item() == pytest.approx(val[1, 0].item() - val[-2:, 0].mean().item())
    assert shape.val_end.item() == pytest.approx(val[-2:, 0].mean().item())
    assert shape.above_floor.item() == pytest.approx(20.0)
    assert shape.control_decay.item() == pytest.approx(2.5 / 23.5)  # the control falls from its peak (epoch 1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: M.augment(torch.zeros(3, 63), 1, 0.1, torch.Generator()), "images"),
        (lambda: M.augment(torch.zeros(3, 64), -1, 0.1, torch.Generator()), "shift"),
        (lambda: M.augment(torch.zeros(3, 64), 1, -0.1, torch.Generator()), "noise"),
        (lambda: M.augment(torch.zeros(3, 64), 1, 0.1, 0), "generator"),
        (lambda: M.augmented_sgd([], TINY), "seeds"),
        (lambda: M.augmented_sgd([0.5], TINY), "seeds"),
        (lambda: M.augmented_sgd([0], {"lr": 0.1}), "settings"),
        (lambda: M.augmented_sgd([0], TINY, augmented="yes"), "augmented"),
        (lambda: M.augmented_sgd([0], TINY, data=(1, 2)), "data"),
        (lambda: M.epoch_running_average(torch.ones(3, 1), 1), "per_step"),
        (lambda: M.epoch_running_average(ob.Runs(torch.arange(2), torch.zeros(2, 1)), 1), "per_step"),
        (lambda: M.rank_correlation(torch.ones(2, 1)), "values"),
        (lambda: S.book_ratio(ob.Runs(torch.arange(1), torch.zeros(1, 1), series={"gTg": torch.ones(1, 1),
                                                                                 "gTHg": torch.ones(1, 1)})), "lrs"),
        (lambda: S.curvature_along_gradient(ob.Runs(torch.arange(1), torch.zeros(1, 1))), "gTg"),
        (lambda: S.tail_mean(torch.ones(3, 1), torch.ones(3, 1), 1), "runs"),
    ],
)
def test_minibatch_bad_arguments_fail_loudly(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
