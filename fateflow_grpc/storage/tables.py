"""Storage table metas (``t_storage_table_meta``): where each data table lives and its schema."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from fateflow_grpc.storage.models import StorageTableMeta


def create_table_meta(session: Session, meta: StorageTableMeta) -> None:
    """Insert ``meta``; an existing (name, namespace) raises ``IntegrityError`` here."""
    session.add(meta)
    session.flush()


def get_table_meta(session: Session, name: str, namespace: str) -> StorageTableMeta | None:
    return session.get(StorageTableMeta, (name, namespace))


def delete_table_meta(session: Session, name: str, namespace: str) -> StorageTableMeta | None:
    """Delete the meta and return it (the caller removes the files it points at), or None."""
    meta = session.get(StorageTableMeta, (name, namespace))
    if meta is not None:
        session.delete(meta)
        session.flush()
    return meta


def list_table_metas(session: Session, namespace: str) -> list[StorageTableMeta]:
    """The tables of ``namespace``, by name."""
    statement = (
        select(StorageTableMeta)
        .where(StorageTableMeta.f_namespace == namespace)
        .order_by(StorageTableMeta.f_name)
    )
    return list(session.scalars(statement))
