"""`Federation`: how a component task sends objects to the tasks of other parties and gets theirs.

    federation = Federation(job_id, session_id, PartyRole("guest", 9999), roles, proxy_address)
    federation.remote(gradient, "HeteroLRTransferVariable.fore_gradient", "fit.0.0",
                      [PartyRole("host", 10000)])
    [gradient] = federation.get("HeteroLRTransferVariable.fore_gradient", "fit.0.0",
                                [PartyRole("guest", 9999)], timeout=60)      # at the host

Objects are keyed as FATE keys them: (session, name, tag, source role and party, destination
role and party), and travel typed (`codec.py`) in chunks through this node's proxy (its local
endpoint) to the destination party's proxy, which keeps them in a mailbox until `get` reads
them. `remote` returns once the receiving proxy has the object on disk; a push that fails on
the way (a proxy restarting, a link down) is sent again after a pause that doubles, until the
timeout, under the same message id, so the receiver keeps it exactly once. As in FATE, a task
may remote and get each (name, tag, party) once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import grpc

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import (
    ERROR_BY_STATUS,
    DeadlineExceeded,
    FailedPrecondition,
    FateFlowError,
    FederatedError,
    InvalidArgument,
)
from fateflow_grpc.federation import codec

#: Seconds `remote` keeps trying by default.
REMOTE_TIMEOUT_S = 600.0
#: First and longest pause between two attempts of a push or pull that failed on the way.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0
#: Failures worth another attempt: a hop that is down or restarting.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})
#: A pull's gRPC deadline is this much longer than the wait it asks of the proxy, so that the
#: proxy's answer (which names the object) arrives before the deadline cuts the call.
PULL_MARGIN_S = 5.0
#: Bytes read at once from a payload file the proxy hands over.
FILE_CHUNK = 8 * 1024 * 1024


def _describe(parties: Sequence[PartyRole]) -> str:
    return ", ".join(f"{p.role} {p.party_id}" for p in parties)


class Federation:
    def __init__(
        self,
        job_id: str,
        session_id: str,
        local: PartyRole,
        roles: Mapping[str, Sequence[int]],
        proxy_address: str,
        *,
        chunk_size: int = codec.CHUNK_SIZE,
    ) -> None:
        self._job_id = job_id
        self._session_id = session_id
        self._local = local
        self._roles = {role: list(ids) for role, ids in roles.items()}
        self._chunk_size = chunk_size
        self._channel = grpc.insecure_channel(proxy_address)
        self._stub = proxy_service_pb2_grpc.ProxyServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._remoted: set[tuple[str, str, PartyRole]] = set()
        self._got: set[tuple[str, str, PartyRole]] = set()

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _key(self, name: str, tag: str, src: PartyRole, dst: PartyRole) -> pb.ObjectKey:
        return pb.ObjectKey(
            session_id=self._session_id,
            name=name,
            tag=tag,
            src_role=src.role,
            src_party_id=src.party_id,
            dst_role=dst.role,
            dst_party_id=dst.party_id,
        )

    def _check(
        self,
        parties: Sequence[PartyRole],
        name: str,
        tag: str,
        done: set[tuple[str, str, PartyRole]],
        verb: str,
    ) -> None:
        for party in parties:
            if party.party_id not in self._roles.get(party.role, []):
                raise InvalidArgument(
                    f"{verb} {name} tag {tag!r}: {party.role} {party.party_id} is not in the job",
                    job_id=self._job_id,
                )
            if (name, tag, party) in done:
                raise FailedPrecondition(
                    f"{verb} duplicate tag: {name} tag {tag!r} with {party.role} {party.party_id}",
                    job_id=self._job_id,
                )

    # --- sending ----------------------------------------------------------------------------

    def remote(
        self,
        obj: object,
        name: str,
        tag: str,
        parties: Sequence[PartyRole],
        timeout: float = REMOTE_TIMEOUT_S,
    ) -> None:
        """Send `obj` to each of `parties`; returns once every receiving proxy has it."""
        self._check(parties, name, tag, self._remoted, "remote")
        encoded = codec.encode(obj, self._chunk_size)
        deadline = time.monotonic() + timeout
        for party in parties:
            header = pb.ObjectHeader(
                message_id=uuid.uuid4().hex,
                job_id=self._job_id,
                key=self._key(name, tag, self._local, party),
                kind=encoded.kind,
                dtype=encoded.dtype,
                shape=encoded.shape,
                size=encoded.size,
                digest=encoded.digest,
            )
            self._push(
                header, encoded, deadline, f"{name} tag {tag!r} to {party.role} {party.party_id}"
            )
            self._remoted.add((name, tag, party))

    def _push(
        self, header: pb.ObjectHeader, encoded: codec.Encoded, deadline: float, what: str
    ) -> None:
        """One call per hop: an object of one chunk travels whole (`PushObject`, half the cost
        of a stream), a larger one as a stream of chunks (`Push`)."""
        whole = encoded.size <= self._chunk_size

        def requests() -> Iterator[pb.PushRequest]:
            yield pb.PushRequest(header=header)
            for chunk in encoded.chunks():
                yield pb.PushRequest(chunk=chunk)

        pause = RETRY_FIRST_S
        attempts = 0
        while True:
            attempts += 1
            timeout = max(deadline - time.monotonic(), 0.001)
            try:
                if whole:
                    payload = b"".join(encoded.chunks())
                    request = pb.PushObjectRequest(header=header, payload=payload)
                    self._stub.PushObject(request, timeout=timeout)
                else:
                    self._stub.Push(requests(), timeout=timeout)
                return
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                if error.code() not in RETRYABLE or time.monotonic() + pause >= deadline:
                    raise _error(error, f"could not send {what} ({attempts} attempts)") from None
            time.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)

    # --- receiving --------------------------------------------------------------------------

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        """The objects `parties` sent under (name, tag), in their order, waiting up to `timeout` s."""
        self._check(parties, name, tag, self._got, "get")
        deadline = time.monotonic() + timeout
        objects = []
        for index, party in enumerate(parties):
            key = self._key(name, tag, party, self._local)
            try:
                objects.append(self._pull(key, deadline))
            except DeadlineExceeded:
                raise DeadlineExceeded(
                    f"get {name} tag {tag!r}: waited {timeout:g} s and got nothing from "
                    f"{_describe(parties[index:])} (job {self._job_id}, {self._local.role} "
                    f"{self._local.party_id})",
                    job_id=self._job_id,
                    name=name,
                    tag=tag,
                    parties=_describe(parties[index:]),
                ) from None
            self._got.add((name, tag, party))
        return objects

    def _pull(self, key: pb.ObjectKey, deadline: float) -> object:
        pause = RETRY_FIRST_S
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            request = pb.PullRequest(
                job_id=self._job_id, key=key, timeout_ms=int(left * 1000), accept_file=True
            )
            try:
                responses = self._stub.Pull(request, timeout=left + PULL_MARGIN_S)
                header = next(responses).header
                return codec.decode(
                    header.kind, header.dtype, header.shape, header.size, _payload(responses)
                )
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                if error.code() not in RETRYABLE or time.monotonic() + pause >= deadline:
                    raise _error(error, f"could not get {key.name} tag {key.tag!r}") from None
            time.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)


def _payload(responses: Iterator[pb.PullResponse]) -> Iterator[bytes]:
    """The payload's chunks, from the stream or from the file the proxy hands over."""
    for response in responses:
        if response.HasField("payload_file"):
            path = Path(response.payload_file)
            with path.open("rb") as file:
                path.unlink()  # ours now: nobody else reads it
                while chunk := file.read(FILE_CHUNK):
                    yield chunk
        else:
            yield response.chunk


def _error(error: grpc.Call, what: str) -> FateFlowError:
    """Our error for a failed call, with the status's own message (which names the hop)."""
    kind = ERROR_BY_STATUS.get(error.code().name, FederatedError)
    return kind(f"{what}: {error.details()}")
