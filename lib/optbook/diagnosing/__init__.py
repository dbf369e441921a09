"""The diagnosing page: the example loop and the known-answer cases its report is calibrated on.

Import it as ``from optbook import diagnosing``; the monitor and the report themselves are the
core's (`optbook.TrainingMonitor`, `optbook.diagnose_training`).
"""

from .examples import KNOWN_ANSWERS, ExampleRun, known_answer_runs, train_digits_mlp  # noqa: F401

__all__ = ["ExampleRun", "KNOWN_ANSWERS", "known_answer_runs", "train_digits_mlp"]
