"""SecureInformationRetrieval (FATE's module): the guest retrieves, for its ids, columns of
the host's rows (`target_cols`, or the host's label), while the host cannot tell which of its
rows the guest asked for beyond one of `block_num` equal-sized candidate sets.

    params = validate_parameters(component_parameters)
    retrieved, coverage = retrieve_guest(transport, guest_data, params, parties)
    coverage = serve_host(transport, host_data, params, parties)

FATE's protocol, `security_level` > 0:

1. The guest picks N = ceil(2 e^(ln(500) security_level)) blocks (`block_num`).
2. Doubly encrypted ids (a DH intersection, `crypto/commutative.py` in the MODP group of
   `dh_params.key_length`): the host sends E_h(H(id)) for its ids, the guest E_g(H(id)) for
   its own, which the host encrypts again; the guest encrypts the host's again and finds the
   common ids as equal E_g(E_h(.)), and for each the host's E_h(H(id)).
3. The guest sends N blocks of E_h values (`natural_indexation`), each as large as the
   intersection: one of them the intersection's, at a position it draws at random, the others
   random samples of the host's; each block sorted, so that nothing but the content tells them
   apart. The host maps each block to its rows and their values.
4. 1-out-of-N oblivious transfer (Hauck and Loss, `crypto/oblivious_transfer.py`: FATE's
   `OT_Hauck`): the host derives a key per block, the guest gets the intersection block's.
5. The host sends each block's values encrypted under its key (AES-GCM, FATE's `aes`
   non-committing encryption; `id_blocks_ciphertext`, `nonce_list`); the guest can decrypt the
   intersection's block only, and tells the host how many ids it retrieved (`coverage`).

With `security_level` 0 or `raw_retrieval` (FATE's raw retrieval) the guest sends its ids in
the clear and the host answers the values of those it has.

Outputs, as FATE's: the guest's ids with the retrieved columns (`target_cols`; or the label,
as `retrieved_value`); an id the host lacks is NaN where FATE writes "unretrieved". The host
passes its data on. Both record the `train`/`sir` metric (Coverage, Block number) and FATE's
model (SecureInformationRetrievalMeta and Param).

What each learns (docs/security.md): the guest, which of its ids the host has and their
values, and the host's row count; the host, the number of common ids and that they form one
of N sets of its rows it was shown (with N = 45 at the default level), and the coverage.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fateflow_grpc.components.crypto import oblivious_transfer
from fateflow_grpc.components.crypto.commutative import (
    DH,
    ID_HASH_METHODS,
    MODP_KEY_LENGTHS,
    new_cipher,
    salted_digests,
)
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "SecureInformationRetrieval"
_VARIABLES = "SecureInformationRetrievalTransferVariable"
BLOCK_NUM = f"{_VARIABLES}.block_num"
NATURAL_INDEXATION = f"{_VARIABLES}.natural_indexation"
ID_BLOCKS_CIPHERTEXT = f"{_VARIABLES}.id_blocks_ciphertext"
NONCE_LIST = f"{_VARIABLES}.nonce_list"
RAW_ID_LIST = f"{_VARIABLES}.raw_id_list"
RAW_VALUE_LIST = f"{_VARIABLES}.raw_value_list"
COVERAGE = f"{_VARIABLES}.coverage"
#: The DH intersection's and the OT's (FATE: their own transfer variables).
HOST_IDS = "DhIntersectTransferVariable.id_ciphertext_list_exchange_h2g"
GUEST_IDS = "DhIntersectTransferVariable.id_ciphertext_list_exchange_g2h"
GUEST_IDS_DOUBLY = "DhIntersectTransferVariable.doubly_encrypted_id_list"
OT_S = "ObliviousTransferTransferVariable.s"
OT_R = "ObliviousTransferTransferVariable.r"
TAG = "fit"

# FATE 1.11's SecureInformationRetrievalParam (1.5's: no dh_params, no target_cols; its
# key_size, deprecated in 1.11, sets dh_params.key_length when given).
DEFAULTS: dict[str, Any] = {
    "security_level": 0.5,
    "oblivious_transfer_protocol": "OT_Hauck",
    "commutative_encryption": "CommutativeEncryptionPohligHellman",
    "non_committing_encryption": "aes",
    "key_size": None,
    "dh_params": {"salt": "", "hash_method": "sha256", "key_length": 2048},
    "raw_retrieval": False,
    "target_cols": None,
}
#: FATE's `security_scale`: block_num = ceil(2 exp(ln(500) security_level)).
SECURITY_SCALE = math.log(500)
METRIC_META = {"name": "sir", "metric_type": "INTERSECTION"}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    level = reader.number("security_level", minimum=0, maximum=1)
    protocol = reader.choice("oblivious_transfer_protocol", ("OT_Hauck",))
    commutative = reader.choice("commutative_encryption", ("CommutativeEncryptionPohligHellman",))
    non_committing = reader.choice("non_committing_encryption", ("aes",))
    dh = reader.section("dh_params")
    key_length = dh.integer("key_length", minimum=1024)
    if reader.raw("key_size") is not None:
        key_length = reader.integer("key_size", minimum=1024)
    if key_length not in MODP_KEY_LENGTHS:
        raise dh.error(
            "key_length",
            key_length,
            f"must be one of {MODP_KEY_LENGTHS} here (RFC 2409's and RFC 3526's groups)",
        )
    columns = reader.raw("target_cols")
    columns = [] if columns is None else [columns] if isinstance(columns, str) else columns
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise reader.error("target_cols", reader.raw("target_cols"), "must be column names")
    salt = dh.string("salt")
    return {
        "security_level": level,
        "oblivious_transfer_protocol": protocol,
        "commutative_encryption": commutative,
        "non_committing_encryption": non_committing,
        "key_size": key_length,
        "dh_params": {
            "salt": salt,
            "hash_method": dh.choice("hash_method", ID_HASH_METHODS),
            "key_length": key_length,
        },
        "raw_retrieval": reader.boolean("raw_retrieval"),
        "target_cols": columns,
    }


def block_num(level: float) -> int:
    return math.ceil(2 * math.exp(SECURITY_SCALE * level))


def _raw(params: Mapping[str, Any]) -> bool:
    return bool(params["raw_retrieval"]) or params["security_level"] == 0


def _hashed(ids: Sequence[str], dh: Mapping[str, Any]) -> list[bytes]:
    return salted_digests(ids, dh["hash_method"], dh["salt"])


def _join(values: Sequence[bytes]) -> bytes:
    return b"".join(values)


def _split(obj: object, width: int, sender: PartyRole, what: str) -> list[bytes]:
    if not isinstance(obj, bytes) or len(obj) % width:
        raise FederatedError(
            f"{sender.role} {sender.party_id} sent {what} that are not {width}-byte values"
        )
    return [obj[k : k + width] for k in range(0, len(obj), width)]


class _Link:
    def __init__(self, transport: Transport, peer: PartyRole, timeout: float) -> None:
        self._transport = transport
        self.peer = peer
        self._timeout = timeout

    def send(self, obj: object, name: str, tag: str = TAG) -> None:
        self._transport.remote(obj, name, tag, [self.peer])

    def receive(self, name: str, tag: str = TAG) -> object:
        [obj] = self._transport.get(name, tag, [self.peer], self._timeout)
        return obj

    def error(self, what: str, why: str) -> FederatedError:
        return FederatedError(f"{self.peer.role} {self.peer.party_id} sent {what} that {why}")


# --- the guest --------------------------------------------------------------------------------


def retrieve_guest(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> tuple[dict[str, list[Any]], int | None]:
    """The values retrieved for the guest's ids (those the host has), and the block number
    (None for raw retrieval)."""
    link = _Link(transport, parties.hosts[0], timeout)
    ids = [str(v) for v in data.ids.tolist()]
    if _raw(params):
        link.send(ids, RAW_ID_LIST)
        answer = link.receive(RAW_VALUE_LIST)
        if not isinstance(answer, Mapping) or not set(answer) <= set(ids):
            raise link.error("values", "are not a map from the ids asked for")
        raw = {str(k): list(v) for k, v in answer.items()}
        link.send(len(raw), COVERAGE)
        return raw, None
    blocks = block_num(params["security_level"])
    if blocks < 2:
        raise InvalidArgument(f"{MODULE}: one block is no oblivious transfer; use raw_retrieval")
    link.send(blocks, BLOCK_NUM)
    cipher = new_cipher(DH, params["dh_params"]["key_length"])
    width = cipher.width
    # The host's ids, encrypted by it then by us; ours, by us then by it.
    host_once = _split(link.receive(HOST_IDS), width, link.peer, "encrypted ids")
    try:
        host_twice = cipher.encrypt(host_once)
    except ValueError as error:
        raise link.error("encrypted ids", str(error)) from None
    order = list(range(len(ids)))
    secrets.SystemRandom().shuffle(order)
    mine = cipher.hash_encrypt(_hashed([ids[k] for k in order], params["dh_params"]))
    link.send(_join(mine), GUEST_IDS)
    mine_twice = _split(link.receive(GUEST_IDS_DOUBLY), width, link.peer, "encrypted ids")
    if len(mine_twice) != len(mine):
        raise link.error("doubly encrypted ids", f"are not {len(mine)}")
    host_by_twice = dict(zip(host_twice, host_once, strict=True))
    common = {
        host_by_twice[twice]: ids[k]
        for twice, k in zip(mine_twice, order, strict=True)
        if twice in host_by_twice
    }
    target = secrets.randbelow(blocks)
    size = len(common)
    for index in range(blocks):
        block = list(common) if index == target else secrets.SystemRandom().sample(host_once, size)
        link.send(_join(sorted(block)), NATURAL_INDEXATION, f"{TAG}.{index}")
    receiver = oblivious_transfer.Receiver(target)
    try:
        link.send(receiver.second(_bytes(link.receive(OT_S), link)), OT_R)
    except ValueError as error:
        raise link.error("an OT element", str(error)) from None
    key = receiver.key()
    retrieved: dict[str, list[Any]] = {}
    for index in range(blocks):
        sealed = _bytes(link.receive(ID_BLOCKS_CIPHERTEXT, f"{TAG}.{index}"), link)
        nonce = _bytes(link.receive(NONCE_LIST, f"{TAG}.{index}"), link)
        if index != target:
            continue
        try:
            values = json.loads(AESGCM(key).decrypt(nonce, sealed, None))
        except Exception as error:
            raise link.error(
                "the retrieved block", f"does not decrypt ({type(error).__name__})"
            ) from None
        block = sorted(common)
        if not isinstance(values, list) or len(values) != len(block):
            raise link.error("the retrieved block", f"does not hold {len(block)} values")
        retrieved = {common[e]: list(v) for e, v in zip(block, values, strict=True)}
    link.send(len(retrieved), COVERAGE)
    return retrieved, blocks


def _bytes(obj: object, link: _Link) -> bytes:
    if not isinstance(obj, bytes):
        raise link.error("a value", "is not bytes")
    return obj


# --- the host ---------------------------------------------------------------------------------


def _values(data: Dataset, columns: Sequence[str]) -> list[list[Any]]:
    """Each row's retrievable values: the target columns, or the label."""
    if not columns:
        if data.labels is None:
            raise InvalidArgument(
                f"{MODULE}: the host has no label to retrieve; name target_cols or set with_label"
            )
        return [[float(v)] for v in data.labels.tolist()]
    missing = [c for c in columns if c not in data.header]
    if missing:
        raise InvalidArgument(f"{MODULE}: {missing[0]} does not exist in the host's header")
    positions = [data.header.index(c) for c in columns]
    rows: list[list[Any]] = data.features[:, positions].tolist()
    return rows


