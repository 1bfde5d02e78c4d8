"""Intersection (FATE's `Intersection` module): the sample ids a guest and its hosts share.

    params = validate_parameters(component_parameters)
    ids = intersect_guest(transport, guest_ids, params, participants)    # at the guest
    ids = intersect_host(transport, host_ids, params, participants)      # at each host
    metrics = intersection_metrics(ids, own_count=len(guest_ids))

Two methods, as FATE 1.x has them:

* ``rsa`` (FATE's default): RSA blind-signature PSI. Each host makes an RSA key and sends the
  guest (n, e). The guest hashes each of its ids onto Z_n (a full-domain hash, MGF1-style, with
  ``rsa_params.hash_method`` and ``salt``), blinds it as H(id) * r^e mod n with a fresh uniform r,
  and sends the blinded values; the host signs them (the d-th power, by CRT) and sends them back;
  the guest divides r out, which leaves H(id)^d, checks each signature with e, and hashes it
  with ``final_hash_method``. The host sends the final hashes of its own signed ids, in an order
  it shuffled. The guest matches the two lists; with ``sync_intersect_ids`` it sends each host
  the positions (in that host's shuffled list) of the ids common to *all* parties, and the host
  maps them back to its own ids.
* ``raw``: both sides encode their ids (``encode_params``: hash with salt, sha256 by default)
  and the parties other than ``join_role`` send their encoded ids to the join role, which
  matches them and (``sync_intersect_ids``) sends back positions in the list it received.

What each party learns. The host sees only blinded values (uniform, whatever the ids) and, when
the ids are synchronised, the positions of the final intersection in its own shuffled list: no
id outside the intersection, and not even the guest's pairwise intersection with another host.
The guest learns its intersection with each host separately (it computes them) and how many
ids each host has, as in FATE. ``raw`` sends hashes of ids, which anyone holding a candidate id
can test, so it hides less than ``rsa``; with ``join_role: host`` the hosts receive the guest's
encoded ids.

The role functions return ids; the component writes the output table from them, with the
features of each row or, with ``only_output_key``, the ids alone.

Nothing on the wire is pickled: big integers and digests travel as fixed-width big-endian rows
of a ``uint8`` array (one row per value), positions as ``int64`` arrays, the public key as JSON.

Departures from FATE, on purpose:

* ``rsa_params.key_length`` is 1024 by default, as FATE's ``RSAParam`` (1.7+) has it and as FATE
  1.4-1.6 hard-coded it; keys of 1024 to 8192 bits are accepted (``cryptography`` makes them).
* The blinding factor r is drawn uniformly below n, so that blinded values are uniform too;
  FATE draws r with ``random_bit`` bits. ``random_bit`` is still validated and must not exceed
  the key length: it is the least number of random bits a blinding factor has here.
* ``raw`` hashes ids by default (``with_encode`` true, ``encode_method`` sha256), where FATE's
  defaults send the ids as they are; ``with_encode: false`` or ``encode_method: none`` still do.
  ``encode_params.base64`` is accepted and changes nothing: digests cross as binary, which is
  what both of FATE's text forms encode.
* ``rsa_params.hash_method`` is one of the hashlib digests; FATE's ``none`` and ``sm3`` are not.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import gmpy2
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric import rsa

from fateflow_grpc.components.sdk.computing import LOCAL_COMPUTING, Computing
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument

MODULE = "Intersection"
RSA = "rsa"
RAW = "raw"
INTERSECT_METHODS = (RSA, RAW)
JOIN_ROLES = ("guest", "host")
HASH_METHODS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
ENCODE_METHODS = ("none", *HASH_METHODS)
MIN_KEY_LENGTH = 1024
MAX_KEY_LENGTH = 8192
#: The public exponent of every key (what `cryptography` recommends; verifying is cheap).
PUBLIC_EXPONENT = 65537

#: FATE's parameter names with their defaults (see the module docstring for the departures).
DEFAULTS: dict[str, Any] = {
    "intersect_method": RSA,
    "random_bit": 128,
    "sync_intersect_ids": True,
    "join_role": "guest",
    "only_output_key": False,
    "with_encode": True,
    "encode_params": {"encode_method": "sha256", "salt": "", "base64": False},
    "rsa_params": {
        "hash_method": "sha256",
        "final_hash_method": "sha256",
        "salt": "",
        "key_length": 1024,
    },
}

# FATE's transfer variables (`<ClassName>.<variable>`); the tag is the flowid alone.
_RSA_VARIABLES = "RsaIntersectTransferVariable"
RSA_PUBKEY = f"{_RSA_VARIABLES}.rsa_pubkey"
RSA_GUEST_IDS = f"{_RSA_VARIABLES}.intersect_guest_ids"
RSA_GUEST_IDS_PROCESS = f"{_RSA_VARIABLES}.intersect_guest_ids_process"
RSA_HOST_IDS_PROCESS = f"{_RSA_VARIABLES}.intersect_host_ids_process"
RSA_INTERSECT_IDS = f"{_RSA_VARIABLES}.intersect_ids"
_RAW_VARIABLES = "RawIntersectTransferVariable"
RAW_SEND_IDS_GUEST = f"{_RAW_VARIABLES}.send_ids_guest"
RAW_SEND_IDS_HOST = f"{_RAW_VARIABLES}.send_ids_host"
RAW_INTERSECT_IDS_GUEST = f"{_RAW_VARIABLES}.intersect_ids_guest"
RAW_INTERSECT_IDS_HOST = f"{_RAW_VARIABLES}.intersect_ids_host"
TAG = "fit"

#: Threads for batched modular exponentiation: gmpy2 releases the GIL inside
#: `powmod_base_list`, so slices of one batch run on all cores.
_WORKERS = os.cpu_count() or 1
#: Below this many values a batch is not worth splitting across threads.
_MIN_SLICE = 64

UInt8Rows = npt.NDArray[np.uint8]
Mpz = Any  # gmpy2 ships no type information


@dataclass(frozen=True)
class EncodeParams:
    encode_method: str
    salt: str
    base64: bool


@dataclass(frozen=True)
class RsaParams:
    hash_method: str
    final_hash_method: str
    salt: str
    key_length: int


@dataclass(frozen=True)
class IntersectParams:
    intersect_method: str
    random_bit: int
    sync_intersect_ids: bool
    join_role: str
    only_output_key: bool
    with_encode: bool
    encode_params: EncodeParams
    rsa_params: RsaParams


def validate_parameters(params: Mapping[str, Any] | None = None) -> IntersectParams:
    """FATE's defaults filled in; InvalidArgument naming the first parameter that is wrong."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    encode = reader.section("encode_params")
    rsa_reader = reader.section("rsa_params")
    rsa_params = RsaParams(
        hash_method=rsa_reader.choice("hash_method", HASH_METHODS),
        final_hash_method=rsa_reader.choice("final_hash_method", HASH_METHODS),
        salt=rsa_reader.string("salt"),
        key_length=rsa_reader.integer("key_length", minimum=MIN_KEY_LENGTH, maximum=MAX_KEY_LENGTH),
    )
    return IntersectParams(
        intersect_method=reader.choice("intersect_method", INTERSECT_METHODS),
        random_bit=reader.integer("random_bit", minimum=1, maximum=rsa_params.key_length),
        sync_intersect_ids=reader.boolean("sync_intersect_ids"),
        join_role=reader.choice("join_role", JOIN_ROLES),
        only_output_key=reader.boolean("only_output_key"),
        with_encode=reader.boolean("with_encode"),
        encode_params=EncodeParams(
            encode_method=encode.choice("encode_method", ENCODE_METHODS),
            salt=encode.string("salt"),
            base64=encode.boolean("base64"),
        ),
        rsa_params=rsa_params,
    )


