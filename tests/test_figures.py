"""The figures layer (optbook.figures): the book style, glue, running averages for plots."""

import numpy as np
import pytest

import optbook as ob


def test_running_average_against_direct_means():
    x = np.arange(10.0)
    avg = ob.running_average(x, 3)
    expected = [np.mean(x[max(0, i - 2): i + 1]) for i in range(10)]
    assert np.allclose(avg, expected)
    assert np.allclose(ob.running_average(x, 100), np.cumsum(x) / np.arange(1, 11))


def test_running_average_bad_input():
    with pytest.raises(ValueError, match="window"):
        ob.running_average([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="values"):
        ob.running_average([], 3)


def test_glue_returns_nothing_and_checks_name():
    assert ob.glue("some_number", 3.5) is None  # a cell ending in glue(...) prints no bare value
    with pytest.raises(ValueError, match="name"):
        ob.glue("not a name", 1)


def test_set_threads_and_setup():
    import torch

    ob.setup_notebook(seed=3, threads=1)
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="n must be"):
        ob.set_threads(0)
