"""Read the core's protobuf descriptors through gRPC server reflection.

The gateway imports no generated code of ours: what it serves is whatever the core says it
serves, so an RPC added to the core (with its `google.api.http` rule) becomes a route without
touching the gateway, and a gateway never disagrees with the core it fronts.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

# Registers the `google.api.http` extension before any FileDescriptorProto is parsed here, so
# that the http rules in the MethodOptions parse as the extension, not as unknown fields.
from google.api import annotations_pb2  # noqa: F401
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

log = logging.getLogger(__name__)


class ReflectionError(RuntimeError):
    """The core did not answer reflection in time, or answered something unusable."""


async def fetch_files(
    channel: grpc.aio.Channel, package: str, timeout: float
) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files that define `package`'s services, with their dependencies, dependencies first.

    Waits up to `timeout` seconds for the core: a gateway started together with its core
    must not fail because it won the race.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await _fetch(channel, package, max(deadline - time.monotonic(), 0.1))
        except grpc.aio.AioRpcError as error:
            retryable = error.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
            if not retryable or time.monotonic() >= deadline:
                raise ReflectionError(
                    f"the core did not answer server reflection within {timeout:g} s: "
                    f"{error.code().name}: {error.details()}"
                ) from error
            log.info("waiting for the core's reflection service: %s", error.code().name)
            await asyncio.sleep(0.2)


async def _fetch(
    channel: grpc.aio.Channel, package: str, timeout: float
) -> list[descriptor_pb2.FileDescriptorProto]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    # One bidirectional stream, one request at a time: the next requests depend on the answer
    # to the first (which services exist).
    call = stub.ServerReflectionInfo(wait_for_ready=True, timeout=timeout)
    try:
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        listed = await _answer(call)
        services = sorted(
            s.name
            for s in listed.list_services_response.service
            if s.name.rpartition(".")[0] == package
        )
        if not services:
            raise ReflectionError(f"the core serves no service of package {package}")
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for service in services:
            await call.write(reflection_pb2.ServerReflectionRequest(file_containing_symbol=service))
            answer = await _answer(call)
            # The answer holds the file and all its transitive dependencies.
            for blob in answer.file_descriptor_response.file_descriptor_proto:
                file = descriptor_pb2.FileDescriptorProto.FromString(blob)
                files.setdefault(file.name, file)
        await call.done_writing()
        # Let the core end the stream: a cancelled stream is logged as a failure by some servers.
        while await call.read() is not grpc.aio.EOF:
            pass
    except BaseException:
        call.cancel()
        raise
    return _dependencies_first(files)


async def _answer(
    call: grpc.aio.StreamStreamCall[
        reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
    ],
) -> reflection_pb2.ServerReflectionResponse:
    answer = await call.read()
    if not isinstance(answer, reflection_pb2.ServerReflectionResponse):  # grpc.aio.EOF
        raise ReflectionError("the core closed the reflection stream early")
    if answer.HasField("error_response"):
        raise ReflectionError(
            f"reflection error {answer.error_response.error_code}: "
            f"{answer.error_response.error_message}"
        )
    return answer


def _dependencies_first(
    files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    # A DescriptorPool only accepts a file once everything it imports is in.
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        file = files.get(name)
        if file is None:
            raise ReflectionError(f"the core's reflection did not send {name}")
        for dependency in file.dependency:
            place(dependency)
        ordered.append(file)

    for name in files:
        place(name)
    return ordered
