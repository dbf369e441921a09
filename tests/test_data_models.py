"""Data sets (offline, seeded) and seeded networks."""

import pytest
import torch

import optbook as ob


def test_digits_split_is_fixed_centred_and_offline():
    a, b = ob.digits(), ob.digits()
    assert a.x_train.shape == (1258, 64) and a.x_val.shape == (539, 64)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert a.x_train.mean(0).abs().max() < 1e-6
    assert a.n_classes == 10 and a.n_features == 64
    assert not torch.equal(ob.digits(seed=1).y_train, a.y_train)
    one_hot = a.one_hot()
    assert one_hot.y_train.shape == (1258, 10) and torch.equal(one_hot.y_train.argmax(1), a.y_train)


def test_blobs_seeded_and_small_sets():
    assert torch.equal(ob.blobs(seed=4).x_train, ob.blobs(seed=4).x_train)
    assert not torch.equal(ob.blobs(seed=4).x_train, ob.blobs(seed=5).x_train)
    x, y = ob.jellyfish()
    assert x.shape == (4, 2) and y.tolist() == [1.0, 1.0, 0.0, 0.0]
    x, y = ob.xor()
    assert y.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_mlp_seeded_scaled_and_global_rng_untouched():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = ob.mlp([3, 4, 2], seed=0)
    assert torch.equal(torch.rand(1), expected_next)
    b = ob.mlp([3, 4, 2], seed=0, init_scale=0.1)
    assert torch.allclose(ob.get_flat_params(b), 0.1 * ob.get_flat_params(a))
    assert ob.get_flat_params(ob.mlp([3, 4, 2], seed=0, init_scale=0)).abs().sum() == 0
    assert len(ob.mlp([3, 4, 4, 2], activation="relu")) == 5


def test_digits_cnn_seeded_shapes_and_global_rng_untouched():
    torch.manual_seed(7)
    expected_next = torch.rand(1)
    torch.manual_seed(7)
    a = ob.models.digits_cnn(seed=3)
    assert torch.equal(torch.rand(1), expected_next)
    assert torch.equal(ob.get_flat_params(a), ob.get_flat_params(ob.models.digits_cnn(seed=3)))
    assert not torch.equal(ob.get_flat_params(a), ob.get_flat_params(ob.models.digits_cnn(seed=4)))
    assert ob.n_params(a) == (9 * 8 + 8) + (72 * 8 + 8) + (288 * 10 + 10)
    assert a(ob.digits().x_val[:5]).shape == (5, 10)
    b = ob.models.digits_cnn(channels=2, dtype=torch.float64)
    assert b(torch.zeros(3, 64, dtype=torch.float64)).shape == (3, 10)
    assert ob.n_params(b) == (9 * 2 + 2) + (18 * 2 + 2) + (72 * 10 + 10)


def test_bad_input():
    with pytest.raises(ValueError, match="val_fraction"):
        ob.digits(val_fraction=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        ob.blobs(n_classes=1)
    with pytest.raises(ValueError, match="spread"):
        ob.blobs(spread=-1.0)
    with pytest.raises(ValueError, match="sizes"):
        ob.mlp([3])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        ob.mlp([3, 0, 2])
    with pytest.raises(ValueError, match="activation"):
        ob.mlp([3, 2], activation="swish")
    with pytest.raises(ValueError, match="init_scale"):
        ob.mlp([3, 2], init_scale=-1.0)
    with pytest.raises(ValueError, match="channels"):
        ob.models.digits_cnn(channels=0)
    with pytest.raises(TypeError, match="seed"):
        ob.models.digits_cnn(seed=1.5)
    with pytest.raises(TypeError, match="dtype"):
        ob.models.digits_cnn(dtype=torch.int64)
