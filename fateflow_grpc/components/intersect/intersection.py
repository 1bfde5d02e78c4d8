"""Intersection (FATE's `Intersection` module): the sample ids a guest and its hosts share.

    params = validate_parameters(component_parameters)
    result = intersect_guest(transport, guest_ids, params, participants)  # at the guest
    result = intersect_host(transport, host_ids, params, participants, me)  # at host `me`
    result.ids, result.cardinality, result.cache

Four methods, as FATE 1.x has them (`intersect_method`):

* ``rsa`` (FATE's default): RSA blind-signature PSI. Each host makes an RSA key and sends the
  guest (n, e). The guest hashes each of its ids onto Z_n (a full-domain hash, MGF1-style, with
  ``rsa_params.hash_method`` and ``salt``), blinds it as H(id) * r^e mod n with a fresh uniform r,
  and sends the blinded values; the host signs them (the d-th power, by CRT) and sends them back;
  the guest divides r out, which leaves H(id)^d, checks each signature with e, and hashes it
  with ``final_hash_method``. The host sends the final hashes of its own signed ids, in an order
  it shuffled. The guest matches the two lists. With ``rsa_params.split_calculation`` (FATE's
  split mode) the ids are cut in two halves by a hash of the id: on one the host signs as
  above; on the other the roles swap (the guest makes a key per host and signs, the host blinds
  and matches, and tells the guest which of the guest's ids it matched), so that each side
  does half the exponentiations. The host then learns its own intersection with the guest on
  its half, even without ``sync_intersect_ids``, as in FATE.
* ``dh`` and ``ecdh`` (FATE 1.7+): doubly encrypted ids under a commutative cipher
  (`crypto/commutative.py`: Pohlig-Hellman in the MODP group of ``dh_params.key_length`` bits,
  or X25519 for ``ecdh_params.curve`` curve25519). Each host sends E_h(H(id)) of its ids in an
  order it shuffled; the guest, with a fresh key per host, sends E_g(H(id)) of its own; the host
  returns E_h(E_g(H(id))) in the guest's order; the guest computes E_g(E_h(H(id))) of the host's
  and matches. H is ``hash_method`` over id + ``salt``.
* ``raw``: both sides encode their ids (``raw_params`` or the older ``with_encode`` and
  ``encode_params``: hash with salt) and the parties other than ``join_role`` send their encoded
  ids to the join role, which matches them.

With ``sync_intersect_ids`` the guest (the join role, for raw) sends each host the positions, in
that host's shuffled list, of the ids common to *all* parties, and the host maps them back.

Options, as FATE's:

* ``cardinality_only`` (with ``cardinality_method`` dh or ecdh): the number of the guest's ids
  that every host has. Each party encrypts its ids under its own key; every list then goes
  round the hosts (the guest's through all of them, a host's through the others), each host
  encrypting it again and shuffling it, and ends at the guest, which adds its key to the
  hosts' lists and counts the values all lists share. So every list the guest compares is
  under every key and in an order no single party knows: the guest learns the count (and the
  sizes of the lists and of their overlaps), no party learns an id. With ``sync_cardinality``
  the guest sends the count to the hosts. There is no output table. (FATE's multi-host
  cardinality relays through the guest; hosts talk to each other here.)
* ``run_preprocess``: ``intersect_preprocess_params.filter_owner`` builds a Bloom filter
  (`crypto/bloom_filter.py`) of its ids (``preprocess_method`` over id + ``preprocess_salt``) with
  ``false_positive_rate`` and sends it to the other side, which runs the intersection on the ids
  the filter may hold only. The filter lets its receiver test any candidate id against the
  owner's table (with that false-positive rate): FATE's trade of privacy for speed, which is why
  it asks for a rate of at least 0.01.
* ``run_cache``: the component computes no intersection; each host keeps its key and its
  shuffled ids, the guest each host's encrypted ids (rsa: the host's public key and its final
  hashes; dh, ecdh: E_h(H(id))), as the component's model, under a cache id the host draws. A
  later Intersection that takes this model as input (`input.model`, our form of FATE's
  `input.cache`) runs with the cache's method and hashing: the hosts' ids are not encrypted
  again, only the guest's, with a fresh guest key.

What each party learns. A host sees only blinded values (rsa: uniform, whatever the ids) or
ciphertexts under the guest's key (dh, ecdh: pseudorandom under DDH), and, when the ids are
synchronised, the positions of the final intersection in its own shuffled list: no id outside
the intersection, and not even the guest's pairwise intersection with another host. The guest
learns its intersection with each host separately (it computes them) and how many ids each
host has, as in FATE; with ``cardinality_only``, only the count. ``raw`` sends hashes of ids,
which anyone holding a candidate id can test, so it hides less; with ``join_role: host`` the
hosts receive the guest's encoded ids.

The role functions return ids; the component writes the output table from them, with the
features of each row or, with ``only_output_key``, the ids alone.

Nothing on the wire is pickled: big integers and digests travel as fixed-width big-endian rows
of a ``uint8`` array (one row per value), positions as ``int64`` arrays, keys as JSON.

Departures from FATE, on purpose:

* ``rsa_params.key_length`` is 1024 by default, as FATE's ``RSAParam`` (1.7+) has it and as FATE
  1.4-1.6 hard-coded it; keys of 1024 to 8192 bits are accepted (``cryptography`` makes them).
* The blinding factor r is drawn uniformly below n, so that blinded values are uniform too;
  FATE draws r with ``random_bit`` bits. ``random_bit`` is still validated and must not exceed
  the key length: it is the least number of random bits a blinding factor has here.
* ``raw`` hashes ids by default (``with_encode`` true, ``encode_method`` sha256), where FATE's
  defaults send the ids as they are; ``with_encode: false``, ``encode_method: none`` or
  ``raw_params`` with ``use_hash: false`` still do. ``base64`` is accepted and changes nothing:
  digests cross as binary, which is what both of FATE's text forms encode. FATE 1.11 runs raw
  as ecdh; this runs it as raw, as FATE 1.5 to 1.10 do.
* ``dh_params.key_length`` is one of the RFC MODP groups' sizes (1024, 1536, 2048, 3072, 4096,
  6144, 8192), where FATE draws a safe prime of any size of at least 1024 bits.
* The hash functions are hashlib's; FATE's `none` for rsa is not one of them.
* ``rsa_params.random_base_fraction`` is accepted (FATE's leave to reuse blinding factors, for
  speed) and every factor is fresh all the same: r^e with e = 65537 costs 17 multiplications,
  and a factor used twice would let the host relate the two blinded ids. The job's log says so.

Match ids (FATE 1.7+): when every party's data have match ids (DataTransform's
``with_match_id``; the guest refuses a job where only some do) the parties intersect their
match ids, each once, whatever the methods and options above; then (`expand_match_ids`) the
``sample_id_generator`` keeps each of its rows whose match id is common and, with
``sync_intersect_ids``, sends the other side which of its sample ids each common match id has; the
other side repeats its row of that match id (its first, if it has several) under each of them. So
every output is keyed by the generator's sample ids and the rows line up, repeated ids included.
As in FATE, the generator must be the guest with several hosts and the ``join_role`` with raw,
and becomes the guest when the ids are not synchronised. ``join_method: left_join`` (data with
match ids only, ``sync_intersect_ids`` on) keeps all the generator's rows (its unmatched ones
under new random ids with ``new_sample_id``) and gives the other side NaN rows for the keys it
lacks. ``with_sample_id`` (FATE 1.5's, which FATE 1.7+ ignores) is accepted and ignored (the log
says so); so is ``repeated_id_process`` on data with match ids. On data without them,
``repeated_id_process`` is FATE 1.5/1.6's repeated ids: the ``repeated_id_owner``'s first feature
is the id matched on (its key a sample id of its own; the column leaves its features), the
other side's key is that id, and the owner generates the sample ids as above. The column is
float64 here (DataTransform's), so its ids must be numbers; an integral one matches the key
spelled as the integer.

FATE parameters refused when switched on (their default is accepted), with why:
``cardinality_method: rsa`` (FATE's rsa cardinality lets the guest test each of its ids
against the host's filter, so it learns the intersection, not only its size),
``allow_info_share`` (FATE 1.5's sharing of a column of one party's with the other, which FATE
1.7+ ignores), and ``intersect_cache_param.use_cache`` (FATE 1.5's cache by id type;
``run_cache`` is the cache here).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gmpy2
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric import rsa

from fateflow_grpc.components.crypto.bloom_filter import BloomFilter
from fateflow_grpc.components.crypto.commutative import (
    ID_HASH_METHODS,
    MODP_KEY_LENGTHS,
    CommutativeCipher,
    new_cipher,
    restore_cipher,
    salted_digests,
)
from fateflow_grpc.components.crypto.exponentiation import on_every_core
from fateflow_grpc.components.sdk.computing import LOCAL_COMPUTING, Computing
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument

MODULE = "Intersection"
RSA = "rsa"
RAW = "raw"
DH = "dh"
ECDH = "ecdh"
INTERSECT_METHODS = (RSA, RAW, DH, ECDH)
INNER_JOIN = "inner_join"
LEFT_JOIN = "left_join"
JOIN_ROLES = ("guest", "host")
HASH_METHODS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sm3")
ENCODE_METHODS = ("none", *HASH_METHODS)
ECDH_HASH_METHODS = ("sha256", "sha384", "sha512", "sm3")
CURVES = ("curve25519",)
MIN_KEY_LENGTH = 1024
MAX_KEY_LENGTH = 8192
#: FATE checks `run_preprocess`'s false-positive rate against this floor.
MIN_PREPROCESS_FPR = 0.01
#: The public exponent of every key (what `cryptography` recommends; verifying is cheap).
PUBLIC_EXPONENT = 65537

#: FATE's parameter names (1.5 to 1.11) with their defaults (see the module docstring for the
#: departures).
DEFAULTS: dict[str, Any] = {
    "intersect_method": RSA,
    "random_bit": 128,
    "sync_intersect_ids": True,
    "join_role": "guest",
    "only_output_key": False,
    "with_encode": True,
    "encode_params": {"encode_method": "sha256", "salt": "", "base64": False},
    "raw_params": {
        "use_hash": False,
        "salt": "",
        "hash_method": "none",
        "base64": False,
        "join_role": "guest",
    },
    "rsa_params": {
        "salt": "",
        "hash_method": "sha256",
        "final_hash_method": "sha256",
        "split_calculation": False,
        "random_base_fraction": None,
        "key_length": 1024,
        "random_bit": 128,
    },
    "dh_params": {"salt": "", "hash_method": "sha256", "key_length": 2048},
    "ecdh_params": {"salt": "", "hash_method": "sha256", "curve": "curve25519"},
    "join_method": "inner_join",
    "new_sample_id": False,
    "sample_id_generator": "guest",
    "intersect_cache_param": {"use_cache": False, "id_type": "phone", "encrypt_type": "sha256"},
    "run_cache": False,
    "cardinality_only": False,
    "sync_cardinality": False,
    "cardinality_method": ECDH,
    "run_preprocess": False,
    "intersect_preprocess_params": {
        "false_positive_rate": 1e-3,
        "encrypt_method": RSA,
        "hash_method": "sha256",
        "preprocess_method": "sha256",
        "preprocess_salt": "",
        "random_state": None,
        "filter_owner": "guest",
    },
    "repeated_id_process": False,
    "repeated_id_owner": "guest",
    "with_sample_id": False,
    "allow_info_share": False,
    "info_owner": "guest",
}

# FATE's transfer variables (`<ClassName>.<variable>`); the tag is the flowid alone.
_RSA_VARIABLES = "RsaIntersectTransferVariable"
RSA_PUBKEY = f"{_RSA_VARIABLES}.rsa_pubkey"
RSA_GUEST_IDS = f"{_RSA_VARIABLES}.intersect_guest_ids"
RSA_GUEST_IDS_PROCESS = f"{_RSA_VARIABLES}.intersect_guest_ids_process"
RSA_HOST_IDS_PROCESS = f"{_RSA_VARIABLES}.intersect_host_ids_process"
RSA_INTERSECT_IDS = f"{_RSA_VARIABLES}.intersect_ids"
#: split_calculation's other half, where the guest signs.
GUEST_PUBKEY = f"{_RSA_VARIABLES}.guest_pubkey"
HOST_PUBKEY_IDS = f"{_RSA_VARIABLES}.host_pubkey_ids"
GUEST_SIGN_HOST_IDS = f"{_RSA_VARIABLES}.guest_sign_host_ids"
GUEST_PRVKEY_IDS = f"{_RSA_VARIABLES}.guest_prvkey_ids"
HOST_INTERSECT_IDS = f"{_RSA_VARIABLES}.host_intersect_ids"
_RAW_VARIABLES = "RawIntersectTransferVariable"
RAW_SEND_IDS_GUEST = f"{_RAW_VARIABLES}.send_ids_guest"
RAW_SEND_IDS_HOST = f"{_RAW_VARIABLES}.send_ids_host"
RAW_INTERSECT_IDS_GUEST = f"{_RAW_VARIABLES}.intersect_ids_guest"
RAW_INTERSECT_IDS_HOST = f"{_RAW_VARIABLES}.intersect_ids_host"
#: dh's and ecdh's (`DhIntersectTransferVariable`, `EcdhIntersectTransferVariable`).
_COMMUTATIVE_VARIABLES = {
    DH: (
        "DhIntersectTransferVariable",
        "id_ciphertext_list_exchange_h2g",
        "id_ciphertext_list_exchange_g2h",
        "doubly_encrypted_id_list",
    ),
    ECDH: (
        "EcdhIntersectTransferVariable",
        "id_ciphertext_exchange_h2g",
        "id_ciphertext_exchange_g2h",
        "doubly_encrypted_id",
    ),
}
_FUNC_VARIABLES = "IntersectionFuncTransferVariable"
FILTER_FROM_GUEST = f"{_FUNC_VARIABLES}.intersect_filter_from_guest"
FILTER_FROM_HOST = f"{_FUNC_VARIABLES}.intersect_filter_from_host"
CACHE_ID = f"{_FUNC_VARIABLES}.cache_id"
CACHE_ID_FROM_HOST = f"{_FUNC_VARIABLES}.cache_id_from_host"
TAG = "fit"
#: The synchronised intersection of split_calculation's guest-signed half.
EVEN_TAG = "fit.even"
#: The bits of a Bloom filter travel apart from its description (JSON cannot hold an array).
BITS_TAG = "fit.bits"

#: Below this many values a batch is not worth splitting across threads.
_MIN_SLICE = 64

UInt8Rows = npt.NDArray[np.uint8]
Mpz = Any  # gmpy2 ships no type information


@dataclass(frozen=True)
class EncodeParams:
    """How raw ids are encoded: `encode_method` "none" sends them as they are."""

    encode_method: str
    salt: str
    base64: bool


@dataclass(frozen=True)
class RsaParams:
    hash_method: str
    final_hash_method: str
    salt: str
    key_length: int
    random_bit: int
    split_calculation: bool
    #: Accepted, and every blinding factor is fresh all the same (see the module docstring).
    random_base_fraction: float | None


@dataclass(frozen=True)
class CommutativeParams:
    """dh_params or ecdh_params: the id hash and the group (key_length is dh's only)."""

    method: str
    hash_method: str
    salt: str
    key_length: int


@dataclass(frozen=True)
class PreprocessParams:
    false_positive_rate: float
    hash_method: str
    preprocess_method: str
    preprocess_salt: str
    random_state: int | None
    filter_owner: str


@dataclass(frozen=True)
class IntersectParams:
    intersect_method: str
    sync_intersect_ids: bool
    join_role: str
    only_output_key: bool
    encode_params: EncodeParams
    rsa_params: RsaParams
    dh_params: CommutativeParams
    ecdh_params: CommutativeParams
    cardinality_only: bool
    sync_cardinality: bool
    cardinality_method: str
    #: None unless run_preprocess.
    preprocess: PreprocessParams | None
    run_cache: bool
    #: Match ids (see `expand_match_ids`): used only when the data have them.
    join_method: str = INNER_JOIN
    new_sample_id: bool = False
    sample_id_generator: str = "guest"
    #: Parameters switched on that FATE 1.7+ ignores (the component's log names them).
    ignored: tuple[str, ...] = ()
    #: FATE 1.5/1.6's repeated ids, for data without match ids (see `_repeated_ids`).
    repeated_id_process: bool = False
    repeated_id_owner: str = "guest"

    @property
    def method(self) -> str:
        """The protocol that runs: `cardinality_method` in cardinality-only mode."""
        return self.cardinality_method if self.cardinality_only else self.intersect_method

    def commutative(self, method: str) -> CommutativeParams:
        return self.dh_params if method == DH else self.ecdh_params


def validate_parameters(params: Mapping[str, Any] | None = None) -> IntersectParams:
    """FATE's defaults filled in; InvalidArgument naming the first parameter that is wrong."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    method = reader.choice("intersect_method", INTERSECT_METHODS)
    rsa_params = _rsa_params(reader)
    sync = reader.boolean("sync_intersect_ids")
    join_role = _join_role(reader)
    only_output_key = reader.boolean("only_output_key")
    join_method = reader.choice("join_method", (INNER_JOIN, LEFT_JOIN))
    if join_method == LEFT_JOIN and not sync:
        raise reader.error("join_method", LEFT_JOIN, "needs sync_intersect_ids, as in FATE")
    new_sample_id = reader.boolean("new_sample_id")
    sample_id_generator = reader.choice("sample_id_generator", JOIN_ROLES)
    # FATE 1.7+ ignores it: data with match ids are matched on them, repeated or not.
    ignored = ("with_sample_id",) if reader.boolean("with_sample_id") else ()
    repeated_id_process = reader.boolean("repeated_id_process")
    repeated_id_owner = reader.choice("repeated_id_owner", JOIN_ROLES)
    if reader.boolean("allow_info_share"):
        raise reader.error(
            "allow_info_share",
            True,
            "(FATE 1.5's sharing of a column with the other party, which FATE 1.7+ ignores) "
            "is not here",
        )
    reader.choice("info_owner", JOIN_ROLES)
    cache_param = reader.section("intersect_cache_param")
    if cache_param.boolean("use_cache"):
        raise cache_param.error(
            "use_cache", True, "is FATE 1.5's cache by id type, which is not here; use run_cache"
        )
    cache_param.choice("id_type", ("phone", "imei"))
    cache_param.choice("encrypt_type", ("md5", "sha256"))
    run_cache = reader.boolean("run_cache")
    encode_params = _encode_params(reader)
    dh_params = _commutative_params(reader, DH)
    ecdh_params = _commutative_params(reader, ECDH)

    cardinality_only = reader.boolean("cardinality_only")
    sync_cardinality = reader.boolean("sync_cardinality")
    cardinality_method = reader.choice("cardinality_method", (RSA, DH, ECDH))
    if cardinality_only and cardinality_method == RSA:
        raise reader.error(
            "cardinality_method",
            RSA,
            "cannot be rsa here: FATE's rsa cardinality lets the guest test each of its ids "
            "against the host's filter, so it learns the intersection; use dh or ecdh",
        )
    run_preprocess = reader.boolean("run_preprocess")
    preprocess = _preprocess_params(reader)
    if run_preprocess:
        if preprocess.false_positive_rate < MIN_PREPROCESS_FPR:
            raise reader.error(
                "intersect_preprocess_params.false_positive_rate",
                preprocess.false_positive_rate,
                f"must be at least {MIN_PREPROCESS_FPR} to run preprocessing",
            )
        if cardinality_only:
            raise reader.error("run_preprocess", True, "cannot go with cardinality_only")
    if run_cache:
        if method == RAW:
            raise reader.error("run_cache", True, "needs intersect_method rsa, dh or ecdh")
        if cardinality_only:
            raise reader.error("run_cache", True, "cannot go with cardinality_only")
        if run_preprocess:
            raise reader.error("run_cache", True, "cannot go with run_preprocess")
        if method == RSA and rsa_params.split_calculation:
            raise reader.error("run_cache", True, "cannot go with rsa_params.split_calculation")
    return IntersectParams(
        intersect_method=method,
        sync_intersect_ids=sync,
        join_role=join_role,
        only_output_key=only_output_key,
        encode_params=encode_params,
        rsa_params=rsa_params,
        dh_params=dh_params,
        ecdh_params=ecdh_params,
        cardinality_only=cardinality_only,
        sync_cardinality=sync_cardinality,
        cardinality_method=cardinality_method,
        preprocess=preprocess if run_preprocess else None,
        run_cache=run_cache,
        join_method=join_method,
        new_sample_id=new_sample_id,
        sample_id_generator=sample_id_generator,
        ignored=ignored,
        repeated_id_process=repeated_id_process,
        repeated_id_owner=repeated_id_owner,
    )


def _rsa_params(reader: ParamReader) -> RsaParams:
    section = reader.section("rsa_params")
    key_length = section.integer("key_length", minimum=MIN_KEY_LENGTH, maximum=MAX_KEY_LENGTH)
    # FATE 1.7 moved random_bit into rsa_params; the old place still works, not both at once.
    if reader.changed("random_bit") and section.changed("random_bit"):
        raise reader.error(
            "random_bit", reader.raw("random_bit"), "and rsa_params.random_bit are both set"
        )
    where = reader if reader.changed("random_bit") else section
    random_bit = where.integer("random_bit", minimum=1, maximum=key_length)
    fraction = None
    if section.raw("random_base_fraction") is not None:
        fraction = section.number("random_base_fraction", above=0)
    return RsaParams(
        hash_method=section.choice("hash_method", HASH_METHODS),
        final_hash_method=section.choice("final_hash_method", HASH_METHODS),
        salt=section.string("salt"),
        key_length=key_length,
        random_bit=random_bit,
        split_calculation=section.boolean("split_calculation"),
        random_base_fraction=fraction,
    )


def _join_role(reader: ParamReader) -> str:
    raw = reader.section("raw_params")
    if reader.changed("join_role") and raw.changed("join_role"):
        raise reader.error(
            "join_role", reader.raw("join_role"), "and raw_params.join_role are both set"
        )
    where = reader if reader.changed("join_role") else raw
    return where.choice("join_role", JOIN_ROLES)


def _encode_params(reader: ParamReader) -> EncodeParams:
    """raw's id encoding: `encode_params` (with `with_encode`), or FATE 1.7's `raw_params`."""
    raw = reader.section("raw_params")
    encode = reader.section("encode_params")
    old = reader.changed("with_encode") or reader.changed("encode_params")
    new = any(raw.changed(name) for name in ("use_hash", "salt", "hash_method", "base64"))
    if old and new:
        raise reader.error("raw_params", reader.raw("raw_params"), "and encode_params are both set")
    for section in (raw, encode):
        section.boolean("base64")
    if new:
        method = raw.choice("hash_method", ENCODE_METHODS)
        return EncodeParams(
            encode_method=method if raw.boolean("use_hash") else "none",
            salt=raw.string("salt"),
            base64=raw.boolean("base64"),
        )
    method = encode.choice("encode_method", ENCODE_METHODS)
    raw.choice("hash_method", ENCODE_METHODS)
    raw.boolean("use_hash")
    raw.string("salt")
    return EncodeParams(
        encode_method=method if reader.boolean("with_encode") else "none",
        salt=encode.string("salt"),
        base64=encode.boolean("base64"),
    )


def _commutative_params(reader: ParamReader, method: str) -> CommutativeParams:
    section = reader.section(f"{method}_params")
    if method == DH:
        key_length = section.integer("key_length", minimum=MIN_KEY_LENGTH)
        if key_length not in MODP_KEY_LENGTHS:
            raise section.error(
                "key_length",
                key_length,
                f"must be one of {', '.join(map(str, MODP_KEY_LENGTHS))} (the RFC MODP groups)",
            )
        hash_method = section.choice("hash_method", ID_HASH_METHODS)
    else:
        section.choice("curve", CURVES)
        key_length = 256
        hash_method = section.choice("hash_method", ECDH_HASH_METHODS)
    return CommutativeParams(method, hash_method, section.string("salt"), key_length)


def _preprocess_params(reader: ParamReader) -> PreprocessParams:
    section = reader.section("intersect_preprocess_params")
    section.choice("encrypt_method", (RSA,))
    random_state = section.raw("random_state")
    if random_state is not None:
        random_state = section.integer("random_state", minimum=0)
    return PreprocessParams(
        false_positive_rate=section.number("false_positive_rate", above=0, maximum=0.5),
        hash_method=section.choice("hash_method", HASH_METHODS),
        preprocess_method=section.choice("preprocess_method", HASH_METHODS),
        preprocess_salt=section.string("preprocess_salt"),
        random_state=random_state,
        filter_owner=section.choice("filter_owner", JOIN_ROLES),
    )


# --- role functions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Intersected:
    """What one party gets from the intersection."""

    #: This party's ids in the intersection, in its order; None when it is not told them
    #: (a host without `sync_intersect_ids`; every party with `cardinality_only` or `run_cache`).
    ids: list[str] | None = None
    #: `cardinality_only`: the size of the intersection, when this party learns it.
    cardinality: int | None = None
    #: `run_cache`: what this party keeps (its model).
    cache: dict[str, Any] | None = None


def intersect_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    *,
    cache: Mapping[str, Any] | None = None,
    timeout: float = GET_TIMEOUT_S,
    computing: Computing = LOCAL_COMPUTING,
) -> Intersected:
    """The guest's ids that every host has too, in the guest's order (or what the options make
    of them: a count, a cache). `cache` is the guest's model of an earlier `run_cache`."""
    _check_ids(ids)
    hosts = list(parties.hosts)
    if cache is not None:
        cached = _GuestCache.read(cache, params, hosts)
        _exchange_cache_ids(transport, [h.cache_id for h in cached.hosts], hosts, timeout)
        return _run_guest(transport, ids, cached.params, hosts, timeout, cached, computing)
    if params.preprocess is not None:
        ids = _preprocess_guest(transport, ids, params.preprocess, hosts, timeout)
    return _run_guest(transport, ids, params, hosts, timeout, None, computing)


def intersect_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    local: PartyRole,
    *,
    cache: Mapping[str, Any] | None = None,
    timeout: float = GET_TIMEOUT_S,
    computing: Computing = LOCAL_COMPUTING,
) -> Intersected:
    """This host's (`local`'s) ids in the intersection, in its order, when it is told them (or
    a count, or a cache). `cache` is this host's model of an earlier `run_cache`.

    A host learns the intersection when `sync_intersect_ids` is on, or, with `raw` and
    `join_role: host`, when it computes it itself (its intersection with the guest).
    """
    _check_ids(ids)
    guest = parties.guest
    if params.cardinality_only:
        return _cardinality_host(transport, ids, params, parties, local, timeout)
    if cache is not None:
        cached = _HostCache.read(cache, params)
        _exchange_cache_ids(transport, [cached.cache_id], [guest], timeout, host=True)
        result = _run_host(transport, ids, cached.params, guest, timeout, cached, computing)
    else:
        own = ids
        if params.preprocess is not None:
            own = _preprocess_host(transport, ids, params.preprocess, guest, timeout)
        result = _run_host(transport, own, params, guest, timeout, None, computing)
    if result.ids is None:
        return result
    # In our table's order; with a cache, only the ids our table still has.
    common = set(result.ids)
    return dataclasses.replace(result, ids=[value for value in ids if value in common])


