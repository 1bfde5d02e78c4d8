"""Parsing a job: FATE's examples, per-party parameter resolution, the dependency view."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.domain.dsl import Ref
from fateflow_grpc.domain.jobspec import (
    DEFAULT_TIMEOUT,
    JobSpec,
    PartyRole,
    TableRef,
    parse_job,
    predicted_model,
    with_training_conf,
)
from fateflow_grpc.errors import InvalidArgument, NotFound
from tests.domain.fate_examples import CATALOG, any_route, conf_v1, conf_v2, dsl_v1, dsl_v2


def parse(dsl: dict[str, Any], conf: dict[str, Any]) -> JobSpec:
    return parse_job(dsl, conf, CATALOG, has_route=any_route)


def test_v1_example_parses() -> None:
    spec = parse(dsl_v1(), conf_v1())
    assert spec.dsl_version == 1
    assert spec.job_type == "train"
    assert spec.timeout == DEFAULT_TIMEOUT
    assert spec.initiator == PartyRole("guest", 9999)
    assert spec.roles == {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert [c.name for c in spec.components] == [
        "dataio_0",
        "intersection_0",
        "hetero_lr_0",
        "evaluation_0",
    ]
    dataio = spec.component("dataio_0")
    assert (dataio.module, dataio.dsl_module) == ("DataTransform", "DataIO")
    assert dataio.data_inputs == {"data": (Ref("args", "train_data"),)}
    assert (dataio.data_outputs, dataio.model_outputs, dataio.need_deploy) == (
        ("train",),
        ("dataio",),
        True,
    )
    # Not in the DSL: the module's default says.
    assert spec.component("evaluation_0").need_deploy is False
    assert spec.parties() == [
        PartyRole("guest", 9999),
        PartyRole("host", 10000),
        PartyRole("arbiter", 10000),
    ]


def test_v2_example_parses() -> None:
    spec = parse(dsl_v2(), conf_v2())
    assert spec.dsl_version == 2
    assert [c.name for c in spec.components] == [
        "reader_0",
        "data_transform_0",
        "intersection_0",
        "hetero_lr_0",
        "evaluation_0",
    ]
    assert spec.upstream("hetero_lr_0") == [("intersection_0", "data")]
    assert spec.upstream("reader_0") == []


def test_topological_order_does_not_follow_the_document() -> None:
    dsl = dsl_v1()
    components = dsl["components"]
    dsl["components"] = {name: components[name] for name in reversed(list(components))}
    spec = parse(dsl, conf_v1())
    assert [c.name for c in spec.components] == [
        "dataio_0",
        "intersection_0",
        "hetero_lr_0",
        "evaluation_0",
    ]


def test_v1_resolution_defaults_then_algorithm_then_role_element() -> None:
    spec = parse(dsl_v1(), conf_v1())
    assert spec.component_parameters("dataio_0", "guest", 9999) == {
        "with_label": True,
        "label_name": "y",
        "label_type": "int",
        "output_format": "dense",
        "need_run": True,
    }
    assert spec.component_parameters("dataio_0", "host", 10000)["with_label"] is False
    lr = spec.component_parameters("hetero_lr_0", "arbiter", 10000)
    assert (lr["optimizer"], lr["max_iter"], lr["alpha"]) == ("rmsprop", 30, 0.01)
    # Nested objects merge: the conf's init_method over the default, fit_intercept kept.
    assert lr["init_param"] == {"init_method": "zeros", "fit_intercept": True}
    # A role the module does not run at gets no parameters (FATE's setting conf rule).
    assert spec.component_parameters("dataio_0", "arbiter", 10000) == {}


def test_v1_lists_are_indexed_by_party_position() -> None:
    conf = conf_v1()
    conf["role"]["host"] = [10000, 10001, 10002]
    host = conf["role_parameters"]["host"]
    host["args"]["data"]["train_data"] *= 3
    # The third host has no element: it keeps the default (FATE skips short lists).
    host["dataio_0"] = {"with_label": [False, True], "label_name": ["a", "b", "c"]}
    host["hetero_lr_0"] = {"init_param": {"init_method": ["ones", "zeros"]}}
    spec = parse(dsl_v1(), conf)
    picked = [
        (
            spec.component_parameters("dataio_0", "host", party)["with_label"],
            spec.component_parameters("dataio_0", "host", party)["label_name"],
            spec.component_parameters("hetero_lr_0", "host", party)["init_param"],
        )
        for party in (10000, 10001, 10002)
    ]
    assert picked == [
        (False, "a", {"init_method": "ones", "fit_intercept": True}),
        (True, "b", {"init_method": "zeros", "fit_intercept": True}),
        (False, "c", {"init_method": "zeros", "fit_intercept": True}),
    ]


def test_v2_resolution_index_keys_in_document_order() -> None:
    conf = conf_v2()
    conf["role"]["host"] = [10000, 10001, 10002]
    conf["component_parameters"]["role"]["host"] = {
        "all": {"hetero_lr_0": {"alpha": 1.0, "max_iter": 5}},
        "0|1": {"hetero_lr_0": {"alpha": 2.0}},
        "1": {"hetero_lr_0": {"alpha": 3.0}},
        "2": {"hetero_lr_0": {"init_param": {"fit_intercept": False}}},
    }
    for index in range(3):
        conf["component_parameters"]["role"]["host"].setdefault(str(index), {})["reader_0"] = {
            "table": {"name": f"t{index}", "namespace": "n"}
        }
    spec = parse(dsl_v2(), conf)
    lr = {
        party: spec.component_parameters("hetero_lr_0", "host", party)
        for party in (10000, 10001, 10002)
    }
    assert [lr[p]["alpha"] for p in (10000, 10001, 10002)] == [2.0, 3.0, 1.0]
    assert {lr[p]["max_iter"] for p in lr} == {5}
    # common, then role keys; nested objects merge with defaults and common.
    assert lr[10002]["init_param"] == {"init_method": "zeros", "fit_intercept": False}
    assert lr[10000]["optimizer"] == "rmsprop"


def test_v2_later_matching_key_wins() -> None:
    conf = conf_v2()
    conf["component_parameters"]["role"]["host"] = {
        "1": {"hetero_lr_0": {"alpha": 3.0}},
        "all": {"hetero_lr_0": {"alpha": 1.0}},
        "0": {"reader_0": {"table": {"name": "a", "namespace": "n"}}},
        "1|0": {"reader_0": {"table": {"name": "b", "namespace": "n"}}},
    }
    spec = parse(dsl_v2(), conf)
    assert spec.component_parameters("hetero_lr_0", "host", 10001)["alpha"] == 1.0
    assert spec.input_tables("reader_0", "host", 10000) == {"table": TableRef("b", "n")}


def test_v2_example_resolution() -> None:
    spec = parse(dsl_v2(), conf_v2())
    assert spec.component_parameters("data_transform_0", "guest", 9999)["with_label"] is True
    assert spec.component_parameters("data_transform_0", "host", 10001)["with_label"] is False
    assert spec.component_parameters("intersection_0", "host", 10000)["intersect_method"] == "rsa"
    assert spec.component_parameters("reader_0", "guest", 9999)["table"] == {
        "name": "breast_hetero_guest",
        "namespace": "experiment",
    }


def test_job_parameters_per_party() -> None:
    spec = parse(dsl_v2(), conf_v2())
    common = {"job_type": "train", "work_mode": 1, "backend": 0, "task_parallelism": 1}
    assert spec.job_parameters("guest", 9999) == {**common, "task_cores": 4}
    assert spec.job_parameters("host", 10000) == common
    v1 = parse(dsl_v1(), conf_v1())
    assert v1.job_parameters("host", 10000) == conf_v1()["job_parameters"]


def test_answers_are_copies() -> None:
    spec = parse(dsl_v2(), conf_v2())
    spec.component_parameters("hetero_lr_0", "guest", 9999)["init_param"]["init_method"] = "x"
    spec.job_parameters("guest", 9999)["task_cores"] = 99
    spec.roles["guest"].append(1)
    assert (
        spec.component_parameters("hetero_lr_0", "guest", 9999)["init_param"]["init_method"]
        == "zeros"
    )
    assert spec.job_parameters("guest", 9999)["task_cores"] == 4
    assert spec.roles["guest"] == [9999]


def test_dependency_view_matches_fate_for_host() -> None:
    spec = parse(dsl_v1(), conf_v1())
    assert spec.dependency_view("host", 10000) == {
        "component_list": ["dataio_0", "intersection_0", "hetero_lr_0", "evaluation_0"],
        "dependencies": {
            "intersection_0": [{"component_name": "dataio_0", "type": "data"}],
            "hetero_lr_0": [{"component_name": "intersection_0", "type": "data"}],
            "evaluation_0": [{"component_name": "hetero_lr_0", "type": "data"}],
        },
        "component_module": {
            "dataio_0": "DataIO",
            "intersection_0": "Intersection",
            "hetero_lr_0": "HeteroLR",
            "evaluation_0": "Evaluation",
        },
        "component_need_run": {
            "dataio_0": True,
            "intersection_0": True,
            "hetero_lr_0": True,
            "evaluation_0": False,
        },
    }
    arbiter = spec.dependency_view("arbiter", 10000)["component_need_run"]
    assert arbiter == {
        "dataio_0": False,
        "intersection_0": False,
        "hetero_lr_0": True,
        "evaluation_0": False,
    }
    with pytest.raises(NotFound, match="guest 10000"):
        spec.dependency_view("guest", 10000)


def test_one_edge_per_kind_and_model_edges() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_1"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"test_data": ["intersection_0.train"]},
            "model": ["hetero_lr_0.hetero_lr"],
        },
        "output": {"data": ["predict"]},
    }
    dsl["components"]["hetero_lr_0"]["input"]["data"]["validate_data"] = ["intersection_0.train"]
    dsl["components"]["evaluation_0"]["input"]["data"]["data"].append("hetero_lr_1.predict")
    spec = parse(dsl, conf_v1())
    assert spec.upstream("hetero_lr_0") == [("intersection_0", "data")]
    assert spec.upstream("hetero_lr_1") == [("intersection_0", "data"), ("hetero_lr_0", "model")]
    view = spec.dependency_view("guest", 9999)
    assert view["dependencies"]["evaluation_0"] == [
        {"component_name": "hetero_lr_0", "type": "data"},
        {"component_name": "hetero_lr_1", "type": "data"},
    ]


def test_runs_at_follows_roles_need_run_and_model_inputs() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_1"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"test_data": ["intersection_0.train"]},
            "model": ["hetero_lr_0.hetero_lr"],
        },
        "output": {"data": ["predict"]},
    }
    conf = conf_v1()
    conf["role_parameters"]["host"]["hetero_lr_0"] = {"need_run": [False]}
    spec = parse(dsl, conf)
    assert spec.runs_at("hetero_lr_0", "guest", 9999)
    assert not spec.runs_at("hetero_lr_0", "host", 10000)
    # Fed by the model of a component that does not run there: it does not run either.
    assert not spec.runs_at("hetero_lr_1", "host", 10000)
    assert spec.runs_at("hetero_lr_1", "arbiter", 10000)
    assert not spec.runs_at("evaluation_0", "host", 10000)
    assert not spec.runs_at("dataio_0", "arbiter", 10000)
    assert not spec.runs_at("dataio_0", "guest", 12345)


def test_input_tables() -> None:
    v1 = parse(dsl_v1(), conf_v1())
    assert v1.input_tables("dataio_0", "host", 10000) == {
        "train_data": TableRef("breast_hetero_host", "experiment")
    }
    assert v1.input_tables("intersection_0", "host", 10000) == {}
    v2 = parse(dsl_v2(), conf_v2())
    assert v2.input_tables("reader_0", "host", 10001) == {
        "table": TableRef("breast_hetero_host_b", "experiment")
    }
    assert v2.input_tables("reader_0", "guest", 9999)["table"].name == "breast_hetero_guest"
    assert v2.input_tables("data_transform_0", "guest", 9999) == {}
    with pytest.raises(NotFound, match="nothing_0"):
        v2.input_tables("nothing_0", "guest", 9999)


def test_one_party_in_several_roles() -> None:
    spec = parse(dsl_v1(), conf_v1())
    assert [p for p in spec.parties() if p.party_id == 10000] == [
        PartyRole("host", 10000),
        PartyRole("arbiter", 10000),
    ]


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [(3600, 3600), (0, DEFAULT_TIMEOUT), (-5, DEFAULT_TIMEOUT), (7200.0, 7200)],
)
def test_timeout(timeout: float, expected: int) -> None:
    conf = conf_v2()
    conf["job_parameters"]["common"]["timeout"] = timeout
    assert parse(dsl_v2(), conf).timeout == expected


def test_party_ids_as_strings_and_floats() -> None:
    # JSON through protobuf's Struct turns every number into a float.
    conf = conf_v1()
    conf["initiator"]["party_id"] = 9999.0
    conf["role"] = {"guest": ["9999"], "host": [10000.0], "arbiter": [10000]}
    spec = parse(dsl_v1(), conf)
    assert spec.roles == {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert spec.initiator == PartyRole("guest", 9999)
    conf = conf_v2()
    conf["dsl_version"] = 2.0
    assert parse(dsl_v2(), conf).dsl_version == 2


def test_client_added_keys_are_tolerated() -> None:
    conf = conf_v1()
    conf.update(conf_path="/tmp/conf.json", dsl_path="/tmp/dsl.json")
    parse(dsl_v1(), conf)


def test_predict_job_with_pipeline_models() -> None:
    dsl = {
        "components": {
            "dataio_0": {
                "module": "DataIO",
                "input": {
                    "data": {"data": ["args.eval_data"]},
                    "model": ["pipeline.dataio_0.dataio"],
                },
                "output": {"data": ["train"]},
            },
            "hetero_lr_0": {
                "module": "HeteroLR",
                "input": {
                    "data": {"test_data": ["dataio_0.train"]},
                    "model": ["pipeline.hetero_lr_0.hetero_lr"],
                },
                "output": {"data": ["train"]},
            },
        }
    }
    conf = conf_v1()
    del conf["algorithm_parameters"]
    conf["job_parameters"].update(job_type="predict", model_id="m", model_version="v")
    for role in ("guest", "host"):
        args = conf["role_parameters"][role]["args"]["data"]
        args["eval_data"] = args.pop("train_data")
        conf["role_parameters"][role].pop("evaluation_0", None)
    spec = parse(dsl, conf)
    assert spec.job_type == "predict"
    assert spec.component("hetero_lr_0").model_inputs == (Ref("pipeline", "hetero_lr_0.hetero_lr"),)
    assert spec.upstream("hetero_lr_0") == [("dataio_0", "data")]
    assert spec.input_tables("dataio_0", "guest", 9999) == {
        "eval_data": TableRef("breast_hetero_guest", "experiment")
    }


def test_a_predict_conf_takes_what_it_leaves_out_from_the_training_conf() -> None:
    """As fate-client's pipeline predicts: its conf names only its own Reader's tables; the
    deployed components and the Reader the predict DSL keeps read the training conf's."""
    dsl = {
        "components": {
            "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
            "reader_1": {"module": "Reader", "output": {"data": ["data"]}},
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {"data": ["reader_1.data"]}, "model": ["pipeline.dt.model"]},
                "output": {"data": ["data"]},
            },
        }
    }
    train = conf_v2()
    predict = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": 9999},
        "role": {"guest": [9999], "host": [10000, 10001]},
        "job_parameters": {
            "common": {"job_type": "predict", "model_id": "m", "model_version": "v"}
        },
        "component_parameters": {
            "role": {
                "guest": {"0": {"reader_1": {"table": {"name": "new", "namespace": "x"}}}},
                "host": {
                    "0|1": {"data_transform_0": {"with_label": True}},
                    "0": {"reader_1": {"table": {"name": "new_h", "namespace": "x"}}},
                    "1": {"reader_1": {"table": {"name": "new_h1", "namespace": "x"}}},
                },
            }
        },
    }
    merged = with_training_conf(predict, train, dsl)
    parameters = merged["component_parameters"]
    # Only the predict DSL's components, only the predict conf's roles.
    assert set(parameters["common"]) == set()
    assert set(parameters["role"]) == {"guest", "host"}
    guest = parameters["role"]["guest"]["0"]
    assert guest["reader_1"]["table"]["name"] == "new"
    assert guest["reader_0"]["table"]["name"] == "breast_hetero_guest"
    assert guest["data_transform_0"]["label_name"] == "y"
    # The predict conf wins where both say something.
    assert parameters["role"]["host"]["0|1"]["data_transform_0"]["with_label"] is True
    spec = parse(dsl, merged)
    assert spec.input_tables("reader_0", "guest", 9999) == {
        "table": TableRef("breast_hetero_guest", "experiment")
    }
    assert spec.component_parameters("data_transform_0", "guest", 9999)["label_name"] == "y"
    # A v1 training conf does not mix into a v2 predict conf.
    assert with_training_conf(predict, conf_v1(), dsl) == predict
    assert predicted_model(predict) == ("m", "v", PartyRole("guest", 9999), 2)
    assert predicted_model(train) is None


