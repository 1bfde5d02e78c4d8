"""ModelService: a party's trained models, as its node keeps them (`storage/model_files.py`
and the `t_machine_learning_model_info` row), moved as one zip archive to and from the model
store (store, restore), a client (export, import) and FATE-Serving (transfer, as buffers).

Load and bind publish to FATE-Serving (`domain/publishing.py`); deploy copies a trained model
to a new version at every party of it, and the predict DSL and conf are read from that copy
(`domain/deploying.py`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import json_format, struct_pb2

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.deploying import Deploying, predict_conf_template
from fateflow_grpc.domain.publishing import Publishing
from fateflow_grpc.errors import AlreadyExists, InvalidArgument, NotFound
from fateflow_grpc.party_client import struct_to_dict
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage import model_files, model_info
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.model_store import StoredModel, open_model_store
from fateflow_grpc.storage.models import ModelInfo

#: Archive pieces streamed to the client.
CHUNK_SIZE = 1 << 20
#: Archives up to this size stay in memory while they are built or received.
SPOOL_BYTES = 8 << 20


@dataclass(frozen=True)
class _PartyModel:
    """One party's copy of a model: its info row's key and its directory."""

    key: model_info.ModelKey
    directory: Path

    @property
    def party_model_id(self) -> str:
        return self.directory.parent.name

    @property
    def stored(self) -> StoredModel:
        return StoredModel(self.party_model_id, self.key.model_version)

    def names(self) -> dict[str, Any]:
        return {
            "model_id": self.key.model_id,
            "model_version": self.key.model_version,
            "role": self.key.role,
            "party_id": int(self.key.party_id),
            "party_model_id": self.party_model_id,
        }

    def __str__(self) -> str:
        return f"{self.party_model_id} version {self.key.model_version}"


def _publish_fields(request: pb.LoadModelRequest | pb.BindModelRequest) -> dict[str, Any]:
    return {
        name: struct_to_dict(getattr(request, name))
        for name in ("initiator", "role", "job_parameters")
    }


def _value(value: struct_pb2.Value) -> Any:
    return json_format.MessageToDict(value)


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(SPOOL_BYTES)


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(
        self,
        config: NodeConfig,
        database: Database,
        publishing: Publishing,
        deploying: Deploying,
    ) -> None:
        self._config = config
        self._database = database
        self._publishing = publishing
        self._deploying = deploying

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

    def DeployModel(
        self, request: pb.DeployModelRequest, context: grpc.ServicerContext
    ) -> pb.DeployModelResponse:
        predict_dsl = next(
            (
                _value(getattr(request, name))
                for name in ("predict_dsl", "dsl")
                if request.HasField(name)
            ),
            None,
        )
        cpn_list = _value(request.cpn_list) if request.HasField("cpn_list") else None
        checkpoints = (
            _value(request.components_checkpoint)
            if request.HasField("components_checkpoint")
            else None
        )
        data = self._deploying.deploy(
            request.model_id, request.model_version, predict_dsl, cpn_list, checkpoints
        )
        return pb.DeployModelResponse(data=to_struct(data), retmsg="success")

    def GetPredictDsl(
        self, request: pb.GetPredictDslRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictDslResponse:
        _, dsl = self._predict_dsl(request)
        return pb.GetPredictDslResponse(data=to_struct(dsl))

    def GetPredictConf(
        self, request: pb.GetPredictConfRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictConfResponse:
        part, dsl = self._predict_dsl(request)
        conf = predict_conf_template(
            dsl, dict(part.f_runtime_conf), part.f_model_id, part.f_model_version
        )
        return pb.GetPredictConfResponse(data=to_struct(conf))

    def _predict_dsl(
        self, request: pb.GetPredictDslRequest | pb.GetPredictConfRequest
    ) -> tuple[ModelInfo, dict[str, Any]]:
        return self._deploying.predict_dsl(
            request.model_id,
            request.model_version,
            request.role,
            request.party_id if request.HasField("party_id") else None,
        )

    # --- the local copy ------------------------------------------------------------------------

    def _party_model(self, request: Any) -> _PartyModel:
        missing = [
            name
            for name in ("model_id", "model_version", "role", "party_id")
            if not (request.HasField(name) if name == "party_id" else getattr(request, name))
        ]
        if missing:
            raise InvalidArgument(
                f"the following arguments are required: {', '.join(missing)}",
                fields=",".join(missing),
            )
        return self._named(request.model_id, request.model_version, request.role, request.party_id)

    def _named(self, model_id: str, version: str, role: str, party_id: int) -> _PartyModel:
        directory = model_files.version_dir(
            self._config.data_dir, role, party_id, model_id, version
        )
        return _PartyModel(model_info.ModelKey(model_id, version, role, str(party_id)), directory)

    def _archive(self, model: _PartyModel, archive: IO[bytes]) -> None:
        """Write the archive of `model` to `archive`, then rewind it."""
        with self._database.session() as session:
            info = model_info.get_model_info(session, model.key)
        if info is None:
            raise NotFound(
                f"there is no model {model} at {model.key.role} {model.key.party_id}",
                **model.names(),
            )
        model_files.write_archive(model.directory, model_info.info_to_dict(info), archive)
        archive.seek(0)

    def _install(
        self, model: _PartyModel, archive: IO[bytes], *, replace: bool, imported: bool
    ) -> None:
        """Put the model in `archive` in place of the local copy of `model`, files and row;
        an archive of another model, or a bad one, changes nothing."""
        if not replace:
            with self._database.session() as session:
                found = model_info.get_model_info(session, model.key)
            if found is not None or model.directory.exists():
                raise AlreadyExists(
                    f"model {model} exists at this node already; import it with force to "
                    "replace it",
                    **model.names(),
                )
        archive.seek(0)
        with model_files.unpacked(archive, self._config.data_dir) as (values, staging):
            info = model_info.info_from_dict(values)
            held = model_info.key_of(info)
            if held != model.key:
                raise InvalidArgument(
                    f"the archive holds model {held.model_id} version {held.model_version} of "
                    f"{held.role} {held.party_id}, not {model}",
                    **model.names(),
                )
            info.f_imported = imported or info.f_imported
            with (
                model_files.installing(staging, model.directory, replace=replace),
                self._database.session() as session,
            ):
                model_info.save_model_info(session, info)

    # --- RPCs ----------------------------------------------------------------------------------

    def StoreModel(
        self, request: pb.StoreModelRequest, context: grpc.ServicerContext
    ) -> pb.StoreModelResponse:
        model = self._party_model(request)
        with _spool() as archive, open_model_store(self._config.model_store) as store:
            self._archive(model, archive)
            store.put(model.stored, archive, replace=request.force_update)
        return pb.StoreModelResponse(
            data=to_struct(model.names()), retmsg=f"stored model {model} in the model store"
        )

    def RestoreModel(
        self, request: pb.RestoreModelRequest, context: grpc.ServicerContext
    ) -> pb.RestoreModelResponse:
        model = self._party_model(request)
        with _spool() as archive:
            with open_model_store(self._config.model_store) as store:
                store.get(model.stored, archive)
            self._install(model, archive, replace=True, imported=False)
        return pb.RestoreModelResponse(
            data=to_struct(model.names()), retmsg=f"restored model {model} from the model store"
        )

    def ExportModel(
        self, request: pb.ExportModelRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ExportModelResponse]:
        model = self._party_model(request)
        with _spool() as archive:
            self._archive(model, archive)
            filename = f"{model.party_model_id}_{model.key.model_version}.zip"
            while chunk := archive.read(CHUNK_SIZE):
                yield pb.ExportModelResponse(filename=filename, chunk=chunk)
                filename = ""

    def ImportModel(
        self, request_iterator: Iterator[pb.ImportModelRequest], context: grpc.ServicerContext
    ) -> pb.ImportModelResponse:
        first = next(request_iterator, pb.ImportModelRequest())
        model = self._party_model(first)
        with _spool() as archive:
            archive.write(first.chunk)
            for message in request_iterator:
                archive.write(message.chunk)
            if not archive.tell():
                raise InvalidArgument("send the model archive: the import has no file")
            self._install(model, archive, replace=first.force, imported=True)
        return pb.ImportModelResponse(
            data=to_struct(model.names()), retmsg=f"imported model {model}"
        )

    def TransferModel(
        self, request: pb.TransferModelRequest, context: grpc.ServicerContext
    ) -> pb.TransferModelResponse:
        role, _, rest = request.namespace.partition("#")
        party_id, _, model_id = rest.partition("#")
        if not (role and party_id.isdigit() and model_id):
            raise InvalidArgument(
                f"namespace must be a party model id, role#party_id#model_id, "
                f"not {request.namespace!r}",
                namespace=request.namespace,
            )
        model = self._named(model_id, request.name, role, int(party_id))
        with self._database.session() as session:
            if model_info.get_model_info(session, model.key) is None:
                raise NotFound(f"there is no model {model}", **model.names())
        # Each top-level key of a component's model output is one buffer, as FATE's
        # <Model>Meta and <Model>Param are; our buffers hold JSON.
        buffers = {
            f"{component}.{alias}:{name}": json.dumps(value).encode()
            for (component, alias), output in model_files.read_models(model.directory).items()
            for name, value in output.items()
        }
        return pb.TransferModelResponse(data=buffers, retmsg="success")
