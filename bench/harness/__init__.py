"""The benchmark harness behind `make bench` (bench/run.py is the entry point)."""
