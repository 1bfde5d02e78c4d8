"""Intersection: every method gives the plain set intersection, and hosts learn nothing beyond
it; cardinality, preprocessing and the cache as FATE has them."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.intersect import intersection
from fateflow_grpc.components.intersect.intersection import (
    Intersected,
    IntersectParams,
    intersect_guest,
    intersect_host,
    intersection_metrics,
    validate_parameters,
)
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument

GUEST = PartyRole("guest", 9999)
TIMEOUT = 30.0

METHODS: dict[str, dict[str, Any]] = {
    "rsa": {"intersect_method": "rsa"},
    "raw": {"intersect_method": "raw"},
    "raw-join-host": {"intersect_method": "raw", "join_role": "host"},
    "raw-plain": {"intersect_method": "raw", "with_encode": False},
    "raw-params": {"intersect_method": "raw", "raw_params": {"use_hash": True, "salt": "s"}},
    "rsa-split": {"rsa_params": {"split_calculation": True, "random_base_fraction": 0.5}},
    "dh": {"intersect_method": "dh", "dh_params": {"key_length": 1024, "salt": "12345"}},
    "ecdh": {"intersect_method": "ecdh", "ecdh_params": {"hash_method": "sm3"}},
}


def make_tables(
    rng: random.Random, guest_only: int, shared: int, host_only: Sequence[int]
) -> tuple[list[str], list[list[str]], set[str]]:
    """Random ids: `shared` in every table, the rest unique to one table; tables shuffled."""
    pool = iter(rng.sample(range(10**9), guest_only + shared + sum(host_only)))
    common = [f"id{next(pool)}" for _ in range(shared)]
    guest = common + [f"id{next(pool)}" for _ in range(guest_only)]
    hosts = [common + [f"id{next(pool)}" for _ in range(count)] for count in host_only]
    for table in (guest, *hosts):
        rng.shuffle(table)
    return guest, hosts, set(common)


def run_full(
    params: IntersectParams,
    guest_ids: list[str],
    host_tables: list[list[str]],
    wire: Wire,
    caches: dict[PartyRole, dict[str, Any]] | None = None,
) -> tuple[Intersected, list[Intersected]]:
    hosts = [PartyRole("host", 10000 + k) for k in range(len(host_tables))]
    parties = Participants(GUEST, tuple(hosts))
    caches = caches or {}

    def guest(transport: MemoryTransport) -> Any:
        return intersect_guest(
            transport, guest_ids, params, parties, cache=caches.get(GUEST), timeout=TIMEOUT
        )

    def host(party: PartyRole, table: list[str]) -> Callable[[MemoryTransport], Any]:
        return lambda t: intersect_host(
            t, table, params, parties, party, cache=caches.get(party), timeout=TIMEOUT
        )

    roles = {GUEST: guest} | {
        party: host(party, table) for party, table in zip(hosts, host_tables, strict=True)
    }
    results = run_parties(wire, roles)
    return results[GUEST], [results[host] for host in hosts]


def run_intersection(
    params: IntersectParams, guest_ids: list[str], host_tables: list[list[str]], wire: Wire
) -> tuple[list[str], list[list[str] | None]]:
    """The ids each party gets (the guest always gets them)."""
    guest, hosts = run_full(params, guest_ids, host_tables, wire)
    assert guest.ids is not None
    return guest.ids, [host.ids for host in hosts]


@pytest.mark.parametrize("method", METHODS)
def test_partial_overlap_is_exact(method: str) -> None:
    rng = random.Random(f"overlap-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=150, shared=120, host_only=[200])
    params = validate_parameters(METHODS[method])

    got_guest, [got_host] = run_intersection(params, guest_ids, [host_ids], Wire())

    assert got_guest == [i for i in guest_ids if i in common]  # the guest's own order
    assert got_host == [i for i in host_ids if i in common]
    metrics = intersection_metrics(len(got_guest), len(guest_ids), params)
    assert metrics.data() == [
        ("intersect_count", 120),
        ("input_match_id_count", 270),
        ("intersect_rate", 120 / 270),
        ("unmatched_count", 150),
        ("unmatched_rate", 1 - 120 / 270),
    ]
    assert (metrics.namespace, metrics.name, metrics.metric_type) == (
        "train",
        "intersection",
        "INTERSECTION",
    )


@pytest.mark.parametrize("method", METHODS)
def test_multiple_hosts_give_the_ids_all_parties_share(method: str) -> None:
    rng = random.Random(f"hosts-{method}")
    guest_ids, hosts, common = make_tables(rng, guest_only=40, shared=60, host_only=[30, 50])
    # Ids the guest shares with one host only: in neither party's output.
    pairwise = [f"pair{k}" for k in range(25)]
    guest_ids += pairwise
    hosts[0] += pairwise
    params = validate_parameters(METHODS[method])

    got_guest, got_hosts = run_intersection(params, guest_ids, hosts, Wire())

    assert set(got_guest) == common
    for got, table in zip(got_hosts, hosts, strict=True):
        assert got == [i for i in table if i in common]


@pytest.mark.parametrize("method", METHODS)
def test_empty_overlap(method: str) -> None:
    rng = random.Random(f"empty-{method}")
    guest_ids, [host_ids], _ = make_tables(rng, guest_only=30, shared=0, host_only=[40])
    params = validate_parameters(METHODS[method])

    got_guest, [got_host] = run_intersection(params, guest_ids, [host_ids], Wire())

    assert got_guest == [] and got_host == []
    assert intersection_metrics(len(got_guest), len(guest_ids), params).rate == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_an_empty_table(method: str) -> None:
    params = validate_parameters(METHODS[method])
    assert run_intersection(params, [], [["a", "b"]], Wire()) == ([], [[]])
    assert run_intersection(params, ["a", "b"], [[]], Wire()) == ([], [[]])


@pytest.mark.parametrize("method", ["rsa", "raw", "dh", "ecdh"])
def test_without_sync_the_host_learns_nothing(method: str) -> None:
    rng = random.Random(f"nosync-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=10, shared=10, host_only=[10])
    params = validate_parameters({**METHODS[method], "sync_intersect_ids": False})
    wire = Wire()

    got_guest, [got_host] = run_intersection(params, guest_ids, [host_ids], wire)

    assert set(got_guest) == common and got_host is None
    host = PartyRole("host", 10000)
    received = wire.received_by(host)
    expected = {
        "raw": [],
        "rsa": [intersection.RSA_GUEST_IDS],
        "dh": ["DhIntersectTransferVariable.id_ciphertext_list_exchange_g2h"],
        "ecdh": ["EcdhIntersectTransferVariable.id_ciphertext_exchange_g2h"],
    }[method]
    assert [d.name for d in received] == expected


@pytest.mark.parametrize("method", ["rsa", "raw", "dh", "ecdh", "rsa-split"])
def test_the_host_never_receives_ids_outside_the_intersection(method: str) -> None:
    rng = random.Random(f"leak-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=50, shared=20, host_only=[30])
    params = validate_parameters(METHODS[method])
    wire = Wire()

    _, [got_host] = run_intersection(params, guest_ids, [host_ids], wire)

    host = PartyRole("host", 10000)
    received = wire.received_by(host)
    secrets = [i for i in guest_ids if i not in common]
    # The forms a guest-only id could take: itself, its sha256 or sm3, with or without a salt.
    forms = {s.encode() for s in secrets} | {
        hashlib.new(h, (s + salt).encode()).digest()
        for s in secrets
        for h in ("sha256", "sm3")
        for salt in ("", "12345")
    }
    for delivery in received:
        blob = (
            delivery.obj.tobytes()
            if isinstance(delivery.obj, np.ndarray)
            else repr(delivery.obj).encode()
        )
        assert not any(form in blob for form in forms), delivery.name
    # Beyond blinded values and ciphertexts, the only thing the host gets is the final
    # intersection
    positions = [d for d in received if d.name.endswith(("intersect_ids_guest", ".intersect_ids"))]
    # (split_calculation syncs each half apart).
    assert len(positions) == (2 if method == "rsa-split" else 1)
    assert sum(len(d.obj) for d in positions) == len(common)  # type: ignore[arg-type]
    assert set(got_host or []) == common


def test_rsa_blinded_values_differ_between_runs() -> None:
    """A blinded id is H(id) r^e with a fresh r: the same ids never look the same twice."""
    ids = [f"id{k}" for k in range(20)]
    params = validate_parameters({})
    seen: list[Any] = []
    for _ in range(2):
        wire = Wire()
        run_intersection(params, ids, [ids], wire)
        [delivery] = wire.received_from(GUEST, intersection.RSA_GUEST_IDS)
        seen.append(delivery.obj)
    assert not np.array_equal(seen[0], seen[1])


def test_rsa_on_569_ids_is_fast() -> None:
    """The breast tables' size at 1024 bits: well under a second (printed, not asserted)."""
    ids = [str(k) for k in range(569)]
    params = validate_parameters({})
    start = time.perf_counter()
    got, [got_host] = run_intersection(params, ids, [ids[::-1]], Wire())
    seconds = time.perf_counter() - start
    print(f"\nrsa intersection of 569 x 569 ids at 1024 bits: {seconds:.3f} s")
    assert got == ids and got_host == ids[::-1]


