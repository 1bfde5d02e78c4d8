"""HeteroFastSecureBoost (FATE's `HeteroFastSecureBoost`): HeteroSecureBoost whose trees, or
levels, are built from one party's features at a time, so that fewer of them need encryption.

FATE 1.5's HeteroFastSecureBoostParam: `work_mode` `mix` (the default: by turns, each party
builds `tree_num_per_party` whole trees from its own features; a guest's tree needs no
exchange at all, a host's no guest feature) or `layered` (one host: the first `host_depth`
levels of every tree from the host's features, the next `guest_depth` from the guest's). Since
FATE 1.7 HeteroSecureBoost does the same with `boosting_strategy`, which this module accepts
too. The protocol, the trees and the outputs are HeteroSecureBoost's
(`hetero_secureboost.py`); the model's `tree_plan` records who built each tree.
"""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS
from fateflow_grpc.components.tree import hetero_secureboost
from fateflow_grpc.domain.catalog import ModuleInfo

MODULE = "HeteroFastSecureBoost"
# FATE 1.5's defaults for the fast modes (1.11's HeteroSecureBoostParam keeps the rest).
DEFAULTS: dict[str, Any] = {
    **hetero_secureboost.DEFAULTS,
    "work_mode": "mix",
    "guest_depth": 1,
    "host_depth": 1,
}


class HeteroFastSecureBoost:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: hetero_secureboost.validated(params, MODULE, DEFAULTS),
    )

    def run(self, context: TaskContext) -> None:
        hetero_secureboost.run_component(context, MODULE, DEFAULTS)
