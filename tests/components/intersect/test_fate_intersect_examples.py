"""FATE's own Intersection example jobs (`examples/dsl/v1` and `v2/intersect`, 1.5.3 and
1.11.4), their parameters unchanged, run as Intersection tasks on the breast tables cut so that
the parties share part of their ids: the output is the plain set intersection (the ids alone,
as the examples ask with `only_output_key`), the cardinality is its size, the cache gives the
same rows as a run without it, also when a CacheLoader brings it from an earlier job. The
examples are read from FATE's mirror and skipped without it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.intersect.cache_loader import CacheLoader
from fateflow_grpc.components.intersect.intersection import Intersection, validate_parameters
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.intersect.test_match_ids import expected
from tests.components.intersect.test_match_ids import tables as match_id_tables
from tests.components.tasks import Stores, merged

MIRROR = Path("/work/.mirror/FederatedAI+FATE/repo")
TAGS = ("v1.5.3", "v1.11.4")
#: CacheLoader examples, with the example whose cache they load (FATE's testsuite runs that
#: one first and gives its job id to `cache_loader_0`).
CACHE_LOADERS = {
    "test_intersect_job_ecdh_cache_loader_conf.json": "test_intersect_job_ecdh_cache_conf.json",
    "test_intersect_job_rsa_cache_loader_conf.json": "test_intersect_job_rsa_cache_conf.json",
}
#: The FATE examples we refuse, with the parameter named.
REFUSED = {"test_intersect_job_rsa_cardinality_conf.json": "cardinality_method"}


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(MIRROR), *args], check=True, capture_output=True, text=True
    ).stdout


def _examples() -> list[tuple[str, str]]:
    if not (MIRROR / "HEAD").exists():
        return []
    found = []
    for tag in TAGS:
        for version in ("v1", "v2"):
            listing = _git("ls-tree", "-r", "--name-only", tag, f"examples/dsl/{version}/intersect")
            found += [
                (tag, path)
                for path in listing.split()
                if path.endswith("conf.json") and "without_dataio" not in path
            ]
    return found


EXAMPLES = _examples()


def _conf(tag: str, path: str) -> dict[str, Any]:
    conf: dict[str, Any] = json.loads(_git("show", f"{tag}:{path}"))
    return conf


def _intersect_params(conf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each Intersection component's parameters, as the conf gives them to every party."""
    common = conf.get("algorithm_parameters") or conf["component_parameters"]["common"]
    return {name: params for name, params in common.items() if name.startswith("intersect")}


# The guest holds rows 0..399, host k rows 100k+150..568-50k: part of the ids in common.
GUEST_ROWS = range(0, 400)


def _host_rows(k: int) -> range:
    return range(150 + 100 * k, 569 - 50 * k)


def _parties(conf: dict[str, Any]) -> tuple[PartyRole, list[PartyRole], dict[str, list[int]]]:
    roles = {role: list(conf["role"][role]) for role in ("guest", "host")}
    guest = PartyRole("guest", roles["guest"][0])
    return guest, [PartyRole("host", p) for p in roles["host"]], roles


def _prepare(
    stores: Stores, guest: PartyRole, hosts: list[PartyRole], job_id: str = "train"
) -> list[set[str]]:
    guest_data = breast("breast_hetero_guest")
    rows = guest_data.take(list(GUEST_ROWS)).to_table()
    stores.put(guest, "data_transform_0.data", rows, job_id=job_id)
    tables = [{str(guest_data.ids[i]) for i in GUEST_ROWS}]
    host_data = breast("breast_hetero_host")
    for k, host in enumerate(hosts):
        rows = host_data.take(list(_host_rows(k))).to_table()
        stores.put(host, "data_transform_0.data", rows, job_id=job_id)
        tables.append({str(host_data.ids[i]) for i in _host_rows(k)})
    return tables


