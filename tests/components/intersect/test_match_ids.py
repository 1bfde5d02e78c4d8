"""Intersection of tables with match ids (DataTransform's `with_match_id`), as FATE 1.7+ does it:
on FATE's `sample_id` tables (the guest's match ids repeat, up to a dozen rows each), every
party's output is keyed by the sample ids of the `sample_id_generator` and its rows line up with
the generator's; checked against the plain computation on the same tables."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.intersect.intersection import ID_MAP_FROM, Intersection
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.tasks import Stores
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST2 = PartyRole("host", 10001)
ROLES = {"guest": [9999], "host": [10000]}
SOURCE = "data_transform_0.data"
FAST = {"intersect_method": "ecdh"}


def read_match_id(path: Path, label: str | None) -> Dataset:
    """A `sample_id` table as DataTransform reads it with `with_match_id`: key, match id `id`,
    then the label (if any) and the features."""
    with path.open() as file:
        rows = list(csv.reader(file))
    sid, match, *columns = rows[0]
    header = [c for c in columns if c != label]
    body = np.array([[float(v) for v in row[2:]] for row in rows[1:]])
    return Dataset(
        ids=np.array([row[0] for row in rows[1:]], dtype=object),
        features=body[:, [columns.index(c) for c in header]],
        labels=body[:, columns.index(label)] if label else None,
        header=header,
        sid=sid,
        match_ids=np.array([row[1] for row in rows[1:]], dtype=object),
        match_id_name=match,
    )


def tables() -> tuple[Dataset, Dataset]:
    """The guest's first 1500 rows; the host's first 250 rows and again its first 20 under
    other sample ids (a host with repeated match ids too): some match ids on one side only."""
    guest = read_match_id(fate_table("breast_hetero_guest_sample_id.csv"), "y")
    host = read_match_id(fate_table("breast_hetero_host_sample_id.csv"), None)
    guest = guest.take(np.arange(1500))
    host = host.take(np.r_[np.arange(250), np.arange(20)])
    ids = host.ids.copy()
    ids[250:] = [f"dup{k}" for k in range(20)]
    return guest, Dataset(**{**host.__dict__, "ids": ids})


def expected(
    generator: Dataset, partner: Dataset, left_join: bool = False
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The plain computation: the generator's rows whose match id the partner has (all its rows
    with `left_join`), and for each the partner's first row of that match id (NaN if none), by
    the generator's sample id."""
    first: dict[str, int] = {}
    for i, match in enumerate(partner.match_ids):
        first.setdefault(match, i)
    own, theirs = {}, {}
    nan = [float("nan")] * len(partner.header)
    for i, (key, match) in enumerate(zip(generator.ids, generator.match_ids, strict=True)):
        if match in first:
            own[key] = list(generator.features[i])
            theirs[key] = list(partner.features[first[match]])
        elif left_join:
            own[key] = list(generator.features[i])
            theirs[key] = nan
    return own, theirs


def rows(stores: Stores, party: PartyRole) -> dict[str, list[float]]:
    data = Dataset.from_table(stores.output(party, "intersect_0"))
    assert len(set(data.ids)) == len(data.ids)
    return {key: list(data.features[i]) for i, key in enumerate(data.ids)}


def run(
    stores: Stores,
    params: dict[str, Any],
    guest: Dataset,
    hosts: Sequence[tuple[PartyRole, Dataset]],
) -> Wire:
    stores.put(GUEST, SOURCE, guest.to_table())
    for party, data in hosts:
        stores.put(party, SOURCE, data.to_table())
    roles = {"guest": [GUEST.party_id], "host": [party.party_id for party, _ in hosts]}
    everyone = dict.fromkeys([GUEST, *(party for party, _ in hosts)], params)
    return stores.run_parties(
        Intersection(), "intersect_0", everyone, roles, data={"data": [SOURCE]}
    )


def same(got: dict[str, list[float]], want: dict[str, list[float]]) -> None:
    assert got.keys() == want.keys()
    for key, values in want.items():
        np.testing.assert_array_equal(got[key], values)


@pytest.mark.parametrize(
    "params",
    [
        FAST,
        {"intersect_method": "rsa"},
        {"intersect_method": "dh", "dh_params": {"key_length": 1024}},
        {"intersect_method": "raw"},
        {**FAST, "repeated_id_process": True, "with_sample_id": True},
    ],
    ids=["ecdh", "rsa", "dh", "raw", "fate-1.5-flags"],
)
def test_guest_generates_the_sample_ids(stores: Stores, params: dict[str, Any]) -> None:
    guest, host = tables()
    run(stores, params, guest, [(HOST, host)])
    own, theirs = expected(guest, host)
    same(rows(stores, GUEST), own)
    same(rows(stores, HOST), theirs)
    common = set(guest.match_ids) & set(host.match_ids)
    (metric,) = stores.metrics(GUEST, "intersect_0")["train"].values()
    points = dict(metric.data)
    assert points["intersect_count"] == len(common)
    assert points["intersect_rate"] == len(common) / len(set(guest.match_ids))
    assert points["intersect_sample_id_count"] == len(own)
    assert points["input_match_id_count"] == len(set(guest.match_ids))
    assert points["unmatched_count"] == len(set(guest.match_ids) - common)
    # The host's output carries its own match ids, under the guest's sample ids.
    host_out = Dataset.from_table(stores.output(HOST, "intersect_0"))
    by_key = dict(zip(guest.ids, guest.match_ids, strict=True))
    assert [by_key[k] for k in host_out.ids] == list(host_out.match_ids)


