"""``baton eval``: closed-loop evaluation of a :class:`baton.pipeline.Pipeline`.

conductor -> plan -> audio -> feature_extract -> compare. Modules:

* :mod:`baton.eval.suite`: the JSONL suite format and its validation;
* :mod:`baton.eval.metrics`: plan adherence, emotion/control direction checks, aggregation;
* :mod:`baton.eval.runner`: rendering, measuring, resuming (:func:`run_suite`);
* :mod:`baton.eval.report`: report.html with plots.

Nothing heavy is imported here.
"""

from __future__ import annotations

DEFAULT_SUITE = "eval_suite.jsonl"
"""File name of the default suite inside baton/data/."""
