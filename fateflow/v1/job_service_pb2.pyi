from fateflow.v1 import job_pb2 as _job_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitJobRequest(_message.Message):
    __slots__ = ("job_dsl", "job_runtime_conf")
    JOB_DSL_FIELD_NUMBER: _ClassVar[int]
    JOB_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    job_dsl: _struct_pb2.Struct
    job_runtime_conf: _struct_pb2.Struct
    def __init__(self, job_dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: SubmittedJob
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[SubmittedJob, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class SubmittedJob(_message.Message):
    __slots__ = ("job_id", "model_info", "board_url", "logs_directory")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_INFO_FIELD_NUMBER: _ClassVar[int]
    BOARD_URL_FIELD_NUMBER: _ClassVar[int]
    LOGS_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    model_info: _job_pb2.ModelInfo
    board_url: str
    logs_directory: str
    def __init__(self, job_id: _Optional[str] = ..., model_info: _Optional[_Union[_job_pb2.ModelInfo, _Mapping]] = ..., board_url: _Optional[str] = ..., logs_directory: _Optional[str] = ...) -> None: ...

class StopJobRequest(_message.Message):
    __slots__ = ("job_id", "stop_status")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_STATUS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    stop_status: str
    def __init__(self, job_id: _Optional[str] = ..., stop_status: _Optional[str] = ...) -> None: ...

class StopJobResponse(_message.Message):
    __slots__ = ("retmsg",)
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    retmsg: str
    def __init__(self, retmsg: _Optional[str] = ...) -> None: ...

class QueryJobRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "status", "initiator_role", "initiator_party_id", "is_initiator", "tag", "name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    IS_INITIATOR_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    status: str
    initiator_role: str
    initiator_party_id: int
    is_initiator: bool
    tag: str
    name: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., status: _Optional[str] = ..., initiator_role: _Optional[str] = ..., initiator_party_id: _Optional[int] = ..., is_initiator: _Optional[bool] = ..., tag: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class QueryJobResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_job_pb2.JobRow]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[_job_pb2.JobRow, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class UpdateJobRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "notes")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    notes: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., notes: _Optional[str] = ...) -> None: ...

class UpdateJobResponse(_message.Message):
    __slots__ = ("retmsg",)
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    retmsg: str
    def __init__(self, retmsg: _Optional[str] = ...) -> None: ...

class GetJobConfigRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class GetJobConfigResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: JobConfig
    retmsg: str
    def __init__(self, data: _Optional[_Union[JobConfig, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class JobConfig(_message.Message):
    __slots__ = ("job_id", "dsl", "runtime_conf", "train_runtime_conf", "model_info")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DSL_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    TRAIN_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    MODEL_INFO_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    dsl: _struct_pb2.Struct
    runtime_conf: _struct_pb2.Struct
    train_runtime_conf: _struct_pb2.Struct
    model_info: _job_pb2.ModelInfo
    def __init__(self, job_id: _Optional[str] = ..., dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., train_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., model_info: _Optional[_Union[_job_pb2.ModelInfo, _Mapping]] = ...) -> None: ...

class QueryTaskRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "component_name", "status", "task_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    component_name: str
    status: str
    task_id: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., status: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class QueryTaskResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_job_pb2.TaskRow]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[_job_pb2.TaskRow, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("limit", "page", "job_id", "party_id", "role", "status", "create_time_from", "create_time_to")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_TO_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page: int
    job_id: str
    party_id: int
    role: _containers.RepeatedScalarFieldContainer[str]
    status: _containers.RepeatedScalarFieldContainer[str]
    create_time_from: int
    create_time_to: int
    def __init__(self, limit: _Optional[int] = ..., page: _Optional[int] = ..., job_id: _Optional[str] = ..., party_id: _Optional[int] = ..., role: _Optional[_Iterable[str]] = ..., status: _Optional[_Iterable[str]] = ..., create_time_from: _Optional[int] = ..., create_time_to: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("data", "retmsg", "meta")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_job_pb2.JobRow]
    retmsg: str
    meta: ListMeta
    def __init__(self, data: _Optional[_Iterable[_Union[_job_pb2.JobRow, _Mapping]]] = ..., retmsg: _Optional[str] = ..., meta: _Optional[_Union[ListMeta, _Mapping]] = ...) -> None: ...

class ListMeta(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_job_pb2.TaskRow]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[_job_pb2.TaskRow, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class CleanJobRequest(_message.Message):
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

class CleanJobResponse(_message.Message):
    __slots__ = ("retmsg",)
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    retmsg: str
    def __init__(self, retmsg: _Optional[str] = ...) -> None: ...

class QueryDataViewRequest(_message.Message):
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

class QueryDataViewResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[_job_pb2.OutputDataRow]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[_job_pb2.OutputDataRow, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GenerateDslRequest(_message.Message):
    __slots__ = ("train_dsl", "cpn_str", "version", "filename")
    TRAIN_DSL_FIELD_NUMBER: _ClassVar[int]
    CPN_STR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    train_dsl: str
    cpn_str: _struct_pb2.Value
    version: str
    filename: str
    def __init__(self, train_dsl: _Optional[str] = ..., cpn_str: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., version: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class GenerateDslResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DownloadJobLogRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DownloadJobLogResponse(_message.Message):
    __slots__ = ("filename", "chunk")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    filename: str
    chunk: bytes
    def __init__(self, filename: _Optional[str] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetDagDependencyRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "job_dsl", "job_runtime_conf")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_DSL_FIELD_NUMBER: _ClassVar[int]
    JOB_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    job_dsl: _struct_pb2.Struct
    job_runtime_conf: _struct_pb2.Struct
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., job_dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetDagDependencyResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetLogSizeRequest(_message.Message):
    __slots__ = ("log_type", "job_id", "role", "party_id", "component_name")
    LOG_TYPE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    log_type: str
    job_id: str
    role: str
    party_id: int
    component_name: str
    def __init__(self, log_type: _Optional[str] = ..., job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ...) -> None: ...

class GetLogSizeResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: LogSize
    retmsg: str
    def __init__(self, data: _Optional[_Union[LogSize, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class LogSize(_message.Message):
    __slots__ = ("size",)
    SIZE_FIELD_NUMBER: _ClassVar[int]
    size: int
    def __init__(self, size: _Optional[int] = ...) -> None: ...

class ListLogLinesRequest(_message.Message):
    __slots__ = ("log_type", "job_id", "role", "party_id", "component_name", "begin", "end")
    LOG_TYPE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    log_type: str
    job_id: str
    role: str
    party_id: int
    component_name: str
    begin: int
    end: int
    def __init__(self, log_type: _Optional[str] = ..., job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., component_name: _Optional[str] = ..., begin: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class ListLogLinesResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[LogLine]
    retmsg: str
    def __init__(self, data: _Optional[_Iterable[_Union[LogLine, _Mapping]]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("line_num", "content")
    LINE_NUM_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    line_num: int
    content: str
    def __init__(self, line_num: _Optional[int] = ..., content: _Optional[str] = ...) -> None: ...
