"""HomoDataSplit (FATE's `HomoDataSplit`): each party splits its own rows into train, validate
and test sets (`data_split.py`), with the same parameters; nothing crosses."""

from __future__ import annotations

from fateflow_grpc.components.sampling import data_split
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "HomoDataSplit"


class HomoDataSplit:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=data_split.DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: data_split.validate_parameters(MODULE, params),
    )

    def run(self, context: TaskContext) -> None:
        params = data_split.validate_parameters(MODULE, context.parameters)
        tables = context.input_tables("data")
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(tables[0])
        labels = None if data.labels is None else data.labels.tolist()
        split = data_split.split_ids([str(v) for v in data.ids], labels, params)
        found = data_split.metas(split, params, with_labels=labels is not None)
        data_split.save(context, data_split.take_sets(data, split.ids), found)