def _run_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: list[PartyRole],
    timeout: float,
    cache: _GuestCache | None,
    computing: Computing,
) -> Intersected:
    if params.cardinality_only:
        return _cardinality_guest(transport, ids, params, hosts, timeout)
    if params.method == RSA:
        return _rsa_guest(transport, ids, params, hosts, timeout, cache, computing)
    if params.method == RAW:
        return Intersected(ids=_raw_guest(transport, ids, params, hosts, timeout, computing))
    return _commutative_guest(transport, ids, params, hosts, timeout, cache)


def _run_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    guest: PartyRole,
    timeout: float,
    cache: _HostCache | None,
    computing: Computing,
) -> Intersected:
    if params.method == RSA:
        return _rsa_host(transport, ids, params, guest, timeout, cache, computing)
    if params.method == RAW:
        return Intersected(ids=_raw_host(transport, ids, params, guest, timeout, computing))
    return _commutative_host(transport, ids, params, guest, timeout, cache)


@dataclass(frozen=True)
class IntersectionMetrics:
    """What FATE's Intersection logs: metric `intersection` in namespace `train`."""

    count: int
    #: This party's ids (match ids, each once, when the data have them): FATE 1.11's
    #: `input_match_id_count`.
    own_count: int
    rate: float
    intersect_method: str
    join_method: str = INNER_JOIN
    namespace: str = "train"
    name: str = "intersection"
    metric_type: str = "INTERSECTION"
    #: With match ids: the output's rows (`count` and `rate` are of match ids), as FATE's.
    sample_id_count: int | None = None

    def data(self) -> list[tuple[str, float]]:
        """FATE 1.11's metric data points (1.5 had the first and the third only), and with
        match ids `intersect_sample_id_count`."""
        points: list[tuple[str, float]] = [
            ("intersect_count", self.count),
            ("input_match_id_count", self.own_count),
            ("intersect_rate", self.rate),
            ("unmatched_count", self.own_count - self.count),
            ("unmatched_rate", 1 - self.rate),
        ]
        if self.sample_id_count is not None:
            points.append(("intersect_sample_id_count", self.sample_id_count))
        return points

    def extra_metas(self) -> dict[str, str]:
        return {"intersect_method": self.intersect_method, "join_method": self.join_method}


