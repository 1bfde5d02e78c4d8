from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UploadDataRequest(_message.Message):
    __slots__ = ("file", "head", "partition", "namespace", "table_name", "work_mode", "drop", "id_delimiter", "use_local_data", "count", "backend", "chunk", "extend_sid", "auto_increasing_sid", "with_meta", "meta")
    FILE_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    WORK_MODE_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    ID_DELIMITER_FIELD_NUMBER: _ClassVar[int]
    USE_LOCAL_DATA_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    EXTEND_SID_FIELD_NUMBER: _ClassVar[int]
    AUTO_INCREASING_SID_FIELD_NUMBER: _ClassVar[int]
    WITH_META_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    file: str
    head: int
    partition: int
    namespace: str
    table_name: str
    work_mode: int
    drop: int
    id_delimiter: str
    use_local_data: int
    count: int
    backend: int
    chunk: bytes
    extend_sid: bool
    auto_increasing_sid: bool
    with_meta: bool
    meta: _struct_pb2.Value
    def __init__(self, file: _Optional[str] = ..., head: _Optional[int] = ..., partition: _Optional[int] = ..., namespace: _Optional[str] = ..., table_name: _Optional[str] = ..., work_mode: _Optional[int] = ..., drop: _Optional[int] = ..., id_delimiter: _Optional[str] = ..., use_local_data: _Optional[int] = ..., count: _Optional[int] = ..., backend: _Optional[int] = ..., chunk: _Optional[bytes] = ..., extend_sid: _Optional[bool] = ..., auto_increasing_sid: _Optional[bool] = ..., with_meta: _Optional[bool] = ..., meta: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class UploadDataResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: DataJob
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[DataJob, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DataJob(_message.Message):
    __slots__ = ("table_name", "namespace", "board_url", "logs_directory")
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    BOARD_URL_FIELD_NUMBER: _ClassVar[int]
    LOGS_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    table_name: str
    namespace: str
    board_url: str
    logs_directory: str
    def __init__(self, table_name: _Optional[str] = ..., namespace: _Optional[str] = ..., board_url: _Optional[str] = ..., logs_directory: _Optional[str] = ...) -> None: ...

class DownloadDataRequest(_message.Message):
    __slots__ = ("namespace", "table_name", "output_path", "work_mode", "delimiter")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    WORK_MODE_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    table_name: str
    output_path: str
    work_mode: int
    delimiter: str
    def __init__(self, namespace: _Optional[str] = ..., table_name: _Optional[str] = ..., output_path: _Optional[str] = ..., work_mode: _Optional[int] = ..., delimiter: _Optional[str] = ...) -> None: ...

class DownloadDataResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: DataJob
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[DataJob, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ListUploadHistoryRequest(_message.Message):
    __slots__ = ("job_id", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListUploadHistoryResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...
