"""FATE-Flow's identifiers: their formats, checked wherever one arrives from outside, and the
job and model ids this node makes (reference §2.1 and §8.1).

Every identifier a request carries (from a client, or from another party) is checked here once,
by the core's interceptor for every RPC (`check_request`) and by the proxy for federation
objects, before anything uses it; so none can lead a path out of the node's data directory.
The formats are FATE's own: a job id is digits (the time to the microsecond, then a counter),
a component name what FATE's DSL parser accepts, a role one of FATE's four. Table names and
namespaces follow `check_table_name`, which the table store and the data jobs apply to every
table they are asked for (a request's `namespace` is not always a table's: a model transfer
names a party model id with it).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from fateflow_grpc.errors import InvalidArgument

#: A job id: `YYYYMMDDhhmmss`, microseconds, a counter (FATE 1.x; the column holds 32).
JOB_ID = re.compile(r"[0-9]{20,32}")
#: FATE's DSL rule for component names: letters, digits, `_` and `-` (ASCII; the column holds 64).
COMPONENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: FATE's roles: `local` is the one party of an upload or download.
ROLES = frozenset({"guest", "host", "arbiter", "local"})
#: A federated model id: `<role>-<party ids joined by _>` per role, sorted, then `model`.
MODEL_ID = re.compile(r"(?:[a-z]+-[0-9]+(?:_[0-9]+)*#)+model")
#: A table name or namespace: it names a directory, so no separator and no leading dot.
TABLE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
#: Party ids are integers; JSON carries them as doubles, exact below 2**53.
MAX_PARTY_ID = 2**53 - 1


def _refuse(what: str, value: object, rule: str) -> InvalidArgument:
    return InvalidArgument(f"{what} {value!r} is not valid: {rule}", field=what, value=str(value))


def check_job_id(value: str) -> str:
    if not JOB_ID.fullmatch(value):
        raise _refuse("job_id", value, "a job id is 20 to 32 digits, as FATE makes them")
    return value


def check_component_name(value: str) -> str:
    if not COMPONENT_NAME.fullmatch(value):
        raise _refuse("component_name", value, "use 1 to 64 letters, digits, '_' or '-'")
    return value


def check_task_id(value: str) -> str:
    job_id, _, component = value.partition("_")
    check_job_id(job_id)
    check_component_name(component)
    return value


def check_role(value: str) -> str:
    if value not in ROLES:
        raise _refuse("role", value, f"one of {', '.join(sorted(ROLES))}")
    return value


def check_party_id(value: int) -> int:
    if not 0 <= value <= MAX_PARTY_ID:
        raise _refuse("party_id", value, f"a party id is an integer from 0 to {MAX_PARTY_ID}")
    return value


def check_task_version(value: int) -> int:
    if value < 0:
        raise _refuse("task_version", value, "a task version counts up from 0")
    return value


def check_model_id(value: str) -> str:
    if not MODEL_ID.fullmatch(value):
        raise _refuse(
            "model_id", value, "a model id reads like arbiter-10000#guest-9999#host-10000#model"
        )
    return value


def check_model_version(value: str) -> str:
    if not JOB_ID.fullmatch(value):
        raise _refuse(
            "model_version", value, "a model version is the id of the job that made the model"
        )
    return value


def check_table_name(namespace: str, name: str) -> None:
    for kind, value in (("namespace", namespace), ("table_name", name)):
        if not TABLE_NAME.fullmatch(value):
            raise InvalidArgument(
                f"{kind} {value!r} is not a valid table name: use 1 to 128 letters, digits, "
                "'_', '-' or '.', not starting with '.'",
                field=kind,
                value=value,
            )


#: Request fields checked wherever they occur (nested messages too), by name. Fields left empty
#: are not listed by `ListFields`: they mean "not given", and those a call needs are REQUIRED.
_FIELD_CHECKS: dict[str, Callable[..., object]] = {
    "job_id": check_job_id,
    "component_name": check_component_name,
    "task_id": check_task_id,
    "role": check_role,
    "initiator_role": check_role,
    "party_id": check_party_id,
    "initiator_party_id": check_party_id,
    "task_version": check_task_version,
    "model_id": check_model_id,
    "model_version": check_model_version,
    "child_model_version": check_model_version,
}


#: Requests whose identifiers only filter rows: one in no FATE format matches none, and FATE
#: answers such a query as it answers for an unknown job (`retcode` 0, no rows); the job
#: list's `job_id` is a part of an id to look for.
_ROW_FILTERS = frozenset({"fateflow.v1.QueryJobRequest", "fateflow.v1.ListJobsRequest"})


def check_request(message: Message) -> None:
    """Check every identifier field of a request, in sub-messages too; InvalidArgument names the
    first that is not in FATE's format."""
    if message.DESCRIPTOR.full_name in _ROW_FILTERS:
        return
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            entry = field.message_type
            if entry is None or entry.GetOptions().map_entry:
                continue
            for item in value if field.is_repeated else [value]:
                if not item.DESCRIPTOR.full_name.startswith("google.protobuf."):
                    check_request(item)
        elif field.name in _FIELD_CHECKS and not field.is_repeated:
            _FIELD_CHECKS[field.name](value)


_MICROSECOND = timedelta(microseconds=1)


class JobIdGenerator:
    """FATE-Flow 1.7's job ids: local time `YYYYMMDDHHMMSS`, 6-digit microseconds, a counter.

    The counter restarts at 0 with each new timestamp and counts up within one microsecond.
    FATE lets it reach 99999; we move on to the next microsecond after 9, so every id has 21
    digits and ids sort the same as strings and as numbers. A clock that stands still or goes
    back (NTP, daylight saving) keeps counting from the last id, so ids only ever increase.
    """

    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last = datetime.min
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock()
            if now > self._last:
                self._last, self._counter = now, 0
            elif self._counter < 9:
                self._counter += 1
            else:
                self._last, self._counter = self._last + _MICROSECOND, 0
            return f"{self._last:%Y%m%d%H%M%S%f}{self._counter}"


_generate_job_id = JobIdGenerator()


def new_job_id() -> str:
    """A new job id, unique and increasing within this process (not across nodes, as in FATE)."""
    return _generate_job_id()


def model_id(roles: Mapping[str, Iterable[int | str]]) -> str:
    """FATE's federated model id, e.g. `arbiter-10000#guest-9999#host-10000#model`.

    Roles sorted by name, each with its sorted unique party ids joined by `_`.
    """
    if not roles:
        raise InvalidArgument("a model id needs at least one role with parties")
    parts = [
        f"{role}-{'_'.join(str(p) for p in sorted({int(p) for p in roles[role]}))}"
        for role in sorted(roles)
    ]
    return "#".join([*parts, "model"])


def party_model_id(role: str, party_id: int, federated_model_id: str) -> str:
    """The key one party stores its part of a model under: `<role>#<party_id>#<model_id>`."""
    return f"{role}#{party_id}#{federated_model_id}"
