from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Party(_message.Message):
    __slots__ = ("partyId",)
    PARTYID_FIELD_NUMBER: _ClassVar[int]
    partyId: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, partyId: _Optional[_Iterable[str]] = ...) -> None: ...

class LocalInfo(_message.Message):
    __slots__ = ("role", "partyId")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTYID_FIELD_NUMBER: _ClassVar[int]
    role: str
    partyId: str
    def __init__(self, role: _Optional[str] = ..., partyId: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("tableName", "namespace")
    TABLENAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    tableName: str
    namespace: str
    def __init__(self, tableName: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class RoleModelInfo(_message.Message):
    __slots__ = ("roleModelInfo",)
    class RoleModelInfoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ModelInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ModelInfo, _Mapping]] = ...) -> None: ...
    ROLEMODELINFO_FIELD_NUMBER: _ClassVar[int]
    roleModelInfo: _containers.MessageMap[str, ModelInfo]
    def __init__(self, roleModelInfo: _Optional[_Mapping[str, ModelInfo]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("local", "role", "model", "serviceId", "tableName", "namespace", "loadType", "filePath")
    class RoleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Party
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Party, _Mapping]] = ...) -> None: ...
    class ModelEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: RoleModelInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[RoleModelInfo, _Mapping]] = ...) -> None: ...
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERVICEID_FIELD_NUMBER: _ClassVar[int]
    TABLENAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LOADTYPE_FIELD_NUMBER: _ClassVar[int]
    FILEPATH_FIELD_NUMBER: _ClassVar[int]
    local: LocalInfo
    role: _containers.MessageMap[str, Party]
    model: _containers.MessageMap[str, RoleModelInfo]
    serviceId: str
    tableName: str
    namespace: str
    loadType: str
    filePath: str
    def __init__(self, local: _Optional[_Union[LocalInfo, _Mapping]] = ..., role: _Optional[_Mapping[str, Party]] = ..., model: _Optional[_Mapping[str, RoleModelInfo]] = ..., serviceId: _Optional[str] = ..., tableName: _Optional[str] = ..., namespace: _Optional[str] = ..., loadType: _Optional[str] = ..., filePath: _Optional[str] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("statusCode", "message", "error", "data")
    STATUSCODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    statusCode: int
    message: str
    error: str
    data: bytes
    def __init__(self, statusCode: _Optional[int] = ..., message: _Optional[str] = ..., error: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...
