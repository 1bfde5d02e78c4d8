"""SecureBoost jobs on real node processes: the hetero job of FATE's examples' shape (Reader,
DataTransform, Intersection, HeteroSecureBoost, Evaluation) trained, then predicted by a
predict job with the same scores; and a HomoSecureBoost job with an arbiter."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.multiparty.cluster import NodeProcess, start_parties, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final

pytestmark = pytest.mark.slow


def _component(module: str, inputs: dict[str, Any] | None, model: bool = True) -> dict[str, Any]:
    component: dict[str, Any] = {"module": module, "output": {"data": ["data"]}}
    if inputs is not None:
        component["input"] = {"data": inputs}
    if model:
        component["output"]["model"] = ["model"]
    return component


def secureboost_dsl(module: str = "HeteroSecureBoost", intersect: bool = True) -> dict[str, Any]:
    """FATE's SecureBoost example DSL: reader, data transform, intersection, learner, evaluation."""
    learner_input = "intersection_0.data" if intersect else "data_transform_0.data"
    components = {
        "reader_0": _component("Reader", None, model=False),
        "data_transform_0": _component("DataTransform", {"data": ["reader_0.data"]}),
        "intersection_0": _component(
            "Intersection", {"data": ["data_transform_0.data"]}, model=False
        ),
        "secureboost_0": _component(module, {"train_data": [learner_input]}),
        "evaluation_0": _component("Evaluation", {"data": ["secureboost_0.data"]}, model=False),
    }
    if not intersect:
        del components["intersection_0"]
    return {"components": components}


def secureboost_conf(
    tables: tuple[str, str],
    params: dict[str, Any],
    *,
    arbiter: bool = False,
    host_label: bool = False,
) -> dict[str, Any]:
    roles: dict[str, list[int]] = {"guest": [GUEST], "host": [HOST]}
    if arbiter:
        roles["arbiter"] = [HOST]
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": roles,
        "job_parameters": {"common": {"work_mode": 1, "backend": 0}},
        "component_parameters": {
            "common": {
                "secureboost_0": params,
                "evaluation_0": {"eval_type": "binary"},
            },
            "role": {
                role: {
                    "0": {
                        "reader_0": {"table": {"name": table, "namespace": "experiment"}},
                        "data_transform_0": {
                            "with_label": role == "guest" or host_label,
                            "output_format": "dense",
                        },
                        **(
                            {}
                            if role == "guest" or host_label
                            else {"evaluation_0": {"need_run": False}}
                        ),
                    }
                }
                for role, table in zip(("guest", "host"), tables, strict=True)
            },
        },
    }


def tracking(node: NodeProcess) -> tracking_service_pb2_grpc.TrackingServiceStub:
    return tracking_service_pb2_grpc.TrackingServiceStub(node.channel())


def metrics(node: NodeProcess, job_id: str, component: str, role: str = "guest") -> dict[str, Any]:
    answer = tracking(node).GetComponentMetricAll(
        tpb.GetComponentMetricAllRequest(
            job_id=job_id, role=role, party_id=node.party_id, component_name=component
        )
    )
    return dict(json_format.MessageToDict(answer.data))


def scores(node: NodeProcess, job_id: str) -> dict[str, float]:
    answer = tracking(node).GetComponentOutputData(
        tpb.GetComponentOutputDataRequest(
            job_id=job_id, role="guest", party_id=GUEST, component_name="secureboost_0", limit=1000
        )
    )
    rows = json_format.MessageToDict(answer.data)[0]
    return {row[0]: row[3] for row in rows}


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("secureboost"), [GUEST, HOST])
    for party, kind in ((GUEST, "guest"), (HOST, "host")):
        upload(nodes[party], f"breast_hetero_{kind}")
        upload(nodes[party], f"breast_homo_{kind}")
    yield nodes
    for node in nodes.values():
        node.stop()


PARAMS = {
    "task_type": "classification",
    "objective_param": {"objective": "cross_entropy"},
    "num_trees": 5,
    "encrypt_param": {"method": "Paillier", "key_length": 1024},
    "tree_param": {"max_depth": 3},
}


def test_hetero_secureboost_trains_then_predicts_the_same_scores(
    parties: dict[int, NodeProcess],
) -> None:
    conf = secureboost_conf(("breast_hetero_guest", "breast_hetero_host"), PARAMS)
    job_id = submit(parties[GUEST], secureboost_dsl(), conf)
    assert wait_final(parties, job_id, timeout=300)[GUEST] == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success"}
    evaluation = metrics(parties[GUEST], job_id, "evaluation_0")
    assert dict(evaluation["train"]["secureboost_0"]["data"])["auc"] >= 0.99
    losses = metrics(parties[GUEST], job_id, "secureboost_0")["train"]["loss"]
    assert len(losses["data"]) == 5 and losses["meta"]["metric_type"] == "LOSS"

    request = pb.GenerateDslRequest(train_dsl=json.dumps(secureboost_dsl()), version="2")
    request.cpn_str.string_value = "reader_0,data_transform_0,intersection_0,secureboost_0"
    predict_dsl = json_format.MessageToDict(parties[GUEST].jobs().GenerateDsl(request).data)
    (config,) = [parties[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=job_id)).data]
    predict_conf = copy.deepcopy(conf)
    predict_conf["job_parameters"]["common"].update(
        job_type="predict",
        model_id=config.model_info.model_id,
        model_version=config.model_info.model_version,
    )
    predict_conf["component_parameters"] = {
        "role": {
            role: {"0": {"reader_0": conf["component_parameters"]["role"][role]["0"]["reader_0"]}}
            for role in ("guest", "host")
        }
    }
    predicted_job = submit(parties[GUEST], predict_dsl, predict_conf)
    assert wait_final(parties, predicted_job, timeout=300)[GUEST] == {"guest": "success"}
    trained, predicted = scores(parties[GUEST], job_id), scores(parties[GUEST], predicted_job)
    assert len(predicted) == 569 and predicted.keys() == trained.keys()
    assert max(abs(predicted[k] - trained[k]) for k in trained) < 1e-9


def test_homo_secureboost_trains_with_an_arbiter(parties: dict[int, NodeProcess]) -> None:
    conf = secureboost_conf(
        ("breast_homo_guest", "breast_homo_host"), PARAMS, arbiter=True, host_label=True
    )
    del conf["component_parameters"]["common"]["secureboost_0"]["encrypt_param"]
    job_id = submit(parties[GUEST], secureboost_dsl("HomoSecureboost", intersect=False), conf)
    assert wait_final(parties, job_id, timeout=300)[GUEST] == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    evaluation = metrics(parties[GUEST], job_id, "evaluation_0")
    assert dict(evaluation["train"]["secureboost_0"]["data"])["auc"] >= 0.98
    losses = metrics(parties[HOST], job_id, "secureboost_0", role="arbiter")["train"]["loss"]
    assert losses["data"][-1][1] < losses["data"][0][1]
