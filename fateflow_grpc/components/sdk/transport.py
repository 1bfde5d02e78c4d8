"""`Transport`: what a federated algorithm needs of the federation, and who plays which role.

An algorithm's role functions take a `Transport` rather than the federation client, so that
they can be run in one process in tests (an in-memory transport) and against other parties'
tasks in a job (`fateflow_grpc.federation.client.Federation`, which satisfies this protocol).

    transport.remote(obj, "HeteroLRTransferVariable.fore_gradient", "fit.0.0", [host])
    [obj] = transport.get("HeteroLRTransferVariable.fore_gradient", "fit.0.0", [guest], 60)

Objects are keyed as FATE keys them, by (name, tag, source party, destination party); names
are FATE's transfer variables (`<ClassName>.<variable>`), tags `<flowid>.<suffix parts>`
(`fit.0.0` = iteration 0, batch 0). Only wire-legal objects may be sent: numpy arrays of
numeric dtypes, `codec.BigIntegers`, bytes, and JSON values. A (name, tag, party) is sent
and got at most once per task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument

#: Seconds a role waits for another party's object by default: long enough for a peer's
#: slowest step (a large batch's encrypted gradient), short enough to fail a stuck job.
GET_TIMEOUT_S = 600.0


class Transport(Protocol):
    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        """Send `obj` to each of `parties` under (name, tag)."""
        ...

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        """What each of `parties` sent under (name, tag), in their order."""
        ...


class Prefixed:
    """A transport whose tags are under `prefix` (FATE's flowid of a sub-model: a fold of
    cross validation, a class of one-vs-rest), so that the same protocol run several times in
    one task never reuses a (name, tag)."""

    def __init__(self, transport: Transport, prefix: str) -> None:
        self._transport = transport
        self._prefix = f"{prefix}."

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        self._transport.remote(obj, name, self._prefix + tag, parties)

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        return self._transport.get(name, self._prefix + tag, parties, timeout)


@dataclass(frozen=True)
class Participants:
    """The parties of a hetero job as an algorithm sees them: one guest, hosts, an arbiter."""

    guest: PartyRole
    hosts: tuple[PartyRole, ...]
    arbiter: PartyRole | None = None

    @classmethod
    def from_roles(cls, roles: Mapping[str, Sequence[int]]) -> Participants:
        """From a job's `role` map (`{"guest": [9999], "host": [10000], ...}`)."""
        guests = list(roles.get("guest", []))
        hosts = list(roles.get("host", []))
        arbiters = list(roles.get("arbiter", []))
        if len(guests) != 1:
            raise InvalidArgument(f"a hetero job has one guest, not {len(guests)}", role="guest")
        if not hosts:
            raise InvalidArgument("a hetero job has at least one host", role="host")
        if len(arbiters) > 1:
            raise InvalidArgument(
                f"a hetero job has at most one arbiter, not {len(arbiters)}", role="arbiter"
            )
        return cls(
            PartyRole("guest", int(guests[0])),
            tuple(PartyRole("host", int(p)) for p in hosts),
            PartyRole("arbiter", int(arbiters[0])) if arbiters else None,
        )

    def require_arbiter(self) -> PartyRole:
        if self.arbiter is None:
            raise InvalidArgument("this algorithm needs an arbiter in the job", role="arbiter")
        return self.arbiter
