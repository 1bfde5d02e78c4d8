"""What HeteroDataSplit and HomoDataSplit share: FATE's DataSplitParam, the split of a party's
ids into train, validate and test sets, and FATE's metric of it.

    params = validate_parameters(component_parameters)
    split = split_ids(ids, labels, params)      # Split: the ids of each set, and their labels

The sizes are fractions (when any of them is a float) or row counts; the ones the conf leaves
out are what the others leave (none given: 0.8 train, 0.2 validate, 0 test, FATE's default),
and they must add up to 1 or to the row count. As FATE does, the ids are sorted, then
scikit-learn's `train_test_split` (`random_state`, `shuffle`, and with `stratified` the labels
as strata) takes the train set off, then splits the rest into validate and test. Continuous
labels are stratified by the bins `split_points` makes (a label goes to the first bin whose
point is not below it). The same ids, labels and parameters give the same split; labels are
kept aligned with the sorted ids (FATE 1.x reads them in table order, which may differ).

Each set keeps the input's rows in their input order. Metric: `train`/`data_split`
(`DATA_SPLIT`), whose meta (and the summary) hold `data_split_count_info`,
`data_split_ratio_info`, `stratified`, and, where the labels are, `data_split_label_info`.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.errors import InvalidArgument

#: FATE's `consts.FLOAT_ZERO`: sizes within it of 0 count as 0.
FLOAT_ZERO = 1e-8
#: FATE's three outputs, in the order the DSL lists its output names.
SETS = ("train", "validate", "test")

# FATE's DataSplitParam defaults (federatedml/param/data_split_param.py).
DEFAULTS: dict[str, Any] = {
    "random_state": None,
    "test_size": None,
    "train_size": None,
    "validate_size": None,
    "stratified": False,
    "shuffle": True,
    "split_points": None,
}

Size = int | float


def validate_parameters(module: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(module, params, DEFAULTS)
    seed = reader.raw("random_state")
    sizes = {name: _size(reader, name) for name in ("test_size", "train_size", "validate_size")}
    if all(size is None for size in sizes.values()):
        sizes = {"test_size": 0.0, "train_size": 0.8, "validate_size": 0.2}
    points = reader.raw("split_points")
    if points is not None and not (
        isinstance(points, list) and all(isinstance(p, int | float) for p in points)
    ):
        raise reader.error("split_points", points, "must be a list of numbers")
    return {
        "random_state": None if seed is None else reader.integer("random_state", minimum=0),
        **sizes,
        "stratified": reader.boolean("stratified"),
        "shuffle": reader.boolean("shuffle"),
        "split_points": None if points is None else sorted(float(p) for p in points),
    }


def _size(reader: ParamReader, name: str) -> Size | None:
    value = reader.raw(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return reader.integer(name, minimum=0)
    return reader.number(name, minimum=0, maximum=1)


@dataclass(frozen=True)
class Split:
    """The ids of each set (train, validate, test), and their labels (or strata)."""

    ids: dict[str, list[str]]
    labels: dict[str, list[Any]]


def sizes(params: Mapping[str, Any], count: int) -> tuple[Size, Size, Size]:
    """(train, validate, test), the missing ones filled in as FATE's `param_validator` does."""
    train, validate, test = params["train_size"], params["validate_size"], params["test_size"]
    total: Size = 1.0 if any(isinstance(s, float) for s in (train, validate, test)) else count
    if train is None:
        test = 0 if test is None else test
        train = total - test - (0 if validate is None else validate)
        validate = total - test - train
    elif test is None:
        test = total - train - (0 if validate is None else validate)
        validate = total - test - train
    elif validate is None:
        validate = total - test - train
    if abs(abs(train) + abs(test) + abs(validate) - total) > FLOAT_ZERO:
        raise InvalidArgument(
            f"train_size {train:g}, validate_size {validate:g} and test_size {test:g} must be "
            f"at least 0 and add up to {'1' if isinstance(total, float) else 'the row count'}",
            parameter="train_size",
        )
    return train, validate, test


def strata(labels: Sequence[float], split_points: Sequence[float] | None) -> list[Any]:
    """What stratifies: the labels, or the bins of continuous labels."""
    if not split_points:
        return list(labels)
    return [bisect.bisect_left(split_points, label) for label in labels]