# --- role functions ---------------------------------------------------------------------------


def intersect_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
    computing: Computing = LOCAL_COMPUTING,
) -> list[str]:
    """The guest's ids that every host has too, in the guest's order."""
    _check_ids(ids)
    if params.intersect_method == RSA:
        return _rsa_guest(transport, ids, params, parties, timeout, computing)
    return _raw_guest(transport, ids, params, parties, timeout, computing)


def intersect_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
    computing: Computing = LOCAL_COMPUTING,
) -> list[str] | None:
    """This host's ids in the intersection, in its order; None when it is not told them.

    A host learns the intersection when `sync_intersect_ids` is on, or, with `raw` and
    `join_role: host`, when it computes it itself (its intersection with the guest).
    """
    _check_ids(ids)
    if params.intersect_method == RSA:
        return _rsa_host(transport, ids, params, parties, timeout, computing)
    return _raw_host(transport, ids, params, parties, timeout, computing)


@dataclass(frozen=True)
class IntersectionMetrics:
    """What FATE's Intersection logs: metric `intersection` in namespace `train`."""

    count: int
    rate: float
    intersect_method: str
    namespace: str = "train"
    name: str = "intersection"
    metric_type: str = "INTERSECTION"

    def data(self) -> list[tuple[str, float]]:
        """FATE's metric data points: `intersect_count` and `intersect_rate`."""
        return [("intersect_count", self.count), ("intersect_rate", self.rate)]

    def extra_metas(self) -> dict[str, str]:
        return {"intersect_method": self.intersect_method}


