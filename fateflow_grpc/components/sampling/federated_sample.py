"""FederatedSample (FATE's `FederatedSample`): a sample of the rows, the same at every party
of a hetero job.

    sample = draw(ids, labels, weights, params)      # Sample: the ids drawn, and their new ids
    rows = sample.rows(ids)                           # positions in the data, in sample order

Modes (`mode`, `method`, `fractions`, `random_state`, FATE's names):

- `random`: `downsample` draws max(1, int(f n)) rows without replacement (f in [0, 1]),
  `upsample` int(f n) with replacement (f > 0);
- `stratified`: the same per class, `fractions` giving [label, f] for every label;
- `exact_by_weight` (FATE 1.7): ceil(w) copies of each row of weight w > 1e-8 (the weights
  SampleWeight set), under the ids `<id>_<k>`, keeping their weights, as FATE does.

Draws use scikit-learn's `resample` over the sorted ids with `random_state`, as FATE draws over
its table's ids, so a seed gives the same sample whatever the rows' order. A downsample keeps
the input's order and ids; an upsample numbers its rows `0`, `1`, ... in draw order (FATE's
keys), and a stratified one shuffles the draws first (seeded too, where FATE's shuffle is not).

`task_type: hetero` (the default): the guest draws and sends each host the drawn ids and their
new ids (`sample_ids`), and every party outputs those rows, so their ids match; a host learns
which ids were drawn, as in FATE (a stratified draw with unequal fractions tells it which rows
are more likely of which class, which FATE's protocol tells it too). `homo`: each party draws
from its own rows. Metrics: namespace `sample_count`, named after the mode (`SAMPLE_TEXT`: the
count; stratified: `SAMPLE_TABLE`s of the count per label, and `original_count`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "FederatedSample"
SAMPLE_IDS = "SampleTransferVariable.sample_ids"
TAG = "sample"
#: FATE's `consts.FLOAT_ZERO`: lighter rows are dropped by `exact_by_weight`.
FLOAT_ZERO = 1e-8

# FATE's SampleParam defaults (federatedml/param/sample_param.py).
DEFAULTS: dict[str, Any] = {
    "mode": "random",
    "method": "downsample",
    "fractions": None,
    "random_state": None,
    "task_type": "hetero",
}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    mode = reader.choice("mode", ("random", "stratified", "exact_by_weight"))
    method = reader.choice("method", ("downsample", "upsample"))
    seed = reader.raw("random_state")
    fractions: Any = None
    if reader.raw("fractions") is None:
        pass  # as FATE's check: a hetero host draws nothing; where one draws, `draw` refuses it
    elif mode == "random":
        fractions = _fraction(reader, reader.raw("fractions"), method)
    elif mode == "stratified":
        pairs = reader.raw("fractions")
        if not isinstance(pairs, list) or not pairs:
            raise reader.error("fractions", pairs, "must list [label, fraction] pairs")
        fractions = []
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and _is_number(pair[0])):
                raise reader.error("fractions", pairs, "must list [label, fraction] pairs")
            fractions.append([float(pair[0]), _fraction(reader, pair[1], method)])
        labels = [label for label, _ in fractions]
        if len(set(labels)) != len(labels):
            raise reader.error("fractions", pairs, "names a label twice")
    return {
        "mode": mode,
        "method": method,
        "fractions": fractions,
        "random_state": None if seed is None else reader.integer("random_state", minimum=0),
        "task_type": reader.choice("task_type", ("hetero", "homo")),
    }


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fraction(reader: ParamReader, value: object, method: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise reader.error("fractions", value, "must be a sampling rate (a number)")
    rate = float(value)
    if method == "downsample" and not 0 <= rate <= 1:
        raise reader.error("fractions", value, "must be between 0 and 1 to downsample")
    if method == "upsample" and rate <= 0:
        raise reader.error("fractions", value, "must be above 0 to upsample")
    return rate


@dataclass(frozen=True)
class Sample:
    """The ids drawn, in output order, and their new ids (None: the same ids)."""

    ids: list[str]
    new_ids: list[str] | None
    #: label -> (drawn, present) for a stratified draw; the count alone otherwise.
    counts: dict[str, tuple[int, int]]

    def rows(self, ids: Sequence[str]) -> list[int]:
        """Positions of the drawn rows in `ids`; a downsample keeps their order."""
        position = {value: k for k, value in enumerate(ids)}
        missing = [value for value in self.ids if value not in position]
        if missing:
            raise InvalidArgument(
                f"{MODULE}: the guest drew {len(missing)} ids this party does not have (such "
                f"as {missing[0]!r}); intersect the data first",
                missing=len(missing),
            )
        rows = [position[value] for value in self.ids]
        return sorted(rows) if self.new_ids is None else rows


def draw(
    ids: Sequence[str],
    labels: Sequence[float] | None,
    weights: Sequence[float] | None,
    params: Mapping[str, Any],
) -> Sample:
    mode, method, seed = params["mode"], params["method"], params["random_state"]
    ordered = sorted(ids)
    if mode == "exact_by_weight":
        if weights is None:
            raise InvalidArgument(
                f"{MODULE}: exact_by_weight copies rows by their weight; these data have none "
                "(put SampleWeight before it)"
            )
        weight = dict(zip(ids, weights, strict=True))
        drawn = [
            (value, math.ceil(weight[value])) for value in ordered if weight[value] > FLOAT_ZERO
        ]
        return Sample(
            [value for value, copies in drawn for _ in range(copies)],
            [f"{value}_{k}" for value, copies in drawn for k in range(copies)],
            {"count": (sum(copies for _, copies in drawn), len(ids))},
        )
    if params["fractions"] is None:
        raise InvalidArgument(
            f"{MODULE} parameter fractions must be given where the sample is drawn (the guest "
            f"of a hetero job, each party of a homo one), not None",
            parameter="fractions",
        )
    upsample = method == "upsample"
    if mode == "random":
        chosen = _resample(ordered, params["fractions"], upsample, seed)
        return Sample(
            chosen,
            [str(k) for k in range(len(chosen))] if upsample else None,
            {"count": (len(chosen), len(ids))},
        )
    if labels is None:
        raise InvalidArgument(f"{MODULE}: a stratified sample needs the labels: set with_label")
    label_of = dict(zip(ids, labels, strict=True))
    rates = dict(params["fractions"])
    unknown = sorted({float(v) for v in labels} - set(rates))
    if unknown:
        raise InvalidArgument(
            f"{MODULE} parameter fractions gives no rate for label {label_text(unknown[0])}",
            parameter="fractions",
        )
    chosen, counts = [], {}
    for label, rate in params["fractions"]:
        members = [value for value in ordered if label_of[value] == label]
        picked = _resample(members, rate, upsample, seed) if members else []
        chosen += picked
        counts[label_text(label)] = (len(picked), len(members))
    order = np.random.default_rng(seed).permutation(len(chosen))
    chosen = [chosen[k] for k in order]
    return Sample(chosen, [str(k) for k in range(len(chosen))] if upsample else None, counts)


def _resample(ids: list[str], rate: float, upsample: bool, seed: int | None) -> list[str]:
    count = int(rate * len(ids)) if upsample else max(1, int(rate * len(ids)))
    if not ids or count == 0:
        return []
    # scikit-learn takes seconds to import: only the tasks that use it pay for it.
    from sklearn.utils import resample

    return list(resample(ids, replace=upsample, n_samples=count, random_state=seed))


def apply(data: Dataset, sample: Sample) -> Dataset:
    taken = data.take(np.array(sample.rows([str(v) for v in data.ids]), dtype=np.intp))
    if sample.new_ids is None:
        return taken
    return dataclasses.replace(taken, ids=np.array(sample.new_ids, dtype=object))


# --- the federation -----------------------------------------------------------------------


def send_sample(transport: Transport, sample: Sample, parties: Participants) -> None:
    transport.remote(
        {"sample_ids": sample.ids, "new_ids": sample.new_ids}, SAMPLE_IDS, TAG, list(parties.hosts)
    )


def receive_sample(
    transport: Transport, parties: Participants, *, timeout: float = GET_TIMEOUT_S
) -> Sample:
    [sent] = transport.get(SAMPLE_IDS, TAG, [parties.guest], timeout)
    try:
        assert isinstance(sent, dict)
        ids, new_ids = sent["sample_ids"], sent["new_ids"]
        assert isinstance(ids, list) and all(isinstance(v, str) for v in ids)
        assert new_ids is None or (
            isinstance(new_ids, list)
            and len(new_ids) == len(ids)
            and all(isinstance(v, str) for v in new_ids)
        )
    except (AssertionError, KeyError):
        raise FederatedError("the guest sent sample ids that are not lists of ids") from None
    return Sample(ids, new_ids, {"count": (len(ids), len(ids))})


# --- the component ----------------------------------------------------------------------


class FederatedSample:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        need_deploy=False,
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        tables = context.input_tables("data")
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(tables[0])
        hetero = params["task_type"] == "hetero"
        parties = Participants.from_roles(context.roles) if hetero else None
        if hetero and context.task.role == "host":
            assert parties is not None
            sample = receive_sample(context.federation, parties)
        else:
            sample = draw(
                [str(v) for v in data.ids],
                None if data.labels is None else data.labels.tolist(),
                None if data.weights is None else data.weights.tolist(),
                params,
            )
            if parties is not None:
                send_sample(context.federation, sample, parties)
        sampled = apply(data, sample)
        self._track(
            context, params["mode"], sample, drew=context.task.role == "guest" or not hetero
        )
        context.log.info("%s rows drawn from %s", len(sampled.ids), len(data.ids))
        context.save_output_data(sampled.to_table())

    @staticmethod
    def _track(context: TaskContext, mode: str, sample: Sample, drew: bool) -> None:
        if mode != "stratified":
            context.log_metric(
                "sample_count",
                mode,
                [("count", len(sample.ids))],
                {"name": "sample_count", "metric_type": "SAMPLE_TEXT"},
            )
            context.save_summary({"sample_count": len(sample.ids)})
        elif drew:  # a host does not know the labels
            drawn = {label: n for label, (n, _) in sample.counts.items()}
            present = {label: n for label, (_, n) in sample.counts.items()}
            for name, counts in (("sample_count", drawn), ("original_count", present)):
                context.log_metric(
                    name,
                    "stratified",
                    list(counts.items()),
                    {"name": name, "metric_type": "SAMPLE_TABLE"},
                )
            context.save_summary({"sample_count": drawn, "original_count": present})
