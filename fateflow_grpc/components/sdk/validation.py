"""Validation during training, FATE's `ValidationStrategy`, for any learner: which rounds are
scored, their metrics under FATE's names, and early stopping.

    params = read_validation(reader)                 # validation_freqs, early_stopping_rounds...
    validation = Validation(params, "binary", log_metric=context.log_metric)
    for round_ in range(rounds):
        ...                                          # train one round
        if validation.due(round_):
            validation.score(round_, train=train_table, validate=validate_table)
        if validation.stop:
            break
    validation.best_round, validation.summary()      # FATE's best_iteration, validation_metrics

The parameters are FATE's, top-level (`validation_freqs`, `early_stopping_rounds`, `metrics`,
`use_first_metric_only`) or, from FATE 1.7 on, in `callback_param` (with `callbacks` naming
`PerformanceEvaluate` or `EarlyStopping`; its `ModelCheckpoint` is `checkpoint.py`'s); a conf may not set both (to other than defaults). `validation_freqs` is a
number n (rounds n - 1, 2n - 1, ...: every n-th round) or a list of round indices.

Tables are FATE's prediction tables (`sdk/learning.py`), the learner's scores of its training
and validation data after a round; they are evaluated by `evaluation/metrics.py` as FATE's
Evaluation would, with the data set named `iteration_<round>` (`model_<k>.iteration_<round>`
for the k-th model of a one-vs-rest, as FATE's) and the table's `type` (train, validate) as
namespace, and every metric is logged through `log_metric`. With no `metrics`,
FATE's defaults: auc and ks (binary), accuracy, precision and recall (multi), root mean squared
and mean absolute error (regression).

Early stopping (`early_stopping_rounds` k, which needs validation data): training stops when a
single-value metric of the validation data has not improved for k scored rounds in a row (the
first metric only with `use_first_metric_only`); the best round is that metric's best, and the
learner keeps its model as it was after that round (FATE's best model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.errors import InvalidArgument

#: The parameters of FATE's deprecated top-level style, and their defaults.
TOP_LEVEL = ("validation_freqs", "early_stopping_rounds", "metrics", "use_first_metric_only")
#: FATE 1.7+'s `CallbackParam` defaults.
CALLBACK_DEFAULTS: dict[str, Any] = {
    "callbacks": [],
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": [],
    "use_first_metric_only": False,
    "save_freq": 1,
}
CALLBACKS = ("PerformanceEvaluate", "EarlyStopping")
#: FATE's default metrics of each eval type when `metrics` is empty.
DEFAULT_METRICS = {
    metrics.BINARY: ("auc", "ks"),
    metrics.MULTI: ("accuracy", "precision", "recall"),
    metrics.REGRESSION: ("root_mean_squared_error", "mean_absolute_error"),
}
#: Metrics where a larger value is better; of the others (errors), smaller is.
LARGER_IS_BETTER = frozenset(
    {"auc", "ks", "accuracy", "precision", "recall", "r2_score", "explained_variance"}
)

LogMetric = Callable[[str, str, Sequence[tuple[Any, Any]], dict[str, Any]], None]


@dataclass(frozen=True)
class ValidationParams:
    #: Every n-th round (int n), the rounds listed (a set), or no validation (None).
    freqs: int | frozenset[int] | None = None
    early_stopping_rounds: int | None = None
    metrics: tuple[str, ...] = ()
    use_first_metric_only: bool = False

    @property
    def enabled(self) -> bool:
        return self.freqs is not None


def read_validation(reader: ParamReader) -> ValidationParams:
    """The validation parameters a module's section holds (those its defaults name)."""
    top = [name for name in TOP_LEVEL if reader.changed(name)]
    section = reader
    if reader.knows("callback_param") and reader.changed("callback_param"):
        if top:
            raise reader.error(
                top[0], reader.raw(top[0]), "cannot be set with callback_param (set it there)"
            )
        section = reader.section("callback_param")
        callbacks = section.raw("callbacks")
        if not isinstance(callbacks, list) or not all(isinstance(c, str) for c in callbacks):
            raise section.error("callbacks", callbacks, "must be a list of callback names")
        unknown = [c for c in callbacks if c not in (*CALLBACKS, "ModelCheckpoint")]
        if unknown:
            raise section.error("callbacks", callbacks, f"holds unknown {unknown[0]!r}")
        # FATE validates only with one of these callbacks (ModelCheckpoint is sdk/checkpoint.py).
        if not set(callbacks) & set(CALLBACKS):
            return ValidationParams()
    freqs = _freqs(section)
    rounds = None
    if section.knows("early_stopping_rounds"):
        rounds = section.raw("early_stopping_rounds")
        if rounds is not None:
            rounds = section.integer("early_stopping_rounds", minimum=1)
            if freqs is None:
                raise section.error(
                    "early_stopping_rounds", rounds, "needs validation_freqs to be set"
                )
    names = section.raw("metrics")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(m, str) for m in names)
    ):
        raise section.error("metrics", names, "must be a list of metric names")
    first_only = section.knows("use_first_metric_only") and section.boolean("use_first_metric_only")
    return ValidationParams(freqs, rounds, tuple(names or ()), first_only)


