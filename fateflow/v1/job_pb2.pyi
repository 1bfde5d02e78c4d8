from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobRow(_message.Message):
    __slots__ = ("f_job_id", "f_name", "f_description", "f_tag", "f_dsl", "f_runtime_conf", "f_runtime_conf_on_party", "f_train_runtime_conf", "f_roles", "f_work_mode", "f_initiator_role", "f_initiator_party_id", "f_status", "f_role", "f_party_id", "f_is_initiator", "f_progress", "f_cancel_signal", "f_rerun_signal", "f_create_time", "f_update_time", "f_start_time", "f_end_time", "f_elapsed", "f_warnings")
    F_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    F_NAME_FIELD_NUMBER: _ClassVar[int]
    F_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    F_TAG_FIELD_NUMBER: _ClassVar[int]
    F_DSL_FIELD_NUMBER: _ClassVar[int]
    F_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    F_RUNTIME_CONF_ON_PARTY_FIELD_NUMBER: _ClassVar[int]
    F_TRAIN_RUNTIME_CONF_FIELD_NUMBER: _ClassVar[int]
    F_ROLES_FIELD_NUMBER: _ClassVar[int]
    F_WORK_MODE_FIELD_NUMBER: _ClassVar[int]
    F_INITIATOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    F_INITIATOR_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    F_STATUS_FIELD_NUMBER: _ClassVar[int]
    F_ROLE_FIELD_NUMBER: _ClassVar[int]
    F_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    F_IS_INITIATOR_FIELD_NUMBER: _ClassVar[int]
    F_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    F_CANCEL_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    F_RERUN_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    F_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    F_UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    F_START_TIME_FIELD_NUMBER: _ClassVar[int]
    F_END_TIME_FIELD_NUMBER: _ClassVar[int]
    F_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    F_WARNINGS_FIELD_NUMBER: _ClassVar[int]
    f_job_id: str
    f_name: str
    f_description: str
    f_tag: str
    f_dsl: _struct_pb2.Struct
    f_runtime_conf: _struct_pb2.Struct
    f_runtime_conf_on_party: _struct_pb2.Struct
    f_train_runtime_conf: _struct_pb2.Struct
    f_roles: _struct_pb2.Struct
    f_work_mode: int
    f_initiator_role: str
    f_initiator_party_id: str
    f_status: str
    f_role: str
    f_party_id: str
    f_is_initiator: bool
    f_progress: int
    f_cancel_signal: bool
    f_rerun_signal: bool
    f_create_time: int
    f_update_time: int
    f_start_time: int
    f_end_time: int
    f_elapsed: int
    f_warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, f_job_id: _Optional[str] = ..., f_name: _Optional[str] = ..., f_description: _Optional[str] = ..., f_tag: _Optional[str] = ..., f_dsl: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., f_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., f_runtime_conf_on_party: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., f_train_runtime_conf: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., f_roles: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., f_work_mode: _Optional[int] = ..., f_initiator_role: _Optional[str] = ..., f_initiator_party_id: _Optional[str] = ..., f_status: _Optional[str] = ..., f_role: _Optional[str] = ..., f_party_id: _Optional[str] = ..., f_is_initiator: _Optional[bool] = ..., f_progress: _Optional[int] = ..., f_cancel_signal: _Optional[bool] = ..., f_rerun_signal: _Optional[bool] = ..., f_create_time: _Optional[int] = ..., f_update_time: _Optional[int] = ..., f_start_time: _Optional[int] = ..., f_end_time: _Optional[int] = ..., f_elapsed: _Optional[int] = ..., f_warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class TaskRow(_message.Message):
    __slots__ = ("f_job_id", "f_task_id", "f_task_version", "f_component_name", "f_role", "f_party_id", "f_initiator_role", "f_initiator_party_id", "f_status", "f_party_status", "f_run_on_this_party", "f_run_ip", "f_run_pid", "f_create_time", "f_update_time", "f_start_time", "f_end_time", "f_elapsed", "f_auto_retries")
    F_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    F_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    F_TASK_VERSION_FIELD_NUMBER: _ClassVar[int]
    F_COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    F_ROLE_FIELD_NUMBER: _ClassVar[int]
    F_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    F_INITIATOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    F_INITIATOR_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    F_STATUS_FIELD_NUMBER: _ClassVar[int]
    F_PARTY_STATUS_FIELD_NUMBER: _ClassVar[int]
    F_RUN_ON_THIS_PARTY_FIELD_NUMBER: _ClassVar[int]
    F_RUN_IP_FIELD_NUMBER: _ClassVar[int]
    F_RUN_PID_FIELD_NUMBER: _ClassVar[int]
    F_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    F_UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    F_START_TIME_FIELD_NUMBER: _ClassVar[int]
    F_END_TIME_FIELD_NUMBER: _ClassVar[int]
    F_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    F_AUTO_RETRIES_FIELD_NUMBER: _ClassVar[int]
    f_job_id: str
    f_task_id: str
    f_task_version: int
    f_component_name: str
    f_role: str
    f_party_id: str
    f_initiator_role: str
    f_initiator_party_id: str
    f_status: str
    f_party_status: str
    f_run_on_this_party: bool
    f_run_ip: str
    f_run_pid: int
    f_create_time: int
    f_update_time: int
    f_start_time: int
    f_end_time: int
    f_elapsed: int
    f_auto_retries: int
    def __init__(self, f_job_id: _Optional[str] = ..., f_task_id: _Optional[str] = ..., f_task_version: _Optional[int] = ..., f_component_name: _Optional[str] = ..., f_role: _Optional[str] = ..., f_party_id: _Optional[str] = ..., f_initiator_role: _Optional[str] = ..., f_initiator_party_id: _Optional[str] = ..., f_status: _Optional[str] = ..., f_party_status: _Optional[str] = ..., f_run_on_this_party: _Optional[bool] = ..., f_run_ip: _Optional[str] = ..., f_run_pid: _Optional[int] = ..., f_create_time: _Optional[int] = ..., f_update_time: _Optional[int] = ..., f_start_time: _Optional[int] = ..., f_end_time: _Optional[int] = ..., f_elapsed: _Optional[int] = ..., f_auto_retries: _Optional[int] = ...) -> None: ...