@pytest.mark.slow  # 28 examples, 2048-bit rsa keys among them: about 90 s on 2 cores
@pytest.mark.skipif(not EXAMPLES, reason=f"FATE's mirror is not at {MIRROR}")
@pytest.mark.parametrize(("tag", "path"), EXAMPLES, ids=[f"{t}:{p}" for t, p in EXAMPLES])
def test_fates_intersection_example(stores: Stores, tag: str, path: str) -> None:
    name = Path(path).name
    conf = _conf(tag, path)
    if name in CACHE_LOADERS:
        _run_cache_loader_example(
            stores, conf, _conf(tag, str(Path(path).parent / CACHE_LOADERS[name]))
        )
        return
    components = _intersect_params(conf)
    if name in REFUSED:
        for params in components.values():
            with pytest.raises(InvalidArgument) as caught:
                validate_parameters(merged(Intersection.info.parameters, params))
            assert caught.value.metadata["parameter"] == REFUSED[name]
        return
    guest, hosts, roles = _parties(conf)
    tables = _prepare(stores, guest, hosts)
    common = set.intersection(*tables)
    everyone = [guest, *hosts]
    cached = None
    for component, params in components.items():
        wiring: dict[str, Any] = {"data": {"data": ["data_transform_0.data"]}}
        if cached:  # FATE's `input.cache`: the cache component's model here
            wiring["models"] = [f"{cached}.model"]
        stores.run_parties(
            Intersection(), component, dict.fromkeys(everyone, params), roles, **wiring
        )
        if params.get("run_cache"):
            assert all(stores.model(party, component) for party in everyone)
            assert not any(stores.has_output(party, component) for party in everyone)
            cached = component
            continue
        summary = stores.summary(guest, component)
        assert summary is not None and summary["intersect_num"] == len(common)
        if params.get("cardinality_only"):
            assert summary["cardinality_only"] is True
            assert not any(stores.has_output(party, component) for party in everyone)
            continue
        output = stores.output(guest, component)
        assert set(output.column(0).to_pylist()) == common
        if params.get("only_output_key"):
            assert output.num_columns == 1
        sync = params.get("sync_intersect_ids", True)
        for host in hosts:
            got = set(stores.output(host, component).column(0).to_pylist())
            assert got == (common if sync or params.get("join_role") == "host" else set())


def _run_cache_loader_example(
    stores: Stores, conf: dict[str, Any], cache_conf: dict[str, Any]
) -> None:
    """The cache example's `intersect_0` (run_cache) in an earlier job, then this example's
    CacheLoader (FATE's testsuite fills in that job's id) and its Intersection fed from it."""
    guest, hosts, roles = _parties(conf)
    everyone = [guest, *hosts]
    tables = _prepare(stores, guest, hosts, job_id="earlier")
    assert tables == _prepare(stores, guest, hosts)
    cache_params = _intersect_params(cache_conf)["intersect_0"]
    assert cache_params["run_cache"] is True
    wiring: dict[str, Any] = {"data": {"data": ["data_transform_0.data"]}}
    stores.run_parties(
        Intersection(),
        "intersect_0",
        dict.fromkeys(everyone, cache_params),
        roles,
        model_outputs=["cache"],
        job_id="earlier",
        **wiring,
    )
    by_role = conf["component_parameters"]["role"]
    loader = {
        party: {**by_role[party.role]["0"]["cache_loader_0"], "job_id": "earlier"}
        for party in everyone
    }
    stores.run_parties(CacheLoader(), "cache_loader_0", loader, roles, model_outputs=["cache"])
    params = _intersect_params(conf)["intersect_0"]
    stores.run_parties(
        Intersection(),
        "intersect_0",
        dict.fromkeys(everyone, params),
        roles,
        models=["cache_loader_0.cache"],
        **wiring,
    )
    common = set.intersection(*tables)
    assert set(stores.output(guest, "intersect_0").column(0).to_pylist()) == common
    summary = stores.summary(guest, "intersect_0")
    assert summary is not None and summary["intersect_num"] == len(common)
    for host in hosts:
        got = set(stores.output(host, "intersect_0").column(0).to_pylist())
        assert got == (common if params["sync_intersect_ids"] else set())


def _match_id_examples() -> list[tuple[str, dict[str, Any]]]:
    """FATE 1.11.4's Intersection parameters for data with match ids: the DSL example that reads
    its tables `with_match_id` (sample_weight_name_job) and the pipeline examples of
    `examples/pipeline/match_id_test` (their `Intersection(...)` arguments)."""
    if not (MIRROR / "HEAD").exists():
        return []
    conf = _conf("v1.11.4", "examples/dsl/v2/sample_weight/sample_weight_name_job_conf.json")
    return [
        ("sample_weight_name_job", _intersect_params(conf)["intersection_0"]),
        ("match_id_test/pipeline-hetero-lr", {}),
        (
            "match_id_test/pipeline-label-transform",
            {"join_method": "left_join", "sample_id_generator": "host"},
        ),
    ]


