"""Benchmarks of the optbook library and of the book (run them with `python benchmarks/run.py`)."""
