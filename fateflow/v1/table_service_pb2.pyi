from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetTableInfoRequest(_message.Message):
    __slots__ = ("namespace", "table_name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    table_name: str
    def __init__(self, namespace: _Optional[str] = ..., table_name: _Optional[str] = ...) -> None: ...

class GetTableInfoResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: TableInfo
    retmsg: str
    def __init__(self, data: _Optional[_Union[TableInfo, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class TableInfo(_message.Message):
    __slots__ = ("table_name", "namespace", "count", "partition", "schema", "exist", "create_time")
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    EXIST_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    table_name: str
    namespace: str
    count: int
    partition: int
    schema: _struct_pb2.Struct
    exist: bool
    create_time: int
    def __init__(self, table_name: _Optional[str] = ..., namespace: _Optional[str] = ..., count: _Optional[int] = ..., partition: _Optional[int] = ..., schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., exist: _Optional[bool] = ..., create_time: _Optional[int] = ...) -> None: ...

class DeleteTableRequest(_message.Message):
    __slots__ = ("namespace", "table_name", "job_id", "role", "party_id", "component_name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    table_name: str
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, namespace: _Optional[str] = ..., table_name: _Optional[str] = ..., job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class DeleteTableResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[TableRef]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[TableRef, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class TableRef(_message.Message):
    __slots__ = ("table_name", "namespace")
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    table_name: str
    namespace: str
    def __init__(self, table_name: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...
