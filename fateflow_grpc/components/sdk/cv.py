"""Cross validation, FATE's `KFold` (`federatedml/model_selection/k_fold.py`), for any learner.

    cv = read_cv(reader)                                  # the module's cv_param section
    if cv.need_cv:
        run_cv(context, cv, runner, mode="hetero", data=data, eval_type="binary")

`runner(transport, train, validate)` is the learner's own role code for one fold: it trains on
`train` and scores `train` and `validate`, and gives back FATE's prediction tables (`type`
train and validate; None at a party that has no scores, a hetero host) and the fold's model
summary. At the arbiter both datasets are None. Each fold talks over the task's transport with
its tags prefixed by `cv.<fold>.`, so that a protocol's own tags (`fit.0.0`) cannot meet the
same tags of another fold.

The folds are scikit-learn's `KFold`, as FATE's: the rows in the order of the data, permuted by
`numpy.random.RandomState(random_seed)` when `shuffle`, cut into `n_splits` consecutive test
folds (the first `n % n_splits` one row longer); both parts of a fold in the data's order. So the folds are disjoint, their union is the data, and they depend on the
ids alone. Where they are drawn:

The module says which (FATE's modules set `cv_param.mode` to their own):

* `hetero`: the guest draws them and sends each fold's ids to the hosts
  (`CrossValidationTransferVariable.train_sid` and `test_sid`), which take those rows, as
  FATE's `_align_data_index` does; a host without one of the ids fails by name.
* `homo`: every party draws its own over its own rows, as FATE's does.

Metrics (the parties with scores): each fold's training scores are evaluated as the data set
`train_fold_<k>` in namespace `train`, its validation scores as `validate_fold_<k>` in
namespace `validate`, FATE's names, through `evaluation/metrics.py`; the summary is FATE's
(`fold_<k>`: the fold's model summary, `fold_num`), each fold's single-value metrics under
`fold_<k>.metrics`, and their mean over the folds under `cv_mean` (ours: the board computes it
in FATE). A learner logs its per-fold curves (the loss) as FATE does under `<name>.<fold>`.

The output data (`output_fold_history`): with `history_value_type: score`, the prediction
tables of every fold, ids renamed `<id>#fold<k>#train` / `#validate` (a party without scores:
the ids and a `fold_num` column); with `instance`, the rows themselves under those ids. Without
it, the input data unchanged. No model is saved: FATE's cross validation leaves none to deploy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Prefixed, Transport
from fateflow_grpc.components.sdk.validation import DEFAULT_METRICS
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

#: FATE's `CrossValidationParam` defaults (1.5 to 1.11).
CV_DEFAULTS: dict[str, Any] = {
    "n_splits": 5,
    "mode": "hetero",
    "role": "guest",
    "shuffle": True,
    "random_seed": 1,
    "need_cv": False,
    "output_fold_history": True,
    "history_value_type": "score",
}
TRAIN_SID = "CrossValidationTransferVariable.train_sid"
TEST_SID = "CrossValidationTransferVariable.test_sid"

Rows = npt.NDArray[np.intp]


@dataclass(frozen=True)
class CvParams:
    need_cv: bool = False
    n_splits: int = 5
    mode: str = "hetero"
    shuffle: bool = True
    random_seed: int | None = 1
    output_fold_history: bool = True
    history_value_type: str = "score"


def read_cv(reader: ParamReader) -> CvParams:
    """The `cv_param` section, checked as FATE's `CrossValidationParam.check` does."""
    cv = reader.section("cv_param")
    need_cv = cv.boolean("need_cv")
    n_splits = cv.integer("n_splits", minimum=1)
    if need_cv and n_splits < 2:
        raise cv.error("n_splits", n_splits, "must be at least 2 to cross validate")
    mode = cv.choice("mode", ("homo", "hetero"))
    cv.choice("role", ("guest", "host", "arbiter"))
    seed = cv.raw("random_seed")
    return CvParams(
        need_cv=need_cv,
        n_splits=n_splits,
        mode=mode,
        shuffle=cv.boolean("shuffle"),
        random_seed=None if seed is None else cv.integer("random_seed", minimum=0),
        output_fold_history=cv.boolean("output_fold_history"),
        history_value_type=cv.choice("history_value_type", ("instance", "score")),
    )