# --- FATE's conf forms, FATE's leniency ------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "section"),
    [
        (1, "algorithm_parameters"),
        (1, "role_parameters.host"),
        (1, "role_parameters.host.0"),
        (2, "component_parameters.common"),
        (2, "component_parameters.role.host.0"),
    ],
)
def test_entries_for_components_not_in_the_dsl_are_left_out(version: int, section: str) -> None:
    """FATE's parser walks the DSL's components: one conf serves a trimmed DSL too."""
    dsl, conf = (dsl_v1(), conf_v1()) if version == 1 else (dsl_v2(), conf_v2())
    target: Any = conf
    for key in section.split("."):
        target = target.setdefault(key, {})
    # Not even checked against a module: nothing says what hetero_lr_9 would have been.
    target["hetero_lr_9"] = {"alpha": 1, "no_such_parameter": True}
    spec = parse(dsl, conf)
    where = section if not section.endswith(".0") else f'{section[:-2]}."0"'
    assert spec.ignored == (f"{where}.hetero_lr_9",)
    assert spec.component_parameters("hetero_lr_0", "guest", 9999)["alpha"] == 0.01
    assert parse(dsl_v1(), conf_v1()).ignored == ()


def test_a_trimmed_dsl_with_the_whole_conf() -> None:
    dsl = dsl_v2()
    del dsl["components"]["evaluation_0"]
    spec = parse(dsl, conf_v2())
    assert spec.ignored == (
        "component_parameters.common.evaluation_0",
        'component_parameters.role.host."0".evaluation_0',
    )


