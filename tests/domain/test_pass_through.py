"""FATE's `pass_data`: a component told `need_run: false` at a party outputs its data input
unchanged there, so a component reading its data at that party reads that input."""

from __future__ import annotations

from fateflow_grpc.components import registry
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.domain.participant import Wiring
from tests.domain.fate_examples import CATALOG, any_route, conf_v2, dsl_v2, fate_json


def test_a_component_that_does_not_run_at_a_party_passes_its_data_through() -> None:
    conf = conf_v2()
    conf["component_parameters"]["role"]["host"]["0"]["intersection_0"] = {"need_run": False}
    spec = parse_job(dsl_v2(), conf, CATALOG, has_route=any_route)
    assert not spec.runs_at("intersection_0", "host", 10000)
    # Host 10000 trains on what the intersection would have passed on: its DataTransform's.
    at_host = Wiring.of(spec, "hetero_lr_0", "host", 10000)
    assert at_host.data_inputs == {"train_data": [("data_transform_0", "data")]}
    # Elsewhere the intersection runs, and is read.
    for role, party in (("guest", 9999), ("host", 10001)):
        wired = Wiring.of(spec, "hetero_lr_0", role, party)
        assert wired.data_inputs == {"train_data": [("intersection_0", "data")]}


def test_a_component_absent_for_its_role_is_not_passed_through() -> None:
    """Evaluation has no arbiter role: nothing reads through it (FATE gives no input there)."""
    dsl = dsl_v2()
    dsl["components"]["evaluation_1"] = {
        "module": "Evaluation",
        "input": {"data": {"data": ["evaluation_0.data"]}},
        "output": {"data": ["data"]},
    }
    spec = parse_job(dsl, conf_v2(), CATALOG, has_route=any_route)
    wired = Wiring.of(spec, "evaluation_1", "arbiter", 10000)
    assert wired.data_inputs == {"data": [("evaluation_0", "data")]}


def test_a_component_given_a_model_that_did_not_run_passes_its_data_through() -> None:
    """FATE's sample-weight-transform: the host's sample_weight_0 has need_run false, so
    sample_weight_1, given its model, passes the intersection's data on to the host's HeteroLR."""
    example = "v1.11.4:examples/dsl/v2/sample_weight/sample_weight"
    dsl = fate_json(f"{example}_transform_job_dsl.json")
    conf = fate_json(f"{example}_balanced_job_conf.json")
    catalog = registry.catalog(with_testing=False)
    spec = parse_job(dsl, conf, catalog, has_route=any_route)
    assert not spec.runs_at("sample_weight_1", "host", 10000)
    at_host = Wiring.of(spec, "hetero_lr_0", "host", 10000)
    assert at_host.data_inputs == {"train_data": [("intersection_0", "data")]}
    at_guest = Wiring.of(spec, "hetero_lr_0", "guest", 9999)
    assert at_guest.data_inputs == {"train_data": [("sample_weight_1", "data")]}
