"""Conversion between storage rows and proto messages, in one place.

Our ORM columns carry FATE's `f_` names and so do the row messages, so a row converts field by
field by name; JSON columns fill `google.protobuf.Struct` fields.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf import struct_pb2
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def to_struct(value: Mapping[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if value:
        struct.update(value)
    return struct


def row_to_proto(row: object, message_class: type[M]) -> M:
    """Copy every attribute of `row` named like a field of `message_class`; None stays unset."""
    message = message_class()
    for field in message.DESCRIPTOR.fields:
        value = getattr(row, field.name, None)
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if field.message_type is not None:
            getattr(message, field.name).CopyFrom(to_struct(value))
        elif field.is_repeated:
            getattr(message, field.name).extend(value)
        else:
            setattr(message, field.name, value)
    return message
