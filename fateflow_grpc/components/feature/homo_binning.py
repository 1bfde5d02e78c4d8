"""HomoFeatureBinning (FATE's module): quantile split points of columns whose rows are split
across parties (guest and hosts, the clients), found without any party showing its rows.

The arbiter only ever sees sums, by secure aggregation (`crypto/secure_aggregation.py`, the
clients' pairwise masks cancel in the sum): the row count, each column's missing count, and the
global rank of candidate values (how many rows, all clients together, are at or below each).

- `virtual_summary` (FATE's default): `sample_bins` candidates evenly spaced between the
  column's global minimum and maximum, their global ranks, and each split point interpolated
  between the two candidates around its aimed rank (FATE's `_query`).
- `recursive_query`: `bin_num` candidates, each moved by bisection towards its aimed rank
  (floor(k / bin_num * rows)) until its global rank is within `error * rows` of it, at most
  `max_iter` rounds.

Clients first tell each other their columns' minimum and maximum (to place the candidates, as
FATE tells its arbiter; the split points show the global maximum anyway). The model is
FeatureBinningParam with split points only: there are no labels to weigh.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.feature.binning import BinningParams, Columns
from fateflow_grpc.components.feature.hetero_binning import Fitted, apply, model_of, summary_of
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HomoFeatureBinning"
_VARIABLES = "HomoBinningTransferVariable"
DH_PUBKEY = f"{_VARIABLES}.dh_pubkey"
DH_PUBKEYS = f"{_VARIABLES}.dh_pubkeys"
LOCAL_STATIC_VALUES = f"{_VARIABLES}.local_static_values"
MASKED_SUM = f"{_VARIABLES}.masked_sum"
AGGREGATED_SUM = f"{_VARIABLES}.aggregated_sum"
IS_CONVERGE = f"{_VARIABLES}.is_converge"
TAG = "fit"
_MASK_CONTEXT = b"fateflow HomoFeatureBinning pairwise mask"
FLOAT_ZERO = 1e-8

DEFAULTS: dict[str, Any] = {
    **binning.COMMON_DEFAULTS,
    "method": binning.VIRTUAL_SUMMARY,
    "sample_bins": 100,
    "max_iter": 100,
}


def validate_parameters(params: Mapping[str, Any] | None = None) -> BinningParams:
    reader = ParamReader(MODULE, params, DEFAULTS)
    common = binning.read_common(reader, (binning.VIRTUAL_SUMMARY, binning.RECURSIVE_QUERY))
    if common["transform_type"] == "woe":
        raise reader.section("transform_param").error(
            "transform_type", "woe", "has no labels to weigh in homo binning: use bin_num"
        )
    return BinningParams(
        **common,
        sample_bins=reader.integer("sample_bins", minimum=2),
        max_iter=reader.integer("max_iter", minimum=1, maximum=100),
    )


class _Aggregator:
    """A client's side of the secure sums: mask, send, get the sum back."""

    def __init__(
        self,
        transport: Transport,
        arbiter: PartyRole,
        masks: secure_aggregation.PairwiseMasks,
        timeout: float,
    ) -> None:
        self._transport, self._arbiter, self._masks, self._timeout = (
            transport,
            arbiter,
            masks,
            timeout,
        )
        self._round = 0
        self.last_tag = ""

    def sum(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        tag = f"{TAG}.{self._round}"
        masked = self._masks.mask(
            secure_aggregation.to_fixed(values.astype(np.float64)), self._round
        )
        self._transport.remote(masked, MASKED_SUM, tag, [self._arbiter])
        [total] = self._transport.get(AGGREGATED_SUM, tag, [self._arbiter], self._timeout)
        if (
            not isinstance(total, np.ndarray)
            or total.dtype != np.uint64
            or total.shape != values.shape
        ):
            raise FederatedError("the arbiter sent a sum of another shape")
        self.last_tag = tag
        self._round += 1
        return np.round(secure_aggregation.from_fixed(total))


def fit_client(
    transport: Transport,
    data: Dataset,
    params: BinningParams,
    parties: Participants,
    *,
    local: PartyRole,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    columns = Columns.of(params, data.header)
    arbiter = parties.require_arbiter()
    clients = [parties.guest, *parties.hosts]
    private, public = secure_aggregation.new_key_pair()
    digest = hashlib.sha256("\x1f".join(columns.bin_names).encode()).hexdigest()
    transport.remote({"public_key": public.hex(), "columns": digest}, DH_PUBKEY, TAG, [arbiter])
    [relay] = transport.get(DH_PUBKEYS, TAG, [arbiter], timeout)
    try:
        assert isinstance(relay, dict)
        keys = [bytes.fromhex(k) for k in relay["public_keys"]]
        assert len(keys) == len(clients) and keys.count(public) == 1
    except (AssertionError, KeyError, TypeError, ValueError):
        raise FederatedError("the arbiter relayed no public keys for the homo binning") from None
    aggregator = _Aggregator(
        transport,
        arbiter,
        secure_aggregation.PairwiseMasks(private, public, keys, _MASK_CONTEXT),
        timeout,
    )

    values = {name: data.features[:, columns.index(name)] for name in columns.bin_names}
    present = {name: np.sort(v[~np.isnan(v)]) for name, v in values.items()}
    # The global range, from every client's own.
    own = [[float(p[0]), float(p[-1])] if len(p) else [None, None] for p in present.values()]
    others = [c for c in clients if c != local]
    transport.remote(own, LOCAL_STATIC_VALUES, TAG, others)
    ranges = [own, *transport.get(LOCAL_STATIC_VALUES, TAG, others, timeout)]
    low, high = [], []
    for k in range(len(columns.bin_names)):
        lows = [
            r[k][0]
            for r in ranges
            if isinstance(r, list) and len(r) == len(own) and r[k][0] is not None
        ]
        highs = [
            r[k][1]
            for r in ranges
            if isinstance(r, list) and len(r) == len(own) and r[k][1] is not None
        ]
        low.append(min(lows) if lows else 0.0)
        high.append(max(highs) if highs else 0.0)

    counts = aggregator.sum(
        np.asarray(
            [len(data.ids), *[len(v) - len(present[n]) for n, v in values.items()]],
            dtype=np.float64,
        )
    )
    total = [counts[0] - m for m in counts[1:]]
    points: dict[str, list[float]] = {}
    if params.method == binning.VIRTUAL_SUMMARY:
        grid = [np.linspace(lo, hi, params.sample_bins) for lo, hi in zip(low, high, strict=True)]
        ranks = aggregator.sum(
            np.concatenate(
                [
                    np.searchsorted(present[n], g, side="right")
                    for n, g in zip(columns.bin_names, grid, strict=True)
                ]
            )
        )
        for k, name in enumerate(columns.bin_names):
            global_ranks = ranks[k * params.sample_bins : (k + 1) * params.sample_bins]
            points[name] = _interpolate(
                grid[k].tolist(), global_ranks.tolist(), params.bin_num, total[k]
            )
    else:

        def report(done: bool) -> None:
            if local == parties.guest:  # the guest speaks for the clients, as in FATE
                transport.remote(done, IS_CONVERGE, aggregator.last_tag, [arbiter])

        points = _recursive(
            aggregator, present, columns.bin_names, low, high, total, params, report
        )
    for name in columns.category_names:
        raise InvalidArgument(
            f"{MODULE} cannot take category columns ({name}): their values would show"
        )
    return Fitted(
        columns, points, missing={n: bool(np.isnan(values[n]).any()) for n in columns.bin_names}
    )


def _interpolate(query: list[float], ranks: list[float], bin_num: int, total: float) -> list[float]:
    """FATE's virtual-summary query: each aimed rank int(p * rows) between two candidates."""
    rates = [i / bin_num for i in range(1, bin_num)] + [1.0]
    result = []
    for rank in (int(r * total) for r in rates):
        i = bisect.bisect_left(ranks, rank)
        if i >= len(ranks) - 1:
            result.append(query[-1])
        elif abs(query[i + 1] - query[i]) < FLOAT_ZERO or abs(ranks[i + 1] - ranks[i]) < FLOAT_ZERO:
            result.append(query[i])
        else:
            result.append(
                query[i] + (query[i + 1] - query[i]) * (rank - ranks[i]) / (ranks[i + 1] - ranks[i])
            )
    return sorted(set(result))


def _recursive(
    aggregator: _Aggregator,
    present: Mapping[str, np.ndarray[Any, Any]],
    names: Sequence[str],
    low: list[float],
    high: list[float],
    total: list[float],
    params: BinningParams,
    report: Callable[[bool], None],
) -> dict[str, list[float]]:
    """FATE's recursive query: bisection of each split point towards its aimed rank."""
    b = params.bin_num
    value = np.array([np.linspace(lo, hi, b + 1)[1:] for lo, hi in zip(low, high, strict=True)])
    lower = np.array([[lo] * b for lo in low], dtype=np.float64)
    upper = np.array([[hi] * b for hi in high], dtype=np.float64)
    aim = np.array([[np.floor(x * t) for x in np.linspace(0, 1, b + 1)[1:]] for t in total])
    allowed = np.array([[np.ceil(params.error * t)] * b for t in total])
    fixed = np.zeros_like(value, dtype=bool)
    for iteration in range(params.max_iter + 1):
        ranks = aggregator.sum(
            np.concatenate(
                [np.searchsorted(present[n], value[k], side="right") for k, n in enumerate(names)]
            )
        ).reshape(value.shape)
        too_high = ~fixed & (ranks - aim > allowed)
        too_low = ~fixed & (aim - ranks > allowed)
        fixed |= ~(too_high | too_low)
        # Move left (towards lower) or right (towards upper), halving the interval.
        new_value = np.where(
            too_high, (value + lower) / 2, np.where(too_low, (value + upper) / 2, value)
        )
        stuck = (too_high | too_low) & (np.abs(new_value - value) <= FLOAT_ZERO * 0.9)
        fixed |= stuck
        upper = np.where(too_high, value, upper)
        lower = np.where(too_low, value, lower)
        value = np.where(stuck, value, new_value)
        done = bool(fixed.all()) or iteration == params.max_iter
        report(done)
        if done:
            break
    points = {}
    for k, name in enumerate(names):
        unique = sorted(set(value[k].tolist()))
        kept = [unique[0] if abs(unique[0]) > FLOAT_ZERO else 0.0]
        for v in unique[1:]:
            v = 0.0 if abs(v) < FLOAT_ZERO else v
            if abs(v - kept[-1]) > FLOAT_ZERO:
                kept.append(v)
        points[name] = kept
    return points


def fit_arbiter(
    transport: Transport,
    params: BinningParams,
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> int:
    """Relay the clients' keys, then sum what they send; the rounds summed. The guest says
    when a recursive query has converged (`is_converge`), as in FATE."""
    clients = [parties.guest, *parties.hosts]
    hellos = transport.get(DH_PUBKEY, TAG, clients, timeout)
    try:
        digests = {h["columns"] for h in hellos}  # type: ignore[index]
        keys = [str(h["public_key"]) for h in hellos]  # type: ignore[index]
    except (KeyError, TypeError):
        raise FederatedError(f"{MODULE}: a client sent no public key") from None
    if len(digests) != 1:
        raise InvalidArgument(f"{MODULE}: the clients must bin the same columns, in the same order")
    transport.remote({"public_keys": keys}, DH_PUBKEYS, TAG, clients)
    rounds = 0
    while True:
        tag = f"{TAG}.{rounds}"
        masked = transport.get(MASKED_SUM, tag, clients, timeout)
        shapes = {
            m.shape if isinstance(m, np.ndarray) and m.dtype == np.uint64 else None for m in masked
        }
        if len(shapes) != 1 or None in shapes:
            raise InvalidArgument(f"{MODULE}: the clients sent sums of different shapes")
        total = np.zeros_like(masked[0])
        for m in masked:
            total += m  # wraps modulo 2^64, where the masks cancel
        transport.remote(total, AGGREGATED_SUM, tag, clients)
        rounds += 1
        if rounds == 1:
            continue  # the counts; the ranks follow
        if params.method == binning.VIRTUAL_SUMMARY:
            return rounds
        [done] = transport.get(IS_CONVERGE, tag, [parties.guest], timeout)
        if done is True:
            return rounds


class HomoFeatureBinning:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: (validate_parameters(params), params)[1],
    )

    def run(self, context: TaskContext) -> None:
        role = context.task.role
        if role == "arbiter":
            # The arbiter keeps no model, and with one (a transform) FATE's does nothing.
            if not context.wiring.model_inputs:
                params = validate_parameters(context.parameters)
                parties = Participants.from_roles(context.roles)
                rounds = fit_arbiter(context.federation, params, parties)
                context.log.info("summed %s rounds", rounds)
            return
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
        fitted = fit_client(context.federation, data, params, parties, local=context.local)
        context.save_model(model_of(fitted, params, context.local))
        context.save_summary({"split_points": summary_of(fitted)})
        features = binning.transform(
            data.features, fitted.columns, fitted.points, params.transform_type
        )
        context.save_output_data(dataclasses.replace(data, features=features).to_table())
