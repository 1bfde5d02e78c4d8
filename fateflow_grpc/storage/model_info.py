"""Model info (``t_machine_learning_model_info``): one row per party's copy of a model."""

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from fateflow_grpc.storage.models import ModelInfo


class ModelKey(NamedTuple):
    """One party's copy of a model, in primary key order."""

    model_id: str
    model_version: str
    role: str
    party_id: str


def save_model_info(session: Session, info: ModelInfo) -> None:
    """Insert ``info``, or update the existing row of its key with the columns it sets."""
    session.merge(info)


def get_model_info(session: Session, key: ModelKey) -> ModelInfo | None:
    return session.get(ModelInfo, key)


def query_model_info(
    session: Session,
    *,
    model_id: str | None = None,
    model_version: str | None = None,
    role: str | None = None,
    party_id: str | None = None,
) -> list[ModelInfo]:
    """Models matching every filter given, newest first; no filter matches nothing."""
    wanted = (
        (ModelInfo.f_model_id, model_id),
        (ModelInfo.f_model_version, model_version),
        (ModelInfo.f_role, role),
        (ModelInfo.f_party_id, party_id),
    )
    conditions = [column == value for column, value in wanted if value is not None]
    if not conditions:
        return []
    statement = (
        select(ModelInfo)
        .where(*conditions)
        .order_by(ModelInfo.f_create_time.desc(), ModelInfo.f_model_version.desc())
    )
    return list(session.scalars(statement))


def delete_model_info(session: Session, key: ModelKey) -> bool:
    """Delete the row; False when there was none."""
    info = session.get(ModelInfo, key)
    if info is None:
        return False
    session.delete(info)
    session.flush()
    return True
