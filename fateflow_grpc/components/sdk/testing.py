"""What tests of components need: an in-memory `Transport` that runs a protocol's roles side by
side in threads of one process, and `Noop`, a module for testing the scheduler.

Every object sent through a `Wire` goes through the real federation codec (`encode` at `remote`,
`decode` at `get`), so a role that sends anything the wire refuses (a pickled object, an object
array) fails here as it would between nodes. The wire keeps a log of what each party received,
decoded, so tests can check what a party learns.

    wire = Wire()
    results = run_parties(wire, {guest: lambda t: fit_guest(t, ...), host: lambda t: ...})
    wire.received_by(host)    # every object the host got

`Noop` waits, then succeeds, fails or crashes on demand; only nodes configured with
`test_components: true` accept it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import DeadlineExceeded, FailedPrecondition
from fateflow_grpc.federation import codec

T = TypeVar("T")
_Key = tuple[str, str, PartyRole, PartyRole]  # name, tag, source, destination


@dataclass(frozen=True)
class Delivery:
    """One object as its destination got it."""

    name: str
    tag: str
    src: PartyRole
    dst: PartyRole
    obj: object


class Wire:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._payloads: dict[_Key, tuple[int, str, tuple[int, ...], int, list[bytes]]] = {}
        self._sent: set[_Key] = set()
        self._failed: BaseException | None = None
        self.log: list[Delivery] = []

    def fail(self, error: BaseException) -> None:
        """A role failed: the others stop waiting at once instead of timing out."""
        with self._lock:
            self._failed = error
            self._lock.notify_all()

    def transport(self, local: PartyRole) -> MemoryTransport:
        return MemoryTransport(self, local)

    def received_by(self, party: PartyRole) -> list[Delivery]:
        with self._lock:
            return [d for d in self.log if d.dst == party]

    def received_from(self, src: PartyRole, name: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.log if d.src == src and d.name == name]

    def put(self, key: _Key, obj: object) -> None:
        encoded = codec.encode(obj)
        payload = (encoded.kind, encoded.dtype, encoded.shape, encoded.size, list(encoded.chunks()))
        with self._lock:
            if key in self._sent:
                raise FailedPrecondition(f"remote duplicate tag: {key}")
            self._sent.add(key)
            self._payloads[key] = payload
            self._lock.notify_all()

    def take(self, key: _Key, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        with self._lock:
            while key not in self._payloads:
                if self._failed is not None:
                    raise DeadlineExceeded(f"another party failed while waiting for {key}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(f"nothing arrived for {key}")
                self._lock.wait(left)
            kind, dtype, shape, size, chunks = self._payloads.pop(key)
        obj = codec.decode(kind, dtype, shape, size, iter(chunks))
        name, tag, src, dst = key
        with self._lock:
            self.log.append(Delivery(name, tag, src, dst, obj))
        return obj


class MemoryTransport:
    def __init__(self, wire: Wire, local: PartyRole) -> None:
        self._wire = wire
        self._local = local

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        for party in parties:
            self._wire.put((name, tag, self._local, party), obj)

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        return [self._wire.take((name, tag, party, self._local), timeout) for party in parties]


def run_parties(
    wire: Wire, roles: Mapping[PartyRole, Callable[[MemoryTransport], T]]
) -> dict[PartyRole, T]:
    """Run each party's role in its own thread; the failure that caused the others is raised."""

    def guarded(party: PartyRole, run: Callable[[MemoryTransport], T]) -> T:
        try:
            return run(wire.transport(party))
        except BaseException as error:
            wire.fail(error)
            raise

    with ThreadPoolExecutor(len(roles)) as pool:
        futures = {party: pool.submit(guarded, party, run) for party, run in roles.items()}
        errors = [error for f in futures.values() if (error := f.exception()) is not None]
        causes = [error for error in errors if not isinstance(error, DeadlineExceeded)]
        if errors:
            raise (causes or errors)[0]
        return {party: future.result() for party, future in futures.items()}


class Noop:
    info = ModuleInfo(
        name="Noop",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters={"sleep_seconds": 0.0, "fail": False, "crash": False},
        input_kinds=frozenset({"data"}),
    )

    def run(self, context: TaskContext) -> None:
        parameters = context.parameters
        context.log.info("noop %s sleeps %s s", context.task, parameters["sleep_seconds"])
        time.sleep(float(parameters["sleep_seconds"]))
        if parameters["crash"]:
            os._exit(3)  # a task that dies without a word, as a segfault would
        if parameters["fail"]:
            raise RuntimeError(f"{context.task.component_name} was told to fail")
        context.log.info("noop done")