def serve_host(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> tuple[int, int | None]:
    """The host's part: (how many ids the guest retrieved, the block number)."""
    link = _Link(transport, parties.guest, timeout)
    ids = [str(v) for v in data.ids.tolist()]
    values = _values(data, params["target_cols"])
    if _raw(params):
        wanted = link.receive(RAW_ID_LIST)
        if not isinstance(wanted, list):
            raise link.error("ids", "are not a list")
        mine = dict(zip(ids, values, strict=True))
        link.send({str(v): mine[str(v)] for v in wanted if str(v) in mine}, RAW_VALUE_LIST)
        return _coverage(link), None
    blocks = link.receive(BLOCK_NUM)
    if not isinstance(blocks, int) or isinstance(blocks, bool) or not 2 <= blocks <= 1000:
        raise link.error("a block_num", "is not from 2 to 1000")
    cipher = new_cipher(DH, params["dh_params"]["key_length"])
    width = cipher.width
    order = list(range(len(ids)))
    secrets.SystemRandom().shuffle(order)
    once = cipher.hash_encrypt(_hashed([ids[k] for k in order], params["dh_params"]))
    row_of = {e: k for e, k in zip(once, order, strict=True)}
    link.send(_join(once), HOST_IDS)
    theirs = _split(link.receive(GUEST_IDS), width, link.peer, "encrypted ids")
    try:
        link.send(_join(cipher.encrypt(theirs)), GUEST_IDS_DOUBLY)
    except ValueError as error:
        raise link.error("encrypted ids", str(error)) from None
    contents = []
    for index in range(blocks):
        block = _split(
            link.receive(NATURAL_INDEXATION, f"{TAG}.{index}"), width, link.peer, "a block"
        )
        if any(e not in row_of for e in block):
            raise link.error("a block", "names ids this host never sent")
        contents.append([values[row_of[e]] for e in block])
    sender = oblivious_transfer.Sender()
    link.send(sender.first(), OT_S)
    try:
        keys = sender.keys(_bytes(link.receive(OT_R), link), blocks)
    except ValueError as error:
        raise link.error("an OT element", str(error)) from None
    for index, (key, content) in enumerate(zip(keys, contents, strict=True)):
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(content).encode(), None)
        link.send(sealed, ID_BLOCKS_CIPHERTEXT, f"{TAG}.{index}")
        link.send(nonce, NONCE_LIST, f"{TAG}.{index}")
    return _coverage(link), blocks