def test_defaults_are_fates() -> None:
    params = validate_parameters({})
    assert params.intersect_method == "rsa"
    assert params.rsa_params.random_bit == 128
    assert params.sync_intersect_ids is True
    assert params.join_role == "guest"
    assert params.only_output_key is False
    assert params.encode_params.encode_method == "sha256"
    assert params.rsa_params.hash_method == "sha256"
    assert params.rsa_params.key_length == 1024
    assert params.dh_params.key_length == 2048
    assert params.ecdh_params.hash_method == "sha256"
    assert params.cardinality_method == "ecdh" and params.cardinality_only is False
    assert params.preprocess is None and params.run_cache is False
    assert validate_parameters({"intersect_method": "RAW"}).intersect_method == "raw"
    # `need_run` belongs to the scheduler and is let through.
    assert validate_parameters({"need_run": True}) == params


def test_fates_older_and_newer_names_agree() -> None:
    old = validate_parameters({"intersect_method": "raw", "join_role": "host", "random_bit": 64})
    new = validate_parameters(
        {
            "intersect_method": "raw",
            "raw_params": {"join_role": "host"},
            "rsa_params": {"random_bit": 64},
        }
    )
    assert old.join_role == new.join_role == "host"
    assert old.rsa_params.random_bit == new.rsa_params.random_bit == 64
    plain = validate_parameters({"raw_params": {"use_hash": False, "salt": "x"}})
    assert plain.encode_params.encode_method == "none"
    hashed = validate_parameters({"raw_params": {"use_hash": True, "hash_method": "sm3"}})
    assert hashed.encode_params.encode_method == "sm3"