def intersection_metrics(
    count: int, own_count: int, params: IntersectParams
) -> IntersectionMetrics:
    """Count and rate (count over this party's own row count, 0 for an empty table)."""
    rate = count / own_count if own_count else 0.0
    return IntersectionMetrics(count, own_count, rate, params.method, params.join_method)


def _check_ids(ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        raise InvalidArgument(
            "Intersection needs unique ids: the table has an id twice (FATE's repeated ids "
            "are match ids: read the table with DataTransform's with_match_id)"
        )


# --- the cache --------------------------------------------------------------------------------

#: The model key that says a model is an Intersection cache.
CACHE_KEY = "intersect_cache"


def _method_params(params: IntersectParams) -> dict[str, Any]:
    """The parameters a cache fixes: the method and its hashing."""
    if params.intersect_method == RSA:
        r = params.rsa_params
        section: dict[str, Any] = {
            "hash_method": r.hash_method,
            "final_hash_method": r.final_hash_method,
            "salt": r.salt,
            "key_length": r.key_length,
        }
    else:
        c = params.commutative(params.intersect_method)
        section = {"hash_method": c.hash_method, "salt": c.salt}
        section |= {"key_length": c.key_length} if c.method == DH else {}
    return {
        "intersect_method": params.intersect_method,
        f"{params.intersect_method}_params": section,
    }


def _cached_params(model: Mapping[str, Any], current: IntersectParams) -> IntersectParams:
    """This run's parameters with the cache's method and hashing, as FATE takes them."""
    try:
        fixed = model["params"]
        assert isinstance(fixed, dict)
        cached = validate_parameters(fixed)
    except (KeyError, AssertionError, InvalidArgument) as error:
        raise InvalidArgument(f"the Intersection cache is not one: {error}") from None
    return dataclasses.replace(
        current,
        intersect_method=cached.intersect_method,
        rsa_params=cached.rsa_params,
        dh_params=cached.dh_params,
        ecdh_params=cached.ecdh_params,
    )


@dataclass(frozen=True)
class _HostCache:
    cache_id: str
    params: IntersectParams
    ids: list[str]  # in the order the host shuffled them when it made the cache
    key: dict[str, Any]

    @classmethod
    def read(cls, model: Mapping[str, Any], current: IntersectParams) -> _HostCache:
        if model.get(CACHE_KEY) != "host":
            raise InvalidArgument("the Intersection input model is not a host's cache")
        params = _cached_params(model, current)
        return cls(model["cache_id"], params, list(model["ids"]), model["key"])

    def model(self) -> dict[str, Any]:
        return {
            CACHE_KEY: "host",
            "cache_id": self.cache_id,
            "params": _method_params(self.params),
            "ids": self.ids,
            "key": self.key,
        }


@dataclass(frozen=True)
class _HostEntry:
    party_id: int
    cache_id: str
    values: list[bytes]  # the host's encrypted ids, in its order
    public_key: dict[str, Any] | None  # rsa's (n, e)


@dataclass(frozen=True)
class _GuestCache:
    params: IntersectParams
    hosts: list[_HostEntry]

    @classmethod
    def read(
        cls, model: Mapping[str, Any], current: IntersectParams, hosts: Sequence[PartyRole]
    ) -> _GuestCache:
        if model.get(CACHE_KEY) != "guest":
            raise InvalidArgument("the Intersection input model is not a guest's cache")
        by_party = {int(entry["party_id"]): entry for entry in model["hosts"]}
        if sorted(by_party) != sorted(h.party_id for h in hosts):
            raise InvalidArgument(
                f"the Intersection cache was made with hosts {sorted(by_party)}, "
                f"not {sorted(h.party_id for h in hosts)}"
            )
        entries = [
            _HostEntry(
                h.party_id,
                by_party[h.party_id]["cache_id"],
                [bytes.fromhex(v) for v in by_party[h.party_id]["values"]],
                by_party[h.party_id].get("public_key"),
            )
            for h in hosts
        ]
        return cls(_cached_params(model, current), entries)

    def model(self) -> dict[str, Any]:
        return {
            CACHE_KEY: "guest",
            "params": _method_params(self.params),
            "hosts": [
                {
                    "party_id": e.party_id,
                    "cache_id": e.cache_id,
                    "values": [v.hex() for v in e.values],
                    "public_key": e.public_key,
                }
                for e in self.hosts
            ],
        }


def _exchange_cache_ids(
    transport: Transport,
    mine: Sequence[str],
    peers: Sequence[PartyRole],
    timeout: float,
    *,
    host: bool = False,
) -> None:
    """Both sides show their cache ids, so that a guest's and a host's cache of two different
    runs are never mixed (each side refuses before any id is sent)."""
    send, receive = (CACHE_ID_FROM_HOST, CACHE_ID) if host else (CACHE_ID, CACHE_ID_FROM_HOST)
    for cache_id, peer in zip(mine, peers, strict=True):
        transport.remote(cache_id, send, TAG, [peer])
    for cache_id, peer, theirs in zip(
        mine, peers, transport.get(receive, TAG, list(peers), timeout), strict=True
    ):
        if theirs != cache_id:
            raise InvalidArgument(
                f"the Intersection caches of {peer.role} {peer.party_id} and of this party "
                "come from different runs"
            )


# --- preprocessing: a Bloom filter of the filter owner's ids -----------------------------------


def _preprocess_digests(ids: Sequence[str], params: PreprocessParams) -> list[bytes]:
    return salted_digests(ids, params.preprocess_method, params.preprocess_salt)


def _make_filter(ids: Sequence[str], params: PreprocessParams) -> BloomFilter:
    bloom = BloomFilter.sized(
        len(ids), params.false_positive_rate, params.hash_method, params.random_state
    )
    bloom.add(_preprocess_digests(ids, params))
    return bloom


def _send_filter(
    transport: Transport, bloom: BloomFilter, name: str, to: Sequence[PartyRole]
) -> None:
    meta, bits = bloom.to_wire()
    transport.remote(meta, name, TAG, to)
    transport.remote(bits, name, BITS_TAG, to)


def _received_filters(
    transport: Transport, name: str, senders: Sequence[PartyRole], timeout: float
) -> list[BloomFilter]:
    metas = transport.get(name, TAG, list(senders), timeout)
    bits = transport.get(name, BITS_TAG, list(senders), timeout)
    filters = []
    for meta, array, sender in zip(metas, bits, senders, strict=True):
        try:
            filters.append(BloomFilter.from_wire(meta, array, HASH_METHODS))
        except ValueError as error:
            raise InvalidArgument(
                f"{sender.role} {sender.party_id} sent a filter that {error}"
            ) from None
    return filters


def _filtered(
    ids: Sequence[str], params: PreprocessParams, filters: Sequence[BloomFilter]
) -> list[str]:
    digests = _preprocess_digests(ids, params)
    keep = [True] * len(ids)
    for bloom in filters:
        keep = [k and hit for k, hit in zip(keep, bloom.contains(digests), strict=True)]
    return [value for value, k in zip(ids, keep, strict=True) if k]


def _preprocess_guest(
    transport: Transport,
    ids: Sequence[str],
    params: PreprocessParams,
    hosts: Sequence[PartyRole],
    timeout: float,
) -> Sequence[str]:
    if params.filter_owner == "guest":
        _send_filter(transport, _make_filter(ids, params), FILTER_FROM_GUEST, hosts)
        return ids
    return _filtered(ids, params, _received_filters(transport, FILTER_FROM_HOST, hosts, timeout))


def _preprocess_host(
    transport: Transport,
    ids: Sequence[str],
    params: PreprocessParams,
    guest: PartyRole,
    timeout: float,
) -> Sequence[str]:
    if params.filter_owner == "host":
        _send_filter(transport, _make_filter(ids, params), FILTER_FROM_HOST, [guest])
        return ids
    return _filtered(ids, params, _received_filters(transport, FILTER_FROM_GUEST, [guest], timeout))


# --- RSA blind signatures ---------------------------------------------------------------------


@dataclass(frozen=True)
class _PrivateKey:
    n: Mpz
    e: Mpz
    p: Mpz
    q: Mpz
    dp: Mpz
    dq: Mpz
    q_inv: Mpz  # q^-1 mod p

    @classmethod
    def generate(cls, bits: int) -> _PrivateKey:
        numbers = rsa.generate_private_key(PUBLIC_EXPONENT, bits).private_numbers()
        return cls.from_numbers(
            {
                "n": numbers.public_numbers.n,
                "e": numbers.public_numbers.e,
                "p": numbers.p,
                "q": numbers.q,
            }
        )

    @classmethod
    def from_numbers(cls, numbers: Mapping[str, int]) -> _PrivateKey:
        mpz = gmpy2.mpz
        p, q, e = mpz(numbers["p"]), mpz(numbers["q"]), mpz(numbers["e"])
        return cls(
            n=mpz(numbers["n"]),
            e=e,
            p=p,
            q=q,
            dp=gmpy2.invert(e, p - 1),
            dq=gmpy2.invert(e, q - 1),
            q_inv=gmpy2.invert(q, p),
        )

    def numbers(self) -> dict[str, str]:
        """The key for this host's own cache (hexadecimal)."""
        return {name: format(getattr(self, name), "x") for name in ("n", "e", "p", "q")}

    @property
    def width(self) -> int:
        return _width(self.n)

    def sign(self, values: Sequence[Mpz]) -> list[Mpz]:
        """values^d mod n by the CRT: two half-size exponentiations instead of one full one."""
        p, q = self.p, self.q
        s_p = _powmod_all([v % p for v in values], self.dp, p)
        s_q = _powmod_all([v % q for v in values], self.dq, q)
        return [b + q * ((self.q_inv * (a - b)) % p) for a, b in zip(s_p, s_q, strict=True)]


# Slots of a blinded id's row (`_Blinded.rows`).
_HASHED, _FACTOR, _SENT = 0, 1, 2


@dataclass
class _Blinded:
    """Our ids blinded for one signer, as rows of n's width (bytes, not Python integers: a
    party holds millions): per id H(id), the factor r, and what we send (H * r^e), whose slot
    the signer's answer takes when it comes back."""

    n: Mpz
    e: Mpz
    rows: UInt8Rows  # (ids, 3, width)

    @classmethod
    def of(
        cls, ids: Sequence[str], rsa_params: RsaParams, n: Mpz, e: Mpz, computing: Computing
    ) -> _Blinded:
        blind = functools.partial(_blind, n=n, e=e, params=rsa_params)
        return cls(n, e, computing.map_partitions(blind, ids))

    @property
    def sent(self) -> UInt8Rows:
        return np.ascontiguousarray(self.rows[:, _SENT])

    def unblind(
        self, obj: object, rsa_params: RsaParams, signer: PartyRole, computing: Computing
    ) -> list[bytes]:
        """The final digests of our ids' signatures, from what the signer sent back."""
        signed = _read_rows(obj, _width(self.n), "signed ids", signer)
        if len(signed) != len(self.rows):
            raise InvalidArgument(
                f"{signer.role} {signer.party_id} signed {len(signed)} ids, "
                f"not the {len(self.rows)} sent"
            )
        self.rows[:, _SENT] = signed  # what we sent is spent
        unblind = functools.partial(
            _unblind, n=self.n, e=self.e, method=rsa_params.final_hash_method, signer=signer
        )
        return _rows_bytes(computing.map_partitions(unblind, self.rows))


# Work on one slice of the ids (`Computing.map_partitions`): whichever engine runs a slice, in
# the task's process or on Spark's executors, the slices' results joined are the whole's.


def _blind(ids: Sequence[str], n: Mpz, e: Mpz, params: RsaParams) -> UInt8Rows:
    """`_Blinded`'s rows: H(id), r and H(id) * r^e mod n for each id, with a fresh r per id and
    signer (see the module docstring on random_base_fraction)."""
    hashed = _full_domain_hash(ids, params, n)
    factors = [_blinding_factor(n) for _ in ids]
    powers = _powmod_all(factors, e, n)
    blinded = [(h * p) % n for h, p in zip(hashed, powers, strict=True)]
    return np.stack([_integer_rows(values, _width(n)) for values in (hashed, factors, blinded)], 1)


def _unblind(rows: UInt8Rows, n: Mpz, e: Mpz, method: str, signer: PartyRole) -> UInt8Rows:
    """The final digests of our signed ids, from `_Blinded`'s rows with the signer's answers."""
    # Divide r out: (H * r^e)^d / r = H^d. Inverting is cheap next to one exponentiation.
    unblinded = [
        (s * gmpy2.invert(r, n)) % n
        for s, r in zip(_row_integers(rows[:, _SENT]), _row_integers(rows[:, _FACTOR]), strict=True)
    ]
    # A signature that does not verify is a bug or a party cheating; either way the
    # intersection would be silently wrong.
    if _powmod_all(unblinded, e, n) != _row_integers(rows[:, _HASHED]):
        raise InvalidArgument(f"{signer.role} {signer.party_id} sent signatures that do not verify")
    return _final_digests(unblinded, _width(n), method)


def _sign_ids(ids: Sequence[str], key: _PrivateKey, params: RsaParams) -> UInt8Rows:
    """The final digests of the signed full-domain hashes of our own ids."""
    signed = key.sign(_full_domain_hash(ids, params, key.n))
    return _final_digests(signed, key.width, params.final_hash_method)


def _sign_rows(rows: UInt8Rows, key: _PrivateKey, requester: PartyRole) -> UInt8Rows:
    values = _row_integers(rows)
    if any(v >= key.n for v in values):
        raise InvalidArgument(f"{requester.role} {requester.party_id} sent blinded ids outside Z_n")
    return _integer_rows(key.sign(values), key.width)


def _public_key(key: _PrivateKey) -> dict[str, Any]:
    return {"n": format(key.n, "x"), "e": int(key.e)}


def _sign_blinded(
    key: _PrivateKey, obj: object, requester: PartyRole, computing: Computing
) -> UInt8Rows:
    rows = _read_rows(obj, key.width, "blinded ids", requester)
    return computing.map_partitions(
        functools.partial(_sign_rows, key=key, requester=requester), rows
    )


def _signed_digests(
    key: _PrivateKey, ids: Sequence[str], rsa_params: RsaParams, computing: Computing
) -> UInt8Rows:
    return computing.map_partitions(functools.partial(_sign_ids, key=key, params=rsa_params), ids)


def _halves(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """split_calculation's two halves, as both sides cut them: by the parity of a hash of the
    id, so that an id both sides have falls in the same half at both."""
    odd: list[str] = []
    even: list[str] = []
    for value in ids:
        (odd if hashlib.sha256(value.encode()).digest()[-1] & 1 else even).append(value)
    return odd, even


def _rsa_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    guest: PartyRole,
    timeout: float,
    cache: _HostCache | None,
    computing: Computing,
) -> Intersected:
    to_guest = [guest]
    rsa_params = params.rsa_params
    split = rsa_params.split_calculation
    odd, even = _halves(ids) if split else (list(ids), [])
    if cache is None:
        key = _PrivateKey.generate(rsa_params.key_length)
        transport.remote(_public_key(key), RSA_PUBKEY, TAG, to_guest)
        # Our own ids go out in an order we shuffled, so that the positions the guest sends
        # back say nothing about where an id sits in our table.
        shuffled = [odd[i] for i in _shuffled(len(odd))]
    else:
        key = _PrivateKey.from_numbers({k: int(v, 16) for k, v in cache.key.items()})
        shuffled = cache.ids

    if params.run_cache:
        transport.remote(
            _signed_digests(key, shuffled, rsa_params, computing),
            RSA_HOST_IDS_PROCESS,
            TAG,
            to_guest,
        )
        cache_id = secrets.token_hex(16)
        transport.remote(cache_id, CACHE_ID_FROM_HOST, TAG, to_guest)
        made = _HostCache(cache_id, params, shuffled, key.numbers())
        return Intersected(cache=made.model())

    if split:  # the even half: the guest signs, we blind ours
        [guest_key] = transport.get(GUEST_PUBKEY, TAG, to_guest, timeout)
        mine = _Blinded.of(even, rsa_params, *_read_public_key(guest_key, guest), computing)
        transport.remote(mine.sent, HOST_PUBKEY_IDS, TAG, to_guest)

    # Sign the guest's blinded values first: the guest unblinds them while we sign our own.
    [blinded] = transport.get(RSA_GUEST_IDS, TAG, to_guest, timeout)
    transport.remote(
        _sign_blinded(key, blinded, guest, computing), RSA_GUEST_IDS_PROCESS, TAG, to_guest
    )
    del blinded  # spent: 128 bytes an id that signing our own ids can use
    if cache is None:
        transport.remote(
            _signed_digests(key, shuffled, rsa_params, computing),
            RSA_HOST_IDS_PROCESS,
            TAG,
            to_guest,
        )
    common = _host_synced(transport, shuffled, params, guest, RSA_INTERSECT_IDS, TAG, timeout)
    if not split:
        return Intersected(ids=common)

    [signed] = transport.get(GUEST_SIGN_HOST_IDS, TAG, to_guest, timeout)
    own = mine.unblind(signed, rsa_params, guest, computing)
    [theirs] = transport.get(GUEST_PRVKEY_IDS, TAG, to_guest, timeout)
    listed = _rows_bytes(_read_rows(theirs, _digest_size(rsa_params), "signed id digests", guest))
    where = {value: k for k, value in enumerate(listed)}
    matched = {where[d]: value for value, d in zip(even, own, strict=True) if d in where}
    transport.remote(np.array(sorted(matched), dtype=np.int64), HOST_INTERSECT_IDS, TAG, to_guest)
    if not params.sync_intersect_ids:
        return Intersected()
    [positions] = transport.get(RSA_INTERSECT_IDS, EVEN_TAG, to_guest, timeout)
    final = _read_positions(positions, len(listed), "intersection", guest)
    if not set(final) <= set(matched):
        raise InvalidArgument(f"guest {guest.party_id} sent ids this host did not match")
    return Intersected(ids=(common or []) + [matched[k] for k in final])


def _host_synced(
    transport: Transport,
    shuffled: Sequence[str],
    params: IntersectParams,
    guest: PartyRole,
    name: str,
    tag: str,
    timeout: float,
) -> list[str] | None:
    """The intersection as the guest's positions in our shuffled list tell it."""
    if not params.sync_intersect_ids:
        return None
    [positions] = transport.get(name, tag, [guest], timeout)
    chosen = set(_read_positions(positions, len(shuffled), "intersection", guest))
    return [shuffled[k] for k in sorted(chosen)]


def _digest_size(rsa_params: RsaParams) -> int:
    return hashlib.new(rsa_params.final_hash_method).digest_size


def _rsa_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: list[PartyRole],
    timeout: float,
    cache: _GuestCache | None,
    computing: Computing,
) -> Intersected:
    rsa_params = params.rsa_params
    split = rsa_params.split_calculation
    odd, even = _halves(ids) if split else (list(ids), [])
    if split:  # the even half: we sign, with a key per host
        guest_keys = [_PrivateKey.generate(rsa_params.key_length) for _ in hosts]
        for guest_key, host in zip(guest_keys, hosts, strict=True):
            transport.remote(_public_key(guest_key), GUEST_PUBKEY, TAG, [host])
    if cache is None:
        keys = [
            _read_public_key(obj, host)
            for obj, host in zip(transport.get(RSA_PUBKEY, TAG, hosts, timeout), hosts, strict=True)
        ]
    else:
        keys = [
            _read_public_key(entry.public_key, host)
            for entry, host in zip(cache.hosts, hosts, strict=True)
        ]

    def host_digests() -> list[list[bytes]]:
        if cache is not None:
            return [entry.values for entry in cache.hosts]
        return [
            _rows_bytes(_read_rows(obj, _digest_size(rsa_params), "signed id digests", host))
            for obj, host in zip(
                transport.get(RSA_HOST_IDS_PROCESS, TAG, hosts, timeout), hosts, strict=True
            )
        ]

    if params.run_cache:
        lists = host_digests()
        cache_ids = transport.get(CACHE_ID_FROM_HOST, TAG, hosts, timeout)
        entries = [
            _HostEntry(h.party_id, str(cache_id), values, {"n": format(n, "x"), "e": int(e)})
            for h, cache_id, values, (n, e) in zip(hosts, cache_ids, lists, keys, strict=True)
        ]
        return Intersected(cache=_GuestCache(params, entries).model())

    blinded = [_Blinded.of(odd, rsa_params, n, e, computing) for n, e in keys]
    for mine, host in zip(blinded, hosts, strict=True):
        transport.remote(mine.sent, RSA_GUEST_IDS, TAG, [host])
    if split:
        # Sign each host's blinded even ids, and list our own even ids signed, in an order we
        # shuffled (one order for every host, a key per host).
        shuffled_even = [even[i] for i in _shuffled(len(even))]
        for guest_key, obj, host in zip(
            guest_keys, transport.get(HOST_PUBKEY_IDS, TAG, hosts, timeout), hosts, strict=True
        ):
            transport.remote(
                _sign_blinded(guest_key, obj, host, computing), GUEST_SIGN_HOST_IDS, TAG, [host]
            )
            digests = _signed_digests(guest_key, shuffled_even, rsa_params, computing)
            transport.remote(digests, GUEST_PRVKEY_IDS, TAG, [host])

    own_digests = [
        mine.unblind(obj, rsa_params, host, computing)
        for mine, obj, host in zip(
            blinded, transport.get(RSA_GUEST_IDS_PROCESS, TAG, hosts, timeout), hosts, strict=True
        )
    ]
    del blinded  # spent: 3 x 128 bytes an id that the matching can use
    common = _guest_common(
        transport, odd, params, hosts, own_digests, host_digests(), RSA_INTERSECT_IDS
    )
    if not split:
        return Intersected(ids=common)

    # The hosts matched our even ids; we keep what every host matched.
    matched = [
        set(_read_positions(obj, len(even), "matched ids", host))
        for obj, host in zip(
            transport.get(HOST_INTERSECT_IDS, TAG, hosts, timeout), hosts, strict=True
        )
    ]
    final = sorted(set.intersection(*matched)) if matched else []
    if params.sync_intersect_ids:
        transport.remote(np.array(final, dtype=np.int64), RSA_INTERSECT_IDS, EVEN_TAG, hosts)
    chosen = set(common) | {shuffled_even[k] for k in final}
    return Intersected(ids=[value for value in ids if value in chosen])


