"""ModelService: the model registry arrives with the tracking and model issue (#7).

Until then every RPC answers UNIMPLEMENTED naming that feature, never a fake success.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import NotImplementedYet
from fateflow_grpc.storage.database import Database

MODELS = "the model registry (issue #7)"


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, config: NodeConfig, database: Database) -> None:
        self._config = config
        self._database = database

    def LoadModel(
        self, request: pb.LoadModelRequest, context: grpc.ServicerContext
    ) -> pb.LoadModelResponse:
        raise NotImplementedYet(f"model load arrives with {MODELS}", feature="model-load")

    def BindModel(
        self, request: pb.BindModelRequest, context: grpc.ServicerContext
    ) -> pb.BindModelResponse:
        raise NotImplementedYet(f"model bind arrives with {MODELS}", feature="model-bind")

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