@pytest.mark.parametrize(
    "conf",
    [
        # What FATE's example jobs give, with the features off (or on and ours).
        {"intersect_cache_param": {"use_cache": False, "id_type": "phone", "encrypt_type": "md5"}},
        {"rsa_params": {"split_calculation": False, "random_base_fraction": None}},
        {"run_preprocess": False, "intersect_preprocess_params": {"false_positive_rate": 0.0001}},
        {"repeated_id_process": False, "repeated_id_owner": "guest", "allow_info_share": False},
        {"with_sample_id": False, "info_owner": "host", "sample_id_generator": "host"},
        {"join_method": "inner_join", "new_sample_id": False},
        # On: matched on match ids when the data have them (FATE 1.7+ ignores the last two).
        {"join_method": "left_join", "new_sample_id": True, "sample_id_generator": "host"},
        {"repeated_id_process": True, "repeated_id_owner": "host", "with_sample_id": True},
        {"cardinality_only": True, "cardinality_method": "dh", "sync_cardinality": True},
        {
            "intersect_method": "ecdh",
            "run_preprocess": True,
            "intersect_preprocess_params": {
                "preprocess_method": "sha256",
                "false_positive_rate": 0.2,
            },
        },
        {"intersect_method": "dh", "run_cache": True, "dh_params": {"key_length": 1024}},
        {"intersect_method": "raw", "with_encode": True, "encode_params": {"base64": True}},
    ],
)
def test_fates_parameter_sets_are_accepted(conf: dict[str, Any]) -> None:
    validate_parameters(conf)


