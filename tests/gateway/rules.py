"""The http rules as the generated code declares them: what the gateway's routes must equal."""

from __future__ import annotations

from typing import NamedTuple

from google.api import annotations_pb2

from tests.gateway.fake_core import SERVICES


class Rule(NamedTuple):
    verb: str
    path: str
    rpc: str
    client_streaming: bool
    server_streaming: bool


def expected_rules() -> list[Rule]:
    rules = []
    for module, _, name in SERVICES:
        service = module.DESCRIPTOR.services_by_name[name]
        for method in service.methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            verb = rule.WhichOneof("pattern")
            rules.append(
                Rule(
                    verb.upper(),
                    getattr(rule, verb),
                    f"/{service.full_name}/{method.name}",
                    method.client_streaming,
                    method.server_streaming,
                )
            )
    return sorted(rules)
