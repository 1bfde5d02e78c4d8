from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PayloadKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYLOAD_KIND_UNSPECIFIED: _ClassVar[PayloadKind]
    PAYLOAD_KIND_NDARRAY: _ClassVar[PayloadKind]
    PAYLOAD_KIND_BIG_INTEGERS: _ClassVar[PayloadKind]
    PAYLOAD_KIND_JSON: _ClassVar[PayloadKind]
    PAYLOAD_KIND_BYTES: _ClassVar[PayloadKind]
PAYLOAD_KIND_UNSPECIFIED: PayloadKind
PAYLOAD_KIND_NDARRAY: PayloadKind
PAYLOAD_KIND_BIG_INTEGERS: PayloadKind
PAYLOAD_KIND_JSON: PayloadKind
PAYLOAD_KIND_BYTES: PayloadKind

class ObjectKey(_message.Message):
    __slots__ = ("session_id", "name", "tag", "src_role", "src_party_id", "dst_role", "dst_party_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SRC_ROLE_FIELD_NUMBER: _ClassVar[int]
    SRC_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    DST_ROLE_FIELD_NUMBER: _ClassVar[int]
    DST_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    tag: str
    src_role: str
    src_party_id: int
    dst_role: str
    dst_party_id: int
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., tag: _Optional[str] = ..., src_role: _Optional[str] = ..., src_party_id: _Optional[int] = ..., dst_role: _Optional[str] = ..., dst_party_id: _Optional[int] = ...) -> None: ...

class ObjectHeader(_message.Message):
    __slots__ = ("message_id", "job_id", "key", "kind", "dtype", "shape", "size", "digest")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    job_id: str
    key: ObjectKey
    kind: PayloadKind
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    size: int
    digest: bytes
    def __init__(self, message_id: _Optional[str] = ..., job_id: _Optional[str] = ..., key: _Optional[_Union[ObjectKey, _Mapping]] = ..., kind: _Optional[_Union[PayloadKind, str]] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., size: _Optional[int] = ..., digest: _Optional[bytes] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ObjectHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ObjectHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("message_id", "duplicate")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    duplicate: bool
    def __init__(self, message_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class PushObjectRequest(_message.Message):
    __slots__ = ("header", "payload")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    header: ObjectHeader
    payload: bytes
    def __init__(self, header: _Optional[_Union[ObjectHeader, _Mapping]] = ..., payload: _Optional[bytes] = ...) -> None: ...

class PushObjectResponse(_message.Message):
    __slots__ = ("message_id", "duplicate")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    duplicate: bool
    def __init__(self, message_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("job_id", "key", "timeout_ms", "accept_file")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_FILE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    key: ObjectKey
    timeout_ms: int
    accept_file: bool
    def __init__(self, job_id: _Optional[str] = ..., key: _Optional[_Union[ObjectKey, _Mapping]] = ..., timeout_ms: _Optional[int] = ..., accept_file: _Optional[bool] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ("header", "chunk", "payload_file")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FILE_FIELD_NUMBER: _ClassVar[int]
    header: ObjectHeader
    chunk: bytes
    payload_file: str
    def __init__(self, header: _Optional[_Union[ObjectHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., payload_file: _Optional[str] = ...) -> None: ...

class CleanJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CleanJobResponse(_message.Message):
    __slots__ = ("removed_objects",)
    REMOVED_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    removed_objects: int
    def __init__(self, removed_objects: _Optional[int] = ...) -> None: ...

class OpenJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class OpenJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
