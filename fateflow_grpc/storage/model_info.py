"""Model info (``t_machine_learning_model_info``): one row per party's copy of a model."""

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from fateflow_grpc.errors import InvalidArgument, NotFound
from fateflow_grpc.storage.models import ModelInfo

_COLUMNS = tuple(ModelInfo.__table__.columns.keys())
#: The columns a row can not be written without.
_REQUIRED = tuple(
    c.key for c in ModelInfo.__table__.columns if not c.nullable and c.default is None
)


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


def get_party_model(session: Session, key: ModelKey) -> ModelInfo:
    """The row of one party's part of a model; NotFound naming the party when it has none."""
    info = session.get(ModelInfo, key)
    if info is None:
        raise NotFound(
            f"{key.role} {key.party_id} has no model {key.model_id} version {key.model_version}",
            model_id=key.model_id,
            model_version=key.model_version,
        )
    return info


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


def key_of(info: ModelInfo) -> ModelKey:
    return ModelKey(info.f_model_id, info.f_model_version, info.f_role, info.f_party_id)


def info_to_dict(info: ModelInfo) -> dict[str, Any]:
    """The row as JSON-able columns, as a model archive carries it."""
    return {column: getattr(info, column) for column in _COLUMNS}


def info_from_dict(values: dict[str, Any]) -> ModelInfo:
    """The row a model archive carries, checked: every column known and of its type."""
    missing = [column for column in _REQUIRED if column not in values]
    if missing:
        raise InvalidArgument(f"the model info lacks {', '.join(missing)}", columns=missing)
    unknown = sorted(set(values) - set(_COLUMNS))
    if unknown:
        raise InvalidArgument(f"the model info has unknown columns {', '.join(unknown)}")
    for name, value in values.items():
        column = ModelInfo.__table__.columns[name]
        if not (value is None and column.nullable) and not isinstance(
            value, column.type.python_type
        ):
            raise InvalidArgument(
                f"the model info's {name} is {value!r}, not a {column.type.python_type.__name__}",
                column=name,
            )
    return ModelInfo(**values)
