"""The public RPCs carry exactly FATE-Flow's routes, one google.api.http rule each."""

from google.api import annotations_pb2

from fateflow.v1 import (
    data_service_pb2,
    job_service_pb2,
    model_service_pb2,
    node_service_pb2,
    table_service_pb2,
    tracking_service_pb2,
)

# The 22 routes of the FATE-Flow reference, then the ones FATE's client 1.5 needs (contract §5).
FATE_ROUTES = {
    ("post", "/v1/data/upload"),
    ("post", "/v1/data/download"),
    ("post", "/v1/data/upload/history"),
    ("post", "/v1/job/submit"),
    ("post", "/v1/job/stop"),
    ("post", "/v1/job/query"),
    ("post", "/v1/job/update"),
    ("post", "/v1/job/config"),
    ("post", "/v1/job/task/query"),
    ("post", "/v1/tracking/job/data_view"),
    ("post", "/v1/tracking/component/metric/all"),
    ("post", "/v1/tracking/component/metrics"),
    ("post", "/v1/tracking/component/metric_data"),
    ("post", "/v1/tracking/component/parameters"),
    ("post", "/v1/tracking/component/output/model"),
    ("post", "/v1/tracking/component/output/data"),
    ("post", "/v1/pipeline/dag/dependency"),
    ("post", "/v1/model/load"),
    ("post", "/v1/model/bind"),
    ("post", "/v1/model/transfer"),
    ("post", "/v1/table/table_info"),
    ("post", "/v1/table/delete"),
    # fate-client 1.5
    ("post", "/v1/job/data/view/query"),
    ("post", "/v1/job/dsl/generate"),
    ("get", "/v1/job/log"),
    ("post", "/v1/job/list/job"),
    ("post", "/v1/job/list/task"),
    ("post", "/v1/job/clean"),
    ("post", "/v1/tracking/component/list"),
    ("post", "/v1/tracking/component/output/data/table"),
    ("get", "/v1/tracking/component/output/data/download"),
    ("post", "/v1/tracking/component/summary/download"),
    ("post", "/v1/tracking/component/metric/delete"),
    ("post", "/v1/model/store"),
    ("post", "/v1/model/restore"),
    ("get", "/v1/model/export"),
    ("post", "/v1/model/import"),
    ("post", "/v1/model/deploy"),
    ("post", "/v1/model/get/predict/dsl"),
    ("post", "/v1/model/get/predict/conf"),
    # FATE 1.6+
    ("post", "/v1/job/rerun"),
    # later FATE-Flow 1.x, for the board: logs read a range of lines at a time, and versions
    ("post", "/v1/log/size"),
    ("post", "/v1/log/cat"),
    ("post", "/v1/version/get"),
    # ours, for the board: the parties a node has routes to, and whether they answer
    ("post", "/v1/node/parties"),
}

SERVICES = [
    job_service_pb2.DESCRIPTOR.services_by_name["JobService"],
    data_service_pb2.DESCRIPTOR.services_by_name["DataService"],
    tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
    model_service_pb2.DESCRIPTOR.services_by_name["ModelService"],
    table_service_pb2.DESCRIPTOR.services_by_name["TableService"],
    node_service_pb2.DESCRIPTOR.services_by_name["NodeService"],
]


def http_rules() -> list[tuple[str, str]]:
    routes = []
    for service in SERVICES:
        for method in service.methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            assert not rule.additional_bindings, method.full_name
            verb = rule.WhichOneof("pattern")
            assert verb is not None, f"{method.full_name} has no google.api.http rule"
            routes.append((verb, getattr(rule, verb)))
    return routes


def test_every_fate_route_has_exactly_one_rpc() -> None:
    routes = http_rules()
    assert len(routes) == len(set(routes)), "two RPCs share a route"
    assert set(routes) == FATE_ROUTES


def test_streaming_rpcs_name_their_body_field() -> None:
    for service in SERVICES:
        for method in service.methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            if method.client_streaming:
                assert rule.body == "chunk", method.full_name
                assert method.input_type.fields_by_name["chunk"].type == 12  # bytes
            else:
                assert rule.body == "*", method.full_name
            if method.server_streaming:
                assert rule.response_body == "chunk", method.full_name
                assert set(method.output_type.fields_by_name) == {"filename", "chunk"}
