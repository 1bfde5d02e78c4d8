"""HomoOneHotEncoder (FATE's `HomoOneHotEncoder`): one-hot encoding with the same columns at
every party of a homo job, from the union of the categories all of them hold.

    categories = align_client(transport, local, header, parties, me)    # the guest, each host
    align_arbiter(transport, parties)                                   # the arbiter

Each client finds the values of its columns to encode (as OneHotEncoder does, `onehot.py`);
with `need_alignment` (the default) the clients then learn the union of every client's
(column, value) pairs, and each encodes every column of the union it has, so all end with the
same header. Without it, each encodes its own values, alone.

The union, keeping raw values from the arbiter (FATE's protocol sends the arbiter each
client's columns and values in plaintext):

1. the guest draws a 256-bit key and sends it to each host (`group_key`, ours; the arbiter
   never sees it);
2. each client encrypts every (column, value) pair it holds as one AES block under that key
   (8 bytes of SHA-256 of the column name, then the value as a signed 64-bit integer; a
   single-block cipher is a pseudorandom permutation: equal pairs give equal blocks, so they
   meet at the arbiter, and nothing else shows) and sends the sorted blocks to the arbiter
   (`guest_columns`, `host_columns`);
3. the arbiter sends back the sorted distinct blocks of all clients (`aligned_columns`);
4. each client decrypts them and keeps the columns of its header.

What the arbiter learns: how many distinct (column, value) pairs each client holds, over all
its encoded columns together, and which of them several clients share; not a value, not a
column name, not how the pairs fall into columns. What a client learns: the union, which the
encoded header shows anyway; not which client holds which value. This assumes the arbiter does
not collude with a client (that client knows the key); when one party plays both, it sees what
that client sees.

Model (FATE's `OHEAlignmentMeta`/`OHEAlignmentParam`, the fields of OneHotEncoder's) at the
clients; the arbiter keeps none, and does nothing in a predict job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fateflow_grpc.components.feature import onehot
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HomoOneHotEncoder"
_VARIABLES = "HomoOneHotTransferVariable"
#: Ours: the clients' key, from the guest to each host.
GROUP_KEY = f"{_VARIABLES}.group_key"
GUEST_COLUMNS = f"{_VARIABLES}.guest_columns"
HOST_COLUMNS = f"{_VARIABLES}.host_columns"
ALIGNED_COLUMNS = f"{_VARIABLES}.aligned_columns"
TAG = "fit"
_BLOCK = 16
_DIGEST = 8
_INT64 = 2**63

# FATE's HomoOneHotParam defaults (federatedml/param/homo_onehot_encoder_param.py).
DEFAULTS: dict[str, Any] = {
    "transform_col_indexes": -1,
    "transform_col_names": None,
    "need_alignment": True,
}

Blocks = npt.NDArray[np.uint8]


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    return {**onehot.read_columns(reader), "need_alignment": reader.boolean("need_alignment")}


# --- the clients --------------------------------------------------------------------------


def align_client(
    transport: Transport,
    local: Mapping[str, Sequence[int]],
    header: Sequence[str],
    parties: Participants,
    me: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> dict[str, list[int]]:
    """The union of every client's categories, for the columns of `header`."""
    arbiter = parties.require_arbiter()
    if me == parties.guest:
        key = secrets.token_bytes(32)
        transport.remote(key, GROUP_KEY, TAG, list(parties.hosts))
    else:
        [sent] = transport.get(GROUP_KEY, TAG, [parties.guest], timeout)
        if not isinstance(sent, bytes) or len(sent) != 32:
            raise FederatedError(f"{_name(parties.guest)} sent a group key that is not 32 bytes")
        key = sent
    blocks = _encrypt(key, local)
    name = GUEST_COLUMNS if me.role == "guest" else HOST_COLUMNS
    transport.remote(blocks, name, TAG, [arbiter])
    [union] = transport.get(ALIGNED_COLUMNS, TAG, [arbiter], timeout)
    return _decrypt(key, _read_blocks(union, arbiter), header)


