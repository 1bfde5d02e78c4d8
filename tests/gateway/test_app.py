"""The gateway over HTTP, in front of a scripted core: envelope, errors, uploads, downloads."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import any_pb2, json_format
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from fateflow.v1 import (
    data_service_pb2,
    job_pb2,
    job_service_pb2,
    model_service_pb2,
    tracking_service_pb2,
)
from gateway.app import CHUNK_SIZE
from tests.gateway.conftest import Client, Reply, RunningGateway
from tests.gateway.fake_core import DEFAULT_DOWNLOAD, FakeCore, methods
from tests.gateway.rules import Rule, expected_rules


def envelope(reply: Reply, status: int = 200) -> dict[str, Any]:
    """The reply's JSON envelope, checked for what every envelope has."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert isinstance(body["retcode"], int)
    assert isinstance(body["retmsg"], str)
    return body  # type: ignore[no-any-return]


def received(reply: Reply) -> dict[str, Any]:
    """What the fake core received, as it echoes it in `retmsg`."""
    body = envelope(reply)
    assert body["retcode"] == 0, body
    return json.loads(body["retmsg"])  # type: ignore[no-any-return]


def abort_with(code: grpc.StatusCode, message: str, retcode: int | None = None) -> Any:
    def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
        if retcode is None:
            context.abort(code, message)
        info = error_details_pb2.ErrorInfo(
            reason="TEST", domain="fateflow-grpc", metadata={"retcode": str(retcode)}
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        context.abort_with_status(
            rpc_status.to_status(
                status_pb2.Status(
                    code=getattr(code_pb2, code.name), message=message, details=[detail]
                )
            )
        )

    return behaviour


# -- every route ---------------------------------------------------------------------------


def method_descriptor(rule: Rule) -> MethodDescriptor:
    return next(m for m in methods() if f"/{m.containing_service.full_name}/{m.name}" == rule.rpc)


@pytest.mark.parametrize("rule", expected_rules(), ids=lambda r: f"{r.verb} {r.path}")
def test_every_route_answers(client: Client, core: FakeCore, rule: Rule) -> None:
    reply = client.request(rule.verb, rule.path, json={"conf_path": "/ignored"})
    if rule.server_streaming:
        assert reply.status == 200
        assert reply.body == b"".join(DEFAULT_DOWNLOAD)
        return
    body = envelope(reply)
    assert body["retcode"] == 0
    assert body["retmsg"]
    method = rule.rpc.rsplit("/", 1)[1]
    assert len(core.received[method]) == 1
    # The fake answers an empty response: a list stays `[]`, a number 0, an unset message out.
    data = method_descriptor(rule).output_type.fields_by_name.get("data")
    if data is None or (
        data.message_type is not None
        and not data.is_repeated
        and not data.message_type.GetOptions().map_entry
    ):
        assert "data" not in body
    else:
        assert body["data"] in ([], 0, {})


def test_empty_repeated_data_is_an_empty_list(client: Client) -> None:
    assert envelope(client.post("/v1/job/list/task"))["data"] == []


# -- requests ------------------------------------------------------------------------------


def test_json_body_on_get(client: Client, core: FakeCore) -> None:
    reply = client.get("/v1/job/log", json={"job_id": "202401010000000000001"})
    assert reply.status == 200
    assert core.received["DownloadJobLog"][0].job_id == "202401010000000000001"


def test_unknown_keys_are_tolerated(client: Client) -> None:
    sent = {"job_id": "j1", "conf_path": "/tmp/c.json", "dsl_path": "/tmp/d", "x": {"y": [1]}}
    assert received(client.post("/v1/job/query", json=sent)) == {"job_id": "j1"}


@pytest.mark.parametrize("party_id", ["9999", 9999])
def test_party_id_as_string_or_number(client: Client, core: FakeCore, party_id: Any) -> None:
    envelope(client.post("/v1/job/query", json={"job_id": "j", "party_id": party_id}))
    assert core.received["QueryJob"][0].party_id == 9999


def test_query_string_joins_the_body(client: Client, core: FakeCore) -> None:
    reply = client.post("/v1/data/upload/history?limit=3&job_id=q", json={"job_id": "body"})
    assert received(reply) == {"job_id": "body", "limit": 3}


def test_no_body_is_an_empty_request(client: Client, core: FakeCore) -> None:
    assert received(client.post("/v1/job/list/job")) == {}


def test_trailing_slash(client: Client) -> None:
    assert received(client.post("/v1/job/query/", json={"job_id": "j"})) == {"job_id": "j"}


# -- responses -----------------------------------------------------------------------------


def test_int64_are_json_numbers(client: Client, core: FakeCore) -> None:
    roles = json_format.ParseDict({"guest": [9999], "host": [10000]}, job_pb2.JobRow().f_roles)
    row = job_pb2.JobRow(
        f_job_id="j",
        f_status="running",
        f_create_time=1_700_000_000_123,
        f_start_time=1_700_000_000_999,
        f_roles=roles,
    )
    core.on("QueryJob", lambda request, context: job_service_pb2.QueryJobResponse(data=[row]))
    reply = client.post("/v1/job/query", json={"job_id": "j"})
    assert b'"f_create_time":1700000000123' in reply.body
    data = envelope(reply)["data"]
    assert data[0]["f_start_time"] == 1_700_000_000_999
    assert data[0]["f_roles"] == {"guest": [9999], "host": [10000]}
    assert b"9999.0" not in reply.body
    assert "f_end_time" not in data[0]


def test_job_id_is_top_level_camel_case(client: Client, core: FakeCore) -> None:
    core.on(
        "SubmitJob",
        lambda request, context: job_service_pb2.SubmitJobResponse(
            job_id="202401010000000000001",
            data=job_service_pb2.SubmittedJob(job_id="202401010000000000001", board_url="http://b"),
        ),
    )
    body = envelope(client.post("/v1/job/submit", json={"job_runtime_conf": {}, "job_dsl": {}}))
    assert body["jobId"] == "202401010000000000001"
    assert body["retmsg"] == "success"
    assert body["data"]["board_url"] == "http://b"


def test_scalar_int64_data(client: Client, core: FakeCore) -> None:
    core.on(
        "DeleteComponentMetrics",
        lambda request, context: tracking_service_pb2.DeleteComponentMetricsResponse(data=42),
    )
    assert (
        envelope(client.post("/v1/tracking/component/metric/delete", json={"job_id": "j"}))["data"]
        == 42
    )


# -- errors --------------------------------------------------------------------------------


def test_malformed_json(client: Client) -> None:
    body = envelope(
        client.post(
            "/v1/job/query", data=b'{"job_id": ', headers={"Content-Type": "application/json"}
        )
    )
    assert body["retcode"] == 100
    assert "JSON" in body["retmsg"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"job"', b"12", b"null"])
def test_a_body_that_is_not_an_object(client: Client, raw: bytes) -> None:
    body = envelope(client.post("/v1/job/query", data=raw))
    assert body["retcode"] == 100
    assert "JSON object" in body["retmsg"]


@pytest.mark.parametrize(
    ("path", "sent", "field"),
    [
        ("/v1/job/list/job", {"limit": "abc"}, "limit"),
        ("/v1/job/query", {"party_id": "x"}, "party_id"),
        ("/v1/job/query", {"party_id": 99.5}, "party_id"),
        ("/v1/job/query", {"job_id": ["a"]}, "job_id"),
        ("/v1/job/submit", {"job_runtime_conf": "not an object"}, "job_runtime_conf"),
    ],
)
def test_a_wrong_type_names_the_field(
    client: Client, core: FakeCore, path: str, sent: dict[str, Any], field: str
) -> None:
    body = envelope(client.post(path, json=sent))
    assert body["retcode"] == 100
    assert field in body["retmsg"]
    assert not core.received  # refused before the core


def test_unknown_route(client: Client) -> None:
    body = envelope(client.post("/v1/job/nope", json={}), status=404)
    assert body["retcode"] == 100
    assert "/v1/job/nope" in body["retmsg"]


@pytest.mark.parametrize(
    ("verb", "path", "allowed"),
    [
        ("GET", "/v1/job/query", "POST"),
        ("POST", "/v1/job/log", "GET"),
        ("DELETE", "/v1/model/export", "GET"),
    ],
)
def test_wrong_verb(client: Client, verb: str, path: str, allowed: str) -> None:
    reply = client.request(verb, path, json={})
    body = envelope(reply, status=405)
    assert body["retcode"] == 100
    assert reply.headers["Allow"] == allowed


def test_error_info_gives_the_retcode(client: Client, core: FakeCore) -> None:
    core.on("StopJob", abort_with(grpc.StatusCode.NOT_FOUND, "can not found job", retcode=102))
    body = envelope(client.post("/v1/job/stop", json={"job_id": "j"}))
    assert body == {"retcode": 102, "retmsg": "can not found job"}


@pytest.mark.parametrize(
    ("code", "retcode"),
    [
        (grpc.StatusCode.NOT_FOUND, 101),
        (grpc.StatusCode.FAILED_PRECONDITION, 103),
        (grpc.StatusCode.UNAVAILABLE, 104),
        (grpc.StatusCode.DATA_LOSS, 100),
    ],
)
def test_a_status_without_details_uses_the_table(
    client: Client, core: FakeCore, code: grpc.StatusCode, retcode: int
) -> None:
    core.on("QueryJob", abort_with(code, "went wrong"))
    body = envelope(client.post("/v1/job/query", json={"job_id": "j"}))
    assert body == {"retcode": retcode, "retmsg": "went wrong"}


def test_an_unexpected_error_is_an_envelope_and_a_log_line(
    client: Client, core: FakeCore, caplog: pytest.LogCaptureFixture
) -> None:
    # A Struct holding NaN cannot be written as JSON: json_format raises in the gateway.
    nan = json_format.ParseDict({"x": 1}, job_pb2.JobRow().f_dsl)
    nan.fields["x"].number_value = float("nan")
    core.on(
        "QueryJob",
        lambda request, context: job_service_pb2.QueryJobResponse(data=[job_pb2.JobRow(f_dsl=nan)]),
    )
    with caplog.at_level(logging.ERROR, logger="gateway"):
        body = envelope(client.post("/v1/job/query", json={"job_id": "j"}))
    assert body["retcode"] == 100
    assert "request id" in body["retmsg"]
    assert "Traceback" not in body["retmsg"] and "NaN" not in body["retmsg"]
    request_id = body["retmsg"].rsplit(" ", 1)[1]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_body_too_large(fake_core_session: FakeCore) -> None:
    small = RunningGateway(fake_core_session.target, max_body_size=1024)
    try:
        reply = Client(small.url).post("/v1/job/submit", json={"job_dsl": {"x": "y" * 4096}})
        body = envelope(reply, status=413)
        assert body["retcode"] == 100
    finally:
        small.close()


# -- uploads (client streaming) ------------------------------------------------------------

UPLOAD_QUERY = {
    "file": "/data/breast_hetero_guest.csv",
    "head": "1",
    "partition": "4",
    "table_name": "breast_guest",
    "namespace": "experiment",
    "work_mode": "0",
    "drop": "1",
    "conf_path": "/tmp/upload.json",
    "verbose": "1",
}


def form_with_file(content: bytes, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field(
        "file", content, filename="breast_hetero_guest.csv", content_type="application/octet-stream"
    )
    return form


def test_multipart_upload_streams_the_exact_bytes_in_chunks(client: Client, core: FakeCore) -> None:
    content = os.urandom(5 * CHUNK_SIZE + 12345)
    core.on(
        "UploadData",
        lambda messages, context: data_service_pb2.UploadDataResponse(
            job_id="202401010000000000009",
            data=data_service_pb2.DataJob(table_name="breast_guest"),
        ),
    )
    body = envelope(
        client.post("/v1/data/upload", params=UPLOAD_QUERY, data=form_with_file(content))
    )
    assert body["retcode"] == 0
    assert body["jobId"] == "202401010000000000009"
    messages = core.received["UploadData"][0]
    first, chunks = messages[0], messages[1:]
    assert first == data_service_pb2.UploadDataRequest(
        file="/data/breast_hetero_guest.csv",
        head=1,
        partition=4,
        table_name="breast_guest",
        namespace="experiment",
        work_mode=0,
        drop=1,
    )
    assert len(chunks) >= 6
    assert all(
        0 < len(m.chunk) <= CHUNK_SIZE
        and m.ListFields()[0][0].name == "chunk"
        and len(m.ListFields()) == 1
        for m in chunks
    )
    assert b"".join(m.chunk for m in chunks) == content


def test_multipart_form_fields_are_settings(client: Client, core: FakeCore) -> None:
    reply = client.post(
        "/v1/model/import",
        data=form_with_file(
            b"PK-archive",
            model_id="arbiter-10000#guest-9999#host-10000#model",
            model_version="202401010000000000001",
            role="guest",
            party_id="9999",
            force="true",
        ),
    )
    assert envelope(reply)["retcode"] == 0
    first, *chunks = core.received["ImportModel"][0]
    assert first == model_service_pb2.ImportModelRequest(
        model_id="arbiter-10000#guest-9999#host-10000#model",
        model_version="202401010000000000001",
        role="guest",
        party_id=9999,
        force=True,
    )
    assert b"".join(m.chunk for m in chunks) == b"PK-archive"


def test_a_form_field_after_the_file_is_refused(client: Client) -> None:
    form = form_with_file(b"a,b\n1,2\n")
    form.add_field("table_name", "late")
    body = envelope(client.post("/v1/data/upload", params=UPLOAD_QUERY, data=form))
    assert body["retcode"] == 100
    assert "table_name" in body["retmsg"]


def test_a_wrong_type_in_the_upload_query(client: Client) -> None:
    body = envelope(
        client.post(
            "/v1/data/upload", params={**UPLOAD_QUERY, "head": "yes"}, data=form_with_file(b"a,b\n")
        )
    )
    assert body["retcode"] == 100
    assert "head" in body["retmsg"]


def test_json_upload_is_one_message(client: Client, core: FakeCore) -> None:
    conf = {
        "file": "/data/x.csv",
        "use_local_data": 0,
        "head": 1,
        "table_name": "t",
        "namespace": "n",
        "verbose": 1,
    }
    assert envelope(client.post("/v1/data/upload", json=conf))["retmsg"] == "1 messages"
    assert core.received["UploadData"][0] == [
        data_service_pb2.UploadDataRequest(
            file="/data/x.csv", use_local_data=0, head=1, table_name="t", namespace="n"
        )
    ]


def test_an_upload_refused_by_the_core(client: Client, core: FakeCore) -> None:
    core.on("UploadData", abort_with(grpc.StatusCode.ALREADY_EXISTS, "table exists", retcode=100))
    body = envelope(
        client.post(
            "/v1/data/upload", params=UPLOAD_QUERY, data=form_with_file(os.urandom(3 * CHUNK_SIZE))
        )
    )
    assert body == {"retcode": 100, "retmsg": "table exists"}


# -- downloads (server streaming) ----------------------------------------------------------


def test_download_is_the_file(client: Client) -> None:
    reply = client.get("/v1/job/log", json={"job_id": "j"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Content-Disposition"] == "attachment; filename=DownloadJobLog.tar.gz"
    assert reply.body == b"".join(DEFAULT_DOWNLOAD)


def test_a_large_download(client: Client, core: FakeCore) -> None:
    content = os.urandom(3 * CHUNK_SIZE + 7)

    def export(request: Any, context: grpc.ServicerContext) -> Any:
        yield model_service_pb2.ExportModelResponse(filename="model one.zip")
        for start in range(0, len(content), CHUNK_SIZE):
            yield model_service_pb2.ExportModelResponse(chunk=content[start : start + CHUNK_SIZE])

    core.on("ExportModel", export)
    reply = client.get(
        "/v1/model/export",
        json={"model_id": "m", "model_version": "v", "role": "guest", "party_id": 9999},
    )
    assert reply.status == 200
    assert reply.body == content
    assert 'filename="model one.zip"' in reply.headers["Content-Disposition"]


def test_a_download_error_before_the_first_chunk(client: Client, core: FakeCore) -> None:
    core.on("DownloadJobLog", abort_with(grpc.StatusCode.NOT_FOUND, "no log of job j", 210))
    body = envelope(client.get("/v1/job/log", json={"job_id": "j"}), status=404)
    assert body == {"retcode": 210, "retmsg": "no log of job j"}


def test_a_download_request_that_does_not_parse(client: Client, core: FakeCore) -> None:
    reply = client.get(
        "/v1/tracking/component/output/data/download",
        json={"job_id": "j", "component_name": "c", "limit": "all"},
    )
    body = envelope(reply, status=400)
    assert body["retcode"] == 100
    assert "limit" in body["retmsg"]


def test_a_download_broken_after_the_first_chunk(client: Client, core: FakeCore) -> None:
    def broken(request: Any, context: grpc.ServicerContext) -> Any:
        yield job_service_pb2.DownloadJobLogResponse(filename="log.tar.gz", chunk=b"x" * 1000)
        context.abort(grpc.StatusCode.INTERNAL, "disk gone")

    core.on("DownloadJobLog", broken)
    # The status line went out with the first chunk: the client must see a broken transfer.
    with pytest.raises(aiohttp.ClientPayloadError):
        client.get("/v1/job/log", json={"job_id": "j"})


@pytest.mark.parametrize(
    ("part", "error"),
    [
        (b"", "starting boundary"),
        (b"--B\r\nno colon in this header\r\n\r\nx\r\n--B--\r\n", "Invalid HTTP header"),
        (
            b'--B\r\nContent-Disposition: form-data; name="table_name"\r\n\r\n\xff\r\n--B--\r\n',
            "utf-8",
        ),
        (
            b'--B\r\nContent-Disposition: form-data; name="table_name"\r\n'
            b"Content-Type: text/plain; charset=nope\r\n\r\nx\r\n--B--\r\n",
            "nope",
        ),
        (b'--B\r\nContent-Disposition: form-data; name="table_name"\r\n\r\nx', "EOF"),
    ],
)
def test_a_malformed_multipart_body_is_refused(client: Client, part: bytes, error: str) -> None:
    # Found by the schemathesis run (tests/fuzz): these were internal errors with a traceback.
    reply = client.post(
        "/v1/data/upload",
        params=UPLOAD_QUERY,
        data=part,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )
    body = envelope(reply)
    assert body["retcode"] == 100
    assert body["retmsg"].startswith("bad multipart body: ") and error in body["retmsg"], body
