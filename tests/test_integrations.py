"""The optional integrations against the real packages: TensorBoard event files and a Lightning fit.

Each test is skipped when its package is not installed (requirements.txt pins both, so CI runs them).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optbook as ob

tensorboard = pytest.importorskip("tensorboard")


def _events(logdir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _monitored_run(steps: int = 12, **options):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 5, generator=g), torch.randint(0, 3, (40,), generator=g)
    net = ob.mlp([5, 6, 3], "tanh", seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    monitor = ob.TrainingMonitor(net, nn.functional.cross_entropy, x, y, opt, every=2, eigen_every=5, layers=True,
                                 **options)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        monitor.step(loss)
        opt.step()
    return monitor


def test_tensorboard_writer_writes_every_series_once_and_the_verdicts(tmp_path):
    from optbook.integrations.tensorboard import TensorBoardWriter

    monitor = _monitored_run(6)
    tb = TensorBoardWriter(str(tmp_path))
    assert tb.update(monitor.record) == 6 + 3 + 1
    assert tb.update(monitor.record) == 0  # nothing new: nothing written twice
    for _ in range(6):  # training goes on: only the new points are written
        net = monitor.model
        loss = nn.functional.cross_entropy(net(monitor.probe_inputs), monitor.probe_targets)
        monitor.optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)
        monitor.optimizer.step()
    monitor.final_check()
    tb.update(monitor.record)
    tb.verdicts(ob.diagnose_training(monitor.record), step=12)
    tb.close()
    events = _events(tmp_path)
    r = monitor.record
    assert [s for s, _ in events["optbook/loss"]] == r.steps
    assert [v for _, v in events["optbook/loss"]] == pytest.approx(r.loss, rel=1e-6)
    assert [s for s, _ in events["optbook/eigen/stability"]] == r.eigen_steps
    assert [v for _, v in events["optbook/probe/limit"]] == pytest.approx(r.limit, rel=1e-6)  # 3.8 / 0.2
    assert [v for _, v in events["optbook/layer/2"]] == pytest.approx(
        [s[1] / lim for s, lim in zip(r.layer_sharpness, r.eigen_limit)], rel=1e-6)
    with pytest.raises(TypeError, match="record"):
        tb.update([1.0])
    with pytest.raises(TypeError, match="writer"):
        TensorBoardWriter(3)


@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated")  # inside lightning 2.6
def test_lightning_callback_monitors_a_fit_without_changing_it(tmp_path):
    lightning = pytest.importorskip("lightning")
    from lightning.pytorch.loggers import TensorBoardLogger

    from optbook.integrations.lightning import MonitorCallback

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = ob.mlp([5, 6, 3], "tanh", seed=0)

        def forward(self, inputs):
            return self.net(inputs)

        def training_step(self, batch, _):
            return nn.functional.cross_entropy(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=0.01)

    finals, callbacks = [], []
    for watched in (False, True):
        callback = MonitorCallback(nn.functional.cross_entropy, x[:32], y[:32], every=2, eigen_every=4)
        trainer = lightning.Trainer(max_steps=12, logger=TensorBoardLogger(str(tmp_path), name=str(watched)),
                                    callbacks=[callback] if watched else [], enable_checkpointing=False,
                                    enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                                    deterministic=True, log_every_n_steps=1)
        module = Module()
        trainer.fit(module, loader)
        finals.append([p.detach().clone() for p in module.parameters()])
        callbacks.append(callback)
    assert all(torch.equal(a, b) for a, b in zip(*finals))
    record = callbacks[1].record
    assert record.steps == list(range(12)) and record.probe_steps == [0, 2, 4, 6, 8, 10, 12]
    assert record.optimizer.startswith("Adam") and record.limit[0] == pytest.approx(38 / 0.01)
    assert all(v == v for v in record.loss)  # the loss Lightning backpropagated, every step
    assert callbacks[1].diagnosis is not None and record.eigen_steps[-1] == 12
    events = _events(tmp_path / "True" / "version_0")
    assert [s for s, _ in events["optbook/probe/ratio"]] == [s for s, r in zip(record.probe_steps, record.ratio) if r == r]
