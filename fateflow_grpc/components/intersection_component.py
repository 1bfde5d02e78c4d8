"""Intersection: the rows whose ids every party has, found without showing the others' ids.

The algorithm (RSA blind signatures, or salted hashes) is `intersection.py`; this module feeds
it the ids of the component's data input and writes the intersected rows, in this party's own
order, as the component's output, with FATE's `train/intersection` metric.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components import intersection
from fateflow_grpc.components.context import TaskContext
from fateflow_grpc.components.transport import Participants
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument


def _validate(params: dict[str, Any]) -> dict[str, Any]:
    intersection.validate_parameters(params)
    return params


class Intersection:
    info = ModuleInfo(
        name="Intersection",
        roles=frozenset({"guest", "host"}),
        parameters=intersection.DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=_validate,
    )

    def run(self, context: TaskContext) -> None:
        params = intersection.validate_parameters(context.parameters)
        tables = context.input_tables("data")
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        (table,) = tables
        ids = table.column(0).cast(pa.string()).to_pylist()
        parties = Participants.from_roles(context.roles)
        if context.task.role == "guest":
            common = intersection.intersect_guest(context.federation, ids, params, parties)
        else:
            common = intersection.intersect_host(context.federation, ids, params, parties) or []
        kept = table.filter(
            pc.is_in(table.column(0).cast(pa.string()), value_set=pa.array(common, pa.string()))
        )
        metrics = intersection.intersection_metrics(common, len(ids), params)
        context.log_metric(
            metrics.namespace,
            metrics.name,
            metrics.data(),
            {"name": metrics.name, "metric_type": metrics.metric_type, **metrics.extra_metas()},
        )
        context.save_summary({"intersect_num": metrics.count, "intersect_rate": metrics.rate})
        context.log.info("%s of %s ids are common", metrics.count, len(ids))
        context.save_output_data(kept.replace_schema_metadata(table.schema.metadata))