def due(params: ValidationParams, round_: int) -> bool:
    """Whether round `round_` is scored (for a party that scores nothing but follows)."""
    freqs = params.freqs
    if freqs is None:
        return False
    if isinstance(freqs, int):
        return (round_ + 1) % freqs == 0
    return round_ in freqs


def _freqs(section: ParamReader) -> int | frozenset[int] | None:
    value = section.raw("validation_freqs")
    if value is None:
        return None
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        return frozenset(value)
    return section.integer("validation_freqs", minimum=1)


@dataclass
class _Recorder:
    """FATE's PerformanceRecorder: each metric's best value and rounds without improvement."""

    best: dict[str, float] = field(default_factory=dict)
    best_round: dict[str, int] = field(default_factory=dict)
    stale: dict[str, int] = field(default_factory=dict)

    def update(self, round_: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            better = name not in self.best or (
                value > self.best[name] if name in LARGER_IS_BETTER else value < self.best[name]
            )
            if better:
                self.best[name], self.best_round[name], self.stale[name] = value, round_, 0
            else:
                self.stale[name] += 1


class Validation:
    """One training run's validation (see the module's docstring)."""

    def __init__(
        self,
        params: ValidationParams,
        eval_type: str,
        *,
        log_metric: LogMetric,
        pos_label: object = 1,
        has_validate_data: bool = True,
        data_set_prefix: str = "",
    ) -> None:
        if params.early_stopping_rounds is not None and not has_validate_data:
            raise InvalidArgument(
                "early_stopping_rounds needs validation data: give the component a "
                "validate_data input"
            )
        self.params = params
        self.eval_type = eval_type
        self.pos_label = pos_label
        self._data_set_prefix = data_set_prefix
        self._log_metric = log_metric
        self.metrics = metrics.resolve_metrics(
            eval_type, params.metrics or DEFAULT_METRICS[eval_type]
        )
        self._recorder = _Recorder()
        self._summary: dict[str, list[float]] = {}
        self.stop = False
        self.best_round = -1

    def due(self, round_: int) -> bool:
        return due(self.params, round_)

    def score(self, round_: int, *, train: pa.Table | None, validate: pa.Table | None) -> None:
        """Evaluate the round's prediction tables, log their metrics, update early stopping."""
        results: dict[str, dict[str, float]] = {}
        for table in (train, validate):
            if table is None or table.num_rows == 0:
                continue
            kind = str(table.column("type")[0].as_py())
            column = "predict_score" if self.eval_type == metrics.BINARY else "predict_result"
            evaluation = metrics.evaluate(
                f"{self._data_set_prefix}iteration_{round_}",
                kind,
                self.eval_type,
                np.asarray(table.column("label").to_pylist(), dtype=float),
                np.asarray(table.column(column).to_pylist(), dtype=float),
                pos_label=self.pos_label,
                metrics=self.metrics,
            )
            for record in evaluation.records:
                self._log_metric(
                    record.metric_namespace, record.metric_name, record.points, record.meta
                )
            results[kind] = evaluation.summary
        scored = results.get("validate") or results.get("train") or {}
        for name, value in scored.items():
            self._summary.setdefault(name, []).append(value)
        if self.params.early_stopping_rounds is None:
            return
        single = {name: scored[name] for name in self.metrics if name in scored}
        if self.params.use_first_metric_only and single:
            first = next(iter(single))
            single = {first: single[first]}
        self._recorder.update(round_, single)
        if single:
            self.best_round = self._recorder.best_round[next(iter(single))]
        for name in single:
            if self._recorder.stale[name] >= self.params.early_stopping_rounds:
                self.best_round = self._recorder.best_round[name]
                self.stop = True
                break

    def summary(self) -> dict[str, list[float]]:
        """FATE's `validation_metrics`: each metric's value at every scored round."""
        return {name: list(values) for name, values in self._summary.items()}