def _guest_common(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: Sequence[PartyRole],
    own: Sequence[Sequence[bytes]],
    received: Sequence[Sequence[bytes]],
    sync_name: str,
) -> list[str]:
    """Match our encoded ids with each host's list, keep what all hosts have, tell the hosts."""
    matches: list[dict[int, int]] = []  # per host: our position -> position in its list
    for mine, theirs in zip(own, received, strict=True):
        where = {value: k for k, value in enumerate(theirs)}
        matches.append({i: where[v] for i, v in enumerate(mine) if v in where})
    common = sorted(set.intersection(*(set(m) for m in matches))) if matches else []
    if params.sync_intersect_ids:
        for host, match in zip(hosts, matches, strict=True):
            positions = np.array(sorted(match[i] for i in common), dtype=np.int64)
            transport.remote(positions, sync_name, TAG, [host])
    return [ids[i] for i in common]


def _read_public_key(obj: object, host: PartyRole) -> tuple[Mpz, Mpz]:
    try:
        assert isinstance(obj, dict)
        n, e = gmpy2.mpz(int(obj["n"], 16)), gmpy2.mpz(int(obj["e"]))
    except (AssertionError, KeyError, TypeError, ValueError):
        raise InvalidArgument(f"host {host.party_id} sent no RSA public key") from None
    # A short modulus would let anyone factor it and read the guest's hashed ids.
    if n.bit_length() < MIN_KEY_LENGTH or e < 3 or e % 2 == 0:
        raise InvalidArgument(
            f"host {host.party_id} sent an RSA key of {n.bit_length()} bits; "
            f"at least {MIN_KEY_LENGTH} are needed"
        )
    return n, e


