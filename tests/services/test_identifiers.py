"""Identifiers that lead out of the data directory, at the public RPCs that build paths from
them (logs, models, exports, output data): refused by name, before anything is read or written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as job_pb
from fateflow.v1 import job_service_pb2_grpc, model_service_pb2_grpc, tracking_service_pb2_grpc
from fateflow.v1 import model_service_pb2 as model_pb
from fateflow.v1 import tracking_service_pb2 as tracking_pb
from fateflow_grpc.config import NodeConfig
from tests.services.errors import expect_error

ESCAPING = "../../escaped"
MODEL = {"model_id": "arbiter-10000#guest-9999#host-10000#model", "role": "guest", "party_id": 9999}
VERSION = "202401010000000000001"
JOB = {"job_id": VERSION, "role": "guest", "party_id": 9999, "component_name": "hetero_lr_0"}


def _job_log(channel: grpc.Channel, **fields: Any) -> object:
    stub = job_service_pb2_grpc.JobServiceStub(channel)
    return list(stub.DownloadJobLog(job_pb.DownloadJobLogRequest(**fields)))


def _model(method: str, request: type[Any]) -> Callable[..., object]:
    def call(channel: grpc.Channel, **fields: Any) -> object:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        answer = getattr(stub, method)(request(**fields))
        return list(answer) if method == "ExportModel" else answer

    return call


def _import(channel: grpc.Channel, **fields: Any) -> object:
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    return stub.ImportModel(iter([model_pb.ImportModelRequest(**fields, chunk=b"PK")]))


def _tracking(method: str, request: type[Any]) -> Callable[..., object]:
    def call(channel: grpc.Channel, **fields: Any) -> object:
        answer = getattr(tracking_service_pb2_grpc.TrackingServiceStub(channel), method)(
            request(**fields)
        )
        return list(answer) if method.startswith("Download") else answer

    return call


CASES: list[tuple[str, Callable[..., object], dict[str, Any], str]] = [
    ("job log", _job_log, {"job_id": ESCAPING}, "job_id"),
    *(
        (f"model {method}", _model(method, request), {**MODEL, "model_version": bad}, field)
        for method, request in (
            ("ExportModel", model_pb.ExportModelRequest),
            ("StoreModel", model_pb.StoreModelRequest),
            ("RestoreModel", model_pb.RestoreModelRequest),
        )
        for bad, field in ((ESCAPING, "model_version"),)
    ),
    (
        "model export by id",
        _model("ExportModel", model_pb.ExportModelRequest),
        {**MODEL, "model_id": "guest-9999#../../model", "model_version": VERSION},
        "model_id",
    ),
    ("model import", _import, {**MODEL, "model_version": ESCAPING}, "model_version"),
    (
        "output model",
        _tracking("GetComponentOutputModel", tracking_pb.GetComponentOutputModelRequest),
        {**JOB, "job_id": ESCAPING},
        "job_id",
    ),
    (
        "output data",
        _tracking("DownloadComponentOutputData", tracking_pb.DownloadComponentOutputDataRequest),
        {**JOB, "component_name": "../hetero_lr_0"},
        "component_name",
    ),
    (
        "output data by role",
        _tracking("DownloadComponentOutputData", tracking_pb.DownloadComponentOutputDataRequest),
        {**JOB, "role": "../guest"},
        "role",
    ),
]


@pytest.mark.parametrize(("what", "call", "fields", "named"), CASES, ids=[c[0] for c in CASES])
def test_a_path_building_rpc_refuses_an_escaping_identifier(
    core_channel: grpc.Channel,
    node_config: NodeConfig,
    what: str,
    call: Callable[..., object],
    fields: dict[str, Any],
    named: str,
) -> None:
    before = sorted(Path(node_config.data_dir).parent.rglob("*"))
    message, info = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: call(core_channel, **fields)
    )
    assert message.startswith(f"{named} ") and "is not valid" in message
    assert info.metadata["field"] == named
    assert sorted(Path(node_config.data_dir).parent.rglob("*")) == before
