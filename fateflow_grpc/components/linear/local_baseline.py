"""LocalBaseline (FATE's `LocalBaseline`): scikit-learn's LogisticRegression on one party's own
data, to compare a federated model with; nothing crosses.

FATE fits `LogisticRegression(**model_opts)` on the guest's features and labels (in a homo
job, each client's), with the samples' weights when SampleWeight set them, and scores its
training data (and its validate data) with it. FATE 1.x's options are those of scikit-learn
before 1.8, which then moved the penalty into `l1_ratio` and `C` and dropped `multi_class`: we
take the old names and translate them (`penalty` l2 / l1 / elasticnet / none to `l1_ratio`
0 / 1 / `l1_ratio` / `C = inf`; `multi_class: ovr` with more than two classes to one binary
model per class, as the old option fitted). A name
LogisticRegression never took is refused.

Model: FATE's `LRModelMeta` (penalty, tol, fit_intercept, optimizer = the solver, max_iter,
need_one_vs_rest, predict_param; and, ours, `multi_class` and `classes`, to score as it was
fitted) and
`LRModelParam` (weight per feature, intercept, iters, is_converged, header; with more than two
classes `one_vs_rest_result`: a model per class). A predict job scores new data with it:
the sigmoid for two classes, normalised sigmoids (ovr) or the softmax (multinomial) for more,
as scikit-learn's `predict_proba` does. Predictions are FATE's table (`sdk/learning.py`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import (
    TRAIN_KINDS,
    class_prediction_table,
    label_text,
    learner_input,
)
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "LocalBaseline"
#: LogisticRegression's options as FATE 1.x passes them (scikit-learn before 1.8).
OPTIONS = frozenset(
    {
        "penalty",
        "dual",
        "tol",
        "C",
        "fit_intercept",
        "intercept_scaling",
        "class_weight",
        "random_state",
        "solver",
        "max_iter",
        "multi_class",
        "verbose",
        "warm_start",
        "n_jobs",
        "l1_ratio",
    }
)

# FATE's LocalBaselineParam defaults (federatedml/param/local_baseline_param.py).
DEFAULTS: dict[str, Any] = {
    "model_name": "LogisticRegression",
    "model_opts": None,
    "predict_param": {"threshold": 0.5},
}

Floats = npt.NDArray[np.float64]
Model = dict[str, Any]


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    name = reader.choice("model_name", ("LogisticRegression",))
    options = reader.raw("model_opts") or {}
    if not isinstance(options, Mapping):
        raise reader.error("model_opts", options, "must be an object of LogisticRegression options")
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise reader.error(
            "model_opts",
            options,
            f"names {', '.join(unknown)}, which LogisticRegression does not take "
            f"(it takes {', '.join(sorted(OPTIONS))})",
        )
    penalty = options.get("penalty", "l2")
    if penalty not in ("l1", "l2", "elasticnet", "none", None):
        raise reader.error("model_opts.penalty", penalty, "must be l1, l2, elasticnet or none")
    if options.get("multi_class", "auto") not in ("auto", "ovr", "multinomial"):
        raise reader.error(
            "model_opts.multi_class", options["multi_class"], "must be auto, ovr or multinomial"
        )
    threshold = reader.section("predict_param").number("threshold", minimum=0, maximum=1)
    return {
        "model_name": name,
        "model_opts": dict(options),
        "predict_param": {"threshold": threshold},
    }


def estimator_options(options: Mapping[str, Any], classes: Sequence[float]) -> dict[str, Any]:
    """FATE's (scikit-learn < 1.8) options as today's LogisticRegression takes them."""
    kept = {k: v for k, v in options.items() if k not in ("penalty", "multi_class", "l1_ratio")}
    penalty = options.get("penalty", "l2")
    if penalty == "l1":
        kept["l1_ratio"] = 1.0
    elif penalty == "elasticnet":
        kept["l1_ratio"] = options.get("l1_ratio")
    elif penalty in ("none", None):
        kept["C"] = math.inf
    else:
        kept["l1_ratio"] = 0.0
    weights = options.get("class_weight")
    if isinstance(weights, Mapping):  # JSON keys are texts; the classes are our float labels
        by_text = {label_text(c): c for c in classes}
        kept["class_weight"] = {
            by_text.get(label_text(float(k)), float(k)): v for k, v in weights.items()
        }
    return kept


def fit(
    features: Floats,
    labels: Floats,
    weights: Floats | None,
    header: Sequence[str],
    params: Mapping[str, Any],
) -> Model:
    if not np.all(np.isfinite(features)):
        raise InvalidArgument(f"{MODULE}: features hold nan or inf; fill missing values first")
    classes = sorted(set(np.unique(labels).tolist()))
    if len(classes) < 2:
        raise InvalidArgument(f"{MODULE}: the labels hold one class ({classes}); it needs two")
    options = params["model_opts"]
    ovr = options.get("multi_class", "auto") == "ovr" and len(classes) > 2
    # scikit-learn takes seconds to import: only the tasks that use it pay for it.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    settings = estimator_options(options, classes)
    # One-vs-rest fits a binary model per class, as scikit-learn's OneVsRestClassifier does
    # (which takes no sample weights without metadata routing).
    targets = [(labels == c).astype(np.float64) for c in classes] if ovr else [labels]
    models = [LogisticRegression(**settings) for _ in targets]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            for model, target in zip(models, targets, strict=True):
                model.fit(features, target, sample_weight=weights)
        except (ValueError, TypeError) as error:  # scikit-learn's own checks of the options
            raise InvalidArgument(f"{MODULE} parameter model_opts: {error}") from None
    coef = np.vstack([m.coef_ for m in models])
    intercept = np.concatenate([np.atleast_1d(m.intercept_) for m in models])
    iters = int(max(int(np.max(m.n_iter_)) for m in models))
    max_iter = int(options.get("max_iter", 100))
    return _model(
        options,
        params["predict_param"]["threshold"],
        list(header),
        classes,
        coef,
        intercept,
        iters,
        iters < max_iter and not caught,
        "ovr" if ovr else "multinomial",
    )


def _model(
    options: Mapping[str, Any],
    threshold: float,
    header: list[str],
    classes: list[float],
    coef: Floats,
    intercept: Floats,
    iters: int,
    converged: bool,
    multi_class: str,
) -> Model:
    def single(row: int) -> dict[str, Any]:
        return {
            "iters": iters,
            "is_converged": converged,
            "weight": {name: float(w) for name, w in zip(header, coef[row], strict=True)},
            "intercept": float(intercept[row]),
            "header": header,
            "best_iteration": -1,
        }

    several = len(classes) > 2
    param: dict[str, Any]
    if several:
        param = {
            "one_vs_rest_result": {
                "completed_models": [single(k) for k in range(len(classes))],
                "one_vs_rest_classes": [label_text(c) for c in classes],
            },
            "need_one_vs_rest": True,
            "header": header,
        }
    else:
        param = {**single(0), "need_one_vs_rest": False}
    return {
        "meta": {
            "penalty": str(options.get("penalty", "l2")),
            "tol": float(options.get("tol", 1e-4)),
            "fit_intercept": bool(options.get("fit_intercept", True)),
            "optimizer": str(options.get("solver", "lbfgs")),
            "need_one_vs_rest": several,
            "max_iter": int(options.get("max_iter", 100)),
            "predict_param": {"threshold": threshold},
            "multi_class": multi_class,
            "classes": [label_text(c) for c in classes],
        },
        "param": param,
    }


def probabilities(
    model: Model, features: Floats, header: Sequence[str]
) -> tuple[Floats, list[float]]:
    """Each class's probability for each row, and the classes."""
    try:
        param, meta = model["param"], model["meta"]
        singles = (
            param["one_vs_rest_result"]["completed_models"] if meta["need_one_vs_rest"] else [param]
        )
        classes = [float(c) for c in meta["classes"]]
        names = list(param["header"])
        coef = np.array([[float(s["weight"][n]) for n in names] for s in singles])
        intercept = np.array([float(s["intercept"]) for s in singles])
        multi_class = meta["multi_class"]
    except (KeyError, TypeError, ValueError):
        raise InvalidArgument(f"{MODULE}: this is not a LocalBaseline model") from None
    missing = [n for n in names if n not in header]
    if missing:
        raise InvalidArgument(
            f"{MODULE}: the data lack the model's features {', '.join(missing[:5])}"
        )
    x = features[:, [list(header).index(n) for n in names]]
    z = x @ coef.T + intercept
    if len(classes) == 2:
        positive = _sigmoid(z[:, 0])
        return np.column_stack([1 - positive, positive]), classes
    if multi_class == "ovr":
        scores = _sigmoid(z)
        return scores / scores.sum(axis=1, keepdims=True), classes
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True), classes