@pytest.mark.parametrize("section", ["component_parameters.role", "job_parameters.role"])
def test_sections_for_a_role_the_job_lacks_are_left_out(section: str) -> None:
    """One conf serves jobs with and without an arbiter, as FATE's parser reads only the
    job's roles; a name that is no role at all is still refused."""
    dsl, conf = dsl_v2(), conf_v2()
    del conf["role"]["arbiter"]
    first, second = section.split(".")
    conf.setdefault(first, {}).setdefault(second, {})["arbiter"] = {"0": {}}
    assert parse(dsl, conf).ignored[0] == f"{section}.arbiter"
    conf[first][second]["gust"] = {"0": {}}
    with pytest.raises(InvalidArgument, match="names role gust, which is not one of"):
        parse(dsl, conf)


def _v2_as_v1_sections(conf: dict[str, Any]) -> dict[str, Any]:
    """conf v2's component parameters moved into the v1 sections, as FATE 1.x accepts them."""
    conf = dict(conf)
    sections = conf.pop("component_parameters")
    conf["algorithm_parameters"] = sections["common"]
    conf["role_parameters"] = sections["role"]
    return conf


def test_v1_sections_beside_dsl_version_2() -> None:
    expected, spec = parse(dsl_v2(), conf_v2()), parse(dsl_v2(), _v2_as_v1_sections(conf_v2()))
    for role, party_id in ((p.role, p.party_id) for p in spec.parties()):
        for name in (c.name for c in spec.components):
            assert spec.runs_at(name, role, party_id) == expected.runs_at(name, role, party_id)
            assert spec.component_parameters(name, role, party_id) == expected.component_parameters(
                name, role, party_id
            )
    assert spec.input_tables("reader_0", "host", 10001) == {
        "table": TableRef("breast_hetero_host_b", "experiment")
    }