def kfold(count: int, params: CvParams) -> list[tuple[Rows, Rows]]:
    """(training rows, test rows) of each fold, scikit-learn's `KFold` over `count` rows."""
    if count < params.n_splits:
        raise InvalidArgument(
            f"cross validation: {count} rows cannot make {params.n_splits} folds (n_splits)"
        )
    order = np.arange(count)
    if params.shuffle:
        np.random.RandomState(params.random_seed).shuffle(order)
    sizes = np.full(params.n_splits, count // params.n_splits)
    sizes[: count % params.n_splits] += 1
    folds = []
    start = 0
    for size in sizes.tolist():
        test = order[start : start + size]
        in_test = np.zeros(count, bool)
        in_test[test] = True
        folds.append((np.flatnonzero(~in_test), np.flatnonzero(in_test)))
        start += size
    return folds


@dataclass
class FoldResult:
    """What a learner gives back for one fold (see the module's docstring)."""

    train: pa.Table | None = None
    validate: pa.Table | None = None
    summary: dict[str, Any] = field(default_factory=dict)


Runner = Callable[[Transport, int, Dataset | None, Dataset | None], FoldResult]


def run_cv(
    context: TaskContext,
    params: CvParams,
    runner: Runner,
    *,
    mode: str,
    data: Dataset | None,
    eval_type: str,
    metric_names: Sequence[str] = (),
    pos_label: object = 1,
    timeout: float = GET_TIMEOUT_S,
) -> dict[str, Any]:
    """Every fold at this party (the arbiter: `data` None); metrics logged, the fold history
    saved as the output data, FATE's summary saved and returned."""
    transport: Transport = context.federation
    role = context.task.role
    # A module's metrics are its binary ones (FATE's LR: auc, ks); with more classes FATE
    # keeps those that apply, and its defaults when none does.
    allowed = [name for name in metric_names if name.lower() in metrics.METRICS[eval_type]]
    chosen = metrics.resolve_metrics(eval_type, allowed or DEFAULT_METRICS[eval_type])
    summary: dict[str, Any] = {}
    scored: dict[str, list[dict[str, float]]] = {}
    history: list[pa.Table] = []
    params = dataclasses.replace(params, mode=mode)
    folds = _folds(transport, role, context, params, data, timeout)
    for fold, (train, test) in enumerate(folds):
        context.log.info("cross validation: fold %s of %s", fold, params.n_splits)
        result = runner(Prefixed(transport, f"cv.{fold}"), fold, train, test)
        fold_summary = dict(result.summary)
        fold_metrics: dict[str, dict[str, float]] = {}
        for kind, table in (("train", result.train), ("validate", result.validate)):
            if table is None or table.num_rows == 0:
                continue
            evaluation = _evaluate(table, f"{kind}_fold_{fold}", kind, eval_type, chosen, pos_label)
            for record in evaluation.records:
                context.log_metric(*record)
            fold_metrics[kind] = evaluation.summary
            scored.setdefault(kind, []).append(evaluation.summary)
        if fold_metrics:
            fold_summary["metrics"] = fold_metrics
        summary[f"fold_{fold}"] = fold_summary
        if params.output_fold_history and train is not None and test is not None:
            for kind, table, rows in (
                ("train", result.train, train),
                ("validate", result.validate, test),
            ):
                history.append(_history(params, fold, kind, table, rows))
    summary["fold_num"] = params.n_splits
    if scored:
        summary["cv_mean"] = {
            kind: {name: float(np.mean([values[name] for values in folds])) for name in folds[0]}
            for kind, folds in scored.items()
        }
    if data is not None:
        context.save_output_data(
            pa.concat_tables(history, promote_options="default")
            if params.output_fold_history
            else data.to_table()
        )
    context.save_summary(summary)
    return summary


def _folds(
    transport: Transport,
    role: str,
    context: TaskContext,
    params: CvParams,
    data: Dataset | None,
    timeout: float,
) -> Sequence[tuple[Dataset | None, Dataset | None]]:
    if data is None:
        return [(None, None)] * params.n_splits
    guest = [PartyRole("guest", int(p)) for p in context.roles.get("guest", [])]
    hosts = [PartyRole("host", int(p)) for p in context.roles.get("host", [])]
    if params.mode == "homo" or role == "guest":
        folds = kfold(len(data.ids), params)
        if params.mode == "hetero" and hosts:
            ids = [str(value) for value in data.ids.tolist()]
            for fold, (train, test) in enumerate(folds):
                transport.remote([ids[k] for k in train], TRAIN_SID, f"cv.{fold}", hosts)
                transport.remote([ids[k] for k in test], TEST_SID, f"cv.{fold}", hosts)
        return [(data.take(train), data.take(test)) for train, test in folds]
    if not guest:
        raise InvalidArgument("hetero cross validation needs a guest to draw the folds")
    position = {str(value): k for k, value in enumerate(data.ids.tolist())}
    taken = []
    for fold in range(params.n_splits):
        rows = []
        for name in (TRAIN_SID, TEST_SID):
            [sent] = transport.get(name, f"cv.{fold}", guest[:1], timeout)
            if not isinstance(sent, list):
                raise FederatedError(f"the guest sent {name} that is not a list of ids")
            missing = [value for value in sent if str(value) not in position]
            if missing:
                raise InvalidArgument(
                    f"cross validation: the guest's fold {fold} names {len(missing)} ids this "
                    f"party does not have (such as {missing[0]!r}); intersect the data first",
                    missing=len(missing),
                )
            rows.append(np.array([position[str(value)] for value in sent], np.intp))
        taken.append((data.take(rows[0]), data.take(rows[1])))
    return taken


def _evaluate(
    table: pa.Table,
    name: str,
    kind: str,
    eval_type: str,
    chosen: Sequence[str],
    pos_label: object,
) -> metrics.DataSetEvaluation:
    column = "predict_score" if eval_type == metrics.BINARY else "predict_result"
    return metrics.evaluate(
        name,
        kind,
        eval_type,
        np.asarray(table.column("label").to_pylist(), dtype=float),
        np.asarray(table.column(column).to_pylist(), dtype=float),
        pos_label=pos_label,
        metrics=chosen,
    )


def _history(
    params: CvParams, fold: int, kind: str, predictions: pa.Table | None, rows: Dataset
) -> pa.Table:
    """FATE's `transform_history_data`: this fold's part of the output, ids renamed."""
    ids = pa.array([f"{value}#fold{fold}#{kind}" for value in rows.ids.tolist()], pa.string())
    if params.history_value_type == "instance":
        table = rows.to_table()
    elif predictions is not None:
        table = predictions
    else:
        table = pa.table({rows.sid: ids, "fold_num": pa.array([fold] * len(ids), pa.int64())})
    return table.set_column(0, table.column_names[0], ids)