def intersection_metrics(
    intersected: Sequence[str], own_count: int, params: IntersectParams
) -> IntersectionMetrics:
    """Count and rate (count over this party's own row count, 0 for an empty table)."""
    count = len(intersected)
    return IntersectionMetrics(
        count, count / own_count if own_count else 0.0, params.intersect_method
    )


def _check_ids(ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        raise InvalidArgument("Intersection needs unique ids: the table has an id twice")


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
        mpz = gmpy2.mpz
        return cls(
            n=mpz(numbers.public_numbers.n),
            e=mpz(numbers.public_numbers.e),
            p=mpz(numbers.p),
            q=mpz(numbers.q),
            dp=mpz(numbers.dmp1),
            dq=mpz(numbers.dmq1),
            q_inv=mpz(numbers.iqmp),
        )

    @property
    def width(self) -> int:
        return _width(self.n)

    def sign(self, values: Sequence[Mpz]) -> list[Mpz]:
        """values^d mod n by the CRT: two half-size exponentiations instead of one full one."""
        p, q = self.p, self.q
        s_p = _powmod_all([v % p for v in values], self.dp, p)
        s_q = _powmod_all([v % q for v in values], self.dq, q)
        return [b + q * ((self.q_inv * (a - b)) % p) for a, b in zip(s_p, s_q, strict=True)]


def _rsa_host(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    timeout: float,
    computing: Computing,
) -> list[str] | None:
    guest = [parties.guest]
    key = _PrivateKey.generate(params.rsa_params.key_length)
    transport.remote({"n": format(key.n, "x"), "e": int(key.e)}, RSA_PUBKEY, TAG, guest)

    # Sign the guest's blinded values first: the guest unblinds them while we sign our own.
    [blinded] = transport.get(RSA_GUEST_IDS, TAG, guest, timeout)
    values = [gmpy2.mpz(v) for v in _read_integers(blinded, key.width, "blinded ids", guest[0])]
    if any(v >= key.n for v in values):
        raise InvalidArgument(f"guest {guest[0].party_id} sent blinded ids outside Z_n")
    signed = computing.map_partitions(key.sign, values)
    transport.remote(_integer_rows(signed, key.width), RSA_GUEST_IDS_PROCESS, TAG, guest)

    # Our own ids go out in an order we shuffled, so that the positions the guest sends back
    # say nothing about where an id sits in our table.
    order = _shuffled(len(ids))
    sign_own = functools.partial(_sign_ids, key=key, params=params.rsa_params)
    digests = computing.map_partitions(sign_own, [ids[i] for i in order])
    size = hashlib.new(params.rsa_params.final_hash_method).digest_size
    transport.remote(_byte_rows(digests, size), RSA_HOST_IDS_PROCESS, TAG, guest)

    if not params.sync_intersect_ids:
        return None
    [positions] = transport.get(RSA_INTERSECT_IDS, TAG, guest, timeout)
    chosen = _read_positions(positions, len(ids), "intersection", guest[0])
    return [ids[i] for i in sorted(order[k] for k in chosen)]


def _rsa_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    timeout: float,
    computing: Computing,
) -> list[str]:
    hosts = list(parties.hosts)
    keys = [
        _read_public_key(obj, host)
        for obj, host in zip(transport.get(RSA_PUBKEY, TAG, hosts, timeout), hosts, strict=True)
    ]

    # Blind: H(id) * r^e mod n, one fresh r per id and host.
    blindings: list[list[tuple[Mpz, Mpz, Mpz]]] = []  # per host: (H(id), r, blinded) per id
    for host, (n, e) in zip(hosts, keys, strict=True):
        blind = functools.partial(_blind, n=n, e=e, params=params.rsa_params)
        blinding = computing.map_partitions(blind, ids)
        blinded = [value for _, _, value in blinding]
        transport.remote(_integer_rows(blinded, _width(n)), RSA_GUEST_IDS, TAG, [host])
        blindings.append(blinding)

    own_digests: list[list[bytes]] = []
    signed_all = transport.get(RSA_GUEST_IDS_PROCESS, TAG, hosts, timeout)
    for host, (n, e), blinding, signed_obj in zip(hosts, keys, blindings, signed_all, strict=True):
        signed = _read_integers(signed_obj, _width(n), "signed ids", host)
        if len(signed) != len(ids):
            raise InvalidArgument(
                f"host {host.party_id} signed {len(signed)} ids, not the {len(ids)} sent"
            )
        unblind = functools.partial(
            _unblind, n=n, e=e, method=params.rsa_params.final_hash_method, host=host
        )
        items = [(s, r, h) for s, (h, r, _) in zip(signed, blinding, strict=True)]
        own_digests.append(computing.map_partitions(unblind, items))

    digest_size = hashlib.new(params.rsa_params.final_hash_method).digest_size
    host_lists = [
        _rows_bytes(_read_rows(obj, digest_size, "signed id digests", host))
        for obj, host in zip(
            transport.get(RSA_HOST_IDS_PROCESS, TAG, hosts, timeout), hosts, strict=True
        )
    ]
    return _guest_common(transport, ids, params, hosts, own_digests, host_lists, RSA_INTERSECT_IDS)


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
    digest = getattr(hashlib, params.hash_method)
    width = _width(n)
    blocks = range(math.ceil(width / digest().digest_size))
    hashed = []
    for value in ids:
        seed = (value + params.salt).encode()
        data = b"".join(digest(seed + k.to_bytes(4, "big")).digest() for k in blocks)
        hashed.append(gmpy2.mpz(int.from_bytes(data[:width], "big")) % n)
    return hashed