def split_ids(
    ids: Sequence[str], labels: Sequence[float] | None, params: Mapping[str, Any]
) -> Split:
    order = sorted(range(len(ids)), key=lambda k: ids[k])
    sorted_ids = [ids[k] for k in order]
    stratified = params["stratified"]
    if stratified and labels is None:
        raise InvalidArgument("a stratified split needs the labels: set with_label")
    y = (
        strata([labels[k] for k in order], params["split_points"])
        if stratified and labels
        else ([0] * len(ids))
    )
    train, validate, test = sizes(params, len(ids))
    id_train, id_rest, y_train, y_rest = _split(sorted_ids, y, validate + test, train, params)
    share_validate, share_test = _shares(validate, test)
    id_validate, id_test, y_validate, y_test = _split(
        id_rest, y_rest, share_test, share_validate, params
    )
    return Split(
        {"train": id_train, "validate": id_validate, "test": id_test},
        {"train": y_train, "validate": y_validate, "test": y_test},
    )


def _shares(validate: Size, test: Size) -> tuple[Size, Size]:
    """FATE's `get_train_test_size`: counts stay counts, fractions become shares of the rest."""
    if isinstance(validate, int) and isinstance(test, int):
        return validate, test
    total = validate + test
    return (
        min(1.0, validate / total) if total > FLOAT_ZERO else 0.0,
        min(1.0, test / total) if total > FLOAT_ZERO else 0.0,
    )


def _split(
    ids: list[str], y: list[Any], test_size: Size, train_size: Size, params: Mapping[str, Any]
) -> tuple[list[str], list[str], list[Any], list[Any]]:
    if test_size <= FLOAT_ZERO or not ids:
        return ids, [], y, []
    if train_size <= FLOAT_ZERO:
        return [], ids, [], y
    if not isinstance(test_size, int):
        train_size = round(train_size * len(ids))
        test_size = len(ids) - train_size
    # scikit-learn takes seconds to import: only the tasks that use it pay for it.
    from sklearn.model_selection import train_test_split

    try:
        id_a, id_b, y_a, y_b = train_test_split(
            ids,
            y,
            test_size=test_size,
            train_size=train_size,
            random_state=params["random_state"],
            shuffle=params["shuffle"],
            stratify=y if params["stratified"] else None,
        )
    except ValueError as error:
        raise InvalidArgument(f"the data cannot be split so: {error}") from None
    return list(id_a), list(id_b), list(y_a), list(y_b)


def take_sets(data: Dataset, ids: Mapping[str, Sequence[str]]) -> dict[str, Dataset]:
    """Each set's rows, in the input's order."""
    membership = {value: name for name, members in ids.items() for value in members}
    kinds = np.array([membership.get(str(value), "") for value in data.ids], dtype=object)
    return {name: data.take(np.flatnonzero(kinds == name)) for name in SETS}


# --- tracking -----------------------------------------------------------------------------


def metas(split: Split, params: Mapping[str, Any], with_labels: bool) -> dict[str, Any]:
    counts = {name: len(split.ids[name]) for name in SETS}
    original = sum(counts.values())
    found: dict[str, Any] = {
        "data_split_count_info": {**counts, "original": original},
        "data_split_ratio_info": {
            name: round(count / original, 3) if original else 0.0 for name, count in counts.items()
        },
        "stratified": params["stratified"],
    }
    if with_labels and params["stratified"]:
        points = params["split_points"]
        everything = [y for name in SETS for y in split.labels[name]]
        keys = list(range(len(points) + 1)) if points else sorted(set(everything))

        def frequencies(values: Sequence[Any]) -> dict[str, int]:
            counted = Counter(values)
            return {_key(k): counted.get(k, 0) for k in keys}

        info: dict[str, Any] = {"original": frequencies(everything)}
        info.update({name: frequencies(split.labels[name]) for name in SETS})
        if points:
            info.update(split_points=points, continuous_label=True)
        else:
            info.update(label_names=[_key(k) for k in keys], continuous_label=False)
        found["data_split_label_info"] = info
    return found


def _key(value: Any) -> str:
    return label_text(value) if isinstance(value, float) else str(value)


def save(context: TaskContext, sets: Mapping[str, Dataset], found: Mapping[str, Any]) -> None:
    """Each set under the DSL's output names (train, validate, test by position), the metric
    and the summary."""
    names = list(context.wiring.data_outputs) or [f"{name}_data" for name in SETS]
    for name, kind in zip(names, SETS, strict=False):
        context.save_output_data(sets[kind].to_table(), name)
    context.log_metric(
        "train",
        "data_split",
        [("data_split", 0)],
        {"name": "data_split", "metric_type": "DATA_SPLIT", **found},
    )
    context.save_summary(dict(found))
    context.log.info("split %s", {kind: len(sets[kind].ids) for kind in SETS})
