"""Every way a DSL or conf is refused, each with a message naming the culprit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fateflow_grpc.domain.catalog import Catalog, ModuleInfo
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.errors import InvalidArgument
from tests.domain.fate_examples import CATALOG, any_route, conf_v1, conf_v2, dsl_v1, dsl_v2


def refused(
    dsl: dict[str, Any], conf: dict[str, Any], has_route: Callable[[int], bool] = any_route
) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_job(dsl, conf, CATALOG, has_route=has_route)
    return caught.value


# --- the DSL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dsl", [{}, {"components": {}}, {"components": []}])
def test_no_components(dsl: dict[str, Any]) -> None:
    error = refused(dsl, conf_v1())
    assert "no components" in error.message
    assert error.reason == "NO_COMPONENTS"


@pytest.mark.parametrize("name", ["dataio", "dataio_x", "_0", "data.io_0", "dataio_0_"])
def test_component_name_not_prefix_index(name: str) -> None:
    dsl = dsl_v1()
    dsl["components"][name] = dsl["components"].pop("evaluation_0")
    error = refused(dsl, conf_v1())
    assert repr(name) in error.message
    assert "<prefix>_<index>" in error.message
    assert error.metadata["component"] == name


def test_unknown_module_lists_known_ones() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_0"]["module"] = "HeteroLogistic"
    error = refused(dsl, conf_v1())
    assert "hetero_lr_0" in error.message
    assert "'HeteroLogistic'" in error.message
    assert "DataIO, DataTransform, Evaluation, HeteroLR, Intersection, Reader" in error.message
    assert error.metadata == {"component": "hetero_lr_0", "module": "HeteroLogistic"}


def test_cycle_names_its_components() -> None:
    dsl = dsl_v1()
    # intersection_0 -> hetero_lr_0 -> evaluation_0 -> intersection_0; dataio_0 is outside it.
    dsl["components"]["evaluation_0"]["output"]["data"].append("loop")
    dsl["components"]["intersection_0"]["input"]["data"]["data"].append("evaluation_0.loop")
    error = refused(dsl, conf_v1())
    assert "intersection_0 -> hetero_lr_0 -> evaluation_0 -> intersection_0" in error.message
    assert error.metadata["components"] == "intersection_0,hetero_lr_0,evaluation_0"
    assert error.reason == "DEPENDENCY_CYCLE"


def test_self_loop() -> None:
    dsl = dsl_v1()
    dsl["components"]["dataio_0"]["input"]["model"] = ["dataio_0.dataio"]
    error = refused(dsl, conf_v1())
    assert "dataio_0 -> dataio_0" in error.message


def test_input_naming_a_missing_component() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_9.train"]
    error = refused(dsl, conf_v1())
    assert "hetero_lr_0" in error.message
    assert "no component intersection_9" in error.message
    assert error.metadata["input"] == "intersection_9.train"


def test_input_naming_an_undeclared_output() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["intersection_0.data"]
    error = refused(dsl, conf_v1())
    assert "intersection_0 declares no data output 'data'" in error.message
    assert "its data outputs: train" in error.message


def test_model_input_naming_an_undeclared_model() -> None:
    dsl = dsl_v1()
    dsl["components"]["evaluation_0"]["input"]["model"] = ["intersection_0.train"]
    error = refused(dsl, conf_v1())
    assert "evaluation_0" in error.message
    assert "no model output 'train'" in error.message


def test_v1_args_key_missing_from_the_conf() -> None:
    conf = conf_v1()
    del conf["role_parameters"]["host"]["args"]["data"]["train_data"]
    error = refused(dsl_v1(), conf)
    assert "dataio_0 reads args.train_data" in error.message
    assert "role_parameters.host.args.data.train_data" in error.message
    assert "host 10000" in error.message
    assert error.metadata["key"] == "train_data"


def test_v1_args_list_too_short_for_a_party() -> None:
    conf = conf_v1()
    conf["role"]["host"] = [10000, 10001]
    error = refused(dsl_v1(), conf)
    assert "host 10001 (party index 1)" in error.message


def test_args_in_a_v2_dsl() -> None:
    dsl = dsl_v2()
    dsl["components"]["data_transform_0"]["input"]["data"]["data"] = ["args.train_data"]
    error = refused(dsl, conf_v2())
    assert "data_transform_0" in error.message
    assert "DSL v2 has no `args`" in error.message
    assert "Reader" in error.message


def test_reader_in_a_v1_dsl() -> None:
    dsl = dsl_v1()
    dsl["components"]["reader_0"] = {"module": "Reader", "output": {"data": ["data"]}}
    error = refused(dsl, conf_v1())
    assert "reader_0" in error.message
    assert "DSL v2" in error.message


def test_v2_reader_without_a_table() -> None:
    conf = conf_v2()
    del conf["component_parameters"]["role"]["host"]["1"]
    error = refused(dsl_v2(), conf)
    assert "reader_0 has no table to read at host 10001" in error.message
    assert 'component_parameters.role.host."1".reader_0.table' in error.message


def test_v2_reader_table_without_namespace() -> None:
    conf = conf_v2()
    conf["component_parameters"]["role"]["guest"]["0"]["reader_0"]["table"] = {"name": "t"}
    error = refused(dsl_v2(), conf)
    assert "reader_0.table must be a table {name, namespace}" in error.message


def test_unknown_data_input_kind() -> None:
    dsl = dsl_v2()
    dsl["components"]["data_transform_0"]["input"]["data"]["train_data"] = ["reader_0.data"]
    error = refused(dsl, conf_v2())
    assert "data_transform_0 (DataTransform) has no data input 'train_data'" in error.message


def test_fate_1_5s_eval_data_is_validate_data_beside_train_data_else_test_data() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_0"]["input"]["data"]["eval_data"] = ["intersection_0.train"]
    dsl["components"]["hetero_lr_1"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"eval_data": ["intersection_0.train"]},
            "model": ["hetero_lr_0.hetero_lr"],
        },
        "output": {"data": ["train"]},
    }
    spec = parse_job(dsl, conf_v1(), CATALOG, has_route=any_route)
    inputs = {c.name: sorted(c.data_inputs) for c in spec.components}
    assert inputs["hetero_lr_0"] == ["train_data", "validate_data"]
    assert inputs["hetero_lr_1"] == ["test_data"]


def test_eval_data_with_validate_data() -> None:
    dsl = dsl_v1()
    data = dsl["components"]["hetero_lr_0"]["input"]["data"]
    data["eval_data"] = data["validate_data"] = ["intersection_0.train"]
    error = refused(dsl, conf_v1())
    assert "hetero_lr_0: `input.data.eval_data` cannot be given with `validate_data`" in (
        error.message
    )


def test_one_prefix_two_modules() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_1"] = {
        "module": "Evaluation",
        "input": {"data": {"data": ["hetero_lr_0.train"]}},
        "output": {"data": ["evaluate"]},
    }
    error = refused(dsl, conf_v1())
    assert "hetero_lr_0 (HeteroLR) and hetero_lr_1 (Evaluation)" in error.message


def test_pipeline_models_only_in_predict_jobs() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_0"]["input"]["model"] = ["pipeline.hetero_lr_0.hetero_lr"]
    error = refused(dsl, conf_v1())
    assert "pipeline.hetero_lr_0.hetero_lr" in error.message
    assert "predict job" in error.message


def test_predict_job_needs_the_trained_model() -> None:
    conf = conf_v2()
    conf["job_parameters"]["common"].update(job_type="predict", model_id="m")
    error = refused(dsl_v2(), conf)
    assert "model_version" in error.message
    assert "model_id" not in error.metadata["keys"]


# --- parties ---------------------------------------------------------------------------------


@pytest.mark.parametrize("initiator", [None, {}, {"role": "guest"}, {"party_id": 9999}])
def test_missing_initiator(initiator: dict[str, Any] | None) -> None:
    conf = conf_v1()
    if initiator is None:
        del conf["initiator"]
    else:
        conf["initiator"] = initiator
    assert "no `initiator`" in refused(dsl_v1(), conf).message


@pytest.mark.parametrize(
    ("initiator", "expected"),
    [
        (
            {"role": "guest", "party_id": 10000},
            "initiator guest 10000 is not among the guest parties (9999)",
        ),
        (
            {"role": "local", "party_id": 9999},
            "initiator local 9999 is not among the local parties (none)",
        ),
    ],
)
def test_initiator_not_among_its_role(initiator: dict[str, Any], expected: str) -> None:
    conf = conf_v1()
    conf["initiator"] = initiator
    error = refused(dsl_v1(), conf)
    assert expected in error.message
    assert error.reason == "BAD_INITIATOR"


def test_no_roles() -> None:
    conf = conf_v1()
    del conf["role"]
    assert "no `role`" in refused(dsl_v1(), conf).message


def test_role_without_parties() -> None:
    conf = conf_v1()
    conf["role"]["arbiter"] = []
    error = refused(dsl_v1(), conf)
    assert "role arbiter has no parties" in error.message
    assert error.metadata["role"] == "arbiter"


@pytest.mark.parametrize("party_id", [0, -1, "abc", "", True, 1.5, None, "-3"])
def test_party_id_not_a_positive_int(party_id: object) -> None:
    conf = conf_v1()
    conf["role"]["host"] = [party_id]
    error = refused(dsl_v1(), conf)
    assert f"role.host: party id {party_id!r} is not a positive integer" in error.message
    assert error.reason == "BAD_PARTY_ID"


def test_party_zero_is_the_local_pseudo_party() -> None:
    conf = conf_v1()
    conf["initiator"]["party_id"] = 0
    error = refused(dsl_v1(), conf)
    assert "initiator: party id 0" in error.message
    assert "local pseudo-party" in error.message


def test_party_listed_twice_in_one_role() -> None:
    conf = conf_v1()
    conf["role"]["host"] = [10000, "10000"]
    error = refused(dsl_v1(), conf)
    assert "party 10000 is listed twice in role host" in error.message


def test_party_without_route() -> None:
    error = refused(dsl_v1(), conf_v1(), has_route=lambda party_id: party_id == 9999)
    assert "no route to party 10000 (host, arbiter)" in error.message
    assert error.metadata["party_id"] == "10000"
    assert error.reason == "NO_ROUTE"


# --- conf sections ---------------------------------------------------------------------------


def test_v2_sections_without_dsl_version_2() -> None:
    conf = conf_v2()
    del conf["dsl_version"]
    error = refused(dsl_v2(), conf)
    assert "component_parameters belongs to conf v2: set `dsl_version: 2`" in error.message


def test_v2_job_parameters_in_a_v1_conf() -> None:
    conf = conf_v1()
    conf["job_parameters"] = {"common": {"job_type": "train"}}
    assert "job_parameters.common belongs to conf v2" in refused(dsl_v1(), conf).message


def test_flat_job_parameters_in_a_v2_conf() -> None:
    conf = conf_v2()
    conf["job_parameters"]["timeout"] = 10
    error = refused(dsl_v2(), conf)
    assert "job_parameters of a v2 conf holds `common` and `role`, not timeout" in error.message


@pytest.mark.parametrize("version", [3, "two", True, None])
def test_bad_dsl_version(version: object) -> None:
    conf = conf_v2()
    conf["dsl_version"] = version
    assert f"dsl_version must be 1 or 2, not {version!r}" in refused(dsl_v2(), conf).message


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("component_parameters", "3"),
        ("component_parameters", "0|5"),
        ("component_parameters", "x"),
        ("component_parameters", "01"),
        ("job_parameters", "2"),
    ],
)
def test_party_index_key_naming_no_party(section: str, key: str) -> None:
    conf = conf_v2()
    conf[section]["role"]["host"] = {key: {}}
    error = refused(dsl_v2(), conf)
    assert (
        f"{section}.role.host has party index key {key!r}, but host has 2 parties" in error.message
    )
    assert error.metadata == {"section": section, "role": "host", "key": key}


def test_role_section_for_a_name_that_is_no_role() -> None:
    conf = conf_v2()
    conf["component_parameters"]["role"]["gest"] = {"0": {}}
    error = refused(dsl_v2(), conf)
    assert "component_parameters.role names role gest, which is not one of" in error.message


def test_unknown_parameter_key_names_component_and_module() -> None:
    conf = conf_v2()
    conf["component_parameters"]["common"]["hetero_lr_0"]["learning_rat"] = 0.1
    error = refused(dsl_v2(), conf)
    assert "component hetero_lr_0 (HeteroLR) has no parameter 'learning_rat'" in error.message
    assert "component_parameters.common.hetero_lr_0" in error.message
    assert error.metadata == {
        "component": "hetero_lr_0",
        "module": "HeteroLR",
        "key": "learning_rat",
    }
    assert error.reason == "UNKNOWN_PARAMETER"


def test_unknown_parameter_key_in_v1_role_parameters() -> None:
    conf = conf_v1()
    conf["role_parameters"]["guest"]["dataio_0"]["label"] = ["y"]
    error = refused(dsl_v1(), conf)
    assert "component dataio_0 (DataTransform) has no parameter 'label'" in error.message
    assert "role_parameters.guest.dataio_0" in error.message


def test_modules_that_declare_no_parameters_take_any() -> None:
    catalog = Catalog([ModuleInfo("Anything", frozenset({"guest"}))])
    dsl = {"components": {"anything_0": {"module": "Anything"}}}
    conf = {
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999]},
        "algorithm_parameters": {"anything_0": {"whatever": 1}},
    }
    spec = parse_job(dsl, conf, catalog, has_route=any_route)
    assert spec.component_parameters("anything_0", "guest", 9999) == {"whatever": 1}


def test_a_bad_party_index_key_in_role_parameters() -> None:
    conf = conf_v1()
    conf["role_parameters"]["host"]["0|1"] = {"dataio_0": {"with_label": True}}
    error = refused(dsl_v1(), conf)
    assert "role_parameters.host has party index key '0|1', but host has 1 party" in error.message
    assert error.reason == "CONFLICTING_PARAMETERS"


def test_unknown_top_level_conf_key() -> None:
    conf = conf_v1()
    conf["algorithm_parameter"] = {}
    error = refused(dsl_v1(), conf)
    assert "unknown runtime conf keys: algorithm_parameter" in error.message
    assert error.metadata["keys"] == "algorithm_parameter"


def test_v1_role_parameters_need_lists() -> None:
    conf = conf_v1()
    conf["role_parameters"]["guest"]["dataio_0"]["with_label"] = True
    error = refused(dsl_v1(), conf)
    assert "role_parameters.guest.dataio_0.with_label must be a list" in error.message


def test_need_run_must_be_a_bool() -> None:
    conf = conf_v1()
    conf["role_parameters"]["host"]["evaluation_0"]["need_run"] = ["no"]
    error = refused(dsl_v1(), conf)
    assert "evaluation_0 at host 10000: need_run must be true or false" in error.message


@pytest.mark.parametrize(("job_type", "timeout"), [("training", None), ("train", "1h")])
def test_bad_job_parameters(job_type: str, timeout: str | None) -> None:
    conf = conf_v2()
    conf["job_parameters"]["common"]["job_type"] = job_type
    if timeout is not None:
        conf["job_parameters"]["common"]["timeout"] = timeout
    error = refused(dsl_v2(), conf)
    assert repr(timeout if timeout is not None else job_type) in error.message


@pytest.mark.parametrize(
    ("where", "text"),
    [("model", "args.train_data"), ("model", "pipeline.hetero_lr_0"), ("data", "intersection_0")],
)
def test_malformed_references(where: str, text: str) -> None:
    dsl = dsl_v1()
    inputs = dsl["components"]["hetero_lr_0"]["input"]
    if where == "model":
        inputs["model"] = [text]
    else:
        inputs["data"]["train_data"] = [text]
    conf = conf_v1()
    conf["job_parameters"].update(job_type="predict", model_id="m", model_version="v")
    error = refused(dsl, conf)
    assert "hetero_lr_0" in error.message
    assert error.metadata["input"] == text