@pytest.mark.parametrize("method", ["ecdh", "raw"])
def test_host_generates_the_sample_ids(stores: Stores, method: str) -> None:
    guest, host = tables()
    params = {"intersect_method": method, "sample_id_generator": "host", "join_role": "host"}
    run(stores, params, guest, [(HOST, host)])
    own, theirs = expected(host, guest)
    same(rows(stores, HOST), own)
    same(rows(stores, GUEST), theirs)
    # The guest's labels travel with its rows.
    out = Dataset.from_table(stores.output(GUEST, "intersect_0"))
    assert out.labels is not None and len(out.labels) == len(theirs)


def test_without_sync_the_guest_generates_and_the_host_gets_nothing(stores: Stores) -> None:
    guest, host = tables()
    params = {**FAST, "sync_intersect_ids": False, "sample_id_generator": "host"}
    run(stores, params, guest, [(HOST, host)])
    same(rows(stores, GUEST), expected(guest, host)[0])
    assert rows(stores, HOST) == {}


@pytest.mark.parametrize("generator", ["guest", "host"])
def test_left_join_keeps_every_row_of_the_generator(stores: Stores, generator: str) -> None:
    guest, host = tables()
    params = {**FAST, "join_method": "left_join", "sample_id_generator": generator}
    run(stores, params, guest, [(HOST, host)])
    owner, partner = (GUEST, HOST) if generator == "guest" else (HOST, GUEST)
    own, theirs = expected(*((guest, host) if generator == "guest" else (host, guest)), True)
    same(rows(stores, owner), own)
    same(rows(stores, partner), theirs)


def test_left_join_with_new_sample_ids(stores: Stores) -> None:
    guest, host = tables()
    params = {**FAST, "join_method": "left_join", "new_sample_id": True}
    run(stores, params, guest, [(HOST, host)])
    matched, _ = expected(guest, host)
    got_guest, got_host = rows(stores, GUEST), rows(stores, HOST)
    assert got_guest.keys() == got_host.keys()
    assert len(got_guest) == guest.ids.size
    new = got_guest.keys() - matched.keys()
    assert len(new) == guest.ids.size - len(matched) and not new & set(guest.ids)
    assert all(np.isnan(got_host[key]).all() for key in new)
    same({k: got_host[k] for k in matched}, expected(guest, host)[1])


def test_only_output_key_keeps_keys_and_match_ids(stores: Stores) -> None:
    guest, host = tables()
    run(stores, {**FAST, "only_output_key": True}, guest, [(HOST, host)])
    for party in (GUEST, HOST):
        table = stores.output(party, "intersect_0")
        assert table.num_columns == 2
    assert stores.output(HOST, "intersect_0").column_names == ["sample_id", "id"]
    own, _ = expected(guest, host)
    assert set(stores.output(GUEST, "intersect_0").column(0).to_pylist()) == own.keys()


def test_several_hosts(stores: Stores) -> None:
    guest, host = tables()
    other = host.take(np.arange(100, 270))
    run(stores, FAST, guest, [(HOST, host), (HOST2, other)])
    both = set(host.match_ids) & set(other.match_ids)
    keep = np.array([m in both for m in guest.match_ids])
    narrowed = guest.take(np.flatnonzero(keep))
    same(rows(stores, GUEST), expected(narrowed, host)[0])
    same(rows(stores, HOST), expected(narrowed, host)[1])
    same(rows(stores, HOST2), expected(narrowed, other)[1])


def test_several_hosts_need_the_guest_to_generate(stores: Stores) -> None:
    guest, host = tables()
    with pytest.raises(InvalidArgument) as caught:
        run(stores, {**FAST, "sample_id_generator": "host"}, guest, [(HOST, host), (HOST2, host)])
    assert caught.value.metadata["parameter"] == "sample_id_generator"


def test_raw_needs_the_join_role_to_generate(stores: Stores) -> None:
    guest, host = tables()
    with pytest.raises(InvalidArgument) as caught:
        run(stores, {"intersect_method": "raw", "join_role": "host"}, guest, [(HOST, host)])
    assert caught.value.metadata["parameter"] == "sample_id_generator"


def test_all_parties_or_none_have_match_ids(stores: Stores) -> None:
    guest, _ = tables()
    with pytest.raises(InvalidArgument, match="match ids"):
        run(stores, FAST, guest, [(HOST, breast("breast_hetero_host"))])


def test_left_join_needs_match_ids(stores: Stores) -> None:
    with pytest.raises(InvalidArgument) as caught:
        run(
            stores,
            {**FAST, "join_method": "left_join"},
            breast("breast_hetero_guest"),
            [(HOST, breast("breast_hetero_host"))],
        )
    assert caught.value.metadata["parameter"] == "join_method"


def test_the_partner_learns_only_the_common_rows_sample_ids(stores: Stores) -> None:
    """What crosses beyond the intersection protocol: the generator's sample ids of its rows in
    the intersection, by match id; none of its other rows."""
    guest, host = tables()
    wire = run(stores, FAST, guest, [(HOST, host)])
    [delivery] = [d for d in wire.received_by(HOST) if d.name == ID_MAP_FROM["guest"]]
    common = set(guest.match_ids) & set(host.match_ids)
    assert set(delivery.obj["match_ids"]) == common
    sent = [key for keys in delivery.obj["sample_ids"] for key in keys]
    pairs = zip(guest.ids, guest.match_ids, strict=True)
    assert sorted(sent) == sorted(key for key, match in pairs if match in common)
