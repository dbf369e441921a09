"""A PyTorch Lightning callback that runs the curvature monitor inside ``Trainer.fit``.

Needs the ``lightning`` package (``pip install optbook[lightning]``). The callback takes the
loss Lightning is about to backpropagate (``on_before_backward``) and calls
`optbook.TrainingMonitor.step` after the backward pass (``on_after_backward``), before the
optimizer steps: the same place as in a plain loop. At the end of training it runs
`TrainingMonitor.final_check` and `optbook.diagnose_training`; when the trainer logs to
TensorBoard, the series and the verdicts go there too (`TensorBoardWriter`).
"""

from __future__ import annotations

from torch import Tensor

import lightning.pytorch as pl

from ..diagnose import Diagnosis, diagnose_training
from ..monitor import MonitorRecord, TrainingMonitor

__all__ = ["MonitorCallback"]


class MonitorCallback(pl.Callback):
    """Run a `TrainingMonitor` on the LightningModule being fitted.

    The module's ``forward`` must map the probe inputs to what ``loss_fn`` takes. Use one
    optimizer and no gradient accumulation (the monitor reads one gradient per optimizer step).

    Parameters
    ----------
    loss_fn : callable
        ``(outputs, targets) -> scalar tensor``, the loss the module trains on.
    probe_inputs, probe_targets : Tensor
        The fixed probe batch.
    diagnose : bool, optional
        Run the final check and `optbook.diagnose_training` when training ends (default True).
    **options
        Passed to `TrainingMonitor` (``every``, ``eigen_every``, ``layers``, ``curvature_batches``, ...).

    Attributes
    ----------
    monitor : TrainingMonitor or None
        Created when training starts.
    record : MonitorRecord or None
        The monitor's record.
    diagnosis : Diagnosis or None
        The verdicts, once training has ended (with ``diagnose``).

    Raises
    ------
    TypeError
        If ``loss_fn`` is not callable or the probe batch is not made of tensors.

    Examples
    --------
    >>> import torch
    >>> callback = MonitorCallback(torch.nn.functional.mse_loss, torch.zeros(4, 2), torch.zeros(4, 1), every=10)
    >>> callback.monitor is None
    True
    """

    def __init__(self, loss_fn, probe_inputs: Tensor, probe_targets: Tensor, diagnose: bool = True, **options):
        super().__init__()
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if not isinstance(probe_inputs, Tensor) or not isinstance(probe_targets, Tensor):
            raise TypeError("probe_inputs and probe_targets must be tensors")
        self.loss_fn, self.probe = loss_fn, (probe_inputs, probe_targets)
        self.run_diagnosis, self.options = bool(diagnose), options
        self.monitor: TrainingMonitor | None = None
        self.diagnosis: Diagnosis | None = None
        self._loss: Tensor | None = None
        self._writer = None

    @property
    def record(self) -> MonitorRecord | None:
        """The monitor's record (None before training starts)."""
        return None if self.monitor is None else self.monitor.record

    def on_train_start(self, trainer, pl_module) -> None:
        if len(trainer.optimizers) != 1:
            raise ValueError(f"the monitor needs exactly one optimizer, the trainer has {len(trainer.optimizers)}")
        self.monitor = TrainingMonitor(pl_module, self.loss_fn, *self.probe, trainer.optimizers[0], **self.options)
        self._writer = _tensorboard_writer(trainer)

    def on_before_backward(self, trainer, pl_module, loss: Tensor) -> None:
        self._loss = loss.detach()

    def on_after_backward(self, trainer, pl_module) -> None:
        try:
            self.monitor.step(self._loss)
        except ValueError:
            if self.monitor.record.diverged_at is None:
                raise
            trainer.should_stop = True  # the record keeps the step; training cannot go on
        if self._writer is not None:
            self._writer.update(self.monitor.record)

    def on_train_end(self, trainer, pl_module) -> None:
        if self.monitor is None or not self.run_diagnosis:
            return
        if self.monitor.record.diverged_at is None:
            self.monitor.final_check()
        if len(self.monitor.record.probe_steps) >= 4:
            self.diagnosis = diagnose_training(self.monitor.record)
        if self._writer is not None:
            self._writer.update(self.monitor.record)
            if self.diagnosis is not None:
                self._writer.verdicts(self.diagnosis, step=self.monitor.record.steps[-1])
            self._writer.writer.flush()


def _tensorboard_writer(trainer):
    """A `TensorBoardWriter` on the trainer's TensorBoard logger, or None when it has none."""
    from lightning.pytorch.loggers import TensorBoardLogger

    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            from .tensorboard import TensorBoardWriter

            return TensorBoardWriter(logger.experiment)
    return None
