"""What a party checks of its tables when a job is submitted (participant._check_tables)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from fateflow_grpc.components.registry import catalog
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.domain.participant import _check_tables
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.domain.fate_examples import any_route, fate_json

CATALOG = catalog(with_testing=False)
HOST = PartyRole("host", 10000)
EXAMPLE = "v1.11.4:examples/dsl/v2/hetero_feature_binning/hetero_binning_multiclass"


class Store:
    """Tables without a label column, as FATE's vehicle_scale_hetero_host."""

    def describe(self, namespace: str, name: str) -> Any:
        header = ",".join(f"x{i}" for i in range(9))
        return SimpleNamespace(f_schema={"header": header}, f_id_delimiter=",", f_count=10)


def test_a_data_transform_given_a_model_is_not_held_to_its_own_label() -> None:
    # FATE's example asks the host's data_transform_1 for a label, but data_transform_1 reads
    # with data_transform_0's model, whose with_label is false.
    dsl, conf = fate_json(f"{EXAMPLE}_dsl.json"), fate_json(f"{EXAMPLE}_conf.json")
    spec = parse_job(dsl, conf, CATALOG, has_route=any_route)
    shapes = _check_tables(Store(), spec, HOST, CATALOG)  # type: ignore[arg-type]
    assert {shape.name for shape in shapes} == {"experiment.vehicle_scale_hetero_host"}


def test_a_data_transform_without_a_model_needs_its_label() -> None:
    dsl, conf = fate_json(f"{EXAMPLE}_dsl.json"), fate_json(f"{EXAMPLE}_conf.json")
    conf["component_parameters"]["role"]["host"]["0"]["data_transform_0"]["with_label"] = True
    spec = parse_job(dsl, conf, CATALOG, has_route=any_route)
    with pytest.raises(InvalidArgument, match="data_transform_0 at host 10000: column 'y'"):
        _check_tables(Store(), spec, HOST, CATALOG)  # type: ignore[arg-type]
