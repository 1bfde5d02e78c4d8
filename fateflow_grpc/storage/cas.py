"""Compare-and-set: the one way a status or progress change reaches the database.

A guarded ``UPDATE ... WHERE <primary key> AND <guard>`` either applies whole or not at all,
so two parties (or two scheduler steps) racing to move the same row cannot both win, and a
late message cannot move a row backwards.
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, inspect, update
from sqlalchemy.orm import Session

from fateflow_grpc.storage.models import Base


def compare_and_set(
    session: Session,
    model: type[Base],
    key: Sequence[Any],
    guard: ColumnElement[bool],
    values: Mapping[str, Any],
) -> bool:
    """Set ``values`` on the row of ``model`` with primary key ``key`` if ``guard`` holds.

    Returns whether the row changed. An object of that row already loaded in ``session`` is
    refreshed, so the caller never reads a value the database no longer has.
    """
    where = [column == value for column, value in zip(inspect(model).primary_key, key, strict=True)]
    statement = update(model).where(*where, guard).values(values)
    # The database decides which row matched; the session must not guess from loaded objects.
    result = session.execute(statement, execution_options={"synchronize_session": False})
    loaded = session.identity_map.get(session.identity_key(model, tuple(key)))
    if loaded is not None:
        session.refresh(loaded)
    return cast(CursorResult[Any], result).rowcount == 1
