"""ModelService: load and bind publish to FATE-Serving (`domain/publishing.py`); the rest of
the model registry arrives with the tracking and model issue (#7).

Until then those RPCs answer UNIMPLEMENTED naming that feature, never a fake success.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.publishing import Publishing
from fateflow_grpc.errors import NotImplementedYet
from fateflow_grpc.party_client import struct_to_dict
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage.database import Database

MODELS = "the model registry (issue #7)"


def _publish_fields(request: pb.LoadModelRequest | pb.BindModelRequest) -> dict[str, Any]:
    return {
        name: struct_to_dict(getattr(request, name))
        for name in ("initiator", "role", "job_parameters")
    }


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, config: NodeConfig, database: Database, publishing: Publishing) -> None:
        self._config = config
        self._database = database
        self._publishing = publishing

    def LoadModel(
        self, request: pb.LoadModelRequest, context: grpc.ServicerContext
    ) -> pb.LoadModelResponse:
        publication = self._publishing.publication(_publish_fields(request), request.job_id)
        job_id, data = self._publishing.load(publication, tuple(request.servings))
        return pb.LoadModelResponse(job_id=job_id, data=to_struct(data), retmsg="success")

    def BindModel(
        self, request: pb.BindModelRequest, context: grpc.ServicerContext
    ) -> pb.BindModelResponse:
        publication = self._publishing.publication(_publish_fields(request), request.job_id)
        message = self._publishing.bind(publication, tuple(request.servings), request.service_id)
        return pb.BindModelResponse(retmsg=message)

    def TransferModel(
        self, request: pb.TransferModelRequest, context: grpc.ServicerContext
    ) -> pb.TransferModelResponse:
        raise NotImplementedYet(f"model transfer arrives with {MODELS}", feature="model-transfer")

    def StoreModel(
        self, request: pb.StoreModelRequest, context: grpc.ServicerContext
    ) -> pb.StoreModelResponse:
        raise NotImplementedYet(f"model store arrives with {MODELS}", feature="model-store")

    def RestoreModel(
        self, request: pb.RestoreModelRequest, context: grpc.ServicerContext
    ) -> pb.RestoreModelResponse:
        raise NotImplementedYet(f"model restore arrives with {MODELS}", feature="model-restore")

    def ExportModel(
        self, request: pb.ExportModelRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ExportModelResponse]:
        raise NotImplementedYet(f"model export arrives with {MODELS}", feature="model-export")

    def ImportModel(
        self, request_iterator: Iterator[pb.ImportModelRequest], context: grpc.ServicerContext
    ) -> pb.ImportModelResponse:
        raise NotImplementedYet(f"model import arrives with {MODELS}", feature="model-import")
