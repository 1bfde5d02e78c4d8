"""The model store contract, run on each backend: a directory, and SQL on SQLite, PostgreSQL
and MariaDB (the server engines when their URL variables are set, see conftest.py)."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from fateflow_grpc.errors import AlreadyExists, NotFound
from fateflow_grpc.storage.model_store import (
    SLICE_SIZE,
    SLICES,
    DirectoryModelStore,
    ModelStore,
    SqlModelStore,
    StoredModel,
    open_model_store,
)


def a_model() -> StoredModel:
    # Sessions share a server database: every test stores under names of its own.
    return StoredModel(
        f"guest#9999#arbiter-10000#guest-9999#host-10000#model-{secrets.token_hex(4)}",
        "202611270800000000001",
    )


def read(store: ModelStore, model: StoredModel) -> bytes:
    out = io.BytesIO()
    store.get(model, out)
    return out.getvalue()


class StoreContract:
    def test_keeps_an_archive_larger_than_a_slice(self, store: ModelStore) -> None:
        model, archive = a_model(), os.urandom(SLICE_SIZE + 12345)
        store.put(model, io.BytesIO(archive), replace=False)
        assert read(store, model) == archive

    def test_keeps_an_empty_archive(self, store: ModelStore) -> None:
        model = a_model()
        store.put(model, io.BytesIO(b""), replace=False)
        assert read(store, model) == b""

    def test_refuses_to_overwrite_without_replace(self, store: ModelStore) -> None:
        model = a_model()
        store.put(model, io.BytesIO(b"first"), replace=False)
        with pytest.raises(AlreadyExists) as caught:
            store.put(model, io.BytesIO(b"second"), replace=False)
        assert model.party_model_id in caught.value.message
        assert "force_update" in caught.value.message
        assert read(store, model) == b"first"

    def test_replace_leaves_nothing_of_the_old_archive(self, store: ModelStore) -> None:
        model = a_model()
        store.put(model, io.BytesIO(os.urandom(SLICE_SIZE + 1)), replace=False)
        store.put(model, io.BytesIO(b"smaller"), replace=True)
        assert read(store, model) == b"smaller"

    def test_models_and_versions_are_kept_apart(self, store: ModelStore) -> None:
        model = a_model()
        other_version = model._replace(model_version="202611270800000000002")
        store.put(model, io.BytesIO(b"one"), replace=False)
        store.put(other_version, io.BytesIO(b"two"), replace=False)
        assert read(store, model) == b"one" and read(store, other_version) == b"two"

    def test_a_missing_model_is_not_found_by_name(self, store: ModelStore) -> None:
        model = a_model()
        with pytest.raises(NotFound) as caught:
            read(store, model)
        assert str(model) in caught.value.message
        assert caught.value.metadata["model_version"] == model.model_version


class TestDirectoryStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ModelStore:
        return DirectoryModelStore(tmp_path / "store")

    def test_writes_one_file_per_model_version_and_no_temporary_file(
        self, store: ModelStore, tmp_path: Path
    ) -> None:
        model = a_model()
        store.put(model, io.BytesIO(b"zip"), replace=False)
        with pytest.raises(AlreadyExists):
            store.put(model, io.BytesIO(b"other"), replace=False)
        files = [p.name for p in (tmp_path / "store").iterdir()]
        assert files == [f"{model.party_model_id}_{model.model_version}.zip"]


class TestSqlStore(StoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[ModelStore]:
        store = SqlModelStore(database_url)
        yield store
        with store.engine.begin() as connection:
            connection.execute(delete(SLICES))
        store.close()

    def test_an_archive_is_kept_in_slices(self, store: SqlModelStore) -> None:
        model = a_model()
        store.put(model, io.BytesIO(os.urandom(2 * SLICE_SIZE + 1)), replace=False)
        with store.engine.connect() as connection:
            count = connection.scalar(
                select(func.count())
                .select_from(SLICES)
                .where(SLICES.c.f_party_model_id == model.party_model_id)
            )
        assert count == 3


def test_the_address_picks_the_backend(tmp_path: Path) -> None:
    model = a_model()
    with open_model_store(str(tmp_path / "dir")) as store:
        assert isinstance(store, DirectoryModelStore)
        store.put(model, io.BytesIO(b"in a directory"), replace=False)
    with open_model_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert isinstance(store, SqlModelStore)
        store.put(model, io.BytesIO(b"in a database"), replace=False)
    with open_model_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert read(store, model) == b"in a database"
    assert (tmp_path / "dir" / f"{model.party_model_id}_{model.model_version}.zip").exists()
