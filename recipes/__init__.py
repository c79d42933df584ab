"""Data preparation, training, export and tuning recipes: run from the repository root as ``python -m recipes.<name>``."""
