"""Job ids (FATE-Flow 1.7 format, increasing) and model ids."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.ids import JobIdGenerator, model_id, new_job_id, party_model_id


def test_job_id_format() -> None:
    before = datetime.now()
    job_id = new_job_id()
    assert re.fullmatch(r"[0-9]{21}", job_id)
    stamp = datetime.strptime(job_id[:20], "%Y%m%d%H%M%S%f")
    assert before <= stamp <= datetime.now()


def test_job_ids_increase_under_threads() -> None:
    per_thread: list[list[str]] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        ids = [new_job_id() for _ in range(2000)]
        per_thread.append(ids)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [job_id for ids in per_thread for job_id in ids]
    assert len(set(everything)) == len(everything) == 16000
    for ids in per_thread:
        assert ids == sorted(ids)
        assert [int(i) for i in ids] == sorted(int(i) for i in ids)


def clock(*times: datetime) -> Iterator[datetime]:
    yield from times


def test_counter_resets_per_timestamp_and_rolls_into_the_next_microsecond() -> None:
    t = datetime(2024, 5, 6, 7, 8, 9, 123456)
    later = t + timedelta(seconds=1)
    times = clock(*[t] * 12, later, later, t)  # the last one: the clock went back
    generate = JobIdGenerator(lambda: next(times))
    ids = [generate() for _ in range(15)]
    assert ids[:3] == ["202405060708091234560", "202405060708091234561", "202405060708091234562"]
    assert ids[9] == "202405060708091234569"
    # Ten ids in one microsecond: the counter stays one digit, the stamp moves on.
    assert ids[10:12] == ["202405060708091234570", "202405060708091234571"]
    assert ids[12:14] == ["202405060708101234560", "202405060708101234561"]
    assert ids[14] == "202405060708101234562"
    assert ids == sorted(set(ids))


def test_model_id() -> None:
    roles = {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert model_id(roles) == "arbiter-10000#guest-9999#host-10000#model"
    # Party ids sorted as numbers, duplicates dropped, strings accepted.
    assert model_id({"host": ["10001", 10000, 10001, 9999], "guest": [9999]}) == (
        "guest-9999#host-9999_10000_10001#model"
    )
    assert party_model_id("guest", 9999, model_id(roles)) == (
        "guest#9999#arbiter-10000#guest-9999#host-10000#model"
    )


def test_model_id_needs_roles() -> None:
    with pytest.raises(InvalidArgument):
        model_id({})
