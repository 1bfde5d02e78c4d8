"""Evaluation: FATE's metrics of the predictions a learner output, saved through tracking.

FATE 1.11's EvaluateParam (1.5's and `run_clustering_arbiter_metric`, which FATE declares
and reads nowhere). Each data input is evaluated per `type` (train, validate), under the
upstream component's name:

* `binary`, `multi`, `regression`: a prediction table (id, label, predict_result,
  predict_score, predict_detail, type) with `evaluation_metrics.evaluate`; with
  `unfold_multi_result` (multi), each class against the rest too (AUC and KS, FATE's `ovr`
  records).
* `clustering` (one input, as FATE allows): at the guest and hosts, HeteroKmeans' rows (label,
  predicted_label, type) give the label metrics, skipped without labels; at the arbiter, its
  clusters (cluster_index, cluster_inner_dist, max_radius, inter_cluster_dist, type) give
  the Davies-Bouldin index and the distance measure; its per-row output has nothing to
  evaluate.

FATE runs Evaluation at the arbiter too; an input an upstream component left nowhere at this
party (a HeteroLR's data at the host or the arbiter) is no input, and a party with none does
nothing, as FATE's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument, NotFound

MODULE = "Evaluation"
EVAL_TYPES = (metrics.BINARY, metrics.MULTI, metrics.REGRESSION, metrics.CLUSTERING)

# FATE 1.11's EvaluateParam defaults (federatedml/param/evaluation_param.py).
DEFAULTS: dict[str, Any] = {
    "eval_type": "binary",
    "pos_label": 1,
    "metrics": None,
    "unfold_multi_result": False,
    "run_clustering_arbiter_metric": False,
}

_PREDICTIONS = {"label", "predict_score", "predict_result", "type"}
_ROWS = {"label", "predicted_label", "type"}
#: Each evaluated data set, with the records it adds beside its own (the one-vs-rest ones).
_Results = list[tuple[metrics.DataSetEvaluation, list[metrics.MetricRecord]]]
_CLUSTERS = {"cluster_index", "cluster_inner_dist", "max_radius", "inter_cluster_dist", "type"}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    eval_type = reader.choice("eval_type", EVAL_TYPES)
    pos_label = reader.raw("pos_label")
    if isinstance(pos_label, bool) or not isinstance(pos_label, str | int | float):
        raise reader.error("pos_label", pos_label, "must be a string or a number")
    chosen = reader.raw("metrics")
    if chosen is not None:
        if isinstance(chosen, str):
            chosen = [chosen]
        if not isinstance(chosen, list) or not all(isinstance(m, str) for m in chosen):
            raise reader.error("metrics", chosen, "must be a list of metric names")
        metrics.resolve_metrics(eval_type, chosen)  # names the unknown one
    return {
        "eval_type": eval_type,
        "pos_label": pos_label,
        "metrics": chosen or None,
        "unfold_multi_result": reader.boolean("unfold_multi_result"),
        "run_clustering_arbiter_metric": reader.boolean("run_clustering_arbiter_metric"),
    }


class Evaluation:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        need_deploy=False,
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        inputs = []
        for source, name in context.wiring.data_inputs.get("data", []):
            try:
                table = context.input_table(source, name)
            except NotFound:
                context.log.info("%s left no %s here: nothing of it to evaluate", source, name)
                continue
            if (
                context.task.role == "host"
                and params["eval_type"] != metrics.CLUSTERING
                and not set(table.column_names) >= _PREDICTIONS
            ):
                # A hetero host's learner outputs its ids alone (cross validation's fold
                # history), a component with need_run false its input: FATE's hosts have no
                # predictions of these to evaluate.
                context.log.info("%s left no predictions here: nothing of it to evaluate", source)
                continue
            inputs.append((source, table))
        if params["eval_type"] == metrics.CLUSTERING and len(inputs) > 1:
            raise InvalidArgument(
                "clustering evaluation takes one input (one HeteroKmeans), "
                f"not {len(inputs)}: {', '.join(source for source, _ in inputs)}"
            )
        evaluations = []
        for source, table in inputs:
            for evaluation, extra in _evaluate(source, table, params):
                evaluations.append(evaluation)
                for record in [*evaluation.records, *extra]:
                    context.log_metric(
                        record.metric_namespace, record.metric_name, record.points, record.meta
                    )
                context.log.info(
                    "%s %s: %s", source, evaluation.namespace, evaluation.summary or "no metric"
                )
        if evaluations:
            context.save_summary(metrics.component_summary(evaluations))


def _evaluate(source: str, table: pa.Table, params: dict[str, Any]) -> _Results:
    names = set(table.column_names)
    kinds = np.asarray(table.column("type").to_pylist()) if "type" in names else None
    eval_type = params["eval_type"]
    if eval_type == metrics.CLUSTERING:
        if names >= _CLUSTERS:
            return _clusters(source, table, kinds, params)
        if names >= _ROWS:
            return _rows(source, table, kinds, params)
        if {"predicted_cluster_index", "distance"} <= names:
            return []  # the arbiter's per-row output: FATE computes nothing of it
        raise InvalidArgument(
            f"{source}'s output is not a clustering result: Evaluation needs label, "
            f"predicted_label and type columns, or HeteroKmeans' clusters (it has {sorted(names)})"
        )
    if not names >= _PREDICTIONS or kinds is None:
        raise InvalidArgument(
            f"{source}'s output is not a prediction table: Evaluation needs label, "
            f"predict_result, predict_score and type columns (it has {sorted(names)})"
        )
    labels = np.asarray(table.column("label").to_pylist(), dtype=float)
    column = "predict_score" if eval_type == metrics.BINARY else "predict_result"
    predictions = np.asarray(table.column(column).to_pylist(), dtype=float)
    details = None
    if eval_type == metrics.MULTI and params["unfold_multi_result"]:
        if "predict_detail" not in names:
            raise InvalidArgument(
                f"unfold_multi_result needs {source}'s predict_detail column (the class scores)"
            )
        details = [json.loads(d) for d in table.column("predict_detail").to_pylist()]
    results: _Results = []
    for kind in dict.fromkeys(kinds.tolist()):
        rows = kinds == kind
        evaluation = metrics.evaluate(
            source,
            kind,
            eval_type,
            labels[rows],
            predictions[rows],
            pos_label=params["pos_label"],
            metrics=params["metrics"],
        )
        extra: list[metrics.MetricRecord] = []
        if details is not None:
            picked = [d for d, keep in zip(details, rows.tolist(), strict=True) if keep]
            extra = metrics.one_vs_rest(source, kind, labels[rows], picked)
        results.append((evaluation, extra))
    order = list(dict.fromkeys(kinds.tolist()))
    chosen = metrics.resolve_metrics(eval_type, params["metrics"])
    if eval_type == metrics.BINARY and "psi" in chosen and {"train", "validate"} <= set(order):
        # FATE's PSI compares the validate scores with the train scores, once both are seen,
        # under the namespace of the later one.
        train, validate = kinds == "train", kinds == "validate"
        later = max(("train", "validate"), key=order.index)
        record = metrics.psi(
            source,
            later,
            (labels[train], predictions[train]),
            (labels[validate], predictions[validate]),
            pos_label=params["pos_label"],
        )
        results[order.index(later)][1].append(record)
    return results


def _rows(source: str, table: pa.Table, kinds: Any, params: dict[str, Any]) -> _Results:
    labels = table.column("label").to_pylist()
    if all(label is None for label in labels):
        return []  # FATE: no label found in clustering result, skip metric computation
    clusters = table.column("predicted_label").to_pylist()
    results: _Results = []
    for kind in dict.fromkeys(kinds.tolist()):
        rows = np.flatnonzero(kinds == kind)
        evaluation = metrics.evaluate_clustering(
            source,
            kind,
            [labels[i] for i in rows],
            [clusters[i] for i in rows],
            metrics=params["metrics"],
        )
        results.append((evaluation, []))
    return results


def _clusters(source: str, table: pa.Table, kinds: Any, params: dict[str, Any]) -> _Results:
    results: _Results = []
    for kind in dict.fromkeys(kinds.tolist()):
        part = table.filter(pa.array(kinds == kind))
        between = json.loads(part.column("inter_cluster_dist")[0].as_py())
        evaluation = metrics.evaluate_clusters(
            source,
            kind,
            [int(v) for v in part.column("cluster_index").to_pylist()],
            part.column("cluster_inner_dist").to_pylist(),
            part.column("max_radius").to_pylist(),
            between,
            metrics=params["metrics"],
        )
        results.append((evaluation, []))
    return results
