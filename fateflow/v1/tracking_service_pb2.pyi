from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetJobDataViewRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class GetJobDataViewResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ListComponentsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListComponentsResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: ComponentList
    retmsg: str
    def __init__(self, data: _Optional[_Union[ComponentList, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ListComponentMetricsRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class ListComponentMetricsResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentMetricAllRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class GetComponentMetricAllResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentMetricDataRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name", "metric_namespace", "metric_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    METRIC_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    METRIC_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    metric_namespace: str
    metric_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., metric_namespace: _Optional[str] = ..., metric_name: _Optional[str] = ...) -> None: ...

class GetComponentMetricDataResponse(_message.Message):
    __slots__ = ("data", "meta", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.ListValue
    meta: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DeleteComponentMetricsRequest(_message.Message):
    __slots__ = ("job_id", "model")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    model: str
    def __init__(self, job_id: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class DeleteComponentMetricsResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: int
    retmsg: str
    def __init__(self, data: _Optional[int] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentParametersRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class GetComponentParametersResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentOutputModelRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class GetComponentOutputModelResponse(_message.Message):
    __slots__ = ("data", "meta", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    meta: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentOutputDataRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetComponentOutputDataResponse(_message.Message):
    __slots__ = ("data", "meta", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.ListValue
    meta: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., meta: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetComponentOutputDataTableRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class GetComponentOutputDataTableResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[OutputDataTable]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[OutputDataTable, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DownloadComponentOutputDataRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name", "limit", "head")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    limit: int
    head: bool
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., limit: _Optional[int] = ..., head: _Optional[bool] = ...) -> None: ...

class DownloadComponentOutputDataResponse(_message.Message):
    __slots__ = ("filename", "chunk")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    filename: str
    chunk: bytes
    def __init__(self, filename: _Optional[str] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetComponentSummaryRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name", "filename")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    filename: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class GetComponentSummaryResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ComponentList(_message.Message):
    __slots__ = ("components",)
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, components: _Optional[_Iterable[str]] = ...) -> None: ...

class OutputDataTable(_message.Message):
    __slots__ = ("data_name", "table_name", "table_namespace")
    DATA_NAME_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    TABLE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    data_name: str
    table_name: str
    table_namespace: str
    def __init__(self, data_name: _Optional[str] = ..., table_name: _Optional[str] = ..., table_namespace: _Optional[str] = ...) -> None: ...