def _blinding_factor(n: Mpz) -> Mpz:
    while True:
        r = gmpy2.mpz(secrets.randbelow(int(n) - 2) + 2)
        if gmpy2.gcd(r, n) == 1:
            return r


def _full_domain_hash(ids: Sequence[str], params: RsaParams, n: Mpz) -> list[Mpz]:
    """Each id hashed onto Z_n: the digests of (id + salt, counter) joined to n's width, mod n.

    Hashing onto the whole of Z_n rather than to 256 bits keeps RSA's structure from showing
    through (small hash values could be related multiplicatively).
    """
    method = params.hash_method
    width = _width(n)
    blocks = range(math.ceil(width / hashlib.new(method).digest_size))
    hashed = []
    for value in ids:
        seed = (value + params.salt).encode()
        data = b"".join(hashlib.new(method, seed + k.to_bytes(4, "big")).digest() for k in blocks)
        hashed.append(gmpy2.mpz(int.from_bytes(data[:width], "big")) % n)
    return hashed


def _final_digests(signatures: Sequence[Mpz], width: int, method: str) -> UInt8Rows:
    size = hashlib.new(method).digest_size
    data = b"".join(hashlib.new(method, int(s).to_bytes(width, "big")).digest() for s in signatures)
    return np.frombuffer(data, np.uint8).reshape(len(signatures), size)


