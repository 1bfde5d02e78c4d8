"""SampleWeight (FATE 1.7's `SampleWeight`): a weight for each sample, which the learners
after it use (HeteroLR and HomoLR weigh each sample's gradient and loss by it, LocalBaseline
passes it to scikit-learn); nothing crosses.

- `class_weight: "balanced"`: a sample of class c weighs n / (k n_c) (n samples, k classes,
  n_c of class c), scikit-learn's and FATE's balanced weights;
- `class_weight: {"0": 1, "1": 2}`: the given weight per class, 1 for a class it does not name;
- `sample_weight_name: "x0"`: the weight is that feature's value, and the feature leaves the
  features (`normalize` divides by the mean weight). It wins over `class_weight`, as in FATE.

With neither, the data pass unchanged. The weight is the dataset's weight column (`Dataset`);
the guest's weights only, in hetero jobs: a host sets need_run false, as FATE's examples do. A
predict job weighs new data as the trained model says (the class weights it computed; the
same weight column), or leaves unlabelled data unweighted.

Model: FATE's `SampleWeightModelMeta` (sample_weight_name, normalize) and
`SampleWeightModelParam` (header, weight_mode "class weight" or "sample weight name",
class_weight). Metric: `train`/`sample_weight` (`SAMPLE_WEIGHT`, with the mode and weights).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "SampleWeight"
CLASS_WEIGHT, WEIGHT_NAME = "class weight", "sample weight name"

# FATE's SampleWeightParam defaults (federatedml/param/sample_weight_param.py).
DEFAULTS: dict[str, Any] = {"class_weight": None, "sample_weight_name": None, "normalize": False}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    class_weight = reader.raw("class_weight") or None
    if isinstance(class_weight, str):
        class_weight = reader.choice("class_weight", ("balanced",))
    elif isinstance(class_weight, Mapping):
        weights = {}
        for key, value in class_weight.items():
            try:
                label = float(key)
            except ValueError:
                raise reader.error(
                    f"class_weight.{key}", value, "is keyed by a text, but labels here are numbers"
                ) from None
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise reader.error(f"class_weight.{key}", value, "must be a number")
            weights[label_text(label)] = float(value)
        class_weight = weights
    elif class_weight is not None:
        raise reader.error("class_weight", class_weight, 'must be "balanced" or an object')
    name = reader.raw("sample_weight_name") or None
    if name is not None and not isinstance(name, str):
        raise reader.error("sample_weight_name", name, "must be a column name")
    return {
        "class_weight": class_weight,
        "sample_weight_name": name,
        "normalize": reader.boolean("normalize"),
    }


def balanced(labels: np.ndarray[Any, Any]) -> dict[str, float]:
    classes, counts = np.unique(labels, return_counts=True)
    return {
        label_text(c): len(labels) / (len(classes) * int(n))
        for c, n in zip(classes.tolist(), counts.tolist(), strict=True)
    }


def by_class(data: Dataset, weights: Mapping[str, float]) -> Dataset:
    assert data.labels is not None
    values = np.array([weights.get(label_text(v), 1.0) for v in data.labels.tolist()])
    return _weighted(data, values)


def by_column(data: Dataset, name: str, normalize: bool) -> Dataset:
    column = data.header.index(name)
    values = data.features[:, column].copy()
    if normalize:
        mean = values.mean() if len(values) else 1.0
        values = values / mean
    kept = [k for k in range(len(data.header)) if k != column]
    return _weighted(
        dataclasses.replace(
            data,
            features=data.features[:, kept],
            header=[data.header[k] for k in kept],
        ),
        values,
    )


def _weighted(data: Dataset, weights: np.ndarray[Any, Any]) -> Dataset:
    taken = {data.sid, data.label_name, *data.header}
    # FATE's schema names the weight "weight"; another name if a column has it already.
    name = next(n for n in ("weight", "sample_weight", "_weight") if n not in taken)
    return dataclasses.replace(data, weights=weights.astype(np.float64), weight_name=name)


# --- the component ----------------------------------------------------------------------


class SampleWeight:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        tables = context.input_tables("data")
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(tables[0])
        trained = context.input_models()
        if trained:
            (model,) = trained.values()
            mode, name, normalize, weights = _read_model(model)
        else:
            name, normalize = params["sample_weight_name"], params["normalize"]
            mode = WEIGHT_NAME if name else CLASS_WEIGHT if params["class_weight"] else None
            weights = None
            if mode == WEIGHT_NAME and name not in data.header:
                raise InvalidArgument(
                    f"{MODULE} parameter sample_weight_name names {name!r}, which is not a "
                    f"feature of this party ({', '.join(data.header[:5])}...)",
                    parameter="sample_weight_name",
                )
            if mode == CLASS_WEIGHT:
                if data.labels is None:
                    raise InvalidArgument(
                        f"{MODULE}: class_weight needs labelled data; a party without labels "
                        "runs it with need_run false"
                    )
                given = params["class_weight"]
                weights = balanced(data.labels) if given == "balanced" else given
        if mode == WEIGHT_NAME and name in data.header:
            weighted = by_column(data, name, normalize)
        elif mode == CLASS_WEIGHT and weights is not None and data.labels is not None:
            weighted = by_class(data, weights)
        else:
            weighted = data  # nothing to weigh by: FATE returns its input
        if not trained:
            context.save_model(
                {
                    "meta": {"sample_weight_name": name, "normalize": normalize, "need_run": True},
                    "param": {"header": data.header, "weight_mode": mode, "class_weight": weights},
                }
            )
        context.log_metric(
            "train",
            "sample_weight",
            [("sample_weight", 0)],
            {
                "name": "train",
                "metric_type": "SAMPLE_WEIGHT",
                "weight_mode": mode,
                "class_weight": weights,
                "classes": sorted(weights) if weights else None,
                "sample_weight_name": name,
            },
        )
        if weighted.weights is not None and np.any(weighted.weights < 0):
            context.log.warning("%s: negative sample weights", mode)
        context.log.info("%s: %s samples weighted", mode, len(weighted.ids))
        context.save_output_data(weighted.to_table())


def _read_model(
    model: Mapping[str, Any],
) -> tuple[str | None, str | None, bool, dict[str, float] | None]:
    try:
        meta, param = model["meta"], model["param"]
        weights = param["class_weight"]
        return (
            param["weight_mode"],
            meta["sample_weight_name"],
            bool(meta["normalize"]),
            None if weights is None else {str(k): float(v) for k, v in weights.items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidArgument(f"{MODULE}: this is not a SampleWeight model") from None