class OutputDataRow(_message.Message):
    __slots__ = ("f_job_id", "f_component_name", "f_task_id", "f_task_version", "f_data_name", "f_role", "f_party_id", "f_table_name", "f_table_namespace", "f_description", "f_create_time")
    F_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    F_COMPONENT_NAME_FIELD_NUMBER: _ClassVar[int]
    F_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    F_TASK_VERSION_FIELD_NUMBER: _ClassVar[int]
    F_DATA_NAME_FIELD_NUMBER: _ClassVar[int]
    F_ROLE_FIELD_NUMBER: _ClassVar[int]
    F_PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    F_TABLE_NAME_FIELD_NUMBER: _ClassVar[int]
    F_TABLE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    F_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    F_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    f_job_id: str
    f_component_name: str
    f_task_id: str
    f_task_version: int
    f_data_name: str
    f_role: str
    f_party_id: str
    f_table_name: str
    f_table_namespace: str
    f_description: str
    f_create_time: int
    def __init__(self, f_job_id: _Optional[str] = ..., f_component_name: _Optional[str] = ..., f_task_id: _Optional[str] = ..., f_task_version: _Optional[int] = ..., f_data_name: _Optional[str] = ..., f_role: _Optional[str] = ..., f_party_id: _Optional[str] = ..., f_table_name: _Optional[str] = ..., f_table_namespace: _Optional[str] = ..., f_description: _Optional[str] = ..., f_create_time: _Optional[int] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model_id", "model_version")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...
