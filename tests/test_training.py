"""Training with a history: determinism, monitors, divergence, batched runs."""

import math

import pytest
import torch

import optbook as ob


@pytest.fixture(scope="module")
def data():
    return ob.blobs(n=200, n_features=4, n_classes=3, spread=0.4, seed=0, dtype=torch.float64)


def test_same_seed_same_numbers_and_model_untouched(data):
    net = ob.mlp([4, 8, 3], seed=3, dtype=torch.float64)
    before = ob.get_flat_params(net)
    a = ob.train(net, ob.cross_entropy, data, lr=0.3, epochs=4, batch_size=16, seed=7, progress=False)
    b = ob.train(net, ob.cross_entropy, data, lr=0.3, epochs=4, batch_size=16, seed=7, progress=False)
    c = ob.train(net, ob.cross_entropy, data, lr=0.3, epochs=4, batch_size=16, seed=8, progress=False)
    assert torch.equal(a.per_step.loss, b.per_step.loss) and torch.equal(a.per_epoch['val_error'], b.per_epoch['val_error'])
    assert not torch.equal(a.per_step.loss, c.per_step.loss)
    assert torch.equal(ob.get_flat_params(net), before)
    assert not torch.equal(ob.get_flat_params(a.model), before)


def test_history_lengths_and_learning(data):
    net = ob.mlp([4, 8, 3], seed=0, dtype=torch.float64)
    h = ob.train(net, ob.cross_entropy, data, lr=0.5, epochs=5, batch_size=25, progress=False)
    assert h.per_step.loss.shape == h.per_step.grad_norm.shape == (5 * 4, 1)
    assert h.per_step.steps.tolist() == list(range(20)) and h.monitor is None
    assert h.per_epoch.loss.shape == h.per_epoch["val_error"].shape == (6, 1)  # the start plus each epoch
    assert h.per_epoch.loss[-1, 0] < h.per_epoch.loss[0, 0]
    assert h.per_epoch["val_error"][-1, 0] < h.per_epoch["val_error"][0, 0]
    assert not bool(h.per_step.diverged[0])


def test_monitors_match_direct_computation(data):
    net = ob.mlp([4, 5, 3], seed=1, dtype=torch.float64)
    h = ob.train(net, ob.squared_error, data.one_hot(), lr=0.1, epochs=6, monitor_every=3,
                 sharpness=True, progress=False)
    assert h.monitor.steps.tolist() == [0, 3]
    loss = ob.functional_loss(net, ob.squared_error, data.x_train, data.one_hot().y_train)
    gc = ob.gradient_curvature(loss, ob.get_flat_params(net))
    assert float(h.monitor.loss[0, 0]) == pytest.approx(gc.loss)
    assert float(h.monitor["gTg"][0, 0]) == pytest.approx(gc.gTg)
    assert float(h.monitor["gTHg"][0, 0]) == pytest.approx(gc.gTHg)
    assert float(h.monitor["ratio"][0, 0]) == pytest.approx(0.05 * gc.gTHg / gc.gTg)
    exact_top = float(ob.hessian_eigenvalues(loss, ob.get_flat_params(net))[-1])
    assert float(h.monitor["sharpness"][0, 0]) == pytest.approx(exact_top, rel=1e-3)


def test_divergence_is_recorded_not_raised(data):
    small = ob.blobs(n=200, n_features=4, n_classes=3, spread=0.4, seed=0).one_hot()  # float32 overflows soon
    net = ob.mlp([4, 8, 3], activation="linear", seed=0)
    h = ob.train(net, ob.squared_error, small, lr=50.0, epochs=500, progress=False)
    assert not math.isfinite(float(h.per_step.loss[-1, 0]))
    assert h.per_step.loss.shape[0] < 500
    assert int(h.per_step.diverged_at[0]) == h.per_step.loss.shape[0] - 1