def test_role_parameter_sections_of_both_forms_add_up() -> None:
    """Common ones first, then role ones: role_parameters, then component_parameters.role."""
    conf = conf_v2()
    conf["algorithm_parameters"] = {"hetero_lr_0": {"alpha": 5.0, "max_iter": 7}}
    conf["role_parameters"] = {"host": {"all": {"hetero_lr_0": {"alpha": 6.0}}}}
    conf["component_parameters"]["role"]["host"]["1"]["hetero_lr_0"] = {"alpha": 8.0}
    spec = parse(dsl_v2(), conf)
    guest = spec.component_parameters("hetero_lr_0", "guest", 9999)
    assert (guest["alpha"], guest["max_iter"]) == (0.01, 30)  # component_parameters.common
    hosts = [spec.component_parameters("hetero_lr_0", "host", p)["alpha"] for p in (10000, 10001)]
    assert hosts == [6.0, 8.0]


def test_party_index_keys_in_a_v1_conf() -> None:
    """`"0"`, `"0|1"`, `"all"` under a role of role_parameters, `args` tables included."""
    conf = conf_v1()
    conf["role"]["host"] = [10000, 10001, 10002]
    table = {"name": "breast_hetero_host", "namespace": "experiment"}
    conf["role_parameters"]["host"] = {
        "all": {"args": {"data": {"train_data": table}}, "dataio_0": {"with_label": False}},
        "1|2": {"dataio_0": {"label_name": "z"}},
        "2": {"args": {"data": {"train_data": {**table, "name": "h2"}}}},
    }
    spec = parse(dsl_v1(), conf)
    hosts = [spec.component_parameters("dataio_0", "host", p) for p in (10000, 10001, 10002)]
    assert [(h["with_label"], h["label_name"]) for h in hosts] == [
        (False, "y"),
        (False, "z"),
        (False, "z"),
    ]
    tables = [spec.input_tables("dataio_0", "host", p)["train_data"] for p in (10000, 10001, 10002)]
    assert [t.name for t in tables] == ["breast_hetero_host", "breast_hetero_host", "h2"]
    # The guest keeps conf v1's lists, beside them.
    assert spec.component_parameters("dataio_0", "guest", 9999)["with_label"] is True


