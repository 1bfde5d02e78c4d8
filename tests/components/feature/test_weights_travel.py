"""Sample weights travel with the data: FATE's example chain SampleWeight -> HeteroFeatureBinning
-> HeteroFeatureSelection -> FeatureScale leaves HeteroLR the guest's class weights."""

from __future__ import annotations

import numpy as np
import pytest

from fateflow_grpc.components.feature.hetero_binning import HeteroFeatureBinning
from fateflow_grpc.components.feature.sample_weight import SampleWeight
from fateflow_grpc.components.feature.scale import FeatureScale
from fateflow_grpc.components.feature.selection import HeteroFeatureSelection
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ROLES = {"guest": [9999], "host": [10000]}
#: FATE's example's filter.
SELECTION = {"filter_methods": ["iv_value_thres"], "iv_value_param": {"value_threshold": 0.1}}


@pytest.mark.slow  # the hosts' IV: a Paillier encryption per row
def test_the_feature_engineering_chain_keeps_the_weights(stores: Stores) -> None:
    guest, host = breast("breast_hetero_guest"), breast("breast_hetero_host")
    stores.put(GUEST, "intersection_0.data", guest.to_table())
    stores.put(HOST, "intersection_0.data", host.to_table())
    steps: list[tuple[object, str, dict[PartyRole, dict], dict]] = [
        (
            SampleWeight(),
            "sample_weight_0",
            {GUEST: {"class_weight": {"0": 1, "1": 2}}, HOST: {}},
            {"data": {"data": ["intersection_0.data"]}},
        ),
        (
            HeteroFeatureBinning(),
            "hetero_feature_binning_0",
            {party: {"method": "quantile"} for party in (GUEST, HOST)},
            {"data": {"data": ["sample_weight_0.data"]}},
        ),
        (
            HeteroFeatureSelection(),
            "hetero_feature_selection_0",
            {party: SELECTION for party in (GUEST, HOST)},
            {
                "data": {"data": ["hetero_feature_binning_0.data"]},
                "isometric": ["hetero_feature_binning_0.model"],
            },
        ),
        (
            FeatureScale(),
            "feature_scale_0",
            {party: {"method": "standard_scale"} for party in (GUEST, HOST)},
            {"data": {"data": ["hetero_feature_selection_0.data"]}},
        ),
    ]
    for module, name, params, wiring in steps:
        stores.run_parties(module, name, params, ROLES, **wiring)  # type: ignore[arg-type]
    out = Dataset.from_table(stores.output(GUEST, "feature_scale_0"))
    assert np.array_equal(out.weights, np.where(guest.labels == 1, 2.0, 1.0))
    assert np.array_equal(out.labels, guest.labels) and 0 < len(out.header) <= len(guest.header)
    assert Dataset.from_table(stores.output(HOST, "feature_scale_0")).weights is None
