"""FATE's one-vs-rest (`federatedml/one_vs_rest/one_vs_rest.py`) for the linear classifiers:
with more than two classes, one binary model per class (that class against the others), each
trained by the classifier's own protocol under the flowid `model_<k>`; a row's prediction is
the class whose model scores it highest, its score that model's probability, its detail every
class's probability (FATE's `predict_score_to_output`, no normalising).

    classes = classes_of(labels)                         # sorted, FATE's order
    transport = sub_transport(transport, k)              # the k-th class's tags
    validate = as_class(validate, classes[k])            # its labels: that class or the rest
    param = combine(header, [param_k ...], classes)      # FATE's model param
    classes, params = split(param)                       # None for a binary model's
    model = model_of(meta, header, [param_k ...], classes)  # the whole model, meta too
    classes, models = binary_models(model)               # None for a binary model

The model is FATE's `LRModelParam` with `need_one_vs_rest` and `one_vs_rest_result`
(`completed_models`, one binary model's param per class, and `one_vs_rest_classes`, the
classes as strings). A party that has no labels (a hetero host, the arbiter) numbers the
classes 0 to n-1, as FATE's does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.transport import Prefixed, Transport
from fateflow_grpc.errors import InvalidArgument

#: FATE's transfer variables: the guest tells the other parties how many classes there are
#: (hetero), the hosts tell the guest theirs (homo).
AGGREGATE_CLASSES = "OneVsRestTransferVariable.aggregate_classes"
HOST_CLASSES = "OneVsRestTransferVariable.host_classes"


def classes_of(labels: npt.ArrayLike) -> list[float]:
    values = np.asarray(labels, dtype=np.float64)
    return sorted(set(np.unique(values).tolist()))


def sub_transport(transport: Transport, index: int) -> Transport:
    return Prefixed(transport, f"model_{index}")


def as_class(data: Dataset | None, label: float) -> Dataset | None:
    """`data` labelled for the model of class `label`: 1 for that class, 0 for the rest (the
    validate data each class's model is scored on, FATE's `_mask_data_label`)."""
    if data is None or data.labels is None:
        return data
    return dataclasses.replace(data, labels=(data.labels == label).astype(np.float64))


def combine(
    header: Sequence[str], params: Sequence[Mapping[str, Any]], classes: Sequence[float]
) -> dict[str, Any]:
    """FATE's `LRModelParam` of the one-vs-rest model of the binary models' params, in
    `classes`' order."""
    return {
        "iters": max((int(p.get("iters", 0)) for p in params), default=0),
        "loss_history": [],
        "is_converged": all(bool(p.get("is_converged")) for p in params),
        "weight": {},
        "intercept": 0.0,
        "header": list(header),
        "best_iteration": -1,
        "need_one_vs_rest": True,
        "one_vs_rest_result": {
            "completed_models": [dict(p) for p in params],
            "one_vs_rest_classes": [label_text(c) for c in classes],
        },
    }


def split(param: Mapping[str, Any]) -> tuple[list[float], list[dict[str, Any]]] | None:
    """The classes and the binary models' params of a one-vs-rest model's param; None for a
    binary model's."""
    if not param.get("need_one_vs_rest"):
        return None
    result = param.get("one_vs_rest_result")
    if not isinstance(result, Mapping):
        raise InvalidArgument("this one-vs-rest model has no one_vs_rest_result")
    completed = result.get("completed_models")
    names = result.get("one_vs_rest_classes")
    if (
        not isinstance(completed, list)
        or not isinstance(names, list)
        or len(completed) != len(names)
        or len(names) < 3
        or not all(isinstance(part, dict) for part in completed)
    ):
        raise InvalidArgument("this one-vs-rest model's models and classes do not match")
    try:
        classes = [float(name) for name in names]
    except (TypeError, ValueError):
        raise InvalidArgument("this one-vs-rest model's classes are not numbers") from None
    return classes, completed


def model_of(
    meta: Mapping[str, Any],
    header: Sequence[str],
    params: Sequence[Mapping[str, Any]],
    classes: Sequence[float],
) -> dict[str, Any]:
    """FATE's one-vs-rest model of the binary models' params, with the classifier's `meta`."""
    return {"meta": {**meta, "need_one_vs_rest": True}, "param": combine(header, params, classes)}


def binary_models(model: Mapping[str, Any]) -> tuple[list[float], list[dict[str, Any]]] | None:
    """The classes and binary models (meta and param) of a one-vs-rest model; None for a
    binary model."""
    param = model.get("param") if isinstance(model, Mapping) else None
    parts = split(param) if isinstance(param, Mapping) else None
    if parts is None:
        return None
    meta = {**model.get("meta", {}), "need_one_vs_rest": False}
    return parts[0], [{"meta": meta, "param": part} for part in parts[1]]
