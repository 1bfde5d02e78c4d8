"""HeteroFeatureBinning (FATE's module): bins every party's features, and gives the guest the
WOE and IV of all of them, its own and the hosts', without showing a host's values to the guest
or the labels to a host.

    params = validate_parameters(component_parameters)
    model, data = fit_guest(transport, dataset, params, parties)     # the guest
    model, data = fit_host(transport, dataset, params, parties)      # each host
    data = apply(model, dataset, role)                               # a predict job, any party

The protocol (FATE 1.x's, with a Paillier key the guest makes for the job):

1. the guest encrypts each row's label as one number, the label's one-hot vector packed in
   base rows + 1 (so one ciphertext per row whatever the number of classes), and sends the
   ciphertexts with the rows' ids to every host (`encrypted_label`, `encrypted_label_info`);
2. a host bins its own columns, multiplies the ciphertexts of each bin's rows (the encrypted
   sum of its label counts), re-randomises each sum, and sends them under its columns'
   anonymous names (`host_10000_x3`), with each column's bin count (`encrypted_bin_sum`,
   `optimal_info`);
3. the guest decrypts the counts and computes each host column's WOE and IV, which it keeps;
   with `method: optimal`, it merges the host's initial bins by the counts and sends back which
   bins to keep (`bucket_idx`), from which the host takes its split points.

So the guest learns each host bin's label counts (what WOE and IV are made of), never a host's
split points or values; a host learns nothing of the labels (it sees ciphertexts only) and gets
no IV, as in FATE, where only the guest holds the hosts' IV. Without labels, or with
`skip_static` or `local_only`, every party bins alone.

Departures from FATE: a predict job applies the trained split points (or WOE) and does not
compute the new data's IV (FATE's `transform_binning_result`); the quantiles are exact within
FATE's `error` bound (see `binning`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import gmpy2
import numpy as np

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.feature.binning import BinningParams, Columns
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers

MODULE = "HeteroFeatureBinning"
_VARIABLES = "HeteroFeatureBinningTransferVariable"
ENCRYPTED_LABEL = f"{_VARIABLES}.encrypted_label"
#: Ours: the public key, the rows' ids and the packing of the labels, beside the ciphertexts.
ENCRYPTED_LABEL_INFO = f"{_VARIABLES}.encrypted_label_info"
ENCRYPTED_BIN_SUM = f"{_VARIABLES}.encrypted_bin_sum"
OPTIMAL_INFO = f"{_VARIABLES}.optimal_info"
BUCKET_IDX = f"{_VARIABLES}.bucket_idx"
TAG = "fit"

# FATE's HeteroFeatureBinningParam: 1.5's FeatureBinningParam, then 1.11's encrypt_param and
# manual split points.
DEFAULTS: dict[str, Any] = {
    **binning.COMMON_DEFAULTS,
    "optimal_binning_param": binning.OPTIMAL_DEFAULTS,
    "encrypt_param": {"method": "Paillier", "key_length": paillier.DEFAULT_KEY_LENGTH},
    "split_points_by_index": None,
    "split_points_by_col_name": None,
}


def validate_parameters(params: Mapping[str, Any] | None = None) -> BinningParams:
    reader = ParamReader(MODULE, params, DEFAULTS)
    common = binning.read_common(reader, (binning.QUANTILE, binning.BUCKET, binning.OPTIMAL))
    optimal = binning.read_optimal(reader)
    encrypt = reader.section("encrypt_param")
    encrypt.choice("method", ("Paillier",))
    key_length = encrypt.raw("key_length")
    try:
        paillier.validate_key_length(key_length)
    except InvalidArgument as error:
        raise encrypt.error("key_length", key_length, f"is not usable: {error.message}") from None
    if common["skip_static"] and common["method"] == binning.OPTIMAL:
        raise reader.error("method", "optimal", "needs skip_static false (it bins by the labels)")
    if (
        common["method"] == binning.OPTIMAL
        and math.ceil(1 / max(optimal.max_bin_pct, 1e-12)) > (common["bin_num"])
    ):
        raise reader.section("optimal_binning_param").error(
            "max_bin_pct", optimal.max_bin_pct, "must leave ceil(1 / max_bin_pct) <= bin_num"
        )
    return BinningParams(
        **common,
        optimal=optimal,
        key_length=int(key_length),
        split_points_by_index=_manual(reader, "split_points_by_index", by_index=True),
        split_points_by_col_name=_manual(reader, "split_points_by_col_name", by_index=False),
    )


def _manual(reader: ParamReader, name: str, *, by_index: bool) -> Any:
    value = reader.raw(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise reader.error(name, value, "must be an object of split point lists")
    result: dict[Any, list[float]] = {}
    for key, points in value.items():
        if not isinstance(points, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) for p in points
        ):
            raise reader.error(name, value, f"gives {key!r} something other than a list of numbers")
        if sorted(points) != points or not points:
            raise reader.error(name, value, f"gives {key!r} split points that are not sorted")
        if by_index:
            if not str(key).isdigit():
                raise reader.error(name, value, f"has a key {key!r} that is not a column index")
            result[int(key)] = [float(p) for p in points]
        else:
            result[str(key)] = [float(p) for p in points]
    return result


# --- the fit -------------------------------------------------------------------------------


@dataclass
class Fitted:
    """One party's binning: split points per column, and what the statics made of them."""

    columns: Columns
    points: dict[str, list[float]]
    #: Per class (one for two classes): {column: IVParam statics}; empty without statics.
    results: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    classes: list[float] = field(default_factory=list)
    missing: dict[str, bool] = field(default_factory=dict)
    optimal_metric: dict[str, list[float]] = field(default_factory=dict)
    #: The guest's: per host, (party, per class {anonymous column: IVParam statics}).
    hosts: list[tuple[PartyRole, list[dict[str, dict[str, Any]]]]] = field(default_factory=list)