MATCH_ID_EXAMPLES = _match_id_examples()


@pytest.mark.skipif(not MATCH_ID_EXAMPLES, reason=f"FATE's mirror is not at {MIRROR}")
@pytest.mark.parametrize(
    ("name", "params"), MATCH_ID_EXAMPLES, ids=[name for name, _ in MATCH_ID_EXAMPLES]
)
def test_fates_match_id_example(stores: Stores, name: str, params: dict[str, Any]) -> None:
    guest_data, host_data = match_id_tables()
    guest, host = PartyRole("guest", 9999), PartyRole("host", 10000)
    stores.put(guest, "data_transform_0.data", guest_data.to_table())
    stores.put(host, "data_transform_0.data", host_data.to_table())
    stores.run_parties(
        Intersection(),
        "intersection_0",
        dict.fromkeys([guest, host], params),
        {"guest": [9999], "host": [10000]},
        data={"data": ["data_transform_0.data"]},
    )
    left = params.get("join_method") == "left_join"
    if params.get("sample_id_generator") == "host":
        (own, theirs), owner, partner = expected(host_data, guest_data, left), host, guest
    else:
        (own, theirs), owner, partner = expected(guest_data, host_data, left), guest, host
    for party, want in ((owner, own), (partner, theirs)):
        got = Dataset.from_table(stores.output(party, "intersection_0"))
        assert sorted(got.ids) == sorted(want)
        for key, values in zip(got.ids, got.features, strict=True):
            np.testing.assert_array_equal(values, want[key])


@pytest.mark.skipif(not EXAMPLES, reason=f"FATE's mirror is not at {MIRROR}")
def test_fate_16_repeated_id_example(stores: Stores) -> None:
    """FATE 1.6's `repeated_id_process` example: the guest's table keys rows by a sample id of
    its own and holds the id, repeated, as its first feature; the host's is keyed by the id.
    The guest keeps its rows whose id the host has (that column leaves its features); the host
    repeats its row of each id under each of the guest's sample ids."""
    tag, folder = "v1.6.1", "examples/dsl/v2/intersect"
    conf = _conf(tag, f"{folder}/test_intersect_job_repeated_id_conf.json")
    params = _intersect_params(conf)["intersect_0"]
    assert params["repeated_id_process"] is True and params["only_output_key"] is True
    lines = _git("show", f"{tag}:examples/data/breast_hetero_guest_repeated_id.csv").split()
    header = lines[0].split(",")
    body = [line.split(",") for line in lines[1:]]
    guest_data = Dataset(
        ids=np.array([row[0] for row in body], dtype=object),
        features=np.array([[float(v) for v in row[1:]] for row in body]),
        labels=None,  # the example reads it with_label false
        header=header[1:],
        sid=header[0],
    )
    host_data = breast("breast_hetero_host").take(list(range(100, 400)))
    guest, host = PartyRole("guest", 9999), PartyRole("host", 10000)
    for party, data in ((guest, guest_data), (host, host_data)):
        stores.put(party, "data_transform_0.data", data.to_table())
    roles = {"guest": [9999], "host": [10000]}
    for only_output_key in (True, False):
        run_params = {**params, "only_output_key": only_output_key}
        stores.run_parties(
            Intersection(),
            "intersect_0",
            dict.fromkeys([guest, host], run_params),
            roles,
            data={"data": ["data_transform_0.data"]},
        )
        host_rows = {str(key): i for i, key in enumerate(host_data.ids)}
        kept = [i for i, row in enumerate(body) if row[1] in host_rows]
        assert 0 < len(kept) < len(body)
        got_guest = Dataset.from_table(stores.output(guest, "intersect_0"))
        got_host = Dataset.from_table(stores.output(host, "intersect_0"))
        assert sorted(got_guest.ids) == sorted(body[i][0] for i in kept)
        assert sorted(got_host.ids) == sorted(got_guest.ids)
        if only_output_key:
            assert got_guest.header == [] and got_host.header == []
            continue
        assert got_guest.header == header[2:]
        by_key = {body[i][0]: body[i][1] for i in kept}
        for key, values in zip(got_host.ids, got_host.features, strict=True):
            expected_row = host_data.features[host_rows[by_key[key]]]
            np.testing.assert_array_equal(values, expected_row)
