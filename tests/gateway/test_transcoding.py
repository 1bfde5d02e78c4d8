"""JSON <-> protobuf and the envelope, without a network."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.message import Message
from multidict import MultiDict, MultiDictProxy

from fateflow.v1 import (
    data_service_pb2,
    job_pb2,
    job_service_pb2,
    model_service_pb2,
    table_service_pb2,
    tracking_service_pb2,
)
from gateway.routes import Route
from gateway.transcoding import Codec, RequestFailed, load_json_object


def codec(service: Any, method: str, verb: str = "POST") -> Codec:
    """The codec of one RPC, with the body rules of our protos (streams carry `chunk`)."""
    descriptor = service.methods_by_name[method]
    return Codec(
        Route(
            verb=verb,
            path="/v1/test",
            rpc=f"/{service.full_name}/{method}",
            client_streaming=descriptor.client_streaming,
            server_streaming=descriptor.server_streaming,
            body="chunk" if descriptor.client_streaming else "*",
            response_body="chunk" if descriptor.server_streaming else "",
            request_class=message_factory.GetMessageClass(descriptor.input_type),
            response_class=message_factory.GetMessageClass(descriptor.output_type),
        )
    )


JOBS = job_service_pb2.DESCRIPTOR.services_by_name["JobService"]
DATA = data_service_pb2.DESCRIPTOR.services_by_name["DataService"]
TRACKING = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]
MODELS = model_service_pb2.DESCRIPTOR.services_by_name["ModelService"]
TABLES = table_service_pb2.DESCRIPTOR.services_by_name["TableService"]


def query(**values: str | list[str]) -> MultiDictProxy[str]:
    pairs = [(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
    return MultiDictProxy(MultiDict(pairs))


def struct(value: dict[str, Any]) -> Any:
    return json_format.ParseDict(value, job_pb2.JobRow().f_roles)


class TestRequest:
    def test_party_id_as_string_or_number(self) -> None:
        c = codec(JOBS, "QueryJob")
        assert c.request({"party_id": "9999"}).party_id == 9999
        assert c.request({"party_id": 9999}).party_id == 9999

    def test_unknown_keys_are_ignored(self) -> None:
        request = codec(JOBS, "QueryJob").request({"job_id": "j", "conf_path": "/c", "x": {"y": 1}})
        assert request == job_service_pb2.QueryJobRequest(job_id="j")

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"party_id": "x"}, "party_id"),
            ({"party_id": 1.5}, "party_id"),
            ({"job_id": 5}, "job_id"),
        ],
    )
    def test_a_wrong_type_names_the_field(self, fields: dict[str, Any], named: str) -> None:
        with pytest.raises(RequestFailed) as failure:
            codec(JOBS, "QueryJob").request(fields)
        assert failure.value.retcode == 100
        assert named in failure.value.message

    def test_query_parameters_join_the_body_which_wins(self) -> None:
        c = codec(DATA, "UploadData")
        fields = c.with_query({"table_name": "body"}, query(table_name="query", head="1"))
        assert c.request(fields) == data_service_pb2.UploadDataRequest(table_name="body", head=1)

    def test_query_booleans_and_lists(self) -> None:
        c = codec(TRACKING, "DownloadComponentOutputData", verb="GET")
        assert c.request(c.with_query({}, query(head="false"))).HasField("head")
        assert not c.request(c.with_query({}, query(head="false"))).head
        assert c.request(c.with_query({}, query(head="true"))).head
        load = codec(MODELS, "LoadModel")
        assert list(load.request(load.with_query({}, query(servings=["a:1", "b:2"]))).servings) == [
            "a:1",
            "b:2",
        ]

    def test_upload_chunks_carry_only_the_bytes(self) -> None:
        c = codec(DATA, "UploadData")
        assert c.upload_field == "chunk"
        assert c.upload_chunk(b"abc") == data_service_pb2.UploadDataRequest(chunk=b"abc")


class TestJsonBody:
    def test_empty_body_is_an_empty_object(self) -> None:
        assert load_json_object(b"") == {}
        assert load_json_object(b"  \n") == {}

    @pytest.mark.parametrize("raw", [b"{bad", b"\xff\xfe", b'{"a": 1} x'])
    def test_malformed_json(self, raw: bytes) -> None:
        with pytest.raises(RequestFailed, match="not valid JSON"):
            load_json_object(raw)

    @pytest.mark.parametrize(
        ("raw", "kind"),
        [(b"[1]", "array"), (b'"s"', "string"), (b"3", "number"), (b"null", "null")],
    )
    def test_a_body_that_is_not_an_object(self, raw: bytes, kind: str) -> None:
        with pytest.raises(RequestFailed, match=f"not a JSON {kind}"):
            load_json_object(raw)


class TestEnvelope:
    def envelope(self, service: Any, method: str, response: Message) -> dict[str, Any]:
        return codec(service, method).envelope(response)

    def test_success_defaults(self) -> None:
        env = self.envelope(JOBS, "QueryJob", job_service_pb2.QueryJobResponse())
        assert env == {"retcode": 0, "retmsg": "success", "data": []}

    def test_retmsg_and_job_id(self) -> None:
        response = job_service_pb2.SubmitJobResponse(
            job_id="202401010000000000001",
            retmsg="submitted",
            data=job_service_pb2.SubmittedJob(
                job_id="202401010000000000001",
                model_info=job_pb2.ModelInfo(model_id="m", model_version="v"),
            ),
        )
        env = self.envelope(JOBS, "SubmitJob", response)
        assert env["jobId"] == "202401010000000000001"
        assert env["retmsg"] == "submitted"
        assert env["data"]["model_info"] == {"model_id": "m", "model_version": "v"}
        assert "job_id" not in env

    def test_unset_message_data_is_left_out(self) -> None:
        env = self.envelope(JOBS, "GetJobConfig", job_service_pb2.GetJobConfigResponse())
        assert env == {"retcode": 0, "retmsg": "success"}

    def test_int64_and_struct_numbers_are_json_integers(self) -> None:
        row = job_pb2.JobRow(
            f_job_id="j",
            f_create_time=1_700_000_000_123,
            f_start_time=2**62,
            f_work_mode=1,
            f_roles=struct({"guest": [9999], "host": [10000, 10001]}),
            f_runtime_conf=struct({"alpha": 0.5, "big": 1e300, "nested": [{"n": 3}]}),
        )
        env = self.envelope(JOBS, "QueryJob", job_service_pb2.QueryJobResponse(data=[row]))
        data = env["data"][0]
        assert data["f_create_time"] == 1_700_000_000_123
        assert data["f_start_time"] == 2**62
        assert type(data["f_update_time"]) is int
        assert "f_end_time" not in data  # optional and unset
        assert data["f_roles"] == {"guest": [9999], "host": [10000, 10001]}
        assert all(type(p) is int for p in data["f_roles"]["host"])
        assert data["f_runtime_conf"]["alpha"] == 0.5
        assert type(data["f_runtime_conf"]["big"]) is float  # too large to be exact
        assert type(data["f_runtime_conf"]["nested"][0]["n"]) is int

    def test_scalar_int64_data(self) -> None:
        env = self.envelope(
            TRACKING,
            "DeleteComponentMetrics",
            tracking_service_pb2.DeleteComponentMetricsResponse(data=12),
        )
        assert env["data"] == 12

    def test_nested_int64(self) -> None:
        response = table_service_pb2.GetTableInfoResponse(
            data=table_service_pb2.TableInfo(count=569, create_time=1_700_000_000_000)
        )
        env = self.envelope(TABLES, "GetTableInfo", response)
        assert env["data"]["count"] == 569
        assert env["data"]["create_time"] == 1_700_000_000_000
