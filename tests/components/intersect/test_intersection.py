"""Intersection: both methods give the exact intersection, and hosts learn nothing beyond it."""

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


def run_intersection(
    params: IntersectParams, guest_ids: list[str], host_tables: list[list[str]], wire: Wire
) -> tuple[list[str], list[list[str] | None]]:
    hosts = [PartyRole("host", 10000 + k) for k in range(len(host_tables))]
    parties = Participants(GUEST, tuple(hosts))

    def guest(transport: MemoryTransport) -> Any:
        return intersect_guest(transport, guest_ids, params, parties, timeout=TIMEOUT)

    def host(table: list[str]) -> Callable[[MemoryTransport], Any]:
        return lambda t: intersect_host(t, table, params, parties, timeout=TIMEOUT)

    roles = {GUEST: guest} | {
        party: host(table) for party, table in zip(hosts, host_tables, strict=True)
    }
    results = run_parties(wire, roles)
    return results[GUEST], [results[host] for host in hosts]


@pytest.mark.parametrize("method", METHODS)
def test_partial_overlap_is_exact(method: str) -> None:
    rng = random.Random(f"overlap-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=150, shared=120, host_only=[200])
    params = validate_parameters(METHODS[method])

    got_guest, [got_host] = run_intersection(params, guest_ids, [host_ids], Wire())

    assert got_guest == [i for i in guest_ids if i in common]  # the guest's own order
    assert got_host == [i for i in host_ids if i in common]
    metrics = intersection_metrics(got_guest, len(guest_ids), params)
    assert metrics.data() == [("intersect_count", 120), ("intersect_rate", 120 / 270)]
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
    assert intersection_metrics(got_guest, len(guest_ids), params).rate == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_an_empty_table(method: str) -> None:
    params = validate_parameters(METHODS[method])
    assert run_intersection(params, [], [["a", "b"]], Wire()) == ([], [[]])
    assert run_intersection(params, ["a", "b"], [[]], Wire()) == ([], [[]])


@pytest.mark.parametrize("method", ["rsa", "raw"])
def test_without_sync_the_host_learns_nothing(method: str) -> None:
    rng = random.Random(f"nosync-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=10, shared=10, host_only=[10])
    params = validate_parameters({**METHODS[method], "sync_intersect_ids": False})
    wire = Wire()

    got_guest, [got_host] = run_intersection(params, guest_ids, [host_ids], wire)

    assert set(got_guest) == common and got_host is None
    host = PartyRole("host", 10000)
    received = wire.received_by(host)
    expected = [] if method == "raw" else [intersection.RSA_GUEST_IDS]
    assert [d.name for d in received] == expected


@pytest.mark.parametrize("method", ["rsa", "raw"])
def test_the_host_never_receives_ids_outside_the_intersection(method: str) -> None:
    rng = random.Random(f"leak-{method}")
    guest_ids, [host_ids], common = make_tables(rng, guest_only=50, shared=20, host_only=[30])
    params = validate_parameters(METHODS[method])
    wire = Wire()

    _, [got_host] = run_intersection(params, guest_ids, [host_ids], wire)

    host = PartyRole("host", 10000)
    received = wire.received_by(host)
    secrets = [i for i in guest_ids if i not in common]
    # The forms a guest-only id could take: itself, or its sha256 with or without the salt.
    forms = {s.encode() for s in secrets} | {hashlib.sha256(s.encode()).digest() for s in secrets}
    for delivery in received:
        blob = (
            delivery.obj.tobytes()
            if isinstance(delivery.obj, np.ndarray)
            else repr(delivery.obj).encode()
        )
        assert not any(form in blob for form in forms), delivery.name
    # Beyond blinded values (rsa), the only thing the host gets is the final intersection.
    positions = [
        d
        for d in received
        if d.name.endswith("intersect_ids_guest") or d.name.endswith(".intersect_ids")
    ]
    assert len(positions) == 1 and len(positions[0].obj) == len(common)  # type: ignore[arg-type]
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
    assert params.random_bit == 128
    assert params.sync_intersect_ids is True
    assert params.join_role == "guest"
    assert params.only_output_key is False
    assert params.encode_params.encode_method == "sha256"
    assert params.rsa_params.hash_method == "sha256"
    assert params.rsa_params.key_length == 1024
    assert validate_parameters({"intersect_method": "RAW"}).intersect_method == "raw"
    # `need_run` belongs to the scheduler and is let through.
    assert validate_parameters({"need_run": True}) == params


@pytest.mark.parametrize(
    ("conf", "parameter"),
    [
        ({"intersect_method": "dh"}, "intersect_method"),
        ({"random_bit": 0}, "random_bit"),
        ({"random_bit": "128"}, "random_bit"),
        ({"random_bit": 4096}, "random_bit"),
        ({"sync_intersect_ids": "yes"}, "sync_intersect_ids"),
        ({"join_role": "arbiter"}, "join_role"),
        ({"only_output_key": 1}, "only_output_key"),
        ({"encode_params": {"encode_method": "crc32"}}, "encode_params.encode_method"),
        ({"encode_params": {"salt": 7}}, "encode_params.salt"),
        ({"encode_params": {"pepper": ""}}, "encode_params.pepper"),
        ({"encode_params": "sha256"}, "encode_params"),
        ({"rsa_params": {"hash_method": "none"}}, "rsa_params.hash_method"),
        ({"rsa_params": {"key_length": 100}}, "rsa_params.key_length"),
        ({"rsa_params": {"key_length": 1024.5}}, "rsa_params.key_length"),
        ({"intersect_cache_param": {}}, "intersect_cache_param"),
    ],
)
def test_bad_parameters_are_refused_by_name(conf: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_parameters(conf)
    assert caught.value.metadata["parameter"] == parameter
    assert parameter in caught.value.message


def test_duplicate_ids_are_refused() -> None:
    params = validate_parameters({"intersect_method": "raw"})
    with pytest.raises(InvalidArgument, match="unique"):
        intersect_guest(Wire().transport(GUEST), ["a", "a"], params, Participants(GUEST, ()))
