"""NodeService over a real core: versions, and the parties a node has routes to."""

from __future__ import annotations

import platform

import grpc
import pytest

from fateflow.v1 import node_service_pb2 as pb
from fateflow.v1 import node_service_pb2_grpc
from fateflow_grpc.config import NodeConfig, Route
from fateflow_grpc.version import version
from tests.services.errors import expect_error


@pytest.fixture
def node_config(node_config: NodeConfig) -> NodeConfig:
    # A route to a party whose proxy is not there, and no local proxy either: every ask fails.
    from dataclasses import replace

    return replace(node_config, routes={10000: Route("127.0.0.1:9")})


@pytest.fixture
def stub(core_channel: grpc.Channel) -> node_service_pb2_grpc.NodeServiceStub:
    return node_service_pb2_grpc.NodeServiceStub(core_channel)


def test_versions_as_fate_flow_answers_them(stub: node_service_pb2_grpc.NodeServiceStub) -> None:
    every = stub.GetVersion(pb.GetVersionRequest()).data
    assert dict(every) == {
        "fateflow-grpc": version(),
        "PYTHON": platform.python_version(),
        "API": "v1",
    }
    one = stub.GetVersion(pb.GetVersionRequest(module="PYTHON")).data
    assert dict(one) == {"PYTHON": platform.python_version(), "API": "v1"}
    message, _ = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: stub.GetVersion(pb.GetVersionRequest(module="FATEBoard")),
    )
    assert "'FATEBoard'" in message and "fateflow-grpc" in message


def test_a_party_that_does_not_answer_is_listed_unreachable(
    stub: node_service_pb2_grpc.NodeServiceStub,
) -> None:
    node = stub.ListParties(pb.ListPartiesRequest()).data
    assert (node.party_id, node.version) == (9999, version())
    (link,) = node.parties
    assert (link.party_id, link.address, link.tls, link.proof) == (
        10000,
        "127.0.0.1:9",
        "plaintext",
        "none",
    )
    assert not link.reachable
    assert "party 10000 could not be reached" in link.error
    assert not node.HasField("default_route")
