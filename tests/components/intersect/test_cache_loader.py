"""CacheLoader: the Intersection cache of an earlier job, loaded into this one, gives an
Intersection fed from it the plain set intersection; its parameters as FATE-Flow's."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.components.intersect.cache_loader import CacheLoader
from fateflow_grpc.components.intersect.intersection import Intersection
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ROLES = {"guest": [9999], "host": [10000]}
EVERYONE = (GUEST, HOST)
SOURCE = "data_transform_0.data"
CACHE = {"intersect_method": "ecdh", "run_cache": True}
LOADER = {"job_id": "earlier", "component_name": "intersect_0", "cache_name": "cache"}


def put_tables(stores: Stores, job_id: str, guest_rows: range, host_rows: range) -> set[str]:
    guest = breast("breast_hetero_guest").take(list(guest_rows))
    host = breast("breast_hetero_host").take(list(host_rows))
    stores.put(GUEST, SOURCE, guest.to_table(), job_id=job_id)
    stores.put(HOST, SOURCE, host.to_table(), job_id=job_id)
    return set(guest.ids) & set(host.ids)


def make_cache(stores: Stores) -> None:
    put_tables(stores, "earlier", range(0, 300), range(100, 500))
    stores.run_parties(
        Intersection(),
        "intersect_0",
        dict.fromkeys(EVERYONE, CACHE),
        ROLES,
        data={"data": [SOURCE]},
        model_outputs=["cache"],
        job_id="earlier",
    )


def load(stores: Stores, params: dict[str, Any]) -> None:
    stores.run_parties(
        CacheLoader(),
        "cache_loader_0",
        dict.fromkeys(EVERYONE, params),
        ROLES,
        model_outputs=["cache"],
    )


def test_a_loaded_cache_intersects_as_the_earlier_job_would(stores: Stores) -> None:
    make_cache(stores)
    load(stores, LOADER)
    for party in EVERYONE:
        assert stores.model(party, "cache_loader_0", alias="cache") == stores.model(
            party, "intersect_0", job_id="earlier", alias="cache"
        )
        metric = stores.metrics(party, "cache_loader_0")["cache_loader"]["cache"]
        assert metric.meta["metric_type"] == "CACHE_INFO"
        assert metric.meta["job_id"] == "earlier"
    # This job's tables differ from the earlier job's: the hosts' cached ids still decide.
    common = put_tables(stores, "train", range(50, 400), range(100, 500))
    stores.run_parties(
        Intersection(),
        "intersect_0",
        {party: {"intersect_method": "ecdh"} for party in EVERYONE},
        ROLES,
        data={"data": [SOURCE]},
        models=["cache_loader_0.cache"],
    )
    for party in EVERYONE:
        assert set(stores.output(party, "intersect_0").column(0).to_pylist()) == common


def test_a_missing_cache_is_named(stores: Stores) -> None:
    with pytest.raises(NotFound, match=r"intersect_0\.cache of version elsewhere"):
        load(stores, {**LOADER, "job_id": "elsewhere"})


def test_a_model_that_is_no_cache_is_refused(stores: Stores) -> None:
    context = stores.context("scale_0", GUEST, {}, job_id="earlier")
    try:
        context.save_model({"meta": {}, "param": {}})
    finally:
        context.close()
    params = {**LOADER, "component_name": "scale_0", "cache_name": "model"}
    with pytest.raises(InvalidArgument, match="not an Intersection cache"):
        stores.run(CacheLoader(), "cache_loader_0", GUEST, params, model_outputs=["cache"])


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({**LOADER, "cache_key": "k"}, "cache_key"),
        ({**LOADER, "job_id": ""}, "job_id"),
        ({"component_name": "intersect_0"}, "job_id"),
        ({"job_id": "earlier"}, "component_name"),
        ({**LOADER, "cache_name": 3}, "cache_name"),
        ({**LOADER, "model_id": "m"}, "model_id"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], parameter: str) -> None:
    validate = CacheLoader.info.validate
    assert validate is not None
    with pytest.raises(InvalidArgument) as caught:
        validate(params)
    assert caught.value.metadata["parameter"] == parameter