def _final_digests(signatures: Sequence[Mpz], width: int, method: str) -> list[bytes]:
    digest = getattr(hashlib, method)
    return [digest(int(s).to_bytes(width, "big")).digest() for s in signatures]


# Work on one slice of the ids (`Computing.map_partitions`): whichever engine runs them, in
# the task's process or on Spark's executors, the slices' results joined are the whole's.


def _sign_ids(ids: Sequence[str], key: _PrivateKey, params: RsaParams) -> list[bytes]:
    """The host's own ids: the final digests of their signed full-domain hashes."""
    signed = key.sign(_full_domain_hash(ids, params, key.n))
    return _final_digests(signed, key.width, params.final_hash_method)


def _blind(ids: Sequence[str], n: Mpz, e: Mpz, params: RsaParams) -> list[tuple[Mpz, Mpz, Mpz]]:
    """(H(id), r, H(id) * r^e mod n) for each id, with a fresh r."""
    hashed = _full_domain_hash(ids, params, n)
    factors = [_blinding_factor(n) for _ in ids]
    powers = _powmod_all(factors, e, n)
    return [(h, r, (h * p) % n) for h, r, p in zip(hashed, factors, powers, strict=True)]


def _unblind(
    items: Sequence[tuple[int, Mpz, Mpz]], n: Mpz, e: Mpz, method: str, host: PartyRole
) -> list[bytes]:
    """The final digests of the guest's signed ids from (signed, r, H(id)) triples."""
    # Divide r out: (H * r^e)^d / r = H^d. Inverting is cheap next to one exponentiation.
    unblinded = [(gmpy2.mpz(s) * gmpy2.invert(r, n)) % n for s, r, _ in items]
    # A signature that does not verify is a host bug or a host cheating; either way the
    # intersection would be silently wrong.
    if _powmod_all(unblinded, e, n) != [h for _, _, h in items]:
        raise InvalidArgument(f"host {host.party_id} sent signatures that do not verify")
    return _final_digests(unblinded, _width(n), method)