def _powmod_all(bases: Sequence[Mpz], exponent: Mpz, modulus: Mpz) -> list[Mpz]:
    """[b^exponent mod modulus for b in bases], on every core for a large batch."""
    return on_every_core(
        lambda part: list(gmpy2.powmod_base_list(list(part), exponent, modulus)),
        bases,
        smallest=_MIN_SLICE,
    )


# --- dh and ecdh: doubly encrypted ids ---------------------------------------------------------


class _Names(NamedTuple):
    """dh's or ecdh's transfer variables (`chain`: host to host, in cardinality_only)."""

    h2g: str
    g2h: str
    doubly: str
    intersect_ids: str
    cardinality: str
    chain: str


def _commutative_names(method: str) -> _Names:
    cls, h2g, g2h, doubly = _COMMUTATIVE_VARIABLES[method]
    return _Names(
        f"{cls}.{h2g}",
        f"{cls}.{g2h}",
        f"{cls}.{doubly}",
        f"{cls}.intersect_ids",
        f"{cls}.cardinality",
        f"{cls}.id_ciphertext_chain",
    )


def _hash_encrypt(
    cipher: CommutativeCipher, ids: Sequence[str], params: CommutativeParams
) -> list[bytes]:
    return cipher.hash_encrypt(salted_digests(ids, params.hash_method, params.salt))


def _encrypt_received(
    cipher: CommutativeCipher, obj: object, what: str, sender: PartyRole
) -> tuple[list[bytes], list[bytes]]:
    """(the values as received, E(them)): InvalidArgument for values outside the group."""
    values = _rows_bytes(_read_rows(obj, cipher.width, what, sender))
    try:
        return values, cipher.encrypt(values)
    except ValueError as error:
        raise InvalidArgument(f"{sender.role} {sender.party_id} sent {what}: {error}") from None


def _commutative_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    guest: PartyRole,
    timeout: float,
    cache: _HostCache | None,
) -> Intersected:
    to_guest = [guest]
    method = params.method
    section = params.commutative(method)
    h2g, g2h, doubly, intersect_ids, _, _ = _commutative_names(method)
    if cache is None:
        cipher = new_cipher(method, section.key_length)
        shuffled = [ids[i] for i in _shuffled(len(ids))]
        once = _hash_encrypt(cipher, shuffled, section)
        transport.remote(_bytes_rows(once, cipher.width), h2g, TAG, to_guest)
    else:
        cipher = restore_cipher(method, section.key_length, cache.key["secret"])
        shuffled = cache.ids
    if params.run_cache:
        cache_id = secrets.token_hex(16)
        transport.remote(cache_id, CACHE_ID_FROM_HOST, TAG, to_guest)
        made = _HostCache(cache_id, params, shuffled, {"secret": cipher.secret()})
        return Intersected(cache=made.model())

    [obj] = transport.get(g2h, TAG, to_guest, timeout)
    _, twice = _encrypt_received(cipher, obj, "encrypted ids", guest)
    transport.remote(_bytes_rows(twice, cipher.width), doubly, TAG, to_guest)
    return Intersected(
        ids=_host_synced(transport, shuffled, params, guest, intersect_ids, TAG, timeout)
    )


def _commutative_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: list[PartyRole],
    timeout: float,
    cache: _GuestCache | None,
) -> Intersected:
    method = params.method
    section = params.commutative(method)
    h2g, g2h, doubly, intersect_ids, _, _ = _commutative_names(method)

    def host_once(ciphers: Sequence[CommutativeCipher]) -> list[list[bytes]]:
        if cache is not None:
            return [entry.values for entry in cache.hosts]
        return [
            _rows_bytes(_read_rows(obj, cipher.width, "encrypted ids", host))
            for obj, cipher, host in zip(
                transport.get(h2g, TAG, hosts, timeout), ciphers, hosts, strict=True
            )
        ]

    # A fresh key per host, so that no two hosts see the same ciphertext of one of our ids.
    ciphers = [new_cipher(method, section.key_length) for _ in hosts]
    if params.run_cache:
        lists = host_once(ciphers)
        cache_ids = transport.get(CACHE_ID_FROM_HOST, TAG, hosts, timeout)
        entries = [
            _HostEntry(h.party_id, str(cache_id), values, None)
            for h, cache_id, values in zip(hosts, cache_ids, lists, strict=True)
        ]
        return Intersected(cache=_GuestCache(params, entries).model())

    for cipher, host in zip(ciphers, hosts, strict=True):
        mine = _hash_encrypt(cipher, ids, section)
        transport.remote(_bytes_rows(mine, cipher.width), g2h, TAG, [host])
    theirs_twice = []
    for cipher, values, host in zip(ciphers, host_once(ciphers), hosts, strict=True):
        try:
            theirs_twice.append(cipher.encrypt(values))
        except ValueError as error:
            raise InvalidArgument(f"host {host.party_id} sent encrypted ids: {error}") from None
    mine_twice = []
    for obj, cipher, host in zip(
        transport.get(doubly, TAG, hosts, timeout), ciphers, hosts, strict=True
    ):
        values = _rows_bytes(_read_rows(obj, cipher.width, "doubly encrypted ids", host))
        if len(values) != len(ids):
            raise InvalidArgument(
                f"host {host.party_id} encrypted {len(values)} ids, not the {len(ids)} sent"
            )
        mine_twice.append(values)
    common = _guest_common(transport, ids, params, hosts, mine_twice, theirs_twice, intersect_ids)
    return Intersected(ids=common)


# --- cardinality only: a ring of encryptions ----------------------------------------------------


def _chain_path(origin: int | None, hosts: Sequence[PartyRole]) -> list[PartyRole]:
    """The hosts a list visits, in order, before it reaches the guest: the guest's list (origin
    None) every host; host i's list every other host, starting after i."""
    if origin is None:
        return list(hosts)
    return list(hosts[origin + 1 :]) + list(hosts[:origin])


def _chain_tag(origin: int | None) -> str:
    return f"{TAG}.{'guest' if origin is None else origin}"


def _cardinality_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    local: PartyRole,
    timeout: float,
) -> Intersected:
    """Encrypt our ids and every list that passes through, each time in a fresh order, so that
    whoever holds a list next sees it under at least one key it lacks, in an order it cannot
    trace."""
    hosts = list(parties.hosts)
    me = hosts.index(local)
    section = params.commutative(params.method)
    cipher = new_cipher(params.method, section.key_length)
    names = _commutative_names(params.method)

    def forward(values: list[bytes], origin: int | None, path: list[PartyRole]) -> None:
        values = [values[k] for k in _shuffled(len(values))]
        rows = _bytes_rows(values, cipher.width)
        following = path[path.index(local) + 1 :] if local in path else path
        if following:
            transport.remote(rows, names.chain, _chain_tag(origin), [following[0]])
        else:
            last = names.doubly if origin is None else names.h2g
            transport.remote(rows, last, _chain_tag(origin), [parties.guest])

    forward(_hash_encrypt(cipher, ids, section), me, _chain_path(me, hosts))
    for origin in [None, *range(len(hosts))]:
        if origin == me:
            continue
        path = _chain_path(origin, hosts)
        position = path.index(local)
        if position > 0:
            sender = path[position - 1]
        else:
            sender = parties.guest if origin is None else hosts[origin]
        name = names.g2h if sender == parties.guest else names.chain
        [obj] = transport.get(name, _chain_tag(origin), [sender], timeout)
        _, encrypted = _encrypt_received(cipher, obj, "encrypted ids", sender)
        forward(encrypted, origin, path)
    if not params.sync_cardinality:
        return Intersected()
    [count] = transport.get(names.cardinality, TAG, [parties.guest], timeout)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= len(ids):
        raise InvalidArgument(f"guest {parties.guest.party_id} sent a cardinality of {count!r}")
    return Intersected(cardinality=count)