def _encrypt(key: bytes, columns: Mapping[str, Sequence[int]]) -> Blocks:
    plain = bytearray()
    for name, values in columns.items():
        digest = _digest(name)
        for value in values:
            if not -_INT64 <= value < _INT64:
                raise InvalidArgument(
                    f"{MODULE}: column {name!r} holds {value}, beyond a 64-bit integer",
                    column=name,
                )
            plain += digest + value.to_bytes(8, "big", signed=True)
    # One block per pair: ECB over independent blocks is the block cipher itself, a
    # pseudorandom permutation, deterministic on purpose (equal pairs must meet).
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    blocks = np.frombuffer(encryptor.update(bytes(plain)) + encryptor.finalize(), np.uint8)
    return _distinct(blocks.reshape(-1, _BLOCK))


def _decrypt(key: bytes, blocks: Blocks, header: Sequence[str]) -> dict[str, list[int]]:
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    plain = decryptor.update(blocks.tobytes()) + decryptor.finalize()
    names = {_digest(name): name for name in header}
    found: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(plain), _BLOCK):
        name = names.get(plain[start : start + _DIGEST])
        if name is not None:  # another client's column this party does not have
            found[name].append(
                int.from_bytes(plain[start + _DIGEST : start + _BLOCK], "big", signed=True)
            )
    # In header order, as the encoded header will be.
    return {
        name: onehot.checked_categories(name, found[name], MODULE)
        for name in header
        if name in found
    }


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:_DIGEST]


# --- the arbiter --------------------------------------------------------------------------


def align_arbiter(
    transport: Transport, parties: Participants, *, timeout: float = GET_TIMEOUT_S
) -> int:
    """Send every client the distinct blocks of all; returns how many there are."""
    hosts = list(parties.hosts)
    sets = [
        _read_blocks(blocks, party)
        for name, party in [(GUEST_COLUMNS, parties.guest), *((HOST_COLUMNS, h) for h in hosts)]
        for blocks in transport.get(name, TAG, [party], timeout)
    ]
    union = _distinct(np.concatenate(sets))
    transport.remote(union, ALIGNED_COLUMNS, TAG, [parties.guest, *hosts])
    return len(union)


def _distinct(blocks: Blocks) -> Blocks:
    """Distinct rows in byte order: where a block sits says nothing of where it came from."""
    return np.ascontiguousarray(np.unique(blocks, axis=0))


def _read_blocks(obj: object, sender: PartyRole) -> Blocks:
    if not (
        isinstance(obj, np.ndarray)
        and obj.dtype == np.uint8
        and obj.ndim == 2
        and obj.shape[1] == _BLOCK
    ):
        raise FederatedError(f"{_name(sender)} sent categories that are not rows of {_BLOCK} bytes")
    return obj


def _name(party: PartyRole) -> str:
    return f"{party.role} {party.party_id}"


# --- the component ----------------------------------------------------------------------


class HomoOneHotEncoder:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        predicting = bool(context.wiring.model_inputs)
        if context.task.role == "arbiter":
            if params["need_alignment"] and not predicting:
                count = align_arbiter(context.federation, parties)
                context.log.info("aligned %s distinct encrypted categories", count)
            return
        data = onehot.one_input(context)
        if predicting:
            (model,) = context.input_models().values()
            encoder = onehot.from_model(model, MODULE)
        else:
            chosen = onehot.encoded_columns(data.header, params)
            local = onehot.categories(data, chosen, MODULE)
            if params["need_alignment"]:
                local = align_client(context.federation, local, data.header, parties, context.local)
            encoder = onehot.Encoder(list(data.header), local)
            context.save_model(onehot.to_model(encoder, chosen))
        encoded = encoder.transform(data, MODULE)
        context.save_summary(onehot.summary(data, encoded))
        context.log.info(
            "%s columns encoded: %s features", len(encoder.columns), len(encoded.header)
        )
        context.save_output_data(encoded.to_table())
