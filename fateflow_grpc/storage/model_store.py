"""The model store (`/v1/model/store` and `restore`): model archives kept away from the node's
model cache, by (party model id, model version).

Two backends behind `ModelStore`, picked by `open_model_store` from the address: a directory
(one zip per model version, written atomically), or a SQL database by SQLAlchemy URL (each
archive in slices of raw bytes, as FATE's MySQL store keeps them, without its pickling).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple, Protocol

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    exists,
    select,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from fateflow_grpc.errors import AlreadyExists, NotFound
from fateflow_grpc.storage.models import JOB_ID

#: Bytes per stored slice: well under MySQL's default 16 MiB packet, escaping included.
SLICE_SIZE = 4 * 1024 * 1024


class StoredModel(NamedTuple):
    party_model_id: str
    model_version: str

    def __str__(self) -> str:
        return f"{self.party_model_id} version {self.model_version}"


class ModelStore(Protocol):
    def put(self, model: StoredModel, archive: IO[bytes], *, replace: bool) -> None:
        """Keep `archive` (read from its start) as `model`; AlreadyExists unless `replace`."""

    def get(self, model: StoredModel, destination: IO[bytes]) -> None:
        """Write the archive of `model` to `destination`; NotFound when there is none."""


def _already_stored(model: StoredModel) -> AlreadyExists:
    return AlreadyExists(
        f"model {model} is in the model store already; set force_update to replace it",
        party_model_id=model.party_model_id,
        model_version=model.model_version,
    )


def _not_stored(model: StoredModel) -> NotFound:
    return NotFound(
        f"model {model} is not in the model store",
        party_model_id=model.party_model_id,
        model_version=model.model_version,
    )


class DirectoryModelStore:
    """`<directory>/<party model id>_<model version>.zip`, the name export gives the file."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, model: StoredModel) -> Path:
        # The servicer checked the names: neither holds a path separator.
        return self._directory / f"{model.party_model_id}_{model.model_version}.zip"

    def put(self, model: StoredModel, archive: IO[bytes], *, replace: bool) -> None:
        path = self._path(model)
        self._directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            with temporary.open("wb") as file:
                while piece := archive.read(SLICE_SIZE):
                    file.write(piece)
                file.flush()
                os.fsync(file.fileno())
            if replace:
                temporary.replace(path)
            else:
                try:
                    os.link(temporary, path)  # fails if it exists: no check-then-write race
                except FileExistsError:
                    raise _already_stored(model) from None
        finally:
            temporary.unlink(missing_ok=True)

    def get(self, model: StoredModel, destination: IO[bytes]) -> None:
        try:
            file = self._path(model).open("rb")
        except FileNotFoundError:
            raise _not_stored(model) from None
        with file:
            while piece := file.read(SLICE_SIZE):
                destination.write(piece)


_METADATA = MetaData()
#: A store database holds this one table, made when the store is first opened: the store is
#: meant to be shared by nodes, not to carry a node's schema and migrations.
SLICES = Table(
    "t_model_store_slice",
    _METADATA,
    Column("f_party_model_id", String(255), primary_key=True),
    Column("f_model_version", JOB_ID, primary_key=True),
    Column("f_slice_index", Integer, primary_key=True, autoincrement=False),
    # MySQL's BLOB holds 64 KiB; LONGBLOB is its type for large bytes.
    Column("f_slice_data", LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")),
)


class SqlModelStore:
    """The archive's slices as rows of `t_model_store_slice`, written in one transaction."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        _METADATA.create_all(self.engine)

    @staticmethod
    def _rows(model: StoredModel) -> ColumnElement[bool]:
        return (SLICES.c.f_party_model_id == model.party_model_id) & (
            SLICES.c.f_model_version == model.model_version
        )

    def put(self, model: StoredModel, archive: IO[bytes], *, replace: bool) -> None:
        try:
            with self.engine.begin() as connection:
                if replace:
                    connection.execute(delete(SLICES).where(self._rows(model)))
                elif connection.scalar(select(exists().where(self._rows(model)))):
                    raise _already_stored(model)
                index = 0
                while (piece := archive.read(SLICE_SIZE)) or index == 0:
                    connection.execute(
                        SLICES.insert().values(
                            f_party_model_id=model.party_model_id,
                            f_model_version=model.model_version,
                            f_slice_index=index,
                            f_slice_data=piece,
                        )
                    )
                    index += 1
        except IntegrityError:  # another node stored it meanwhile
            raise _already_stored(model) from None

    def get(self, model: StoredModel, destination: IO[bytes]) -> None:
        with self.engine.connect() as connection:
            last = connection.scalar(
                select(SLICES.c.f_slice_index)
                .where(self._rows(model))
                .order_by(SLICES.c.f_slice_index.desc())
                .limit(1)
            )
            if last is None:
                raise _not_stored(model)
            # One slice in memory at a time.
            for index in range(last + 1):
                piece = connection.execute(
                    select(SLICES.c.f_slice_data).where(
                        self._rows(model), SLICES.c.f_slice_index == index
                    )
                ).scalar_one()
                destination.write(piece)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def open_model_store(address: str) -> Iterator[ModelStore]:
    """The store at `address`: a SQLAlchemy URL (it has `://`), else a directory."""
    if "://" not in address:
        yield DirectoryModelStore(Path(address))
        return
    store = SqlModelStore(address)
    try:
        yield store
    finally:
        store.close()
