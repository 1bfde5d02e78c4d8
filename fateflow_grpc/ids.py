"""Job and model identifiers in FATE-Flow's formats (reference §2.1 and §8.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from fateflow_grpc.errors import InvalidArgument

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