@pytest.mark.parametrize(
    ("conf", "parameter"),
    [
        ({"intersect_method": "psi"}, "intersect_method"),
        ({"random_bit": 0}, "random_bit"),
        ({"random_bit": "128"}, "random_bit"),
        ({"random_bit": 4096}, "random_bit"),
        ({"random_bit": 64, "rsa_params": {"random_bit": 32}}, "random_bit"),
        ({"join_role": "host", "raw_params": {"join_role": "host"}}, "join_role"),
        ({"sync_intersect_ids": "yes"}, "sync_intersect_ids"),
        ({"join_role": "arbiter"}, "join_role"),
        ({"only_output_key": 1}, "only_output_key"),
        ({"encode_params": {"encode_method": "crc32"}}, "encode_params.encode_method"),
        ({"encode_params": {"salt": 7}}, "encode_params.salt"),
        ({"encode_params": {"pepper": ""}}, "encode_params.pepper"),
        ({"encode_params": "sha256"}, "encode_params"),
        ({"with_encode": False, "raw_params": {"use_hash": True}}, "raw_params"),
        ({"rsa_params": {"hash_method": "none"}}, "rsa_params.hash_method"),
        ({"rsa_params": {"key_length": 100}}, "rsa_params.key_length"),
        ({"rsa_params": {"key_length": 1024.5}}, "rsa_params.key_length"),
        ({"rsa_params": {"random_base_fraction": -1}}, "rsa_params.random_base_fraction"),
        ({"dh_params": {"key_length": 1000}}, "dh_params.key_length"),
        ({"dh_params": {"key_length": 2000}}, "dh_params.key_length"),
        ({"ecdh_params": {"curve": "p256"}}, "ecdh_params.curve"),
        ({"ecdh_params": {"hash_method": "md5"}}, "ecdh_params.hash_method"),
        ({"cardinality_only": True, "cardinality_method": "rsa"}, "cardinality_method"),
        (
            {
                "cardinality_only": True,
                "run_preprocess": True,
                "intersect_preprocess_params": {"false_positive_rate": 0.1},
            },
            "run_preprocess",
        ),
        ({"run_preprocess": True}, "intersect_preprocess_params.false_positive_rate"),
        (
            {"intersect_preprocess_params": {"false_positive_rate": 0.6}},
            "intersect_preprocess_params.false_positive_rate",
        ),
        (
            {"intersect_preprocess_params": {"filter_owner": "arbiter"}},
            "intersect_preprocess_params.filter_owner",
        ),
        (
            {"intersect_preprocess_params": {"random_state": -1}},
            "intersect_preprocess_params.random_state",
        ),
        (
            {"intersect_preprocess_params": {"encrypt_method": "dh"}},
            "intersect_preprocess_params.encrypt_method",
        ),
        ({"run_cache": True, "intersect_method": "raw"}, "run_cache"),
        ({"run_cache": True, "cardinality_only": True}, "run_cache"),
        ({"run_cache": True, "rsa_params": {"split_calculation": True}}, "run_cache"),
        ({"join_method": "left_join", "sync_intersect_ids": False}, "join_method"),
        ({"join_method": "outer_join"}, "join_method"),
        ({"sample_id_generator": "arbiter"}, "sample_id_generator"),
        ({"repeated_id_owner": "arbiter"}, "repeated_id_owner"),
        ({"allow_info_share": True}, "allow_info_share"),
        ({"intersect_cache_param": {"use_cache": True}}, "intersect_cache_param.use_cache"),
        ({"intersect_cache_param": {"id_type": "email"}}, "intersect_cache_param.id_type"),
    ],
)
def test_bad_parameters_are_refused_by_name(conf: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_parameters(conf)
    assert caught.value.metadata["parameter"] == parameter
    assert parameter in caught.value.message


def test_duplicate_ids_are_refused() -> None:
    params = validate_parameters({"intersect_method": "raw"})
    with pytest.raises(InvalidArgument, match="with_match_id"):
        intersect_guest(Wire().transport(GUEST), ["a", "a"], params, Participants(GUEST, ()))


# --- cardinality only -------------------------------------------------------------------------

CARDINALITY = {
    "dh": {"cardinality_only": True, "cardinality_method": "dh", "dh_params": {"key_length": 1024}},
    "ecdh": {"cardinality_only": True},
}


@pytest.mark.parametrize("method", CARDINALITY)
@pytest.mark.parametrize("sync", [False, True])
@pytest.mark.parametrize("host_only", [[80], [80, 30, 50]])
def test_cardinality_only_counts_and_nobody_learns_an_id(
    method: str, sync: bool, host_only: list[int]
) -> None:
    rng = random.Random(f"card-{method}-{sync}-{len(host_only)}")
    guest_ids, hosts, common = make_tables(rng, guest_only=60, shared=45, host_only=host_only)
    # Ids the guest shares with some hosts only: not counted.
    guest_ids += ["pair0", "pair1"]
    hosts[0] += ["pair0", "pair1"]
    params = validate_parameters({**CARDINALITY[method], "sync_cardinality": sync})
    wire = Wire()

    guest, got_hosts = run_full(params, guest_ids, hosts, wire)

    expected = len(common) if len(hosts) > 1 else len(common) + 2
    assert guest.ids is None and guest.cardinality == expected
    for host in got_hosts:
        assert host.ids is None and host.cardinality == (expected if sync else None)
    # Nothing any party receives is an id or a hash of one; the guest's list comes back whole
    # (under every key, so the guest cannot match it to what it sent).
    every = [GUEST, *(PartyRole("host", 10000 + k) for k in range(len(hosts)))]
    digests = {
        hashlib.sha256(value.encode()).digest()
        for value in guest_ids + [v for table in hosts for v in table]
    }
    for party in every:
        for delivery in wire.received_by(party):
            if isinstance(delivery.obj, np.ndarray):
                assert not {bytes(row) for row in delivery.obj} & digests
    [sent] = [
        d
        for d in wire.received_by(PartyRole("host", 10000))
        if d.src == GUEST and isinstance(d.obj, np.ndarray)
    ]
    [back] = [d for d in wire.received_by(GUEST) if "doubly" in d.name]
    assert back.obj.shape == sent.obj.shape == (len(guest_ids), sent.obj.shape[1])  # type: ignore[union-attr]
    names = [d.name for d in wire.received_by(PartyRole("host", 10000))]
    assert sum(name.endswith(".cardinality") for name in names) == sync


# --- preprocessing ----------------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["guest", "host"])
@pytest.mark.parametrize("method", ["rsa", "ecdh", "raw"])
def test_preprocessing_keeps_the_exact_intersection_and_sends_fewer_ids(
    owner: str, method: str
) -> None:
    rng = random.Random(f"pre-{owner}-{method}")
    guest_ids, hosts, common = make_tables(rng, guest_only=300, shared=50, host_only=[300, 200])
    conf = {
        **METHODS[method],
        "run_preprocess": True,
        "intersect_preprocess_params": {"filter_owner": owner, "false_positive_rate": 0.05},
    }
    plain, filtered = Wire(), Wire()
    baseline = run_intersection(validate_parameters(METHODS[method]), guest_ids, hosts, plain)

    got_guest, got_hosts = run_intersection(validate_parameters(conf), guest_ids, hosts, filtered)

    assert (got_guest, got_hosts) == baseline
    assert set(got_guest) == common
    # The side that receives the filter sends only the ids that pass it (with raw, a guest
    # that joins sends no ids at all).
    receiver = PartyRole("host", 10000) if owner == "guest" else GUEST
    assert any("intersect_filter_from" in d.name for d in filtered.received_by(receiver))
    if (method, owner) != ("raw", "host"):
        assert _rows_sent(filtered, receiver) < _rows_sent(plain, receiver)


def _rows_sent(wire: Wire, sender: PartyRole) -> int:
    parties = [GUEST, PartyRole("host", 10000), PartyRole("host", 10001)]
    return sum(_rows(d.obj) for p in parties for d in wire.received_by(p) if d.src == sender)


def _rows(obj: object) -> int:
    return obj.shape[0] if isinstance(obj, np.ndarray) and obj.ndim == 2 else 0


# --- the cache --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["rsa", "dh", "ecdh"])
def test_a_cache_gives_the_same_intersection_without_encrypting_the_hosts_ids_again(
    method: str,
) -> None:
    rng = random.Random(f"cache-{method}")
    guest_ids, hosts, common = make_tables(rng, guest_only=40, shared=30, host_only=[50, 20])
    making = validate_parameters({**METHODS[method], "run_cache": True})
    guest, made_hosts = run_full(making, guest_ids, hosts, Wire())
    assert guest.ids is None and guest.cache is not None
    host_parties = [PartyRole("host", 10000 + k) for k in range(len(hosts))]
    caches = {GUEST: guest.cache} | {
        party: made.cache
        for party, made in zip(host_parties, made_hosts, strict=True)
        if made.cache
    }
    # The online run takes the method from the cache, whatever its own parameters say.
    online = validate_parameters({"intersect_method": "rsa", "only_output_key": True})
    wire = Wire()

    got_guest, got_hosts = run_full(online, guest_ids, hosts, wire, caches)

    assert got_guest.ids == [i for i in guest_ids if i in common]
    for got, table in zip(got_hosts, hosts, strict=True):
        assert got.ids is not None and set(got.ids) == common and set(got.ids) <= set(table)
    # The hosts sent no encrypted ids of their own: only the guest's, once more encrypted.
    for party in host_parties:
        from_host = [d for d in wire.received_by(GUEST) if d.src == party]
        assert all(_rows(d.obj) in (0, len(guest_ids)) for d in from_host)


def test_caches_of_two_runs_are_not_mixed() -> None:
    ids = [f"id{k}" for k in range(10)]
    making = validate_parameters({"intersect_method": "ecdh", "run_cache": True})
    first_guest, _ = run_full(making, ids, [ids], Wire())
    _, [second_host] = run_full(making, ids, [ids], Wire())
    assert first_guest.cache and second_host.cache
    host = PartyRole("host", 10000)
    with pytest.raises(InvalidArgument, match="different runs"):
        run_full(
            validate_parameters({}),
            ids,
            [ids],
            Wire(),
            {GUEST: first_guest.cache, host: second_host.cache},
        )
