"""The model registry on real nodes: a hetero LR model trained by two parties survives
store -> delete -> restore, and export -> import into two fresh nodes (through the gateway, as
FATE's client sends them), where a predict job from the imported models gives the training
scores."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import model_service_pb2 as mpb
from fateflow.v1 import model_service_pb2_grpc, tracking_service_pb2_grpc
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow_grpc.storage import model_files, model_info
from fateflow_grpc.storage.database import Database
from tests.multiparty.cluster import (
    EXAMPLES,
    NodeProcess,
    start_parties,
    two_party_example,
    upload,
)
from tests.multiparty.test_scheduling import GUEST, HOST, submit, wait_final

#: Every party's model of the job: (role, party id).
PARTY_MODELS = [("guest", GUEST), ("host", HOST), ("arbiter", HOST)]
TABLES = {"guest": "breast_hetero_guest", "host": "breast_hetero_host"}


def start_with_data(base: Path) -> dict[int, NodeProcess]:
    nodes = start_parties(base, [GUEST, HOST])
    upload(nodes[GUEST], TABLES["guest"])
    upload(nodes[HOST], TABLES["host"])
    return nodes


def run(nodes: dict[int, NodeProcess], dsl: dict[str, Any], conf: dict[str, Any]) -> str:
    job_id = submit(nodes[GUEST], dsl, conf)
    assert wait_final(nodes, job_id, timeout=300) == {
        GUEST: {"guest": "success"},
        HOST: {"host": "success", "arbiter": "success"},
    }
    return job_id


class Trained:
    def __init__(self, nodes: dict[int, NodeProcess], job_id: str, model_id: str) -> None:
        self.nodes, self.job_id, self.model_id = nodes, job_id, model_id

    def names(self, role: str, party_id: int) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_version": self.job_id,
            "role": role,
            "party_id": party_id,
        }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """The hetero LR example (DSL v1) with 3 iterations, trained once for the module."""
    nodes = start_with_data(tmp_path_factory.mktemp("training"))
    try:
        dsl, conf = two_party_example("hetero_lr", 1)
        conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 3
        job_id = run(nodes, dsl, conf)
        config = nodes[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=job_id)).data
        yield Trained(nodes, job_id, config.model_info.model_id)
    finally:
        for node in nodes.values():
            node.stop()


def node_database(node: NodeProcess) -> Database:
    return Database(f"sqlite:///{node.data_dir / 'fateflow.db'}")


def model_dir(node: NodeProcess, trained: Trained, role: str, party_id: int) -> Path:
    return model_files.version_dir(node.data_dir, role, party_id, trained.model_id, trained.job_id)


def local_copy(node: NodeProcess, trained: Trained, role: str, party_id: int) -> Any:
    """The node's copy of a party's model: its info row as JSON and its files."""
    key = model_info.ModelKey(trained.model_id, trained.job_id, role, str(party_id))
    database = node_database(node)
    try:
        with database.session() as session:
            info = model_info.get_model_info(session, key)
            row = None if info is None else model_info.info_to_dict(info)
    finally:
        database.dispose()
    return row, model_files.read_models(model_dir(node, trained, role, party_id))


def models(node: NodeProcess) -> model_service_pb2_grpc.ModelServiceStub:
    return model_service_pb2_grpc.ModelServiceStub(node.channel())


def test_store_delete_restore_gives_the_same_model(trained: Trained) -> None:
    for role, party_id in PARTY_MODELS:
        node = trained.nodes[party_id]
        before = local_copy(node, trained, role, party_id)
        assert before[0] is not None and before[1], f"no {role} model to store"
        models(node).StoreModel(mpb.StoreModelRequest(**trained.names(role, party_id)))

        shutil.rmtree(model_dir(node, trained, role, party_id))
        database = node_database(node)
        with database.session() as session:
            key = model_info.ModelKey(trained.model_id, trained.job_id, role, str(party_id))
            assert model_info.delete_model_info(session, key)
        database.dispose()
        with pytest.raises(grpc.RpcError) as caught:
            list(models(node).ExportModel(mpb.ExportModelRequest(**trained.names(role, party_id))))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        # Through the gateway the status line says it, so that no client saves it as the file.
        missing = requests.get(
            f"{gateway(node)}/model/export", json=trained.names(role, party_id), timeout=60
        )
        assert missing.status_code == 404 and missing.json()["retcode"] == 101

        models(node).RestoreModel(mpb.RestoreModelRequest(**trained.names(role, party_id)))
        assert local_copy(node, trained, role, party_id) == before
    # The guest's row carries the training job's DSL and conf, as FATE's Pipeline does.
    guest_row, guest_files = local_copy(trained.nodes[GUEST], trained, "guest", GUEST)
    assert (
        guest_row["f_initiator_role"] == "guest"
        and "hetero_lr_0" in guest_row["f_dsl"]["components"]
    )
    assert set(guest_files) == {("dataio_0", "dataio"), ("hetero_lr_0", "hetero_lr")}
    files = model_dir(trained.nodes[GUEST], trained, "guest", GUEST).rglob("*.json")
    assert guest_row["f_size"] == sum(file.stat().st_size for file in files) > 0


def gateway(node: NodeProcess) -> str:
    return f"http://127.0.0.1:{node.http_port}/v1"


def export_over_http(node: NodeProcess, names: dict[str, Any], directory: Path) -> Path:
    """`fate_flow_client -f export`: a GET with a JSON body, the file named by the answer."""
    with requests.get(f"{gateway(node)}/model/export", json=names, stream=True, timeout=60) as r:
        assert r.status_code == 200, r.text
        filename = r.headers["Content-Disposition"].split("filename=")[1]
        path = directory / filename
        with path.open("wb") as file:
            for chunk in r.iter_content(1 << 16):
                file.write(chunk)
    return path


def import_over_http(node: NodeProcess, names: dict[str, Any], archive: Path) -> dict[str, Any]:
    """`fate_flow_client -f import`: the conf as form fields, then the file part."""
    with archive.open("rb") as file:
        answer = requests.post(
            f"{gateway(node)}/model/import",
            data={**names, "file": str(archive)},
            files={"file": file},
            timeout=60,
        )
    assert answer.status_code == 200
    envelope: dict[str, Any] = answer.json()
    return envelope


def scores(node: NodeProcess, job_id: str) -> dict[str, float]:
    stub = tracking_service_pb2_grpc.TrackingServiceStub(node.channel())
    answer = stub.GetComponentOutputData(
        tpb.GetComponentOutputDataRequest(
            job_id=job_id, role="guest", party_id=GUEST, component_name="hetero_lr_0", limit=1000
        )
    )
    rows = json_format.MessageToDict(answer.data)[0]
    return {row[0]: row[3] for row in rows}


def test_export_import_into_fresh_nodes_then_predict(
    trained: Trained, tmp_path_factory: pytest.TempPathFactory
) -> None:
    archives = tmp_path_factory.mktemp("archives")
    exported = {}
    for role, party_id in PARTY_MODELS:
        path = export_over_http(trained.nodes[party_id], trained.names(role, party_id), archives)
        assert path.name == f"{role}#{party_id}#{trained.model_id}_{trained.job_id}.zip"
        exported[role] = path

    fresh = start_with_data(tmp_path_factory.mktemp("fresh"))
    try:
        for role, party_id in PARTY_MODELS:
            names = trained.names(role, party_id)
            answer = import_over_http(fresh[party_id], names, exported[role])
            assert answer["retcode"] == 0, answer
            assert answer["data"]["party_model_id"] == f"{role}#{party_id}#{trained.model_id}"
            row, files = local_copy(fresh[party_id], trained, role, party_id)
            old_row, old_files = local_copy(trained.nodes[party_id], trained, role, party_id)
            assert files == old_files
            assert row.pop("f_imported") is True and old_row.pop("f_imported") is False
            assert row == old_row
        again = import_over_http(fresh[GUEST], trained.names("guest", GUEST), exported["guest"])
        assert again["retcode"] == 100 and "exists at this node already" in again["retmsg"]

        # What FATE-Serving pulls: every buffer, base64 in JSON.
        transfer = requests.post(
            f"{gateway(fresh[GUEST])}/model/transfer",
            json={"name": trained.job_id, "namespace": f"guest#{GUEST}#{trained.model_id}"},
            timeout=60,
        ).json()
        assert transfer["retcode"] == 0, transfer
        param = json.loads(base64.b64decode(transfer["data"]["hetero_lr_0.hetero_lr:param"]))
        guest_model = local_copy(trained.nodes[GUEST], trained, "guest", GUEST)[1]
        assert param == guest_model[("hetero_lr_0", "hetero_lr")]["param"]
        assert "dataio_0.dataio:header" in transfer["data"]

        train_dsl = (EXAMPLES / "hetero_lr" / "dsl_v1.json").read_text()
        request = pb.GenerateDslRequest(train_dsl=train_dsl, version="1")
        request.cpn_str.string_value = "dataio_0,intersection_0,hetero_lr_0"
        predict_dsl = json_format.MessageToDict(fresh[GUEST].jobs().GenerateDsl(request).data)
        _, conf = two_party_example("hetero_lr", 1)
        conf["job_parameters"].update(
            job_type="predict", model_id=trained.model_id, model_version=trained.job_id
        )
        conf["role_parameters"] = {
            role: {"args": {"data": {"eval_data": [{"name": table, "namespace": "experiment"}]}}}
            for role, table in TABLES.items()
        }
        del conf["algorithm_parameters"]
        predict_job = run(fresh, predict_dsl, conf)

        trained_scores = scores(trained.nodes[GUEST], trained.job_id)
        predicted = scores(fresh[GUEST], predict_job)
        assert len(predicted) == 569 and predicted.keys() == trained_scores.keys()
        assert max(abs(predicted[k] - trained_scores[k]) for k in trained_scores) < 1e-9
    finally:
        for node in fresh.values():
            node.stop()