def _sigmoid(z: Floats) -> Floats:
    result: Floats = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


def summary(model: Model) -> dict[str, Any]:
    param = model["param"]
    if not model["meta"]["need_one_vs_rest"]:
        return {
            "coef": param["weight"],
            "intercept": param["intercept"],
            "is_converged": param["is_converged"],
            "iters": param["iters"],
            "one_vs_rest": False,
        }
    result = param["one_vs_rest_result"]
    found: dict[str, Any] = {
        label: {
            "coef": single["weight"],
            "intercept": single["intercept"],
            "is_converged": single["is_converged"],
            "iters": single["iters"],
        }
        for label, single in zip(
            result["one_vs_rest_classes"], result["completed_models"], strict=True
        )
    }
    return {**found, "one_vs_rest": True}


# --- the component ----------------------------------------------------------------------


class LocalBaseline:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        data, kind = learner_input(context)
        trained = context.input_models()
        if trained:
            (model,) = trained.values()
        else:
            if data.labels is None:
                raise InvalidArgument(
                    f"{MODULE} fits on a party's own labelled data; a party without labels runs "
                    "it with need_run false"
                )
            model = fit(data.features, data.labels, data.weights, data.header, params)
            context.save_model(model)
            context.save_summary(summary(model))
        threshold = float(model["meta"]["predict_param"]["threshold"])
        scored = [(data, kind)] + [
            (Dataset.from_table(table), "validate")
            for table in context.input_tables("validate_data")
        ]
        tables = []
        for dataset, kind_of in scored:
            found, classes = probabilities(model, dataset.features, dataset.header)
            tables.append(
                class_prediction_table(
                    dataset.ids, dataset.labels, found, classes, threshold, kind_of, dataset.sid
                )
            )
        context.log.info("%s rows scored", sum(t.num_rows for t in tables))
        context.save_output_data(pa.concat_tables(tables))
