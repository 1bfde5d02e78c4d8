"""Reader (DSL v2): the table the conf names for this party becomes the component's output."""

from __future__ import annotations

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo


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
