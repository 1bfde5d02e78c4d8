"""`job/dsl/generate`: predict DSLs from training DSLs, v1 and v2."""

from __future__ import annotations

import pytest

from fateflow_grpc.domain.dsl import generate_predict_dsl, inference_dsl
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.errors import InvalidArgument
from tests.domain.fate_examples import CATALOG, any_route, conf_v1, conf_v2, dsl_v1, dsl_v2

DEPLOY_V1 = ["dataio_0", "intersection_0", "hetero_lr_0"]
DEPLOY_V2 = ["data_transform_0", "intersection_0", "hetero_lr_0"]


def test_v1_predict_dsl() -> None:
    assert generate_predict_dsl(dsl_v1(), DEPLOY_V1, 1) == {
        "components": {
            "dataio_0": {
                "module": "DataIO",
                "input": {
                    "data": {"data": ["args.eval_data"]},
                    "model": ["pipeline.dataio_0.dataio"],
                },
                "output": {"data": ["train"]},
            },
            "intersection_0": {
                "module": "Intersection",
                "input": {"data": {"data": ["dataio_0.train"]}},
                "output": {"data": ["train"]},
            },
            "hetero_lr_0": {
                "module": "HeteroLR",
                "input": {
                    "data": {"test_data": ["intersection_0.train"]},
                    "model": ["pipeline.hetero_lr_0.hetero_lr"],
                },
                "output": {"data": ["train"]},
            },
        }
    }


def test_a_v1_models_inference_dsl_deploys_what_needs_deploying() -> None:
    """What a v1 predict job without a DSL runs (FATE 1.x): every component but those whose
    module does not deploy (Evaluation) or that the DSL says `need_deploy: false`."""
    assert inference_dsl(dsl_v1(), CATALOG, 1) == generate_predict_dsl(dsl_v1(), DEPLOY_V1, 1)
    dsl = dsl_v1()
    dsl["components"]["intersection_0"]["need_deploy"] = False
    assert list(inference_dsl(dsl, CATALOG, 1)["components"]) == ["dataio_0", "hetero_lr_0"]


def test_v2_predict_dsl_drops_the_data_of_a_reader_not_deployed() -> None:
    """FATE's deploy step (`DSLParserV2.deploy_component`, `erase_top_data_input`): what the
    kept components read from a component that is not deployed, reader_0, is dropped. The
    `data` object stays, empty, for fate-client 1.5.0's pipeline to fill (FATE 1.5.2+ drops
    it; FATE-Flow 1.5.0, that client's server, kept `reader_0.data`)."""
    assert generate_predict_dsl(dsl_v2(), DEPLOY_V2, 2) == {
        "components": {
            "data_transform_0": {
                "module": "DataTransform",
                "input": {"data": {}, "model": ["pipeline.data_transform_0.model"]},
                "output": {"data": ["data"]},
            },
            "intersection_0": {
                "module": "Intersection",
                "input": {"data": {"data": ["data_transform_0.data"]}},
                "output": {"data": ["data"]},
            },
            "hetero_lr_0": {
                "module": "HeteroLR",
                "input": {
                    "data": {"test_data": ["intersection_0.data"]},
                    "model": ["pipeline.hetero_lr_0.model"],
                },
                "output": {"data": ["data"]},
            },
        }
    }
    # Bridged through a dropped component to the Reader: dropped all the same.
    predict = generate_predict_dsl(dsl_v2(), ["intersection_0"], 2)
    assert predict["components"]["intersection_0"] == {
        "module": "Intersection",
        "input": {"data": {}},
        "output": {"data": ["data"]},
    }


def test_a_dropped_component_is_bridged() -> None:
    predict = generate_predict_dsl(dsl_v2(), ["data_transform_0", "hetero_lr_0"], 2)
    # intersection_0 is dropped: hetero_lr_0 reads what intersection_0 read.
    assert predict["components"]["hetero_lr_0"]["input"]["data"] == {
        "test_data": ["data_transform_0.data"]
    }
    predict = generate_predict_dsl(dsl_v1(), ["hetero_lr_0"], 1)
    assert predict["components"]["hetero_lr_0"]["input"]["data"] == {
        "test_data": ["args.eval_data"]
    }


def test_a_kept_reader_stays() -> None:
    predict = generate_predict_dsl(dsl_v2(), ["reader_0", "data_transform_0"], 2)
    assert list(predict["components"]) == ["reader_0", "data_transform_0"]
    assert predict["components"]["data_transform_0"]["input"]["data"] == {"data": ["reader_0.data"]}


def test_the_predict_dsl_makes_a_predict_job() -> None:
    predict = generate_predict_dsl(dsl_v2(), ["reader_0", *DEPLOY_V2], 2)
    conf = conf_v2()
    conf["job_parameters"]["common"].update(job_type="predict", model_id="m", model_version="v")
    del conf["component_parameters"]["common"]["evaluation_0"]
    del conf["component_parameters"]["role"]["host"]["0"]["evaluation_0"]
    spec = parse_job(predict, conf, CATALOG, has_route=any_route)
    assert [c.name for c in spec.components] == ["reader_0", *DEPLOY_V2]
    assert spec.upstream("hetero_lr_0") == [("intersection_0", "data")]

    predict = generate_predict_dsl(dsl_v1(), DEPLOY_V1, 1)
    conf = conf_v1()
    conf["job_parameters"].update(job_type="predict", model_id="m", model_version="v")
    del conf["algorithm_parameters"]["evaluation_0"]
    del conf["role_parameters"]["host"]["evaluation_0"]
    for role in ("guest", "host"):
        args = conf["role_parameters"][role]["args"]["data"]
        args["eval_data"] = args.pop("train_data")
    assert parse_job(predict, conf, CATALOG, has_route=any_route).job_type == "predict"


def test_trained_models_read_by_a_kept_component() -> None:
    dsl = dsl_v1()
    dsl["components"]["hetero_lr_1"] = {
        "module": "HeteroLR",
        "input": {
            "data": {"test_data": ["intersection_0.train"]},
            "model": ["hetero_lr_0.hetero_lr"],
        },
        "output": {"data": ["predict"]},
    }
    predict = generate_predict_dsl(dsl, [*DEPLOY_V1, "hetero_lr_1"], 1)
    assert predict["components"]["hetero_lr_1"]["input"]["model"] == [
        "pipeline.hetero_lr_0.hetero_lr"
    ]
    with pytest.raises(InvalidArgument) as caught:
        generate_predict_dsl(dsl, ["dataio_0", "intersection_0", "hetero_lr_1"], 1)
    assert "hetero_lr_1 uses the trained model hetero_lr_0.hetero_lr" in caught.value.message


def test_components_not_in_the_training_dsl() -> None:
    with pytest.raises(InvalidArgument) as caught:
        generate_predict_dsl(dsl_v2(), ["hetero_lr_0", "hetero_lr_7", "scale_0"], 2)
    assert "components hetero_lr_7, scale_0 are not in the training DSL" in caught.value.message
    assert caught.value.metadata["components"] == "hetero_lr_7,scale_0"


def test_nothing_to_deploy_and_bad_version() -> None:
    with pytest.raises(InvalidArgument, match="at least one component"):
        generate_predict_dsl(dsl_v2(), [], 2)
    with pytest.raises(InvalidArgument, match="DSL version must be 1 or 2"):
        generate_predict_dsl(dsl_v2(), DEPLOY_V2, 3)
    # The training DSL is checked like any other.
    with pytest.raises(InvalidArgument, match="DSL v2 has no `args`"):
        generate_predict_dsl(dsl_v1(), DEPLOY_V1, 2)
