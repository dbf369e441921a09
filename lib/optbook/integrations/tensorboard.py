"""A `MonitorRecord` in TensorBoard: its series as scalars and the verdicts as text.

Needs the ``tensorboard`` package (``pip install optbook[tensorboard]``); the writer is PyTorch's
own ``torch.utils.tensorboard.SummaryWriter``.
"""

from __future__ import annotations

import math

from ..diagnose import Diagnosis
from ..monitor import MonitorRecord

__all__ = ["TensorBoardWriter", "SCALARS"]

# cadence -> (the record's step list, [(tag, series name in the record)])
SCALARS = {
    "step": ("steps", [("loss", "loss"), ("grad_norm", "grad_norm")]),
    "probe": ("probe_steps", [("probe/loss", "probe_loss"), ("probe/grad_norm", "probe_grad_norm"),
                              ("probe/gTHg", "gTHg"), ("probe/ratio", "ratio"), ("probe/lr", "lr"),
                              ("probe/limit", "limit")]),
    "eigen": ("eigen_steps", [("eigen/lambda_max", "lambda_max"), ("eigen/lambda_min", "lambda_min"),
                              ("eigen/sharpness", "sharpness"), ("eigen/stability", "stability"),
                              ("eigen/limit", "eigen_limit")]),
    "dataset": ("dataset_steps", [("dataset/loss", "dataset_loss"), ("dataset/lambda_max", "dataset_lambda_max"),
                                  ("dataset/batch_lambda_max", "dataset_batch_lambda_max"),
                                  ("dataset/batch_lambda_max_se", "dataset_batch_lambda_max_se"),
                                  ("dataset/gTHg", "dataset_gTHg"), ("dataset/gTHg_se", "dataset_gTHg_se"),
                                  ("dataset/trace", "dataset_trace"), ("dataset/trace_se", "dataset_trace_se")]),
}


class TensorBoardWriter:
    """Write a monitor's record to TensorBoard under ``prefix/``; each `update` writes only what is new.

    Parameters
    ----------
    writer : torch.utils.tensorboard.SummaryWriter or str
        A writer, or a log directory to open one in.
    prefix : str, optional
        The tag prefix (default ``"optbook"``): ``optbook/loss``, ``optbook/eigen/stability``,
        ``optbook/layer/<name>`` (each layer's top eigenvalue / limit), ``optbook/verdicts`` (text).

    Raises
    ------
    TypeError
        If ``writer`` is neither a SummaryWriter nor a path, or ``prefix`` is not a string.
    ImportError
        If the ``tensorboard`` package is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from optbook.monitor import MonitorRecord
    >>> with tempfile.TemporaryDirectory() as logdir:
    ...     tb = TensorBoardWriter(logdir)
    ...     tb.update(MonitorRecord(steps=[0, 1], loss=[2.0, 1.5], grad_norm=[1.0, 0.5]))
    ...     tb.close()
    2
    """

    def __init__(self, writer, prefix: str = "optbook"):
        from torch.utils.tensorboard import SummaryWriter

        if isinstance(writer, str):
            writer = SummaryWriter(writer)
        if not isinstance(writer, SummaryWriter):
            raise TypeError(f"writer must be a SummaryWriter or a log directory, got {type(writer).__name__}")
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
        self.writer, self.prefix = writer, prefix
        self._written = {cadence: 0 for cadence in SCALARS}

    def update(self, record: MonitorRecord) -> int:
        """Write the points recorded since the last call; return how many steps were new (all cadences)."""
        if not isinstance(record, MonitorRecord):
            raise TypeError(f"record must be a MonitorRecord, got {type(record).__name__}")
        new = 0
        for cadence, (steps_name, series) in SCALARS.items():
            steps = getattr(record, steps_name)
            for i in range(self._written[cadence], len(steps)):
                for tag, name in series:
                    values = getattr(record, name)
                    if i < len(values) and math.isfinite(values[i]):
                        self.writer.add_scalar(f"{self.prefix}/{tag}", values[i], steps[i])
                if cadence == "eigen" and i < len(record.layer_sharpness) and i < len(record.eigen_limit):
                    for layer, value in zip(record.layer_names, record.layer_sharpness[i]):
                        if math.isfinite(value / record.eigen_limit[i]):
                            self.writer.add_scalar(f"{self.prefix}/layer/{layer}", value / record.eigen_limit[i], steps[i])
            new += len(steps) - self._written[cadence]
            self._written[cadence] = len(steps)
        return new

    def verdicts(self, diagnosis: Diagnosis, step: int = 0) -> None:
        """Write the verdicts as a text entry (markdown list) at ``step``."""
        if not isinstance(diagnosis, Diagnosis):
            raise TypeError(f"diagnosis must be a Diagnosis, got {type(diagnosis).__name__}")
        self.writer.add_text(f"{self.prefix}/verdicts", str(diagnosis), step)

    def close(self) -> None:
        """Flush and close the writer."""
        self.writer.close()
