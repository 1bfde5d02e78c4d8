"""Job ids (FATE-Flow 1.7 format, increasing), model ids, and the identifiers checked at the
boundary."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from fateflow.party.v1 import party_service_pb2 as party_pb
from fateflow.v1 import job_service_pb2 as job_pb
from fateflow_grpc import ids
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
    everything = [job_id for made in per_thread for job_id in made]
    assert len(set(everything)) == len(everything) == 16000
    for made in per_thread:
        assert made == sorted(made)
        assert [int(i) for i in made] == sorted(int(i) for i in made)


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


# --- identifiers from outside: FATE's formats -----------------------------------------------------


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            ids.check_job_id,
            ["202006122116502527621", "2019081217340125761469"],
            ["", "j1", "../x", "1" * 33, "\uff12" * 21],
        ),
        (
            ids.check_component_name,
            ["hetero_lr_0", "data-io_1"],
            ["", "../x", "a.b", "a/b", "é_0", "x" * 65],
        ),
        (ids.check_role, ["guest", "host", "arbiter", "local"], ["", "Guest", "../x"]),
        (ids.check_party_id, [0, 9999, 2**53 - 1], [-1, 2**53]),
        (
            ids.check_model_id,
            ["arbiter-10000#guest-9999#host-10000_10001#model"],
            ["", "a/b", "guest-9999#../model", "model"],
        ),
        (ids.check_model_version, ["202006122116502527621"], ["v1", "../../etc"]),
        (
            ids.check_task_id,
            ["202006122116502527621_hetero_lr_0"],
            ["202006122116502527621", "x_hetero_lr_0", "202006122116502527621_../x"],
        ),
    ],
)
def test_identifiers_in_fates_formats(
    check: Callable[[Any], object], good: list[Any], bad: list[Any]
) -> None:
    for value in good:
        assert check(value) == value
    for value in bad:
        with pytest.raises(InvalidArgument, match="is not valid"):
            check(value)


def test_a_request_is_checked_in_its_sub_messages() -> None:
    good = party_pb.TaskRef(
        job_id="202006122116502527621", component_name="noop_0", role="host", party_id=10000
    )
    ids.check_request(party_pb.ReportTaskRequest(state=party_pb.TaskState(task=good)))
    bad = party_pb.TaskRef(job_id="../../escaped", component_name="noop_0", role="host")
    with pytest.raises(InvalidArgument, match=r"job_id '\.\./\.\./escaped'"):
        ids.check_request(party_pb.ReportTaskRequest(state=party_pb.TaskState(task=bad)))
    with pytest.raises(InvalidArgument, match="component_name"):
        ids.check_request(party_pb.StartTaskRequest(task=party_pb.TaskRef(component_name="../x")))
    # Fields left empty are not given; a query's filters only select rows (FATE: no rows).
    ids.check_request(party_pb.TaskRef())
    ids.check_request(job_pb.QueryJobRequest(job_id="none"))
