"""Evaluation: FATE's metrics of a learner's predictions (`metrics` is the pure-numpy part)."""
