"""Where practitioners look: the monitor's record in TensorBoard and a PyTorch Lightning callback.

Both are optional extras (``pip install optbook[tensorboard]``, ``optbook[lightning]``) and are
imported only when asked for, so the core never needs them:

- `optbook.integrations.tensorboard.TensorBoardWriter` writes a `optbook.MonitorRecord`'s series
  and the verdicts to a ``torch.utils.tensorboard.SummaryWriter``, incrementally;
- `optbook.integrations.lightning.MonitorCallback` runs a `optbook.TrainingMonitor` inside
  ``lightning.Trainer.fit`` and logs through the trainer's TensorBoard logger when it has one.
"""

from __future__ import annotations

import importlib

__all__ = ["lightning", "tensorboard"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
