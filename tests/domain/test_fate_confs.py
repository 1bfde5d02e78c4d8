"""FATE's own example jobs, parsed as they are: conf v1 with `args` tables and several hosts,
entries for components their DSL does not have (left out, as FATE's parser leaves them)."""

from __future__ import annotations

import pytest

from fateflow_grpc.components.registry import catalog
from fateflow_grpc.domain.jobspec import TableRef, parse_job
from fateflow_grpc.errors import InvalidArgument
from tests.domain.fate_examples import fate_json

V1 = "v1.6.1:examples/dsl/v1/hetero_logistic_regression"
V2 = "v1.11.4:examples/dsl/v2/hetero_logistic_regression"


@pytest.mark.parametrize(
    ("dsl", "conf", "ignored"),
    [
        (
            f"{V1}/test_hetero_lr_train_job_dsl.json",
            f"{V1}/test_multi_host_job_conf.json",
            ("algorithm_parameters.intersect_0",),
        ),
        (
            f"{V1}/test_hetero_lr_train_job_dsl.json",
            f"{V1}/test_hetero_lr_one_vs_rest_job_conf.json",
            ("role_parameters.guest.intersect_0", "role_parameters.host.intersect_0"),
        ),
        (
            f"{V2}/hetero_lr_sample_weights_dsl.json",
            f"{V2}/hetero_lr_sample_weights_conf.json",
            ("component_parameters.common.intersection_0",),
        ),
    ],
)
def test_fates_examples_with_entries_for_other_components(
    dsl: str, conf: str, ignored: tuple[str, ...]
) -> None:
    spec = parse_job(
        fate_json(dsl), fate_json(conf), catalog(with_testing=False), has_route=lambda _: True
    )
    assert spec.ignored == ignored


def test_fates_v1_multi_host_example_reads_its_args_tables() -> None:
    spec = parse_job(
        fate_json(f"{V1}/test_hetero_lr_train_job_dsl.json"),
        fate_json(f"{V1}/test_multi_host_job_conf.json"),
        catalog(with_testing=False),
        has_route=lambda _: True,
    )
    assert spec.roles == {"guest": [10000], "host": [10000, 10001], "arbiter": [10000]}
    assert [spec.input_tables("dataio_0", "host", party) for party in (10000, 10001)] == [
        {"train_data": TableRef("breast_hetero_host", "experiment")},
        {"train_data": TableRef("breast_hetero_host", "experiment")},
    ]
    assert spec.input_tables("dataio_0", "guest", 10000) == {
        "train_data": TableRef("breast_hetero_guest", "experiment")
    }
    # The host's Evaluation runs (FATE's conf says nothing of it there): it gets no input.
    assert spec.runs_at("evaluation_0", "host", 10001)


def test_fates_intersection_cache_edge_is_a_model_edge() -> None:
    """FATE 1.7+'s `cache` output and input connect two Intersections as a model does."""
    spec = parse_job(
        fate_json("v1.11.4:examples/dsl/v2/intersect/test_intersect_job_cache_dsl.json"),
        fate_json("v1.11.4:examples/dsl/v2/intersect/test_intersect_job_rsa_cache_conf.json"),
        catalog(with_testing=False),
        has_route=lambda _: True,
    )
    by_name = {component.name: component for component in spec.components}
    assert by_name["intersect_0"].model_outputs == ("cache",)
    (cache,) = by_name["intersect_1"].model_inputs
    assert (cache.source, cache.name) == ("intersect_0", "cache")


def test_fates_cache_loader_example_feeds_the_intersection() -> None:
    """FATE's CacheLoader example, with the earlier job's id that FATE's testsuite fills in
    (the conf leaves it empty, which is refused by name)."""
    dsl = fate_json("v1.11.4:examples/dsl/v2/intersect/test_intersect_job_cache_loader_dsl.json")
    conf = fate_json(
        "v1.11.4:examples/dsl/v2/intersect/test_intersect_job_rsa_cache_loader_conf.json"
    )
    with pytest.raises(InvalidArgument) as caught:
        parse_job(dsl, conf, catalog(with_testing=False), has_route=lambda _: True)
    assert caught.value.metadata["parameter"] == "job_id"
    for role in ("guest", "host"):
        conf["component_parameters"]["role"][role]["0"]["cache_loader_0"]["job_id"] = "earlier"
    spec = parse_job(dsl, conf, catalog(with_testing=False), has_route=lambda _: True)
    by_name = {component.name: component for component in spec.components}
    assert by_name["cache_loader_0"].model_outputs == ("cache",)
    (cache,) = by_name["intersect_0"].model_inputs
    assert (cache.source, cache.name) == ("cache_loader_0", "cache")
