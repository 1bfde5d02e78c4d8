"""HeteroDataSplit (FATE's `HeteroDataSplit`): the guest splits the shared ids into train,
validate and test sets (`data_split.py`) and tells each host which ids went where, so every
party's sets hold the same ids.

    split = split_guest(transport, ids, labels, params, parties)   # the guest
    sets = split_host(transport, parties)                          # each host: the ids per set

The guest sends each host the three id lists (`id_train`, `id_validate`, `id_test`, FATE's
transfer variables). A host learns which of the ids it shares with the guest went to which
set, as in FATE; a stratified split puts every class into each set in the same proportion, so
that says nothing of a row's label. A host's rows the guest does not name (ids it does not
share) are dropped; an id the guest names that the host lacks is an error: intersect first.
Only the guest reports the label counts of the sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fateflow_grpc.components.sampling import data_split
from fateflow_grpc.components.sampling.data_split import SETS, Split
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HeteroDataSplit"
_VARIABLES = "DataSplitTransferVariable"
ID_VARIABLES = {kind: f"{_VARIABLES}.id_{kind}" for kind in SETS}
TAG = "fit"


def split_guest(
    transport: Transport,
    ids: Sequence[str],
    labels: Sequence[float] | None,
    params: Mapping[str, Any],
    parties: Participants,
) -> Split:
    split = data_split.split_ids(ids, labels, params)
    for kind in SETS:
        transport.remote(split.ids[kind], ID_VARIABLES[kind], TAG, list(parties.hosts))
    return split


def split_host(
    transport: Transport, parties: Participants, *, timeout: float = GET_TIMEOUT_S
) -> dict[str, list[str]]:
    sets = {}
    for kind in SETS:
        [ids] = transport.get(ID_VARIABLES[kind], TAG, [parties.guest], timeout)
        if not isinstance(ids, list) or not all(isinstance(v, str) for v in ids):
            raise FederatedError(f"the guest sent {kind} ids that are not a list of ids")
        sets[kind] = ids
    return sets


class HeteroDataSplit:
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
        parties = Participants.from_roles(context.roles)
        ids = [str(value) for value in data.ids]
        if context.task.role == "guest":
            labels = None if data.labels is None else data.labels.tolist()
            split = split_guest(context.federation, ids, labels, params, parties)
            found = data_split.metas(split, params, with_labels=True)
        else:
            split = Split(split_host(context.federation, parties), {})
            named = {value for members in split.ids.values() for value in members}
            missing = named - set(ids)
            if missing:
                raise InvalidArgument(
                    f"{MODULE}: the guest split {len(missing)} ids this host does not have "
                    f"(such as {min(missing)!r}); intersect the data first",
                    missing=len(missing),
                )
            if len(named) < len(ids):
                context.log.info(
                    "%s rows the guest does not have are left out", len(ids) - len(named)
                )
            found = data_split.metas(split, params, with_labels=False)
        data_split.save(context, data_split.take_sets(data, split.ids), found)
