from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateJobRequest(_message.Message):
    __slots__ = ("job_id", "dsl", "runtime_conf", "train_runtime_conf", "role", "party_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DSL_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    TRAIN_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    dsl: _struct_pb2.Struct
    runtime_conf: _struct_pb2.Struct
    train_runtime_conf: _struct_pb2.Struct
    role: str
    party_id: int
    def __init__(self, job_id: _Optional[str] = ..., dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., train_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class CreateJobResponse(_message.Message):
    __slots__ = ("warnings",)
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateJobRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "status", "progress")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    status: str
    progress: int
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., status: _Optional[str] = ..., progress: _Optional[int] = ...) -> None: ...

class UpdateJobResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...

class TaskRef(_message.Message):
    __slots__ = ("job_id", "component_name", "task_version", "role", "party_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    component_name: str
    task_version: int
    role: str
    party_id: int
    def __init__(self, job_id: _Optional[str] = ..., component_name: _Optional[str] = ..., task_version: _Optional[int] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class StartTaskRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: TaskRef
    def __init__(self, task: _Optional[_Union[TaskRef, _Mapping]] = ...) -> None: ...

class StartTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopJobRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id", "stop_status")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    STOP_STATUS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    stop_status: str
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., stop_status: _Optional[str] = ...) -> None: ...

class StopJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskState(_message.Message):
    __slots__ = ("task", "party_status", "message")
    TASK_FIELD_NUMBER: _ClassVar[int]
    PARTY_STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    task: TaskRef
    party_status: str
    message: str
    def __init__(self, task: _Optional[_Union[TaskRef, _Mapping]] = ..., party_status: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ReportTaskRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: TaskState
    def __init__(self, state: _Optional[_Union[TaskState, _Mapping]] = ...) -> None: ...

class ReportTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CollectTasksRequest(_message.Message):
    __slots__ = ("job_id", "role", "party_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    role: str
    party_id: int
    def __init__(self, job_id: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class CollectTasksResponse(_message.Message):
    __slots__ = ("job_status", "tasks")
    JOB_STATUS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    job_status: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskState]
    def __init__(self, job_status: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskState, _Mapping]]] = ...) -> None: ...

class GetJobStatusRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobStatusResponse(_message.Message):
    __slots__ = ("status", "progress")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    status: str
    progress: int
    def __init__(self, status: _Optional[str] = ..., progress: _Optional[int] = ...) -> None: ...

class PartyIds(_message.Message):
    __slots__ = ("party_ids",)
    PARTY_IDS_FIELD_NUMBER: _ClassVar[int]
    party_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, party_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class LoadModelRequest(_message.Message):
    __slots__ = ("role", "party_id", "model_id", "model_version", "roles", "servings", "load_type", "file_path")
    class RolesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PartyIds
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PartyIds, _Mapping]] = ...) -> None: ...
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    SERVINGS_FIELD_NUMBER: _ClassVar[int]
    LOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    role: str
    party_id: int
    model_id: str
    model_version: str
    roles: _containers.MessageMap[str, PartyIds]
    servings: _containers.RepeatedScalarFieldContainer[str]
    load_type: str
    file_path: str
    def __init__(self, role: _Optional[str] = ..., party_id: _Optional[int] = ..., model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., roles: _Optional[_Mapping[str, PartyIds]] = ..., servings: _Optional[_Iterable[str]] = ..., load_type: _Optional[str] = ..., file_path: _Optional[str] = ...) -> None: ...

class LoadModelResponse(_message.Message):
    __slots__ = ("retcode", "retmsg")
    RETCODE_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    retcode: int
    retmsg: str
    def __init__(self, retcode: _Optional[int] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DeployModelRequest(_message.Message):
    __slots__ = ("role", "party_id", "model_id", "model_version", "child_model_version", "inference_dsl", "withdraw", "components_checkpoint")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHILD_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_DSL_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    role: str
    party_id: int
    model_id: str
    model_version: str
    child_model_version: str
    inference_dsl: _struct_pb2.Struct
    withdraw: bool
    components_checkpoint: _struct_pb2.Struct
    def __init__(self, role: _Optional[str] = ..., party_id: _Optional[int] = ..., model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., child_model_version: _Optional[str] = ..., inference_dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., withdraw: _Optional[bool] = ..., components_checkpoint: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class DeployModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNodeInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNodeInfoResponse(_message.Message):
    __slots__ = ("party_id", "version")
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    party_id: int
    version: str
    def __init__(self, party_id: _Optional[int] = ..., version: _Optional[str] = ...) -> None: ...