def _cardinality_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: list[PartyRole],
    timeout: float,
) -> Intersected:
    """The number of our ids every host has: lists under every party's key, compared as sets."""
    section = params.commutative(params.method)
    cipher = new_cipher(params.method, section.key_length)
    names = _commutative_names(params.method)
    mine = _hash_encrypt(cipher, ids, section)
    transport.remote(
        _bytes_rows([mine[k] for k in _shuffled(len(mine))], cipher.width),
        names.g2h,
        _chain_tag(None),
        [hosts[0]],
    )
    [obj] = transport.get(names.doubly, _chain_tag(None), [hosts[-1]], timeout)
    ours = set(_rows_bytes(_read_rows(obj, cipher.width, "encrypted ids", hosts[-1])))
    for origin, host in enumerate(hosts):
        last = (_chain_path(origin, hosts) or [host])[-1]
        [obj] = transport.get(names.h2g, _chain_tag(origin), [last], timeout)
        _, theirs = _encrypt_received(cipher, obj, "encrypted ids", last)
        ours &= set(theirs)
    count = len(ours)
    if params.sync_cardinality:
        transport.remote(count, names.cardinality, TAG, hosts)
    return Intersected(cardinality=count)


# --- raw (hashed) ids -------------------------------------------------------------------------


def _raw_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    hosts: list[PartyRole],
    timeout: float,
    computing: Computing,
) -> list[str]:
    encoded = computing.map_partitions(functools.partial(_encode_ids, params=params), ids)
    if params.join_role == "guest":
        received = [
            _unpack(obj, params, host)
            for obj, host in zip(
                transport.get(RAW_SEND_IDS_HOST, TAG, hosts, timeout), hosts, strict=True
            )
        ]
        return _guest_common(
            transport, ids, params, hosts, [encoded] * len(hosts), received, RAW_INTERSECT_IDS_GUEST
        )

    # join_role host: the hosts match our list; we keep what every host matched.
    order = _shuffled(len(ids))
    transport.remote(_pack([encoded[i] for i in order], params), RAW_SEND_IDS_GUEST, TAG, hosts)
    matched = [
        set(_read_positions(obj, len(ids), "matched ids", host))
        for obj, host in zip(
            transport.get(RAW_INTERSECT_IDS_HOST, TAG, hosts, timeout), hosts, strict=True
        )
    ]
    common = sorted(set.intersection(*matched))
    if params.sync_intersect_ids:
        transport.remote(np.array(common, dtype=np.int64), RAW_INTERSECT_IDS_GUEST, TAG, hosts)
    return [ids[i] for i in sorted(order[k] for k in common)]


def _raw_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    guest_party: PartyRole,
    timeout: float,
    computing: Computing,
) -> list[str] | None:
    guest = [guest_party]
    encoded = computing.map_partitions(functools.partial(_encode_ids, params=params), ids)
    if params.join_role == "guest":
        order = _shuffled(len(ids))
        transport.remote(_pack([encoded[i] for i in order], params), RAW_SEND_IDS_HOST, TAG, guest)
        if not params.sync_intersect_ids:
            return None
        [positions] = transport.get(RAW_INTERSECT_IDS_GUEST, TAG, guest, timeout)
        chosen = _read_positions(positions, len(ids), "intersection", guest[0])
        return [ids[i] for i in sorted(order[k] for k in chosen)]

    # join_role host: match the guest's list; the guest narrows it to what all hosts share.
    [obj] = transport.get(RAW_SEND_IDS_GUEST, TAG, guest, timeout)
    where = {value: k for k, value in enumerate(_unpack(obj, params, guest[0]))}
    mine = {where[v]: i for i, v in enumerate(encoded) if v in where}  # guest position -> ours
    transport.remote(np.array(sorted(mine), dtype=np.int64), RAW_INTERSECT_IDS_HOST, TAG, guest)
    if params.sync_intersect_ids:
        [positions] = transport.get(RAW_INTERSECT_IDS_GUEST, TAG, guest, timeout)
        common = _read_positions(positions, len(where), "intersection", guest[0])
        if not set(common) <= set(mine):
            raise InvalidArgument(f"guest {guest[0].party_id} sent ids this host did not match")
        return [ids[i] for i in sorted(mine[k] for k in common)]
    return [ids[i] for i in sorted(mine.values())]


def _encoder(params: IntersectParams) -> Callable[[str], bytes] | None:
    """The hash of `encode_params`, or None when ids travel as they are."""
    method = params.encode_params.encode_method
    if method == "none":
        return None
    salt = params.encode_params.salt
    # FATE appends the salt to the id before hashing.
    return lambda value: hashlib.new(method, (value + salt).encode()).digest()


def _encode_ids(ids: Sequence[str], params: IntersectParams) -> list[bytes]:
    encode = _encoder(params)
    if encode is None:
        return [value.encode() for value in ids]
    return [encode(value) for value in ids]


def _pack(encoded: Sequence[bytes], params: IntersectParams) -> object:
    if _encoder(params) is None:
        return [value.decode() for value in encoded]
    size = hashlib.new(params.encode_params.encode_method).digest_size
    return np.frombuffer(b"".join(encoded), np.uint8).reshape(len(encoded), size)


def _unpack(obj: object, params: IntersectParams, sender: PartyRole) -> list[bytes]:
    if _encoder(params) is None:
        if not isinstance(obj, list) or not all(isinstance(v, str) for v in obj):
            raise InvalidArgument(f"{sender.role} {sender.party_id} sent ids that are not strings")
        return [v.encode() for v in obj]
    size = hashlib.new(params.encode_params.encode_method).digest_size
    return _rows_bytes(_read_rows(obj, size, "encoded ids", sender))


# --- the wire ---------------------------------------------------------------------------------


def _width(n: Mpz) -> int:
    return (int(n).bit_length() + 7) // 8


def _shuffled(count: int) -> list[int]:
    order = list(range(count))
    secrets.SystemRandom().shuffle(order)
    return order


def _bytes_rows(values: Sequence[bytes], width: int) -> UInt8Rows:
    return np.frombuffer(b"".join(values), np.uint8).reshape(len(values), width)


def _integer_rows(values: Sequence[Mpz], width: int) -> UInt8Rows:
    data = b"".join(int(v).to_bytes(width, "big") for v in values)
    return np.frombuffer(data, np.uint8).reshape(len(values), width)


def _read_rows(obj: object, width: int, what: str, sender: PartyRole) -> UInt8Rows:
    if (
        not isinstance(obj, np.ndarray)
        or obj.dtype != np.uint8
        or obj.ndim != 2
        or obj.shape[1] != width
    ):
        raise InvalidArgument(
            f"{sender.role} {sender.party_id} sent {what} that are not rows of {width} bytes"
        )
    return obj


def _rows_bytes(rows: UInt8Rows) -> list[bytes]:
    data = rows.tobytes()
    width = rows.shape[1]
    return [data[k : k + width] for k in range(0, len(data), width)]


def _row_integers(rows: UInt8Rows) -> list[Mpz]:
    return [gmpy2.mpz(int.from_bytes(row, "big")) for row in _rows_bytes(rows)]


def _read_positions(obj: object, limit: int, what: str, sender: PartyRole) -> list[int]:
    """Positions into a list of `limit` items: integers, in range, each once."""
    if not isinstance(obj, np.ndarray) or obj.dtype.kind not in "iu" or obj.ndim != 1:
        raise InvalidArgument(f"{sender.role} {sender.party_id} sent {what} that are not positions")
    positions = [int(k) for k in obj]
    if any(k < 0 or k >= limit for k in positions) or len(set(positions)) != len(positions):
        raise InvalidArgument(
            f"{sender.role} {sender.party_id} sent {what} positions outside its list of {limit}"
        )
    return positions


# --- match ids: FATE 1.7+'s intersection of tables with DataTransform's with_match_id ----------

_MATCH_VARIABLES = "MatchIDIntersectTransferVariable"
ID_MAP_FROM = {
    "guest": f"{_MATCH_VARIABLES}.id_map_from_guest",
    "host": f"{_MATCH_VARIABLES}.id_map_from_host",
}
JOIN_ID_FROM = {
    "guest": f"{_FUNC_VARIABLES}.join_id_from_guest",
    "host": f"{_FUNC_VARIABLES}.join_id_from_host",
}
USE_MATCH_ID = f"{_FUNC_VARIABLES}.use_match_id"


def sync_use_match_id(
    transport: Transport, mine: bool, parties: Participants, local: PartyRole, timeout: float
) -> None:
    """Each host tells the guest whether its data have match ids; the guest refuses a job
    whose parties differ, as FATE's does."""
    if local.role == "host":
        transport.remote(mine, USE_MATCH_ID, TAG, [parties.guest])
        return
    theirs = transport.get(USE_MATCH_ID, TAG, list(parties.hosts), timeout)
    if any(flag != mine for flag in theirs):
        raise InvalidArgument(
            "Intersection: not every party's data have match ids (DataTransform's "
            "with_match_id): all of them or none must"
        )


def sample_id_generator(params: IntersectParams, parties: Participants) -> str:
    """The role whose sample ids key every party's output, with FATE's checks and its switch
    to the guest when the ids are not synchronised."""
    generator = params.sample_id_generator
    if len(parties.hosts) > 1 and generator != "guest":
        raise InvalidArgument(
            "Intersection parameter sample_id_generator must be guest with several hosts",
            module=MODULE,
            parameter="sample_id_generator",
        )
    if params.method == RAW:
        if generator != params.join_role:
            raise InvalidArgument(
                "Intersection parameter sample_id_generator must be the join_role with raw "
                "and match ids",
                module=MODULE,
                parameter="sample_id_generator",
            )
        return generator
    return generator if params.sync_intersect_ids else "guest"


@dataclass(frozen=True)
class Expanded:
    """A party's output rows after matching on match ids."""

    #: Rows of this party's table, in output order (a row may repeat: the partner's row of a
    #: match id comes once for each of the generator's rows with it).
    rows: list[int]
    #: The output's key of each of those rows: the generator's sample id (or a new one).
    keys: list[str]
    #: `left_join`: keys of the generator's rows that this party has no row for; they get
    #: NaN features, as FATE's.
    fillers: list[str]


