"""The standalone front's rules: one for every public RPC, read from the services' descriptors,
and each route and merge doing what it says."""

from __future__ import annotations

import importlib
from pathlib import Path

from google.protobuf import json_format, struct_pb2

from fateflow.v1 import job_pb2, job_service_pb2, model_service_pb2, table_service_pb2
from fateflow_grpc.standalone import front, rules
from fateflow_grpc.standalone.rules import EVERY, KEEPER, Initiator, Party


def test_every_public_service_is_served() -> None:
    """Each `fateflow.v1` service the protos define, read from the generated modules."""
    generated = Path(job_pb2.__file__).parent
    defined = {
        service.full_name
        for path in generated.glob("*_service_pb2.py")
        for service in importlib.import_module(
            f"fateflow.v1.{path.stem}"
        ).DESCRIPTOR.services_by_name.values()
    }
    assert set(rules.public_service_names()) == defined


def test_every_public_rpc_has_a_rule() -> None:
    public = rules.public_methods()
    ruled = rules.methods()
    assert sorted(set(public) - set(ruled)) == []
    assert sorted(set(ruled) - set(public)) == []
    for path, method in ruled.items():
        descriptor = public[path]
        assert method.request_class.DESCRIPTOR is descriptor.input_type
        assert method.response_class.DESCRIPTOR is descriptor.output_type


def test_a_request_stream_goes_to_one_party() -> None:
    """Its messages are read once: they cannot go to every party."""
    for method in rules.methods().values():
        if method.client_streaming:
            assert method.rule.route(method.request_class()) is not EVERY, method.path


def _conf(initiator: object) -> job_service_pb2.SubmitJobRequest:
    conf = struct_pb2.Struct()
    json_format.ParseDict({"initiator": {"role": "guest", "party_id": initiator}}, conf)
    return job_service_pb2.SubmitJobRequest(job_runtime_conf=conf)


def test_a_job_goes_to_its_initiator_as_a_number_or_a_string() -> None:
    assert rules.conf_initiator(_conf(10000)) == Party(10000)
    assert rules.conf_initiator(_conf("10000")) == Party(10000)
    # The keeper's core says what is wrong with such a conf.
    assert rules.conf_initiator(_conf("guest")) is KEEPER
    assert rules.conf_initiator(job_service_pb2.SubmitJobRequest()) is KEEPER


def test_routes_by_party_job_table_and_model() -> None:
    assert rules.by_party(job_service_pb2.GetJobConfigRequest(job_id="j", party_id=9)) == Party(9)
    assert rules.by_party(job_service_pb2.GetJobConfigRequest(job_id="j")) is EVERY
    assert rules.by_party_or_keeper(model_service_pb2.ExportModelRequest()) is KEEPER
    assert rules.job_initiator(job_service_pb2.StopJobRequest(job_id="j")) == Initiator("j")
    by_name = table_service_pb2.DeleteTableRequest(namespace="n", table_name="t")
    assert rules.table_or_job(by_name) is KEEPER
    assert rules.table_or_job(table_service_pb2.DeleteTableRequest(job_id="j")) is EVERY
    owned = model_service_pb2.TransferModelRequest(name="v", namespace="host#10000#arbiter-1#m")
    assert rules.model_owner(owned) == Party(10000)
    named = model_service_pb2.LoadModelRequest(job_id="j")
    assert rules.publication_initiator(named) == Initiator("j")
    json_format.ParseDict({"role": "guest", "party_id": 10000}, named.initiator)
    assert rules.publication_initiator(named) == Party(10000)


def _task(party: str, created: int, status: str, task: str = "t") -> job_pb2.TaskRow:
    return job_pb2.TaskRow(
        f_job_id="j", f_task_id=task, f_party_id=party, f_create_time=created, f_status=status
    )


def test_rows_come_from_the_party_they_are_about_newest_first() -> None:
    method = rules.methods()["/fateflow.v1.JobService/ListTasks"]
    # The initiator 9999 keeps a row of 10000's task, which 10000 has too (and updates).
    at_9999 = job_service_pb2.ListTasksResponse(
        data=[_task("10000", 2, "waiting"), _task("9999", 1, "success"), _task("0", 5, "success")],
        retmsg="success",
    )
    at_10000 = job_service_pb2.ListTasksResponse(data=[_task("10000", 3, "running")])
    answers = [(9999, at_9999.SerializeToString()), (10000, at_10000.SerializeToString())]
    request = job_service_pb2.ListTasksRequest(limit=2)
    merged = job_service_pb2.ListTasksResponse.FromString(
        front._merge(method, method.rule.merge, request, answers)
    )
    # Party "0" (a data job's) is no local party's: kept as it is.
    assert [(r.f_party_id, r.f_status) for r in merged.data] == [
        ("0", "success"),
        ("10000", "running"),
    ]
    assert merged.retmsg == "success"


def test_a_query_that_finds_nothing_says_so() -> None:
    method = rules.methods()["/fateflow.v1.JobService/QueryJob"]
    nothing = job_service_pb2.QueryJobResponse(retmsg="no job could be found")
    found = job_service_pb2.QueryJobResponse(
        data=[job_pb2.JobRow(f_job_id="j", f_party_id="10000")], retmsg="success"
    )
    request = job_service_pb2.QueryJobRequest(job_id="j")
    merged = job_service_pb2.QueryJobResponse.FromString(
        front._merge(
            method,
            method.rule.merge,
            request,
            [(9999, nothing.SerializeToString()), (10000, found.SerializeToString())],
        )
    )
    assert (len(merged.data), merged.retmsg) == (1, "success")
    alone = job_service_pb2.QueryJobResponse.FromString(
        front._merge(method, method.rule.merge, request, [(9999, nothing.SerializeToString())])
    )
    assert (len(alone.data), alone.retmsg) == (0, "no job could be found")