def split_points(
    params: BinningParams,
    features: binning.Floats,
    columns: Columns,
    labels: binning.Floats | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each binned column's split points (and, for optimal binning, its metric array), by the
    party's own data: optimal binning needs the labels, the hosts' is the guest's job."""
    points: dict[str, list[float]] = {}
    metrics: dict[str, list[float]] = {}
    if params.manual:
        points = _manual_points(params, columns)
    for name in columns.bin_names:
        if name in points:
            continue
        values = features[:, columns.index(name)]
        if params.method == binning.BUCKET:
            points[name] = binning.bucket_points(values, params.bin_num)
        elif params.method == binning.QUANTILE or labels is None:
            bins = (
                params.optimal.init_bin_nums if params.method == binning.OPTIMAL else params.bin_num
            )
            points[name] = binning.quantile_points(values, bins, params.error)
        else:
            initial = _initial_points(params, values)
            classes = binning.label_classes(labels)
            if len(classes) > 2:
                raise InvalidArgument("optimal binning takes two label classes only, as FATE's")
            counts = binning.label_counts(
                binning.bin_indexes(values, initial), binning.onehot_labels(labels, classes)
            )
            ends, metric = binning.optimal_groups(
                counts[:, 0],
                counts.sum(axis=1) - counts[:, 0],
                params.optimal,
                params.bin_num,
                params.adjustment_factor,
            )
            points[name] = [initial[end] for end in ends]
            metrics[name] = metric
    for name in columns.category_names:
        points[name] = binning.category_points(features[:, columns.index(name)])
    return points, metrics


def _initial_points(params: BinningParams, values: binning.Floats) -> list[float]:
    bins = params.optimal.init_bin_nums
    if params.optimal.init_bucket_method == binning.BUCKET:
        return binning.bucket_points(values, bins)
    return binning.quantile_points(values, bins, params.error)


def _manual_points(params: BinningParams, columns: Columns) -> dict[str, list[float]]:
    points: dict[str, list[float]] = {}
    for index, values in (params.split_points_by_index or {}).items():
        if index >= len(columns.header):
            raise InvalidArgument(
                f"split_points_by_index names column {index}, beyond the data's "
                f"{len(columns.header)} columns",
                parameter="split_points_by_index",
            )
        points[columns.header[index]] = values
    for name, values in (params.split_points_by_col_name or {}).items():
        if name in points:
            raise InvalidArgument(
                f"split points for {name!r} are given both by index and by name",
                parameter="split_points_by_col_name",
            )
        points[name] = values
    # FATE's check too (a ValueError in its fit): category columns are not binned columns, so
    # FATE's own example with category_indexes [0, 1, 2] and points for x0..x9 fails there.
    if set(points) != set(columns.bin_names):
        given = [name for name in columns.header if name in points]
        given += sorted(set(points) - set(given))
        category = f" (category columns: {', '.join(columns.category_names)})"
        raise InvalidArgument(
            "the manual split points must name exactly the binned columns "
            f"({', '.join(columns.bin_names)}), not {', '.join(given)}"
            f"{category if columns.category_names else ''}",
            parameter="split_points_by_col_name",
        )
    return points


def _own_statics(
    params: BinningParams,
    features: binning.Floats,
    columns: Columns,
    points: Mapping[str, list[float]],
    labels: binning.Floats,
) -> tuple[list[float], list[dict[str, dict[str, Any]]]]:
    classes = binning.label_classes(labels)
    onehot = binning.onehot_labels(labels, classes)
    counts = {
        name: binning.label_counts(
            binning.bin_indexes(features[:, columns.index(name)], points[name]), onehot
        )
        for name in columns.binned
    }
    return classes, binning.results_from_counts(counts, classes, params.adjustment_factor)


def _missing(features: binning.Floats, columns: Columns) -> dict[str, bool]:
    return {name: bool(np.isnan(features[:, columns.index(name)]).any()) for name in columns.binned}


def fit_guest(
    transport: Transport,
    data: Dataset,
    params: BinningParams,
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    columns = Columns.of(params, data.header)
    labels = data.labels
    points, metrics = split_points(params, data.features, columns, labels)
    fitted = Fitted(
        columns, points, missing=_missing(data.features, columns), optimal_metric=metrics
    )
    if params.skip_static:
        return fitted
    if labels is None:
        raise InvalidArgument(f"{MODULE} needs the labels at the guest: set with_label there")
    fitted.classes, fitted.results = _own_statics(params, data.features, columns, points, labels)
    if params.local_only:
        return fitted
    fitted.hosts = _federated_statics(transport, data, params, parties, fitted.classes, timeout)
    return fitted


def _federated_statics(
    transport: Transport,
    data: Dataset,
    params: BinningParams,
    parties: Participants,
    classes: list[float],
    timeout: float,
) -> list[tuple[PartyRole, list[dict[str, dict[str, Any]]]]]:
    assert data.labels is not None
    public_key, private_key = paillier.generate_keypair(params.key_length)
    rows = len(data.ids)
    base = rows + 1
    if len(classes) * math.log2(base) >= public_key.max_int.bit_length() - 1:
        raise InvalidArgument(
            f"{len(classes)} label classes of {rows} rows do not fit one {params.key_length}-bit "
            "Paillier number: use a longer encrypt_param.key_length",
            parameter="encrypt_param.key_length",
        )
    onehot = binning.onehot_labels(data.labels, classes)
    weights = [base**k for k in range(len(classes))]
    packed = [sum(w for w, bit in zip(weights, row, strict=True) if bit) for row in onehot.tolist()]
    encrypted = public_key.encrypt_many(packed)
    info = {
        "public_key": public_key.to_json(),
        "ids": [str(i) for i in data.ids.tolist()],
        "classes": len(classes),
        "base": base,
    }
    hosts = list(parties.hosts)
    transport.remote(info, ENCRYPTED_LABEL_INFO, TAG, hosts)
    transport.remote(BigIntegers(n.ciphertext for n in encrypted), ENCRYPTED_LABEL, TAG, hosts)
    results = []
    sums = transport.get(ENCRYPTED_BIN_SUM, TAG, hosts, timeout)
    infos = transport.get(OPTIMAL_INFO, TAG, hosts, timeout)
    for host, wire, host_info in zip(hosts, sums, infos, strict=True):
        keys, bin_nums, categories, method = _read_bin_info(host_info, host)
        if not isinstance(wire, list) or len(wire) != 2 * sum(bin_nums):
            raise FederatedError(f"{_name(host)} sent bin sums that do not match its bins")
        values = private_key.decrypt_many(paillier.from_ints(public_key, wire))
        counts: dict[str, np.ndarray[Any, Any]] = {}
        start = 0
        for key, width in zip(keys, bin_nums, strict=True):
            counts[key] = _unpack(
                [int(v) for v in values[start : start + width]], base, len(classes)
            )
            start += width
        if method == binning.OPTIMAL:
            if len(classes) > 2:
                raise InvalidArgument("optimal binning takes two label classes only, as FATE's")
            chosen: dict[str, list[int]] = {}
            for key, table in counts.items():
                if key in categories:
                    continue
                ends, _ = binning.optimal_groups(
                    table[:, 0],
                    table.sum(axis=1) - table[:, 0],
                    params.optimal,
                    params.bin_num,
                    params.adjustment_factor,
                )
                chosen[key] = ends
                edges = [0, *[end + 1 for end in ends]]
                counts[key] = np.add.reduceat(table, edges[:-1], axis=0)
            transport.remote(chosen, BUCKET_IDX, TAG, [host])
        results.append(
            (host, binning.results_from_counts(counts, classes, params.adjustment_factor))
        )
    return results


def _unpack(values: list[int], base: int, classes: int) -> np.ndarray[Any, Any]:
    table = np.zeros((len(values), classes), dtype=np.int64)
    for row, value in enumerate(values):
        for k in range(classes):
            value, table[row, k] = divmod(value, base)
    return table


def _read_bin_info(info: object, host: PartyRole) -> tuple[list[str], list[int], set[str], str]:
    try:
        assert isinstance(info, dict)
        keys, bin_nums = info["keys"], info["bin_nums"]
        categories, method = info["category_names"], info["bin_method"]
        assert isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        assert isinstance(bin_nums, list) and len(bin_nums) == len(keys)
        assert all(isinstance(b, int) and b >= 0 for b in bin_nums)
        assert isinstance(categories, list) and isinstance(method, str)
    except (AssertionError, KeyError):
        raise FederatedError(f"{_name(host)} sent no description of its bins") from None
    return keys, bin_nums, set(categories), method


def fit_host(
    transport: Transport,
    data: Dataset,
    params: BinningParams,
    parties: Participants,
    *,
    local: PartyRole,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    columns = Columns.of(params, data.header)
    points, _ = split_points(params, data.features, columns)
    fitted = Fitted(columns, points, missing=_missing(data.features, columns))
    if params.skip_static or params.local_only:
        return fitted
    guest = parties.guest
    [info] = transport.get(ENCRYPTED_LABEL_INFO, TAG, [guest], timeout)
    [wire] = transport.get(ENCRYPTED_LABEL, TAG, [guest], timeout)
    public_key, order = _read_label_info(info, data, guest)
    if not isinstance(wire, list) or len(wire) != len(order):
        raise FederatedError(
            f"{_name(guest)} sent {len(wire) if isinstance(wire, list) else 0} "
            f"encrypted labels for {len(order)} rows"
        )
    nsquare = gmpy2.mpz(public_key.nsquare)
    ciphertexts = [gmpy2.mpz(c) for c in wire]
    for c in ciphertexts:
        if not 0 < c < nsquare:
            raise FederatedError(f"{_name(guest)} sent a number that is not a Paillier ciphertext")
    anonymous = {
        name: binning.anonymous_name(local.role, local.party_id, columns.index(name))
        for name in columns.binned
    }
    sums: list[paillier.EncryptedNumber] = []
    bin_nums = []
    for name in columns.binned:
        bins = binning.bin_indexes(data.features[order, columns.index(name)], points[name])
        width = int(bins.max()) + 1
        sorted_rows = np.argsort(bins, kind="stable")
        ends = np.cumsum(np.bincount(bins, minlength=width))
        start = 0
        for end in ends.tolist():
            # The encrypted sum of the bin's packed labels: the product of its ciphertexts.
            total = gmpy2.mpz(1)
            for row in sorted_rows[start:end].tolist():
                total = total * ciphertexts[row] % nsquare
            sums.append(paillier.EncryptedNumber(public_key, total, 0, obfuscated=False))
            start = end
        bin_nums.append(width)
    # Re-randomised (to_ints): a bin's sum would otherwise show the guest which of its
    # ciphertexts went into it.
    transport.remote(BigIntegers(paillier.to_ints(sums)), ENCRYPTED_BIN_SUM, TAG, [guest])
    transport.remote(
        {
            "keys": [anonymous[name] for name in columns.binned],
            "bin_nums": bin_nums,
            "category_names": [anonymous[name] for name in columns.category_names],
            "bin_method": params.method,
            "optimal_params": {
                "metric_method": params.optimal.metric_method,
                "bin_num": params.bin_num,
                "mixture": params.optimal.mixture,
                "max_bin_pct": params.optimal.max_bin_pct,
                "min_bin_pct": params.optimal.min_bin_pct,
            },
        },
        OPTIMAL_INFO,
        TAG,
        [guest],
    )
    if params.method == binning.OPTIMAL:
        [chosen] = transport.get(BUCKET_IDX, TAG, [guest], timeout)
        by_anonymous = {anonymous[name]: name for name in columns.bin_names}
        if not isinstance(chosen, dict) or set(chosen) != set(by_anonymous):
            raise FederatedError(f"{_name(guest)} sent no optimal bins for every column")
        for key, ends in chosen.items():
            name = by_anonymous[key]
            initial = points[name]
            if not isinstance(ends, list) or not all(
                isinstance(e, int) and 0 <= e < len(initial) for e in ends
            ):
                raise FederatedError(f"{_name(guest)} sent optimal bins beyond column {key}'s")
            points[name] = [initial[e] for e in ends]
    return fitted


def _read_label_info(
    info: object, data: Dataset, guest: PartyRole
) -> tuple[paillier.PublicKey, np.ndarray[Any, Any]]:
    try:
        assert isinstance(info, dict)
        public_key = paillier.PublicKey.from_json(info["public_key"])
        ids = info["ids"]
        assert isinstance(ids, list)
    except (AssertionError, KeyError, InvalidArgument):
        raise FederatedError(
            f"{_name(guest)} sent no Paillier key and ids for the labels"
        ) from None
    position = {str(i): k for k, i in enumerate(data.ids.tolist())}
    order = [position.get(str(i), -1) for i in ids]
    if -1 in order or len(order) != len(position):
        raise InvalidArgument(
            f"{MODULE}: the guest's rows are not this host's ({len(ids)} against "
            f"{len(position)}): run an Intersection before the binning",
        )
    return public_key, np.asarray(order, dtype=np.int64)


def _name(party: PartyRole) -> str:
    return f"{party.role} {party.party_id}"


# --- the model ------------------------------------------------------------------------------


def model_of(fitted: Fitted, params: BinningParams, local: PartyRole) -> dict[str, Any]:
    """FATE's FeatureBinningMeta and FeatureBinningParam, as JSON."""
    columns = fitted.columns

    def own(result: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
        return {
            "binning_result": {
                name: binning.iv_param(
                    (result or {}).get(name),
                    fitted.points[name],
                    missing=fitted.missing.get(name, False),
                )
                | (
                    {"optimal_metric_array": fitted.optimal_metric[name]}
                    if name in fitted.optimal_metric
                    else {}
                )
                for name in columns.binned
            },
            "role": local.role,
            "party_id": str(local.party_id),
        }

    results = [own(r) for r in fitted.results] or [own(None)]
    host_results = []
    for host, per_class in fitted.hosts:
        for result in per_class:
            host_results.append(
                {
                    "binning_result": {
                        key: binning.iv_param(value, None) for key, value in result.items()
                    },
                    "role": host.role,
                    "party_id": str(host.party_id),
                }
            )
    per_host = len(fitted.results) or 1
    labels = [label_text(c) for c in fitted.classes]
    meta = {
        "need_run": True,
        "method": params.method,
        "compress_thres": params.compress_thres,
        "head_size": params.head_size,
        "error": params.error,
        "bin_num": params.bin_num,
        "cols": columns.bin_names,
        "adjustment_factor": params.adjustment_factor,
        "local_only": params.local_only,
        "transform_param": {
            "transform_cols": [columns.index(n) for n in columns.transform_names],
            "transform_type": params.transform_type,
        },
        "skip_static": params.skip_static,
        "optimal_metric_method": params.optimal.metric_method
        if params.method == binning.OPTIMAL and not params.manual
        else None,
        "category_cols": columns.category_names,
    }
    param = {
        "binning_result": results[0],
        "host_results": host_results[::per_host],
        "header": columns.header,
        "header_anonymous": [
            binning.anonymous_name(local.role, local.party_id, i)
            for i in range(len(columns.header))
        ],
        "model_name": binning.MODEL_NAME,
        "multi_class_result": {
            "results": results,
            "labels": labels,
            "host_results": host_results,
            "host_party_ids": [str(host.party_id) for host, _ in fitted.hosts],
            "has_host_result": bool(host_results),
        },
    }
    return {"meta": meta, "param": param}


def summary_of(fitted: Fitted) -> dict[str, Any]:
    """FATE's summary: per class the IVs (highest first, hosts' by anonymous name), WOEs,
    monotonicity and the party's own split points; a host's: its split points."""
    if not fitted.results:
        return {name: list(points) for name, points in fitted.points.items()}
    labels = ["result"] if len(fitted.results) == 1 else [label_text(c) for c in fitted.classes]
    summary = {}
    for k, label in enumerate(labels):
        ivs = [(name, r["iv"]) for name, r in fitted.results[k].items()]
        woes = {name: r["woe_array"] for name, r in fitted.results[k].items()}
        monotonic = {name: r["is_woe_monotonic"] for name, r in fitted.results[k].items()}
        for _, per_class in fitted.hosts:
            ivs += [(name, r["iv"]) for name, r in per_class[k].items()]
            woes |= {name: r["woe_array"] for name, r in per_class[k].items()}
            monotonic |= {name: r["is_woe_monotonic"] for name, r in per_class[k].items()}
        summary[label] = {
            "iv": sorted(ivs, key=lambda pair: pair[1], reverse=True),
            "woe": woes,
            "monotonic": monotonic,
            "split_points": {name: list(p) for name, p in fitted.points.items()},
        }
    return summary


def apply(model: Mapping[str, Any], data: Dataset, role: str) -> Dataset:
    """A trained binning's transform of new data: its split points (or WOE) unchanged."""
    try:
        meta, param = model["meta"], model["param"]
        header = list(param["header"])
        own = param["binning_result"]["binning_result"]
        transform = meta["transform_param"]
        transform_type = transform["transform_type"]
        names = [header[i] for i in transform["transform_cols"]]
    except (KeyError, TypeError, IndexError):
        raise InvalidArgument(f"the input model is not a {MODULE} model") from None
    if data.header != header:
        raise InvalidArgument(
            f"the data's features {data.header} are not the binning model's {header}"
        )
    if _woe_at_host(transform_type, role):
        return data
    columns = Columns(header, [], [], names)
    points = {name: own[name]["split_points"] for name in names}
    woe = {name: own[name]["woe_array"] for name in names}
    features = binning.transform(data.features, columns, points, transform_type, woe)
    return replace(data, features=features)


def _woe_at_host(transform_type: str | None, role: str) -> bool:
    """A host has no labels, hence no WOE of its own: asked for one, it passes its data on as
    it is, as FATE 1.5's hosts do (FATE 1.11's refuse)."""
    return transform_type == "woe" and role == "host"


def transformed(fitted: Fitted, data: Dataset, params: BinningParams, role: str) -> Dataset:
    if _woe_at_host(params.transform_type, role):
        return data
    woe = (
        {name: r["woe_array"] for name, r in fitted.results[0].items()} if fitted.results else None
    )
    if params.transform_type == "woe" and (woe is None or len(fitted.results) > 1):
        raise InvalidArgument(f"{MODULE}: WOE transform needs two label classes and the statics")
    features = binning.transform(
        data.features, fitted.columns, fitted.points, params.transform_type, woe
    )
    return replace(data, features=features)


# --- the component ------------------------------------------------------------------------


class HeteroFeatureBinning:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: (validate_parameters(params), params)[1],
    )

    def run(self, context: TaskContext) -> None:
        (table,) = context.input_tables("data") or [None]
        if table is None:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(table)
        trained = next(iter(context.input_models().values()), None)
        if trained is not None:
            context.save_output_data(apply(trained, data, context.task.role).to_table())
            return
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        started = time.perf_counter()
        if context.task.role == "guest":
            fitted = fit_guest(context.federation, data, params, parties)
        else:
            fitted = fit_host(context.federation, data, params, parties, local=context.local)
        context.log.info(
            "binned %s columns of %s rows in %.2f s",
            len(fitted.points),
            len(data.ids),
            time.perf_counter() - started,
        )
        context.save_model(model_of(fitted, params, context.local))
        context.save_summary(summary_of(fitted))
        context.save_output_data(transformed(fitted, data, params, context.task.role).to_table())
