from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetVersionRequest(_message.Message):
    __slots__ = ("module",)
    MODULE_FIELD_NUMBER: _ClassVar[int]
    module: str
    def __init__(self, module: _Optional[str] = ...) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    retmsg: str
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class ListPartiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPartiesResponse(_message.Message):
    __slots__ = ("data", "retmsg")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RETMSG_FIELD_NUMBER: _ClassVar[int]
    data: NodeParties
    retmsg: str
    def __init__(self, data: _Optional[_Union[NodeParties, _Mapping]] = ..., retmsg: _Optional[str] = ...) -> None: ...

class NodeParties(_message.Message):
    __slots__ = ("party_id", "version", "parties", "default_route")
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ROUTE_FIELD_NUMBER: _ClassVar[int]
    party_id: int
    version: str
    parties: _containers.RepeatedCompositeFieldContainer[PartyLink]
    default_route: PartyLink
    def __init__(self, party_id: _Optional[int] = ..., version: _Optional[str] = ..., parties: _Optional[_Iterable[_Union[PartyLink, _Mapping]]] = ..., default_route: _Optional[_Union[PartyLink, _Mapping]] = ...) -> None: ...

class PartyLink(_message.Message):
    __slots__ = ("party_id", "address", "tls", "reachable", "latency_ms", "error", "version", "proof")
    PARTY_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    party_id: int
    address: str
    tls: str
    reachable: bool
    latency_ms: float
    error: str
    version: str
    proof: str
    def __init__(self, party_id: _Optional[int] = ..., address: _Optional[str] = ..., tls: _Optional[str] = ..., reachable: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., error: _Optional[str] = ..., version: _Optional[str] = ..., proof: _Optional[str] = ...) -> None: ...
