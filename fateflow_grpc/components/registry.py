"""Every component a node can run. Imported once by the node's forkserver, so a task's worker
process starts with all of them loaded."""

from __future__ import annotations

from typing import Protocol

from fateflow_grpc.components.cluster.hetero_kmeans import HeteroKmeans
from fateflow_grpc.components.evaluation.evaluation import Evaluation
from fateflow_grpc.components.feature.column_expand import ColumnExpand
from fateflow_grpc.components.feature.hetero_binning import HeteroFeatureBinning
from fateflow_grpc.components.feature.homo_binning import HomoFeatureBinning
from fateflow_grpc.components.feature.homo_onehot import HomoOneHotEncoder
from fateflow_grpc.components.feature.imputation import FeatureImputation
from fateflow_grpc.components.feature.label_transform import LabelTransform
from fateflow_grpc.components.feature.onehot import OneHotEncoder
from fateflow_grpc.components.feature.sample_weight import SampleWeight
from fateflow_grpc.components.feature.scale import FeatureScale
from fateflow_grpc.components.feature.selection import HeteroFeatureSelection
from fateflow_grpc.components.intersect.cache_loader import CacheLoader
from fateflow_grpc.components.intersect.intersection import Intersection
from fateflow_grpc.components.io.data_transform import DataTransform
from fateflow_grpc.components.io.model_loader import ModelLoader
from fateflow_grpc.components.io.reader import Reader
from fateflow_grpc.components.io.union import Union
from fateflow_grpc.components.linear.hetero_linr import HeteroLinR
from fateflow_grpc.components.linear.hetero_lr import HeteroLR
from fateflow_grpc.components.linear.hetero_poisson import HeteroPoisson
from fateflow_grpc.components.linear.hetero_sshe_linr import HeteroSSHELinR
from fateflow_grpc.components.linear.hetero_sshe_lr import HeteroSSHELR
from fateflow_grpc.components.linear.homo_lr import HomoLR
from fateflow_grpc.components.linear.local_baseline import LocalBaseline
from fateflow_grpc.components.linear.positive_unlabeled import PositiveUnlabeled
from fateflow_grpc.components.retrieval.secure_information_retrieval import (
    SecureInformationRetrieval,
)
from fateflow_grpc.components.sampling.federated_sample import FederatedSample
from fateflow_grpc.components.sampling.hetero_data_split import HeteroDataSplit
from fateflow_grpc.components.sampling.homo_data_split import HomoDataSplit
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.testing import Noop
from fateflow_grpc.components.statistics.data_statistics import DataStatistics
from fateflow_grpc.components.statistics.feldman_verifiable_sum import FeldmanVerifiableSum
from fateflow_grpc.components.statistics.pearson import HeteroPearson
from fateflow_grpc.components.statistics.psi import PSI
from fateflow_grpc.components.statistics.scorecard import Scorecard
from fateflow_grpc.components.tree.hetero_fast_secureboost import HeteroFastSecureBoost
from fateflow_grpc.components.tree.hetero_secureboost import HeteroSecureBoost
from fateflow_grpc.components.tree.homo_secureboost import HomoSecureBoost
from fateflow_grpc.domain.catalog import Catalog, ModuleInfo


class Component(Protocol):
    info: ModuleInfo

    def run(self, context: TaskContext) -> None: ...


COMPONENTS: tuple[Component, ...] = (
    Reader(),
    DataTransform(),
    Intersection(),
    CacheLoader(),
    HeteroLR(),
    HeteroLinR(),
    HeteroPoisson(),
    HomoLR(),
    HeteroSecureBoost(),
    HeteroFastSecureBoost(),
    HomoSecureBoost(),
    Evaluation(),
    HeteroFeatureBinning(),
    HomoFeatureBinning(),
    HeteroFeatureSelection(),
    DataStatistics(),
    PSI(),
    Scorecard(),
    FeatureScale(),
    OneHotEncoder(),
    HomoOneHotEncoder(),
    FeatureImputation(),
    ColumnExpand(),
    LabelTransform(),
    SampleWeight(),
    Union(),
    HeteroDataSplit(),
    HomoDataSplit(),
    FederatedSample(),
    LocalBaseline(),
    PositiveUnlabeled(),
    HeteroSSHELR(),
    HeteroSSHELinR(),
    HeteroPearson(),
    HeteroKmeans(),
    FeldmanVerifiableSum(),
    SecureInformationRetrieval(),
    ModelLoader(),
    Noop(),
)

#: Modules only nodes configured with `test_components: true` accept.
TESTING = frozenset({"Noop"})


def catalog(*, with_testing: bool) -> Catalog:
    return Catalog(c.info for c in COMPONENTS if with_testing or c.info.name not in TESTING)


def component(module: str) -> Component:
    for candidate in COMPONENTS:
        if module == candidate.info.name or module in candidate.info.aliases:
            return candidate
    raise KeyError(f"no component implements module {module!r}")
