"""Reader (DSL v2): the table the conf names for this party becomes the component's output.

FATE-Flow's ReaderParam (1.5 to 1.11): `table`, `{name, namespace}`. (FATE-Flow 1.11 also takes
`{job_id, component_name, data_name}`, another job's output; the job's conf parsing refuses it
by saying what a table must be.) As FATE-Flow 1.11's Reader, it records what it read in the
metric `reader_namespace`/`reader_name` (meta `data_info`: the table, its count, partitions,
engine, and up to five distinct values of each column among its first rows).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo

#: The rows `table_info` shows values of, as FATE-Flow shows those of its stored preview.
PREVIEW_ROWS = 100


class Reader:
    info = ModuleInfo(
        name="Reader",
        roles=frozenset({"guest", "host"}),
        parameters={"table": {}},
        need_deploy=False,
    )

    def run(self, context: TaskContext) -> None:
        table = context.conf_table("table")
        context.log.info("read %s rows, columns %s", table.num_rows, table.column_names)
        context.save_output_data(table)
        name, namespace = context.wiring.tables["table"]
        meta = context.tables.describe(namespace, name)
        context.log_metric(
            "reader_namespace",
            "reader_name",
            [],
            {
                "name": "reader",
                "metric_type": "data_info",
                **data_info(
                    table,
                    name,
                    namespace,
                    partitions=meta.f_partitions if meta is not None else 0,
                    engine=meta.f_engine if meta is not None else "",
                ),
            },
        )


def data_info(
    table: pa.Table, name: str, namespace: str, *, partitions: int, engine: str
) -> dict[str, Any]:
    """FATE-Flow 1.11's `data_info` of a table read (we keep no anonymous header)."""
    preview = table.slice(0, PREVIEW_ROWS)
    table_info: dict[str, str] = {}
    # By position: the id's name may repeat a feature's (FATE's svmlight tables); the id's
    # preview is kept.
    for index, column in enumerate(table.column_names):
        values = dict.fromkeys(str(v) for v in preview.column(index).to_pylist())
        table_info.setdefault(column, ",".join(list(values)[:5]))
    return {
        "table_name": name,
        "namespace": namespace,
        "table_info": table_info,
        "anonymous_info": {},
        "attribute_info": {},
        "partitions": partitions,
        "storage_engine": engine,
        "count": table.num_rows,
    }
