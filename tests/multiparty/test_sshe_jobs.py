"""HeteroSSHELR on real node processes: FATE's `hetero_sshe_lr` example shape (Reader,
DataTransform, Intersection, HeteroSSHELR with FATE's default shared weights, Evaluation) on
the breast tables between guest 9999 and host 10000, no arbiter; then a predict job from its
models gives the training job's scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.multiparty.cluster import NodeProcess, start_parties, two_party_example, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final

pytestmark = pytest.mark.slow

LEARNER = "hetero_sshe_lr_0"
#: FATE's example parameters (hetero_lr_converged_weight_diff_respectively_not_reveal), fewer
#: iterations.
PARAMS = {
    "penalty": "L2",
    "tol": 0.0001,
    "alpha": 0.01,
    "optimizer": "sgd",
    "batch_size": -1,
    "learning_rate": 0.15,
    "init_param": {"init_method": "zeros", "fit_intercept": True},
    "max_iter": 5,
    "early_stop": "weight_diff",
    "encrypt_param": {"key_length": 1024},
    "reveal_strategy": "respectively",
    "reveal_every_iter": False,
}


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("sshe"), [GUEST, HOST])
    upload(nodes[GUEST], "breast_hetero_guest")
    upload(nodes[HOST], "breast_hetero_host")
    yield nodes
    for node in nodes.values():
        node.stop()


def sshe_job() -> tuple[dict[str, Any], dict[str, Any]]:
    dsl, conf = two_party_example("hetero_lr", 2)
    components = dsl["components"]
    components[LEARNER] = components.pop("hetero_lr_0") | {"module": "HeteroSSHELR"}
    components["evaluation_0"]["input"]["data"]["data"] = [f"{LEARNER}.data"]
    del conf["role"]["arbiter"]
    common = conf["component_parameters"]["common"]
    del common["hetero_lr_0"]
    common[LEARNER] = PARAMS
    return dsl, conf


def ask(
    parties: dict[int, NodeProcess], method: str, job_id: str, component: str, **more: Any
) -> Any:
    stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[GUEST].channel())
    request = getattr(tpb, f"{method}Request")(
        job_id=job_id, role="guest", party_id=GUEST, component_name=component, **more
    )
    return getattr(stub, method)(request)


def scores(parties: dict[int, NodeProcess], job_id: str) -> dict[str, float]:
    answer = ask(parties, "GetComponentOutputData", job_id, LEARNER, limit=1000)
    return {row[0]: row[3] for row in json_format.MessageToDict(answer.data)[0]}


@pytest.fixture(scope="module")
def trained(parties: dict[int, NodeProcess]) -> str:
    dsl, conf = sshe_job()
    job_id = submit(parties[GUEST], dsl, conf)
    wait_final(parties, job_id, timeout=600)
    return job_id


def test_sshe_lr_trains_without_an_arbiter(parties: dict[int, NodeProcess], trained: str) -> None:
    assert statuses(parties[GUEST], trained) == {"guest": "success"}
    assert statuses(parties[HOST], trained) == {"host": "success"}
    metrics = json_format.MessageToDict(
        ask(parties, "GetComponentMetricAll", trained, "evaluation_0").data
    )
    assert dict(metrics["train"][LEARNER]["data"])["auc"] > 0.95
    losses = json_format.MessageToDict(ask(parties, "GetComponentMetricAll", trained, LEARNER).data)
    assert len(losses["train"]["loss"]["data"]) == 5
    model = json_format.MessageToDict(
        ask(parties, "GetComponentOutputModel", trained, LEARNER).data
    )
    assert set(model["weight"]) == {f"x{i}" for i in range(10)} and model["iters"] == 5


def test_predict_job_gives_the_training_scores(
    parties: dict[int, NodeProcess], trained: str
) -> None:
    dsl, _ = sshe_job()
    request = pb.GenerateDslRequest(train_dsl=json.dumps(dsl), version="2")
    request.cpn_str.string_value = f"reader_0,data_transform_0,intersection_0,{LEARNER}"
    predict_dsl = json_format.MessageToDict(parties[GUEST].jobs().GenerateDsl(request).data)
    _, conf = sshe_job()
    (config,) = [parties[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=trained)).data]
    conf["job_parameters"]["common"].update(
        job_type="predict",
        model_id=config.model_info.model_id,
        model_version=config.model_info.model_version,
    )
    tables = {
        role: conf["component_parameters"]["role"][role]["0"]["reader_0"]
        for role in ("guest", "host")
    }
    conf["component_parameters"] = {
        "role": {role: {"0": {"reader_0": tables[role]}} for role in ("guest", "host")}
    }
    job_id = submit(parties[GUEST], predict_dsl, conf)
    assert wait_final(parties, job_id, timeout=300)[GUEST] == {"guest": "success"}
    before, after = scores(parties, trained), scores(parties, job_id)
    assert len(after) == 569 and after.keys() == before.keys()
    assert max(abs(after[k] - before[k]) for k in before) < 1e-9
