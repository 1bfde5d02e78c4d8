"""Feature engineering in real jobs across real nodes: Reader -> DataTransform -> Intersection ->
FeatureScale -> HeteroLR -> Evaluation, and its predict job, which gives the training scores;
SampleWeight's class weights reaching HeteroLR's gradients, checked against the weighted
computation in the clear. Each party's models and metrics hold its own columns only."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from sklearn.preprocessing import MinMaxScaler

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.components.datasets import breast
from tests.components.linear.test_hetero_lr import plaintext_lr
from tests.multiparty.cluster import NodeProcess, start_parties, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final

pytestmark = pytest.mark.slow

LR = {
    "penalty": "L2",
    "optimizer": "sgd",
    "alpha": 0.01,
    "learning_rate": 0.15,
    "max_iter": 4,
    "batch_size": -1,
    "early_stop": "diff",
    "tol": 0.0,
    "init_param": {"init_method": "zeros"},
}


def component(module: str, inputs: dict[str, list[str]] | None, model: bool = True) -> Any:
    found: dict[str, Any] = {"module": module, "output": {"data": ["data"]}}
    if model:
        found["output"]["model"] = ["model"]
    if inputs:
        found["input"] = {"data": inputs}
    return found


def job(middle: str, module: str) -> dict[str, Any]:
    """Reader -> DataTransform -> Intersection -> `middle` (a `module`) -> HeteroLR ->
    Evaluation."""
    return {
        "components": {
            "reader_0": component("Reader", None, model=False),
            "data_transform_0": component("DataTransform", {"data": ["reader_0.data"]}),
            "intersection_0": component(
                "Intersection", {"data": ["data_transform_0.data"]}, model=False
            ),
            middle: component(module, {"data": ["intersection_0.data"]}),
            "hetero_lr_0": component("HeteroLR", {"train_data": [f"{middle}.data"]}),
            "evaluation_0": component("Evaluation", {"data": ["hetero_lr_0.data"]}, model=False),
        }
    }


def conf(middle: str, guest: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]},
        "job_parameters": {"common": {"work_mode": 1}},
        "component_parameters": {
            "common": {"intersection_0": {"intersect_method": "rsa"}, "hetero_lr_0": LR, **common},
            "role": {
                "guest": {
                    "0": {
                        "reader_0": {
                            "table": {"name": "breast_hetero_guest", "namespace": "experiment"}
                        },
                        "data_transform_0": {"with_label": True},
                        **({middle: guest} if guest else {}),
                    }
                },
                "host": {
                    "0": {
                        "reader_0": {
                            "table": {"name": "breast_hetero_host", "namespace": "experiment"}
                        },
                        "data_transform_0": {"with_label": False},
                        "evaluation_0": {"need_run": False},
                    }
                },
            },
        },
    }


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("features"), [GUEST, HOST])
    upload(nodes[GUEST], "breast_hetero_guest")
    upload(nodes[HOST], "breast_hetero_host")
    yield nodes
    for node in nodes.values():
        node.stop()


def run(parties: dict[int, NodeProcess], dsl: dict[str, Any], runtime: dict[str, Any]) -> str:
    job_id = submit(parties[GUEST], dsl, runtime)
    wait_final(parties, job_id, timeout=300)
    assert statuses(parties[GUEST], job_id) == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    return job_id


def ask(node: NodeProcess, method: str, job_id: str, cpn: str, role: str, **extra: Any) -> Any:
    stub = tracking_service_pb2_grpc.TrackingServiceStub(node.channel())
    request = getattr(tpb, f"{method}Request")(
        job_id=job_id, role=role, party_id=node.party_id, component_name=cpn, **extra
    )
    return getattr(stub, method)(request)


def model(node: NodeProcess, job_id: str, cpn: str, role: str) -> dict[str, Any]:
    answer = ask(node, "GetComponentOutputModel", job_id, cpn, role)
    return dict(json_format.MessageToDict(answer.data))


def rows(node: NodeProcess, job_id: str, cpn: str, role: str) -> dict[str, list[Any]]:
    answer = ask(node, "GetComponentOutputData", job_id, cpn, role, limit=1000)
    return {row[0]: row[1:] for row in json_format.MessageToDict(answer.data)[0]}


def lr_weights(parties: dict[int, NodeProcess], job_id: str) -> np.ndarray:
    """[guest coefficients, host coefficients, intercept] of the trained HeteroLR."""
    guest = model(parties[GUEST], job_id, "hetero_lr_0", "guest")
    host = model(parties[HOST], job_id, "hetero_lr_0", "host")
    return np.array(
        [guest["weight"][f"x{k}"] for k in range(10)]
        + [host["weight"][f"x{k}"] for k in range(20)]
        + [guest["intercept"]]
    )


def test_feature_scale_pipeline_trains_and_predicts_the_training_scores(
    parties: dict[int, NodeProcess],
) -> None:
    runtime = conf(
        "feature_scale_0",
        {},
        {"feature_scale_0": {"method": "min_max_scale"}, "evaluation_0": {"eval_type": "binary"}},
    )
    dsl = job("feature_scale_0", "FeatureScale")
    job_id = run(parties, dsl, runtime)

    # Each party scaled its own columns, as MinMaxScaler does on the same data.
    guest_data, host_data = breast("breast_hetero_guest"), breast("breast_hetero_host")
    scaled = rows(parties[GUEST], job_id, "feature_scale_0", "guest")
    expected = MinMaxScaler().fit_transform(guest_data.features)
    for k, sample in enumerate(guest_data.ids):
        np.testing.assert_allclose(scaled[sample][1:], expected[k], atol=1e-12)
    guest_model = model(parties[GUEST], job_id, "feature_scale_0", "guest")
    host_model = model(parties[HOST], job_id, "feature_scale_0", "host")
    assert guest_model["header"] == guest_data.header and host_model["header"] == host_data.header
    # No party's model holds another's statistics: the host's columns are its own 20.
    host_bounds = host_model["col_scale_param"]
    assert len(host_bounds) == 20 and len(guest_model["col_scale_param"]) == 10
    assert host_bounds["x0"]["column_upper"] == pytest.approx(host_data.features[:, 0].max())

    evaluation = json_format.MessageToDict(
        ask(parties[GUEST], "GetComponentMetricAll", job_id, "evaluation_0", "guest").data
    )
    assert dict(evaluation["train"]["hetero_lr_0"]["data"])["auc"] >= 0.95

    # The predict job: the same chain from the training job's models.
    request = pb.GenerateDslRequest(train_dsl=json.dumps(dsl), version="2")
    request.cpn_str.string_value = (
        "reader_0,data_transform_0,intersection_0,feature_scale_0,hetero_lr_0"
    )
    predict_dsl = json_format.MessageToDict(parties[GUEST].jobs().GenerateDsl(request).data)
    config = parties[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=job_id)).data
    predict_conf = copy.deepcopy(runtime)
    predict_conf["job_parameters"]["common"].update(
        job_type="predict",
        model_id=config.model_info.model_id,
        model_version=config.model_info.model_version,
    )
    for role in ("guest", "host"):
        kept = predict_conf["component_parameters"]["role"][role]["0"]
        predict_conf["component_parameters"]["role"][role]["0"] = {"reader_0": kept["reader_0"]}
    predict_conf["component_parameters"]["common"] = {}
    predict_id = submit(parties[GUEST], predict_dsl, predict_conf)
    assert wait_final(parties, predict_id, timeout=300)[GUEST] == {"guest": "success"}
    trained = rows(parties[GUEST], job_id, "hetero_lr_0", "guest")
    predicted = rows(parties[GUEST], predict_id, "hetero_lr_0", "guest")
    assert predicted.keys() == trained.keys() and len(predicted) == 569
    assert max(abs(predicted[k][2] - trained[k][2]) for k in trained) < 1e-9


def test_sample_weights_reach_hetero_lrs_gradient(parties: dict[int, NodeProcess]) -> None:
    runtime = conf(
        "sample_weight_0", {"class_weight": "balanced"}, {"evaluation_0": {"eval_type": "binary"}}
    )
    job_id = run(parties, job("sample_weight_0", "SampleWeight"), runtime)

    guest, host = breast("breast_hetero_guest"), breast("breast_hetero_host")
    weighted = model(parties[GUEST], job_id, "sample_weight_0", "guest")
    assert weighted["weight_mode"] == "class weight"
    counts = {label: int(np.sum(guest.labels == label)) for label in (0, 1)}
    balanced = {str(label): 569 / (2 * count) for label, count in counts.items()}
    assert weighted["class_weight"] == pytest.approx(balanced)
    # The host has no labels and was given no weights: it weighs nothing.
    assert model(parties[HOST], job_id, "sample_weight_0", "host")["weight_mode"] is None

    position = {sample: k for k, sample in enumerate(host.ids)}
    features = np.hstack([guest.features, host.features[[position[s] for s in guest.ids]]])
    weights = np.array([balanced[str(int(label))] for label in guest.labels])
    initial = np.zeros(31)
    initial[-1] = math.log(counts[1] / counts[0])  # FATE's zeros start the intercept at log-odds
    params = {**LR, "init_param": {"init_method": "zeros", "fit_intercept": True}}
    everything = [np.arange(569)]
    expected = plaintext_lr(
        features, guest.labels, params, everything, initial=initial, sample_weights=weights
    )
    unweighted = plaintext_lr(features, guest.labels, params, everything, initial=initial)
    got = lr_weights(parties, job_id)
    np.testing.assert_allclose(got, expected.weights, atol=1e-6)
    assert not np.allclose(got, unweighted.weights, atol=1e-3)
    losses = json_format.MessageToDict(
        ask(parties[HOST], "GetComponentMetricAll", job_id, "hetero_lr_0", "arbiter").data
    )["train"]["loss"]["data"]
    np.testing.assert_allclose([loss for _, loss in losses], expected.losses, rtol=1e-6)
