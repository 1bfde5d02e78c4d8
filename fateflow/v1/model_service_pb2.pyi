from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LoadModelRequest(_message.Message):
    __slots__ = ("initiator", "role", "job_parameters", "job_id", "servings")
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JOB_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SERVINGS_FIELD_NUMBER: _ClassVar[int]
    initiator: _struct_pb2.Struct
    role: _struct_pb2.Struct
    job_parameters: _struct_pb2.Struct
    job_id: str
    servings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, initiator: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., role: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_id: _Optional[str] = ..., servings: _Optional[_Iterable[str]] = ...) -> None: ...

class LoadModelResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class BindModelRequest(_message.Message):
    __slots__ = ("initiator", "role", "job_parameters", "job_id", "servings", "service_id")
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    JOB_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SERVINGS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    initiator: _struct_pb2.Struct
    role: _struct_pb2.Struct
    job_parameters: _struct_pb2.Struct
    job_id: str
    servings: _containers.RepeatedScalarFieldContainer[str]
    service_id: str
    def __init__(self, initiator: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., role: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., job_id: _Optional[str] = ..., servings: _Optional[_Iterable[str]] = ..., service_id: _Optional[str] = ...) -> None: ...

class BindModelResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class TransferModelRequest(_message.Message):
    __slots__ = ("name", "namespace")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class TransferModelResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _containers.ScalarMap[str, bytes]
    retmsg: str
    def __init__(self, data: _Optional[_Mapping[str, bytes]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class StoreModelRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id", "force_update")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    force_update: bool
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., force_update: _Optional[bool] = ...) -> None: ...

class StoreModelResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class RestoreModelRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class RestoreModelResponse(_message.Message):
    __slots__ = ("job_id", "data", "retmsg")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, job_id: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class ExportModelResponse(_message.Message):
    __slots__ = ("filename", "chunk")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    filename: str
    chunk: bytes
    def __init__(self, filename: _Optional[str] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ImportModelRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id", "force", "chunk")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    force: bool
    chunk: bytes
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ..., force: _Optional[bool] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ImportModelResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class DeployModelRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "predict_dsl", "dsl", "cpn_list", "components_checkpoint")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREDICT_DSL_FIELD_NUMBER: _ClassVar[int]
    DSL_FIELD_NUMBER: _ClassVar[int]
    CPN_LIST_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    predict_dsl: _struct_pb2.Value
    dsl: _struct_pb2.Value
    cpn_list: _struct_pb2.Value
    components_checkpoint: _struct_pb2.Value
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., predict_dsl: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., dsl: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., cpn_list: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., components_checkpoint: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class DeployModelResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetPredictDslRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class GetPredictDslResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class GetPredictConfRequest(_message.Message):
    __slots__ = ("model_id", "model_version", "role", "party_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    model_version: str
    role: str
    party_id: int
    def __init__(self, model_id: _Optional[str] = ..., model_version: _Optional[str] = ..., role: _Optional[str] = ..., party_id: _Optional[int] = ...) -> None: ...

class GetPredictConfResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...