def _powmod_all(bases: Sequence[Mpz], exponent: Mpz, modulus: Mpz) -> list[Mpz]:
    """[b^exponent mod modulus for b in bases], on every core for a large batch."""
    size = max(math.ceil(len(bases) / _WORKERS), _MIN_SLICE)
    if len(bases) <= size:
        return list(gmpy2.powmod_base_list(list(bases), exponent, modulus))
    slices = [list(bases[start : start + size]) for start in range(0, len(bases), size)]
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = pool.map(lambda part: gmpy2.powmod_base_list(part, exponent, modulus), slices)
        return [value for part in parts for value in part]


# --- raw (hashed) ids -------------------------------------------------------------------------


def _raw_guest(
    transport: Transport,
    ids: Sequence[str],
    params: IntersectParams,
    parties: Participants,
    timeout: float,
    computing: Computing,
) -> list[str]:
    hosts = list(parties.hosts)
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
    parties: Participants,
    timeout: float,
    computing: Computing,
) -> list[str] | None:
    guest = [parties.guest]
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
    if not params.with_encode or method == "none":
        return None
    digest = getattr(hashlib, method)
    salt = params.encode_params.salt
    # FATE appends the salt to the id before hashing.
    return lambda value: bytes(digest((value + salt).encode()).digest())


def _encode_ids(ids: Sequence[str], params: IntersectParams) -> list[bytes]:
    encode = _encoder(params)
    if encode is None:
        return [value.encode() for value in ids]
    return [encode(value) for value in ids]


def _pack(encoded: Sequence[bytes], params: IntersectParams) -> object:
    if _encoder(params) is None:
        return [value.decode() for value in encoded]
    return _byte_rows(encoded, hashlib.new(params.encode_params.encode_method).digest_size)


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


def _byte_rows(values: Sequence[bytes], width: int) -> UInt8Rows:
    """Byte strings of `width` bytes as the rows of a uint8 array (digests on the wire)."""
    return np.frombuffer(b"".join(values), np.uint8).reshape(len(values), width)


def _rows_bytes(rows: UInt8Rows) -> list[bytes]:
    data = rows.tobytes()
    width = rows.shape[1]
    return [data[k : k + width] for k in range(0, len(data), width)]


def _read_integers(obj: object, width: int, what: str, sender: PartyRole) -> list[int]:
    return [int.from_bytes(row, "big") for row in _rows_bytes(_read_rows(obj, width, what, sender))]


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


# --- the component ----------------------------------------------------------------------


def _validate(params: dict[str, Any]) -> dict[str, Any]:
    validate_parameters(params)
    return params


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
        ids = table.column(0).cast(pa.string()).to_pylist()
        parties = Participants.from_roles(context.roles)
        computing = context.computing
        if context.task.role == "guest":
            common = intersect_guest(context.federation, ids, params, parties, computing=computing)
        else:
            common = (
                intersect_host(context.federation, ids, params, parties, computing=computing) or []
            )
        kept = table.filter(
            pc.is_in(table.column(0).cast(pa.string()), value_set=pa.array(common, pa.string()))
        )
        metrics = intersection_metrics(common, len(ids), params)
        context.log_metric(
            metrics.namespace,
            metrics.name,
            metrics.data(),
            {"name": metrics.name, "metric_type": metrics.metric_type, **metrics.extra_metas()},
        )
        context.save_summary({"intersect_num": metrics.count, "intersect_rate": metrics.rate})
        context.log.info("%s of %s ids are common", metrics.count, len(ids))
        context.save_output_data(kept.replace_schema_metadata(table.schema.metadata))
