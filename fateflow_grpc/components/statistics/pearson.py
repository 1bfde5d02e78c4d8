"""HeteroPearson (FATE's module): Pearson correlation of each party's columns with each other
(local) and, securely, with the other party's (`cross_parties`), between a guest and a host.

    params = validate_parameters(component_parameters)
    model, summary = fit(transport, data, params, parties, local=guest)   # each of the two

Each party standardises its selected columns, (x - mean) / std (the population std, as FATE;
columns of zero deviation are left out and their correlations are NaN), and computes their
local correlation matrix X^T X / n and, with `calc_local_vif`, their variance inflation
factors, alone.

The cross correlation X^T Y / n between the guest's standardised columns X and the host's Y
(rows matched by sorted ids: both parties hold the same ids after an intersection, which a
digest of the sorted ids confirms) is computed with the Paillier-assisted products of
`crypto/secret_sharing.py`, not FATE's SPDZ: the party with fewer columns (the guest on a tie)
encrypts its standardised columns under its own key ([[X]], fixed point); the other computes
[[X^T Y]] under encryption, masks it, keeps its share of X^T Y / n and sends the masked values
to be decrypted into the encryptor's share; both then exchange their shares, and both learn
the cross correlation matrix, as FATE's SPDZ `get()` gives it to both. Neither learns the
other's rows: one sees ciphertexts under the other's key, the other masked values and a
share. FATE makes its SPDZ triples with the same Paillier products, so the security is the
same (honest-but-curious parties) with fewer rounds; docs/security.md says what each learns.
`fixpoint_bit_length` (FATE's Paillier key length for its SPDZ) is the key length here.

Departures from FATE: with a subset of columns selected, the model's shapes and names are the
selected columns' (FATE mixes the whole header's names with the selected columns' matrix);
`use_mix_rand` changes nothing (randomness here is always fresh).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.crypto import secret_sharing as ss
from fateflow_grpc.components.feature.binning import anonymous_name
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers

MODULE = "HeteroPearson"
_VARIABLES = "PearsonTransferVariable"
ANONYMOUS_GUEST = f"{_VARIABLES}.anonymous_guest"
ANONYMOUS_HOST = f"{_VARIABLES}.anonymous_host"
#: Ours (FATE's SPDZ carries its own): the encryptor's public key, its encrypted columns, the
#: masked products, and each party's share of the result.
PUBLIC_KEY = f"{_VARIABLES}.public_key"
ENCRYPTED = f"{_VARIABLES}.encrypted_columns"
MASKED = f"{_VARIABLES}.masked_products"
SHARE = f"{_VARIABLES}.share"

# FATE 1.11's PearsonParam (1.5's: column_names, column_indexes, cross_parties, need_run,
# use_mix_rand; 1.7 adds calc_local_vif, 1.9 fixpoint_bit_length).
DEFAULTS: dict[str, Any] = {
    "column_names": None,
    "column_indexes": None,
    "cross_parties": True,
    "use_mix_rand": False,
    "calc_local_vif": True,
    "fixpoint_bit_length": 2048,
}
#: FATE's threshold of an eigenvalue treated as zero in the VIF.
VIF_THRESHOLD = 1e-8
#: How NaN (a column without deviation) is written in the model and summary, as FATE's JSON
#: of a double NaN.
NAN = "NaN"

Floats = npt.NDArray[np.float64]


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's PearsonParam checks; `need_run` (the scheduler's) must be true with
    `cross_parties`, which FATE checks here too."""
    values = dict(params or {})
    need_run = values.get("need_run", True)
    reader = ParamReader(MODULE, values, DEFAULTS)
    cross = reader.boolean("cross_parties")
    if cross and need_run is False:
        raise InvalidArgument(
            f"{MODULE} parameter need_run must be true when cross_parties is true",
            module=MODULE,
            parameter="need_run",
        )
    reader.boolean("use_mix_rand")
    names = [] if reader.raw("column_names") is None else reader.raw("column_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise reader.error("column_names", names, "must be a list of column names")
    indexes = [] if reader.raw("column_indexes") is None else reader.raw("column_indexes")
    if isinstance(indexes, int) and not isinstance(indexes, bool):
        if indexes != -1:
            raise reader.error("column_indexes", indexes, "must be -1 (every column) or a list")
    elif not isinstance(indexes, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in indexes
    ):
        raise reader.error("column_indexes", indexes, "must be -1 or a list of column indexes")
    if need_run is not False and indexes == [] and names == []:
        raise reader.error("column_indexes", indexes, "or column_names must name a column")
    if indexes == -1 and names:
        raise reader.error("column_names", names, "must be empty when column_indexes is -1")
    length = reader.integer("fixpoint_bit_length", minimum=1024)
    try:
        paillier.validate_key_length(length)
    except InvalidArgument as error:
        raise reader.error(
            "fixpoint_bit_length", length, f"is not usable: {error.message}"
        ) from None
    return {
        "column_names": names,
        "column_indexes": indexes,
        "cross_parties": cross,
        "use_mix_rand": reader.boolean("use_mix_rand"),
        "calc_local_vif": reader.boolean("calc_local_vif"),
        "fixpoint_bit_length": length,
    }


# --- local statistics -------------------------------------------------------------------------


def select_columns(header: Sequence[str], indexes: int | list[int], names: list[str]) -> list[int]:
    """FATE's `select_columns`: every column for -1, else the named and indexed ones in header
    order."""
    if indexes == -1:
        return list(range(len(header)))
    chosen = set()
    for name in names:
        if name not in header:
            raise InvalidArgument(f"{MODULE}: no column {name!r} in the data", column=name)
        chosen.add(header.index(name))
    assert isinstance(indexes, list)
    for index in indexes:
        if not 0 <= index < len(header):
            raise InvalidArgument(f"{MODULE}: column index {index} is out of bounds", index=index)
        chosen.add(index)
    return sorted(chosen)


def standardize(features: Floats) -> tuple[Floats, list[int]]:
    """(x - mean) / std of the columns whose std is positive, and which columns those are."""
    count = len(features)
    mean = features.mean(axis=0)
    with np.errstate(invalid="ignore"):
        std = np.sqrt((features * features).sum(axis=0) / count - mean * mean)
    remaining = [k for k, s in enumerate(std.tolist()) if s > 0]
    standardized: Floats = (features[:, remaining] - mean[remaining]) / std[remaining]
    return standardized, remaining


def vif(correlation: Floats) -> list[float]:
    """FATE's VIF from a correlation matrix: ratios of products of the nonzero eigenvalues."""
    size = correlation.shape[0]
    eigen = sorted(abs(v) for v in np.linalg.eigvalsh(correlation).tolist())
    dropped = sum(1 for v in eigen if v < VIF_THRESHOLD)
    determinant = float(np.prod(eigen[dropped:]))
    values = []
    for i in range(size):
        rest = [j for j in range(size) if j != i]
        cofactor = sorted(abs(v) for v in np.linalg.eigvalsh(correlation[np.ix_(rest, rest)]))
        values.append(float(np.prod(cofactor[dropped:])) / determinant)
    return values


def _fixed(values: Floats, rows: list[int], columns: list[int], shape: tuple[int, int]) -> Floats:
    """A matrix over all selected columns: NaN where a column had no deviation."""
    full = np.full(shape, np.nan)
    full[np.ix_(rows, columns)] = np.clip(values, -1.0, 1.0)
    return full


def _listed(values: Floats) -> list[Any]:
    """Floats for JSON, NaN as FATE's JSON writes it."""
    return [NAN if np.isnan(v) else float(v) for v in values.ravel().tolist()]


# --- the protocol -----------------------------------------------------------------------------


def fit(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    local: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One party's part: FATE's model (meta, param) and summary."""
    columns = select_columns(data.header, params["column_indexes"], params["column_names"])
    names = [data.header[k] for k in columns]
    rows = np.argsort(np.array([str(v) for v in data.ids.tolist()], dtype=object), kind="stable")
    standardized, remaining = standardize(data.features[rows][:, columns])
    count = len(data.ids)
    local_corr = _fixed(
        standardized.T @ standardized / count, remaining, remaining, (len(names), len(names))
    )
    anonymous = [anonymous_name(local.role, local.party_id, k) for k in range(len(data.header))]
    param: dict[str, Any] = {
        "party": f"({local.role},{local.party_id})",
        "parties": [],
        "shape": len(names),
        "shapes": [],
        "names": list(data.header),
        "corr": [],
        "local_corr": _listed(local_corr),
        "all_names": [],
        "anonymous_map": [
            {"name": name, "anonymous": code}
            for name, code in zip(data.header, anonymous, strict=True)
        ],
        "model_name": MODULE,
        "local_vif": [],
    }
    summary: dict[str, Any] = {"num_local_features": len(names), "local_corr": _nested(local_corr)}
    if params["calc_local_vif"]:
        values = np.full(len(names), np.nan)
        if remaining:
            values[remaining] = vif(local_corr[np.ix_(remaining, remaining)])
        param["local_vif"] = _listed(values)
    if not params["cross_parties"]:
        param |= {
            "parties": [param["party"]],
            "shapes": [len(names)],
            "all_names": [{"names": names}],
        }
        return {"meta": {"shapes": []}, "param": param}, summary
    if len(parties.hosts) != 1:
        raise InvalidArgument(
            f"{MODULE} correlates a guest's columns with one host's, not {len(parties.hosts)}"
        )
    guest = local.role == "guest"
    peer = parties.hosts[0] if guest else parties.guest
    link = _Link(transport, peer, timeout)
    digest = hashlib.sha256(
        "\n".join(sorted(str(v) for v in data.ids.tolist())).encode()
    ).hexdigest()
    link.send(
        {
            "names": [anonymous[k] for k in columns],
            "remaining": remaining,
            "rows": count,
            "ids": digest,
        },
        ANONYMOUS_GUEST if guest else ANONYMOUS_HOST,
        "fit",
    )
    theirs = _read_anonymous(
        link.receive(ANONYMOUS_HOST if guest else ANONYMOUS_GUEST, "fit"), link
    )
    if theirs["rows"] != count or theirs["ids"] != digest:
        raise InvalidArgument(
            f"{MODULE}: the guest and the host hold different ids ({count} rows here, "
            f"{theirs['rows']} there): intersect the data first"
        )
    mine_first = guest
    sizes = (len(remaining), len(theirs["remaining"]))
    # The party with fewer columns encrypts them (the guest on a tie).
    encryptor = sizes[0] < sizes[1] or (sizes[0] == sizes[1] and guest)
    product = _cross_product(link, standardized, sizes[1], count, encryptor, params)
    # As the guest's columns (rows) by the host's (columns).
    cross = product if (encryptor == guest) else product.T
    guest_remaining, host_remaining = (
        (remaining, theirs["remaining"]) if mine_first else (theirs["remaining"], remaining)
    )
    guest_names, host_names = (names, theirs["names"]) if mine_first else (theirs["names"], names)
    shape = (len(guest_names), len(host_names))
    corr = _fixed(cross, guest_remaining, host_remaining, shape)
    guest_party = f"({parties.guest.role},{parties.guest.party_id})"
    host_party = f"({parties.hosts[0].role},{parties.hosts[0].party_id})"
    param |= {
        "parties": [guest_party, host_party],
        "shapes": list(shape),
        "all_names": [{"names": guest_names}, {"names": host_names}],
        "corr": _listed(corr),
    }
    summary |= {"num_remote_features": shape[1] if guest else shape[0], "corr": _nested(corr)}
    return {"meta": {"shapes": []}, "param": param}, summary


def _cross_product(
    link: _Link,
    standardized: Floats,
    other_columns: int,
    count: int,
    encryptor: bool,
    params: Mapping[str, Any],
) -> Floats:
    """X^T Y / n between my standardised columns and the other's, both learning it; as
    (my columns, their columns) from the encryptor's side, the transpose from the other's."""
    values = ss.fixed(standardized)
    if encryptor:
        public, private = paillier.generate_keypair(params["fixpoint_bit_length"])
        link.send(public.to_json(), PUBLIC_KEY, "fit")
        # Column by column: [[x_i]] for each of my columns.
        link.send(BigIntegers(ss.encrypted_to_wire(ss.encrypt(public, values.T))), ENCRYPTED, "fit")
        shape = (values.shape[1], other_columns)
        masked = link.receive_encrypted(public, MASKED, int(np.prod(shape)))
        share = ss.unmask(private, masked, count << ss.FRACTION_BITS).reshape(shape)
    else:
        key = link.receive_key()
        shape = (other_columns, values.shape[1])
        encrypted = link.receive_encrypted(key, ENCRYPTED, other_columns * count)
        products = []
        for column in range(other_columns):
            # [[x_i]]^T Y for the other's column i: one multi-exponentiation per my column.
            products += ss.matvec(values.T, encrypted[column * count : (column + 1) * count])
        wire, flat = ss.mask(products, count << ss.FRACTION_BITS)
        link.send(BigIntegers(wire), MASKED, "fit")
        share = flat.reshape(shape)
    link.send(ss.to_wire(share), SHARE, "fit")
    try:
        other = ss.from_wire(link.receive(SHARE, "fit"), shape)
    except ValueError as error:
        raise link.error("a share", f"is not right: {error}") from None
    return ss.decode(ss.reconstruct(share, other))


def _nested(matrix: Floats) -> list[list[Any]]:
    return [_listed(row) for row in matrix]


def _read_anonymous(obj: object, link: _Link) -> dict[str, Any]:
    if (
        not isinstance(obj, Mapping)
        or not isinstance(obj.get("names"), list)
        or not isinstance(obj.get("remaining"), list)
        or not isinstance(obj.get("rows"), int)
        or not isinstance(obj.get("ids"), str)
    ):
        raise link.error("its columns", "are not {names, remaining, rows, ids}")
    remaining = obj["remaining"]
    if not all(isinstance(k, int) and 0 <= k < len(obj["names"]) for k in remaining):
        raise link.error("its remaining columns", "are not indexes of its columns")
    return dict(obj)


class _Link:
    """This party's view of the other one: timed waits, and what arrives checked."""

    def __init__(self, transport: Transport, peer: PartyRole, timeout: float) -> None:
        self._transport = transport
        self._peer = peer
        self._timeout = timeout

    def send(self, obj: object, name: str, tag: str) -> None:
        self._transport.remote(obj, name, tag, [self._peer])

    def receive(self, name: str, tag: str) -> object:
        [obj] = self._transport.get(name, tag, [self._peer], self._timeout)
        return obj

    def error(self, what: str, why: str) -> FederatedError:
        return FederatedError(f"{self._peer.role} {self._peer.party_id} sent {what} that {why}")

    def receive_key(self) -> paillier.PublicKey:
        obj = self.receive(PUBLIC_KEY, "fit")
        try:
            return paillier.PublicKey.from_json(obj if isinstance(obj, Mapping) else {})
        except InvalidArgument as error:
            raise self.error("a public key", f"is not usable: {error.message}") from None

    def receive_encrypted(
        self, key: paillier.PublicKey, name: str, count: int
    ) -> list[paillier.EncryptedNumber]:
        try:
            return ss.encrypted_from_wire(key, self.receive(name, "fit"), count)
        except ValueError as error:
            raise self.error("encrypted values", f"are not right: {error}") from None


# --- the component ----------------------------------------------------------------------------

#: FATE's meta of the `statistic`/`correlation` metric (no data points: the model holds it).
METRIC_META = {"name": "pearson", "metric_type": "CORRELATION_GRAPH"}


class HeteroPearson:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"train_data", "data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        data, _ = learner_input(context)
        model, summary = fit(
            context.federation, data, params, Participants.from_roles(context.roles), context.local
        )
        context.log_metric("statistic", "correlation", [], METRIC_META)
        context.save_model(model)
        context.save_summary(summary)
        context.log.info(
            "%s: %s local columns, cross parties: %s",
            MODULE,
            summary["num_local_features"],
            params["cross_parties"],
        )