def test_a_v1_party_without_an_args_table() -> None:
    conf = conf_v1()
    conf["role_parameters"]["host"] = {"0": {"dataio_0": {"with_label": False}}}
    with pytest.raises(InvalidArgument) as caught:
        parse(dsl_v1(), conf)
    assert (
        "dataio_0 reads args.train_data, but role_parameters.host.args.data.train_data has no "
        "table for host 10000" in caught.value.message
    )


def test_need_run_follows_the_component_whose_model_it_takes() -> None:
    """FATE's `component_need_run`: a component with a `model` input from the DSL runs where
    that component runs, whatever its own need_run; an isometric model does not count."""
    dsl = dsl_v2()
    dsl["components"]["hetero_lr_1"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"test_data": ["intersection_0.data"]},
            "model": ["hetero_lr_0.model"],
        },
        "output": {"data": ["data"]},
    }
    dsl["components"]["hetero_lr_2"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"train_data": ["intersection_0.data"]},
            "isometric_model": ["hetero_lr_0.model"],
        },
        "output": {"data": ["data"]},
    }
    conf = conf_v2()
    conf["component_parameters"]["role"]["host"]["0"]["hetero_lr_0"] = {"need_run": False}
    conf["component_parameters"]["role"]["host"]["1"]["hetero_lr_1"] = {"need_run": False}
    spec = parse(dsl, conf)
    assert [spec.runs_at("hetero_lr_1", "host", p) for p in (10000, 10001)] == [False, True]
    assert [spec.runs_at("hetero_lr_2", "host", p) for p in (10000, 10001)] == [True, True]
    assert spec.dependency_view("host", 10001)["component_need_run"]["hetero_lr_1"] is True
