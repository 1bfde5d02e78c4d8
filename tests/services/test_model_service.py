"""ModelService over a real core: store and restore (directory and SQL stores), export and
import, transfer, and the errors of each; a refused import or restore changes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.storage import model_files, model_info
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import ModelInfo
from tests.services.errors import expect_error

MODEL_ID = "arbiter-10000#guest-9999#host-10000#model"
VERSION = "202611270800000000001"
PARTY_MODEL = f"guest#9999#{MODEL_ID}"
NAMES: dict[str, Any] = {
    "model_id": MODEL_ID,
    "model_version": VERSION,
    "role": "guest",
    "party_id": 9999,
}
KEY = model_info.ModelKey(MODEL_ID, VERSION, "guest", "9999")
LR_MODEL = {
    "meta": {"penalty": "L2", "max_iter": 3},
    "param": {"weight": {"x0": 0.5, "x1": -0.25}, "intercept": 0.125, "header": ["x0", "x1"]},
}
DATAIO_MODEL = {"header": ["x0", "x1"], "sid": "id", "label_name": "y"}


@pytest.fixture
def node_config(tmp_path: Path, request: pytest.FixtureRequest) -> NodeConfig:
    """The node; `store` parameters: "" (the default directory store) or "sqlite"."""
    store = getattr(request, "param", "")
    address = f"sqlite:///{tmp_path / 'model_store.db'}" if store == "sqlite" else store
    return NodeConfig(
        party_id=9999, data_dir=tmp_path / "node", grpc_port=0, model_store_address=address
    )


@pytest.fixture
def stub(core_channel: grpc.Channel) -> model_service_pb2_grpc.ModelServiceStub:
    return model_service_pb2_grpc.ModelServiceStub(core_channel)


@pytest.fixture
def directory(node_config: NodeConfig) -> Path:
    return model_files.version_dir(node_config.data_dir, "guest", 9999, MODEL_ID, VERSION)


@pytest.fixture
def trained(node_database: Database, directory: Path) -> Iterator[None]:
    """A guest model as a training job leaves it: two component outputs and the info row."""
    model_files.write_model(directory / "hetero_lr_0" / "hetero_lr.json", LR_MODEL)
    model_files.write_model(directory / "dataio_0" / "dataio.json", DATAIO_MODEL)
    with node_database.session() as session:
        model_info.save_model_info(
            session,
            ModelInfo(
                f_model_id=MODEL_ID,
                f_model_version=VERSION,
                f_role="guest",
                f_party_id="9999",
                f_job_id=VERSION,
                f_roles={"guest": [9999], "host": [10000], "arbiter": [10000]},
                f_initiator_role="guest",
                f_initiator_party_id="9999",
                f_dsl={"components": {"hetero_lr_0": {"module": "HeteroLR"}}},
            ),
        )
    yield


def local_copy(database: Database, directory: Path) -> tuple[dict[str, Any] | None, Any]:
    """What the node holds of the model: its info row as JSON and its files."""
    with database.session() as session:
        info = model_info.get_model_info(session, KEY)
        row = None if info is None else model_info.info_to_dict(info)
    return row, model_files.read_models(directory)


def delete_local_copy(database: Database, directory: Path) -> None:
    with database.session() as session:
        assert model_info.delete_model_info(session, KEY)
    for path in sorted(directory.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    directory.rmdir()


def export(stub: model_service_pb2_grpc.ModelServiceStub) -> tuple[str, bytes]:
    pieces = list(stub.ExportModel(pb.ExportModelRequest(**NAMES)))
    return pieces[0].filename, b"".join(piece.chunk for piece in pieces)


def import_model(
    stub: model_service_pb2_grpc.ModelServiceStub,
    archive: bytes,
    force: bool = False,
    **names: Any,
) -> pb.ImportModelResponse:
    # Two chunks, as a client streaming a file sends them.
    half = len(archive) // 2
    messages = [
        pb.ImportModelRequest(**{**NAMES, **names}, force=force, chunk=archive[:half]),
        pb.ImportModelRequest(chunk=archive[half:]),
    ]
    response: pb.ImportModelResponse = stub.ImportModel(iter(messages))
    return response


def zipped(members: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content if isinstance(content, bytes) else json.dumps(content))
    return out.getvalue()


# --- export and import --------------------------------------------------------------------------


@pytest.mark.usefixtures("trained")
def test_export_gives_a_zip_of_the_files_and_the_info(
    stub: model_service_pb2_grpc.ModelServiceStub,
) -> None:
    filename, archive = export(stub)
    assert filename == f"{PARTY_MODEL}_{VERSION}.zip"
    with zipfile.ZipFile(io.BytesIO(archive)) as read:
        assert sorted(read.namelist()) == [
            "dataio_0/dataio.json",
            "hetero_lr_0/hetero_lr.json",
            "model_info.json",
        ]
        assert json.loads(read.read("hetero_lr_0/hetero_lr.json")) == LR_MODEL
        info = json.loads(read.read("model_info.json"))
    assert info["f_model_id"] == MODEL_ID and info["f_initiator_role"] == "guest"


@pytest.mark.usefixtures("trained")
def test_export_then_import_gives_back_the_same_model(
    stub: model_service_pb2_grpc.ModelServiceStub, node_database: Database, directory: Path
) -> None:
    before = local_copy(node_database, directory)
    _, archive = export(stub)
    delete_local_copy(node_database, directory)
    response = import_model(stub, archive)
    assert json_format.MessageToDict(response.data)["party_model_id"] == PARTY_MODEL
    row, files = local_copy(node_database, directory)
    assert before[0] is not None and row is not None
    assert row.pop("f_imported") is True and before[0].pop("f_imported") is False
    assert (row, files) == before


@pytest.mark.usefixtures("trained")
def test_import_refuses_a_model_that_is_there_unless_forced(
    stub: model_service_pb2_grpc.ModelServiceStub, node_database: Database, directory: Path
) -> None:
    _, archive = export(stub)
    model_files.write_model(directory / "hetero_lr_0" / "hetero_lr.json", {"changed": True})
    message, info = expect_error(
        grpc.StatusCode.ALREADY_EXISTS, 100, lambda: import_model(stub, archive)
    )
    assert f"{PARTY_MODEL} version {VERSION} exists" in message and "force" in message
    assert info.metadata["model_version"] == VERSION
    assert local_copy(node_database, directory)[1][("hetero_lr_0", "hetero_lr")] == {
        "changed": True
    }
    import_model(stub, archive, force=True)
    assert local_copy(node_database, directory)[1][("hetero_lr_0", "hetero_lr")] == LR_MODEL
    assert [p.name for p in directory.parent.iterdir()] == [VERSION]


INFO = {
    "f_model_id": MODEL_ID,
    "f_model_version": VERSION,
    "f_role": "guest",
    "f_party_id": "9999",
    "f_job_id": VERSION,
    "f_initiator_role": "guest",
    "f_initiator_party_id": "9999",
}


@pytest.mark.parametrize(
    ("archive", "words"),
    [
        (b"not a zip at all", "not a zip file"),
        (zipped({"hetero_lr_0/hetero_lr.json": LR_MODEL}), "has no model_info.json"),
        (
            zipped({"model_info.json": INFO, "../escape/x.json": {}}),
            "'../escape/x.json', which is not <component>/<alias>.json",
        ),
        (
            zipped({"model_info.json": INFO, "/etc/x.json": {}}),
            "'/etc/x.json', which is not <component>/<alias>.json",
        ),
        (
            zipped({"model_info.json": INFO, "hetero_lr_0/hetero_lr.json": b"{not json"}),
            "hetero_lr_0/hetero_lr.json can not be read",
        ),
        (zipped({"model_info.json": [1, 2]}), "model_info.json is not a JSON object"),
        (
            zipped({"model_info.json": {**INFO, "f_role": "host"}}),
            f"holds model {MODEL_ID} version {VERSION} of host 9999, not {PARTY_MODEL}",
        ),
        (
            zipped({"model_info.json": {k: v for k, v in INFO.items() if k != "f_job_id"}}),
            "the model info lacks f_job_id",
        ),
        (
            zipped({"model_info.json": {**INFO, "f_size": "big"}}),
            "the model info's f_size is 'big', not a int",
        ),
        (zipped({"model_info.json": {**INFO, "f_pickle": 1}}), "unknown columns f_pickle"),
    ],
)
def test_a_bad_archive_is_refused_and_leaves_nothing(
    stub: model_service_pb2_grpc.ModelServiceStub,
    node_database: Database,
    node_config: NodeConfig,
    archive: bytes,
    words: str,
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: import_model(stub, archive)
    )
    assert words in message
    models = node_config.data_dir / "models"
    assert [p for p in models.rglob("*") if p.is_file()] == []
    assert not (node_config.data_dir / "escape").exists()
    with node_database.session() as session:
        assert model_info.get_model_info(session, KEY) is None


def test_an_archive_that_unpacks_too_large_is_refused(
    stub: model_service_pb2_grpc.ModelServiceStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit lowered, so that a small archive stands for a zip bomb.
    monkeypatch.setattr(model_files, "MAX_UNPACKED_BYTES", 100)
    archive = zipped({"model_info.json": INFO, "hetero_lr_0/hetero_lr.json": LR_MODEL})
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: import_model(stub, archive)
    )
    assert "unpacks to" in message and "more than the 100 a model may have" in message


@pytest.mark.parametrize(
    ("names", "words"),
    [
        ({"model_id": "", "party_id": None}, "required: model_id, party_id"),
        ({"model_version": "../../etc"}, "model_version '../../etc' is not valid"),
        ({"model_id": "a/b"}, "model_id 'a/b' is not valid"),
    ],
)
def test_import_names_its_bad_or_missing_names(
    stub: model_service_pb2_grpc.ModelServiceStub, names: dict[str, Any], words: str
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: import_model(stub, zipped({"model_info.json": INFO}), **names),
    )
    assert words in message


def test_import_without_a_file_is_refused(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.ImportModel(iter([pb.ImportModelRequest(**NAMES)])),
    )
    assert "the import has no file" in message


def test_export_of_a_missing_model_names_it(
    stub: model_service_pb2_grpc.ModelServiceStub,
) -> None:
    message, info = expect_error(grpc.StatusCode.NOT_FOUND, 101, lambda: export(stub))
    assert f"no model {PARTY_MODEL} version {VERSION}" in message
    assert info.metadata["party_model_id"] == PARTY_MODEL


# --- store and restore ------------------------------------------------------------------------

STORES = pytest.mark.parametrize("node_config", ["", "sqlite"], indirect=True)


@STORES
@pytest.mark.usefixtures("trained")
def test_store_then_restore_gives_back_the_same_model(
    stub: model_service_pb2_grpc.ModelServiceStub, node_database: Database, directory: Path
) -> None:
    before = local_copy(node_database, directory)
    stored = stub.StoreModel(pb.StoreModelRequest(**NAMES))
    assert json_format.MessageToDict(stored.data)["party_model_id"] == PARTY_MODEL
    delete_local_copy(node_database, directory)
    stub.RestoreModel(pb.RestoreModelRequest(**NAMES))
    assert local_copy(node_database, directory) == before


@STORES
@pytest.mark.usefixtures("trained")
def test_store_refuses_to_overwrite_unless_forced(
    stub: model_service_pb2_grpc.ModelServiceStub, node_database: Database, directory: Path
) -> None:
    stub.StoreModel(pb.StoreModelRequest(**NAMES))
    model_files.write_model(directory / "hetero_lr_0" / "hetero_lr.json", {"retrained": 1})
    message, _ = expect_error(
        grpc.StatusCode.ALREADY_EXISTS,
        100,
        lambda: stub.StoreModel(pb.StoreModelRequest(**NAMES)),
    )
    assert f"{PARTY_MODEL} version {VERSION} is in the model store already" in message
    stub.RestoreModel(pb.RestoreModelRequest(**NAMES))  # the first copy is the stored one
    assert local_copy(node_database, directory)[1][("hetero_lr_0", "hetero_lr")] == LR_MODEL
    model_files.write_model(directory / "hetero_lr_0" / "hetero_lr.json", {"retrained": 2})
    stub.StoreModel(pb.StoreModelRequest(**NAMES, force_update=True))
    delete_local_copy(node_database, directory)
    stub.RestoreModel(pb.RestoreModelRequest(**NAMES))
    assert local_copy(node_database, directory)[1][("hetero_lr_0", "hetero_lr")] == {"retrained": 2}


@STORES
def test_restore_of_a_model_never_stored_is_not_found(
    stub: model_service_pb2_grpc.ModelServiceStub, node_database: Database, directory: Path
) -> None:
    message, info = expect_error(
        grpc.StatusCode.NOT_FOUND, 101, lambda: stub.RestoreModel(pb.RestoreModelRequest(**NAMES))
    )
    assert f"model {PARTY_MODEL} version {VERSION} is not in the model store" in message
    assert info.metadata["model_version"] == VERSION
    assert local_copy(node_database, directory) == (None, {})


def test_store_of_a_model_that_is_not_here_is_not_found(
    stub: model_service_pb2_grpc.ModelServiceStub,
) -> None:
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND, 101, lambda: stub.StoreModel(pb.StoreModelRequest(**NAMES))
    )
    assert f"no model {PARTY_MODEL} version {VERSION} at guest 9999" in message


# --- transfer ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("trained")
def test_transfer_gives_every_buffer_by_component_alias_and_name(
    stub: model_service_pb2_grpc.ModelServiceStub,
) -> None:
    answer = stub.TransferModel(pb.TransferModelRequest(name=VERSION, namespace=PARTY_MODEL))
    buffers = {name: json.loads(value) for name, value in answer.data.items()}
    assert buffers == {
        "hetero_lr_0.hetero_lr:meta": LR_MODEL["meta"],
        "hetero_lr_0.hetero_lr:param": LR_MODEL["param"],
        **{f"dataio_0.dataio:{key}": value for key, value in DATAIO_MODEL.items()},
    }


@pytest.mark.parametrize(
    ("namespace", "code", "words"),
    [
        ("no-model-here", grpc.StatusCode.INVALID_ARGUMENT, "role#party_id#model_id"),
        ("guest#x#m", grpc.StatusCode.INVALID_ARGUMENT, "role#party_id#model_id"),
        (f"host#10000#{MODEL_ID}", grpc.StatusCode.NOT_FOUND, "no model host#10000#"),
    ],
)
def test_transfer_errors(
    stub: model_service_pb2_grpc.ModelServiceStub,
    namespace: str,
    code: grpc.StatusCode,
    words: str,
) -> None:
    call: Callable[[], object] = lambda: stub.TransferModel(  # noqa: E731
        pb.TransferModelRequest(name=VERSION, namespace=namespace)
    )
    message, _ = expect_error(code, 100 if code == grpc.StatusCode.INVALID_ARGUMENT else 101, call)
    assert words in message
