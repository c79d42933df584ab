"""Speed and quality measurements that print tables: run from the repository root as ``python -m benchmarks.<name>``."""
