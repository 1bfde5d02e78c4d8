"""The example jobs train real models across parties: uploads at each party, then HomoLR and
HeteroLR jobs (Intersection, DataTransform, Evaluation) through the proxies."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import table_service_pb2, table_service_pb2_grpc, tracking_service_pb2_grpc
from fateflow.v1 import tracking_service_pb2 as tpb
from tests.multiparty.cluster import (
    EXAMPLES,
    NodeProcess,
    start_parties,
    two_party_example,
    upload,
)
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("learning"), [GUEST, HOST])
    for party, kind in ((GUEST, "guest"), (HOST, "host")):
        upload(nodes[party], f"breast_hetero_{kind}")
        upload(nodes[party], f"breast_homo_{kind}")
    yield nodes
    for node in nodes.values():
        node.stop()


def run_example(parties: dict[int, NodeProcess], name: str, version: int) -> str:
    dsl, conf = two_party_example(name, version)
    job_id = submit(parties[GUEST], dsl, conf)
    wait_final(parties, job_id, timeout=300)
    return job_id


def evaluation(parties: dict[int, NodeProcess], job_id: str, learner: str) -> dict[str, Any]:
    stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[GUEST].channel())
    answer = stub.GetComponentMetricAll(
        tpb.GetComponentMetricAllRequest(
            job_id=job_id, role="guest", party_id=GUEST, component_name="evaluation_0"
        )
    )
    metrics = json_format.MessageToDict(answer.data)
    return dict(metrics["train"][learner]["data"])


@pytest.mark.parametrize("version", [2, 1])
def test_homo_lr_example_trains(parties: dict[int, NodeProcess], version: int) -> None:
    job_id = run_example(parties, "homo_lr", version)
    assert statuses(parties[GUEST], job_id) == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    assert evaluation(parties, job_id, "homo_lr_0")["auc"] >= 0.98


@pytest.fixture(scope="module")
def hetero_job(parties: dict[int, NodeProcess]) -> str:
    """The hetero LR example (DSL v2), run once for the tests that read what it left."""
    return run_example(parties, "hetero_lr", 2)


@pytest.mark.parametrize("version", [2, 1])
def test_hetero_lr_example_trains(
    parties: dict[int, NodeProcess], hetero_job: str, version: int
) -> None:
    job_id = hetero_job if version == 2 else run_example(parties, "hetero_lr", version)
    assert statuses(parties[GUEST], job_id) == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    assert evaluation(parties, job_id, "hetero_lr_0")["auc"] >= 0.98


def test_clean_job_deletes_the_output_tables(parties: dict[int, NodeProcess]) -> None:
    job_id = run_example(parties, "homo_lr", 2)
    guest = parties[GUEST]
    outputs = guest.jobs().QueryDataView(pb.QueryDataViewRequest(job_id=job_id)).data
    assert {o.f_component_name for o in outputs} >= {"reader_0", "data_transform_0", "homo_lr_0"}
    guest.jobs().CleanJob(pb.CleanJobRequest(job_id=job_id))
    tables = table_service_pb2_grpc.TableServiceStub(guest.channel())
    for output in outputs:
        info = tables.GetTableInfo(
            table_service_pb2.GetTableInfoRequest(
                namespace=output.f_table_namespace, table_name=output.f_table_name
            )
        ).data
        assert not info.exist
    with pytest.raises(grpc.RpcError) as caught:
        guest.jobs().QueryDataView(pb.QueryDataViewRequest(job_id=job_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_tracking_after_the_hetero_lr_example(
    parties: dict[int, NodeProcess], hetero_job: str
) -> None:
    job_id = hetero_job
    stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[GUEST].channel())

    def ask(
        method: str, component: str, role: str = "guest", party: int = GUEST, **extra: Any
    ) -> Any:
        request_class = getattr(tpb, f"{method}Request")
        return getattr(stub if party == GUEST else host_stub, method)(
            request_class(
                job_id=job_id, role=role, party_id=party, component_name=component, **extra
            )
        )

    host_stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[HOST].channel())
    losses = json_format.MessageToDict(
        ask("GetComponentMetricAll", "hetero_lr_0", "arbiter", HOST).data
    )["train"]["loss"]
    assert len(losses["data"]) == 30 and losses["meta"]["metric_type"] == "LOSS"
    assert losses["data"][-1][1] < losses["data"][0][1]
    summary = json_format.MessageToDict(ask("GetComponentMetricAll", "evaluation_0").data)["train"]
    assert {"hetero_lr_0", "hetero_lr_0_roc", "hetero_lr_0_ks_fpr"} <= set(summary)
    parameters = json_format.MessageToDict(ask("GetComponentParameters", "hetero_lr_0").data)
    assert parameters["module"] == "HeteroLR"
    assert parameters["HeteroLogisticParam"]["learning_rate"] == 0.15
    model = ask("GetComponentOutputModel", "hetero_lr_0")
    weights = json_format.MessageToDict(model.data)["weight"]
    assert set(weights) == {f"x{i}" for i in range(10)}
    host_model = ask("GetComponentOutputModel", "hetero_lr_0", "host", HOST)
    assert set(json_format.MessageToDict(host_model.data)["weight"]) == {f"x{i}" for i in range(20)}
    preview = ask("GetComponentOutputData", "hetero_lr_0")
    header = json_format.MessageToDict(preview.meta)["header"][0]
    assert header == ["id", "label", "predict_result", "predict_score", "predict_detail", "type"]
    assert len(preview.data.values[0].list_value.values) == 100
    pieces = list(ask("DownloadComponentOutputData", "hetero_lr_0"))
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.chunk for p in pieces))) as tar:
        lines = tar.extractfile("data.csv").read().decode().splitlines()  # type: ignore[union-attr]
        meta = json.loads(tar.extractfile("data.meta").read())  # type: ignore[union-attr]
    assert lines[0].replace('"', "") == ",".join(header) and len(lines) == 570
    assert meta["header"] == header


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "unlabelled"])
def test_predict_job_gives_the_training_scores(
    parties: dict[int, NodeProcess], hetero_job: str, labelled: bool, tmp_path: Path
) -> None:
    train_dsl = (EXAMPLES / "hetero_lr" / "dsl_v2.json").read_text()
    request = pb.GenerateDslRequest(train_dsl=train_dsl, version="2")
    request.cpn_str.string_value = "data_transform_0,intersection_0,hetero_lr_0"
    predict_dsl = json_format.MessageToDict(parties[GUEST].jobs().GenerateDsl(request).data)
    _, conf = two_party_example("hetero_lr", 2)
    (config,) = [parties[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=hetero_job)).data]
    conf["job_parameters"]["common"].update(
        job_type="predict",
        model_id=config.model_info.model_id,
        model_version=config.model_info.model_version,
    )
    tables = {
        role: conf["component_parameters"]["role"][role]["0"]["reader_0"]
        for role in ("guest", "host")
    }
    if not labelled:
        # New data has no label: FATE's predict job reads it with the training's settings.
        rows = [
            line.split(",")
            for line in (EXAMPLES / "data" / "breast_hetero_guest.csv").read_text().split()
        ]
        csv = tmp_path / "unlabelled.csv"
        csv.write_text("".join(",".join(row[:1] + row[2:]) + "\n" for row in rows))
        upload(parties[GUEST], "breast_hetero_guest_unlabelled", csv)
        tables["guest"] = {
            "table": {"name": "breast_hetero_guest_unlabelled", "namespace": "experiment"}
        }
    conf["component_parameters"] = {
        "role": {role: {"0": {"reader_0": tables[role]}} for role in ("guest", "host")}
    }
    job_id = submit(parties[GUEST], predict_dsl, conf)
    assert wait_final(parties, job_id, timeout=300)[GUEST] == {"guest": "success"}

    def scores(job: str) -> dict[str, float]:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[GUEST].channel())
        answer = stub.GetComponentOutputData(
            tpb.GetComponentOutputDataRequest(
                job_id=job, role="guest", party_id=GUEST, component_name="hetero_lr_0", limit=1000
            )
        )
        rows = json_format.MessageToDict(answer.data)[0]
        return {row[0]: row[3] for row in rows}

    trained, predicted = scores(hetero_job), scores(job_id)
    assert len(predicted) == 569 and predicted.keys() == trained.keys()
    assert max(abs(predicted[k] - trained[k]) for k in trained) < 1e-9


@pytest.mark.parametrize(
    ("component", "settings", "words"),
    [
        ("hetero_lr_0", {"optimizer": "nope"}, "optimizer"),
        ("hetero_lr_0", {"alpha": -1}, "alpha"),
        ("hetero_lr_0", {"encrypt_param": {"key_length": 100}}, "key_length"),
        ("intersection_0", {"intersect_method": "magic"}, "intersect_method"),
        ("evaluation_0", {"eval_type": "ranking"}, "eval_type"),
    ],
)
def test_bad_parameters_are_refused_at_submission(
    parties: dict[int, NodeProcess], component: str, settings: dict[str, Any], words: str
) -> None:
    dsl, conf = two_party_example("hetero_lr", 2)
    conf["component_parameters"]["common"][component].update(settings)
    with pytest.raises(grpc.RpcError) as caught:
        submit(parties[GUEST], dsl, conf)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert component in caught.value.details() and words in caught.value.details()


def test_a_label_column_that_does_not_exist_is_refused_at_submission(
    parties: dict[int, NodeProcess],
) -> None:
    dsl, conf = two_party_example("hetero_lr", 2)
    conf["component_parameters"]["role"]["guest"]["0"]["data_transform_0"]["label_name"] = "z"
    before = len(parties[GUEST].jobs().ListJobs(pb.ListJobsRequest()).data)
    with pytest.raises(grpc.RpcError) as caught:
        submit(parties[GUEST], dsl, conf)
    assert "column 'z' is not in table experiment.breast_hetero_guest" in caught.value.details()
    assert len(parties[GUEST].jobs().ListJobs(pb.ListJobsRequest()).data) == before