def test_adam_and_momentum_run(data):
    net = ob.mlp([4, 8, 3], seed=0, dtype=torch.float64)
    for kw in ({"optimizer": "adam"}, {"momentum": 0.9}):
        h = ob.train(net, ob.cross_entropy, data, lr=0.01, epochs=3, batch_size=50, progress=False, **kw)
        assert h.per_epoch.loss[-1, 0] < h.per_epoch.loss[0, 0]


def test_gradient_descent_many_equals_separate_runs(data):
    net = ob.mlp([4, 6, 3], seed=0, dtype=torch.float64)
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train, data.y_train)
    starts = torch.stack([ob.get_flat_params(ob.mlp([4, 6, 3], seed=s, dtype=torch.float64)) for s in range(4)])
    runs = ob.gradient_descent_many(loss, starts, lr=0.5, steps=20, record_every=5)
    assert runs.loss.shape == (5, 4) and runs.steps.tolist() == [0, 5, 10, 15, 20]
    for r in range(4):
        theta = starts[r].clone()
        for _ in range(20):
            theta = theta - 0.5 * ob.gradient(loss, theta)
        assert torch.allclose(runs.final_params[r], theta, atol=1e-12)
        assert runs.loss[-1, r].item() == pytest.approx(loss(theta).item())


def test_cross_entropy_equals_torch_and_works_forward_mode():
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    logits = 30 * torch.randn(7, 5, dtype=torch.float64, generator=gen)  # large: the shift must be there
    labels = torch.randint(0, 5, (7,), generator=gen)
    probs = torch.softmax(torch.randn(7, 5, dtype=torch.float64, generator=gen), 1)
    images = torch.randn(3, 5, 2, 2, dtype=torch.float64, generator=gen)
    image_labels = torch.randint(0, 5, (3, 2, 2), generator=gen)
    for out, target in [(logits, labels), (logits, probs), (images, image_labels), (logits[0], labels[0])]:
        assert ob.cross_entropy(out, target).item() == pytest.approx(F.cross_entropy(out, target).item(), rel=1e-12)
    with torch.autograd.forward_ad.dual_level():  # torch's own fails here once a backward pass follows
        dual = torch.autograd.forward_ad.make_dual(logits.requires_grad_(), probs)
        slope = torch.autograd.forward_ad.unpack_dual(ob.cross_entropy(dual, labels)).tangent
    torch.autograd.grad(slope, logits)
    with pytest.raises(ValueError, match="targets must have shape"):
        ob.cross_entropy(logits, labels[:5])
    with pytest.raises(RuntimeError, match="out of bounds"):
        ob.cross_entropy(logits, labels + 5)
    with pytest.raises(TypeError, match="targets must be class indices"):
        ob.cross_entropy(logits, labels.double())


def test_classification_error_accepts_indices_and_one_hot():
    out = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert ob.classification_error(out, torch.tensor([0, 1, 1])) == pytest.approx(1 / 3)
    assert ob.classification_error(out, torch.tensor([[1.0, 0], [0, 1.0], [0, 1.0]])) == pytest.approx(1 / 3)


def test_bad_input(data):
    net = ob.mlp([4, 8, 3], seed=0)
    with pytest.raises(ValueError, match="lr"):
        ob.train(net, ob.cross_entropy, data, lr=0.0, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        ob.train(net, ob.cross_entropy, data, lr=0.1, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        ob.train(net, ob.cross_entropy, data, lr=0.1, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="momentum"):
        ob.train(net, ob.cross_entropy, data, lr=0.1, epochs=1, momentum=1.5)
    with pytest.raises(ValueError, match="optimizer"):
        ob.train(net, ob.cross_entropy, data, lr=0.1, epochs=1, optimizer="lbfgs")
    loss = ob.functional_loss(net, ob.cross_entropy, data.x_train.float(), data.y_train)
    with pytest.raises(ValueError, match="thetas"):
        ob.gradient_descent_many(loss, torch.zeros(5), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="lr"):
        ob.gradient_descent_many(loss, torch.zeros(2, ob.n_params(net)), lr=float("inf"), steps=1)