def expand_match_ids(
    transport: Transport,
    match_ids: Sequence[str],
    sample_ids: Sequence[str],
    common: Sequence[str] | None,
    params: IntersectParams,
    generator: str,
    parties: Participants,
    local: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> Expanded:
    """From the match ids in the intersection (`common`, None when this party is not told it)
    to rows: the generator keeps each of its rows whose match id is common, and, when the ids
    are synchronised, sends the other side which of its sample ids each common match id has;
    a partner repeats its row of a match id under each of them. So every party's output is
    keyed by the generator's sample ids and the rows line up. With `left_join` the generator
    keeps all its rows (the unmatched under new ids with `new_sample_id`) and the partners get
    their keys to fill."""
    partners = list(parties.hosts) if generator == "guest" else [parties.guest]
    if local.role == generator:
        wanted = set(common or ())
        kept = [i for i, match in enumerate(match_ids) if match in wanted]
        rows, keys = kept, [sample_ids[i] for i in kept]
        if params.sync_intersect_ids and common is not None:
            by_match: dict[str, list[str]] = {match: [] for match in common}
            for i in kept:
                by_match[match_ids[i]].append(sample_ids[i])
            message = {"match_ids": list(by_match), "sample_ids": list(by_match.values())}
            transport.remote(message, ID_MAP_FROM[generator], TAG, partners)
        if params.join_method == LEFT_JOIN:
            taken = set(kept)
            rest = [i for i in range(len(match_ids)) if i not in taken]
            if params.new_sample_id:
                join_keys = [secrets.token_hex(16) for _ in rest]
                rows, keys = kept + rest, keys + join_keys
            else:
                join_keys = [sample_ids[i] for i in rest]
                rows, keys = list(range(len(match_ids))), list(sample_ids)
            transport.remote(join_keys, JOIN_ID_FROM[generator], TAG, partners)
        return Expanded(rows, keys, [])
    if common is None or not params.sync_intersect_ids:
        return Expanded([], [], [])
    generator_party = parties.guest if generator == "guest" else parties.hosts[0]
    [id_map] = transport.get(ID_MAP_FROM[generator], TAG, [generator_party], timeout)
    first: dict[str, int] = {}
    for i, match in enumerate(match_ids):
        first.setdefault(match, i)
    rows, keys = [], []
    for match, owned in _read_id_map(id_map, first, generator_party):
        rows += [first[match]] * len(owned)
        keys += owned
    fillers: list[str] = []
    if params.join_method == LEFT_JOIN:
        [received] = transport.get(JOIN_ID_FROM[generator], TAG, [generator_party], timeout)
        if not isinstance(received, list) or not all(isinstance(k, str) for k in received):
            raise InvalidArgument(f"{generator} sent join ids that are not a list of strings")
        fillers = received
    return Expanded(rows, keys, fillers)


def _read_id_map(
    obj: object, own: Mapping[str, int], sender: PartyRole
) -> list[tuple[str, list[str]]]:
    where = f"the id map from {sender.role} {sender.party_id}"
    if not isinstance(obj, dict) or set(obj) != {"match_ids", "sample_ids"}:
        raise InvalidArgument(f"{where} is not one")
    pairs = list(zip(obj["match_ids"], obj["sample_ids"], strict=True))
    for match, owned in pairs:
        if match not in own:
            raise InvalidArgument(f"{where} names a match id this party does not have")
        if not isinstance(owned, list) or not all(isinstance(k, str) for k in owned):
            raise InvalidArgument(f"{where} has sample ids that are not strings")
    return pairs


def _match_id_dataset(table: pa.Table) -> Dataset | None:
    """The input as a dataset when it has match ids (any table of ids otherwise)."""
    try:
        dataset = Dataset.from_table(table)
    except InvalidArgument:
        return None
    return dataset if dataset.match_ids is not None else None


def _repeated_ids(table: pa.Table, owner: bool) -> tuple[Dataset, list[str]]:
    """FATE 1.5/1.6's `repeated_id_process` on data without match ids: the `repeated_id_owner`'s
    first feature is the id the parties match on (its key a sample id of its own, and the
    column leaves its features, as FATE's); the other side's key is that id. Returns the
    dataset and each row's id to match on."""
    dataset = Dataset.from_table(table)
    if not owner:
        return dataset, [str(key) for key in dataset.ids]
    if not dataset.header:
        raise InvalidArgument(
            "Intersection parameter repeated_id_process: the repeated_id_owner's data have no "
            "feature to read the id from (FATE 1.5's repeated ids are its first feature)",
            module=MODULE,
            parameter="repeated_id_process",
        )
    ids = [_id_text(value) for value in dataset.features[:, 0]]
    rest = dataclasses.replace(dataset, features=dataset.features[:, 1:], header=dataset.header[1:])
    return rest, ids


def _id_text(value: float) -> str:
    """An id read back from a float64 feature column: an integral one as the integer's text,
    which is how the other side's key spells it (FATE reads the column as text instead)."""
    return str(int(value)) if value.is_integer() else repr(value)


def _match_id_output(dataset: Dataset, expanded: Expanded, only_output_key: bool) -> pa.Table:
    """The output dataset: the expanded rows under their new keys, then the left-join fillers
    (NaN features and label, weight 1, no match id)."""
    taken = dataset.take(np.asarray(expanded.rows, dtype=np.int64))
    fill = len(expanded.fillers)
    ids = np.asarray([*expanded.keys, *expanded.fillers], dtype=object)
    match_ids = (
        None
        if taken.match_ids is None
        else np.asarray([*taken.match_ids, *([None] * fill)], dtype=object)
    )
    if only_output_key:
        # FATE's clean header: the keys and the match ids, no features and no label.
        empty = np.zeros((len(ids), 0))
        return Dataset(
            ids,
            empty,
            None,
            [],
            dataset.sid,
            match_ids=match_ids,
            match_id_name=dataset.match_id_name,
        ).to_table()

    def padded(values: np.ndarray[Any, Any] | None, value: float) -> Any:
        if values is None:
            return None
        return np.concatenate([values, np.full((fill, *values.shape[1:]), value)])

    return dataclasses.replace(
        taken,
        ids=ids,
        match_ids=match_ids,
        features=padded(taken.features, np.nan),
        labels=padded(taken.labels, np.nan),
        weights=padded(taken.weights, 1.0),
    ).to_table()


# --- the component ----------------------------------------------------------------------


def _validate(params: dict[str, Any]) -> dict[str, Any]:
    validate_parameters(params)
    return params


def _cache_input(context: TaskContext, params: IntersectParams) -> dict[str, Any] | None:
    """The Intersection cache among the component's input models, if any."""
    caches = [m for m in context.input_models().values() if CACHE_KEY in m]
    if not caches:
        return None
    if len(caches) > 1:
        raise InvalidArgument(f"{context.task.component_name} takes one Intersection cache")
    for name in ("run_cache", "cardinality_only", "run_preprocess"):
        if getattr(params, name if name != "run_preprocess" else "preprocess"):
            raise InvalidArgument(
                f"Intersection parameter {name} cannot go with a cache input",
                module=MODULE,
                parameter=name,
            )
    return caches[0]


class Intersection:
    info = ModuleInfo(
        name="Intersection",
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=_validate,
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        tables = context.input_tables("data")
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        (table,) = tables
        parties = Participants.from_roles(context.roles)
        dataset = _match_id_dataset(table)
        matching = dataset is not None
        legacy = not matching and params.repeated_id_process
        if params.join_method == LEFT_JOIN and not matching:
            raise InvalidArgument(
                "Intersection parameter join_method left_join needs data with match ids "
                "(DataTransform's with_match_id), as in FATE",
                module=MODULE,
                parameter="join_method",
            )
        ignored = params.ignored + (
            ("repeated_id_process",) if matching and params.repeated_id_process else ()
        )
        for name in ignored:
            context.log.warning(
                "%s is ignored, as FATE 1.7+ ignores it: data with match ids are matched on "
                "them, repeated or not",
                name,
            )
        sync_use_match_id(context.federation, matching, parties, context.local, GET_TIMEOUT_S)
        # A row's match id; the parties intersect them, each once.
        row_match_ids: list[str] = []
        if legacy:
            owner = context.task.role == params.repeated_id_owner
            dataset, row_match_ids = _repeated_ids(table, owner)
            params = dataclasses.replace(params, sample_id_generator=params.repeated_id_owner)
        elif dataset is not None and dataset.match_ids is not None:
            row_match_ids = list(map(str, dataset.match_ids))
        # Checked before any id is sent, as FATE checks it.
        generator = sample_id_generator(params, parties) if dataset is not None else None
        ids = (
            list(dict.fromkeys(row_match_ids))
            if dataset is not None
            else table.column(0).cast(pa.string()).to_pylist()
        )
        cache = _cache_input(context, params)
        if params.rsa_params.random_base_fraction is not None and params.method == RSA:
            context.log.warning(
                "rsa_params.random_base_fraction %s: every blinding factor is fresh here "
                "(a factor used twice would let the host relate two blinded ids)",
                params.rsa_params.random_base_fraction,
            )
        if context.task.role == "guest":
            result = intersect_guest(
                context.federation, ids, params, parties, cache=cache, computing=context.computing
            )
        else:
            result = intersect_host(
                context.federation,
                ids,
                params,
                parties,
                context.local,
                cache=cache,
                computing=context.computing,
            )

        if result.cache is not None:
            # FATE's run_cache: the cache is the output, there is no intersection.
            context.save_model(result.cache)
            context.save_summary({"run_cache": True})
            context.log.info("kept the encrypted ids of %s rows as this party's cache", len(ids))
            return
        if params.cardinality_only:
            summary: dict[str, Any] = {"cardinality_only": True}
            if result.cardinality is None:  # a host the guest does not tell
                context.save_summary(summary)
            else:
                self._log_metrics(context, result.cardinality, len(ids), params, summary)
            return
        if dataset is not None and generator is not None:
            expanded = expand_match_ids(
                context.federation,
                row_match_ids,
                [str(i) for i in dataset.ids],
                result.ids,
                params,
                generator,
                parties,
                context.local,
            )
            output = _match_id_output(dataset, expanded, params.only_output_key)
            count = len(result.ids or [])
            self._log_metrics(context, count, len(ids), params, {}, output.num_rows)
            context.save_output_data(output)
            return
        common = result.ids or []
        self._log_metrics(context, len(common), len(ids), params, {})
        kept = table.filter(
            pc.is_in(table.column(0).cast(pa.string()), value_set=pa.array(common, pa.string()))
        )
        metadata = table.schema.metadata or {}
        if params.only_output_key:
            # FATE's clean header: the ids, no features and no label.
            kept = kept.select([0])
            metadata = {b"sid": kept.column_names[0].encode(), b"header": b"[]"}
        context.save_output_data(kept.replace_schema_metadata(metadata))

    @staticmethod
    def _log_metrics(
        context: TaskContext,
        count: int,
        own_count: int,
        params: IntersectParams,
        summary: dict[str, Any],
        sample_id_count: int | None = None,
    ) -> None:
        metrics = dataclasses.replace(
            intersection_metrics(count, own_count, params), sample_id_count=sample_id_count
        )
        context.log_metric(
            metrics.namespace,
            metrics.name,
            metrics.data(),
            {"name": metrics.name, "metric_type": metrics.metric_type, **metrics.extra_metas()},
        )
        context.save_summary(
            {
                **summary,
                "intersect_num": metrics.count,
                "intersect_rate": metrics.rate,
                "unique_id_num": own_count,
            }
        )
        context.log.info("%s of %s ids are common", metrics.count, own_count)