def _coverage(link: _Link) -> int:
    count = link.receive(COVERAGE)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise link.error("a coverage", "is not a count")
    return count


# --- outputs and the component ----------------------------------------------------------------


def retrieved_dataset(
    data: Dataset, retrieved: Mapping[str, list[Any]], columns: Sequence[str]
) -> Dataset:
    """The guest's ids with the retrieved values, NaN where the host had none (FATE's
    "unretrieved"); the label (`retrieved_value`) when no column is named."""
    width = len(columns) or 1
    values = np.array(
        [retrieved.get(str(v), [math.nan] * width) for v in data.ids.tolist()], dtype=np.float64
    ).reshape(len(data.ids), width)
    if columns:
        return Dataset(
            ids=data.ids, features=values, labels=None, header=list(columns), sid=data.sid
        )
    return Dataset(
        ids=data.ids,
        features=np.zeros((len(data.ids), 0)),
        labels=values[:, 0],
        header=[],
        sid=data.sid,
        label_name="retrieved_value",
    )


def model(params: Mapping[str, Any], coverage: float, blocks: int | None) -> dict[str, Any]:
    """FATE's SecureInformationRetrievalMeta and Param."""
    return {
        "meta": {
            "security_level": params["security_level"],
            "oblivious_transfer_protocol": params["oblivious_transfer_protocol"],
            "commutative_encryption": params["commutative_encryption"],
            "non_committing_encryption": params["non_committing_encryption"],
            "key_size": params["key_size"],
            "raw_retrieval": params["raw_retrieval"],
        },
        "param": {"coverage": coverage, "block_num": blocks or 0},
    }


class SecureInformationRetrieval:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        data, _ = learner_input(context)
        if context.task.role == "guest":
            retrieved, blocks = retrieve_guest(context.federation, data, params, parties)
            coverage = len(retrieved) / len(data.ids) if len(data.ids) else 0.0
            output = retrieved_dataset(data, retrieved, params["target_cols"]).to_table()
        else:
            count, blocks = serve_host(context.federation, data, params, parties)
            coverage = count / len(data.ids) if len(data.ids) else 0.0
            output = data.to_table()
        number: Any = "N/A" if blocks is None else blocks
        context.log_metric(
            "train", "sir", [("Coverage", coverage), ("Block number", number)], METRIC_META
        )
        context.save_model(model(params, coverage, blocks))
        context.save_output_data(output)
        context.log.info("%s: coverage %.4f, %s blocks", MODULE, coverage, number)
