"""The hetero LR job of reference §3 (DSL v1/v2, conf v1/v2) and a small catalog to parse it;
FATE's own example files, read from FATE's repository (`fate_json`).

Builders return fresh copies, so a test may change what it gets.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fateflow_grpc.domain.catalog import Catalog, ModuleInfo

GUEST_HOST = frozenset({"guest", "host"})
ALL_ROLES = frozenset({"guest", "host", "arbiter"})

CATALOG = Catalog(
    [
        ModuleInfo("Reader", GUEST_HOST, {"table": {}}, need_deploy=False),
        ModuleInfo(
            "DataTransform",
            GUEST_HOST,
            {
                "with_label": False,
                "label_name": "y",
                "label_type": "int",
                "output_format": "dense",
                "need_run": True,
            },
            aliases=frozenset({"DataIO"}),
            input_kinds=frozenset({"data"}),
        ),
        ModuleInfo(
            "Intersection",
            GUEST_HOST,
            {"intersect_method": "raw", "sync_intersect_ids": True, "only_output_key": False},
        ),
        ModuleInfo(
            "HeteroLR",
            ALL_ROLES,
            {
                "penalty": "L2",
                "optimizer": "sgd",
                "alpha": 1.0,
                "learning_rate": 0.01,
                "max_iter": 100,
                "batch_size": -1,
                "early_stop": "diff",
                "tol": 0.0001,
                "init_param": {"init_method": "random_uniform", "fit_intercept": True},
                "need_run": True,
            },
            input_kinds=frozenset({"train_data", "validate_data", "test_data"}),
        ),
        ModuleInfo(
            "Evaluation",
            GUEST_HOST,
            {"eval_type": "binary", "pos_label": 1, "need_run": True},
            need_deploy=False,
        ),
    ]
)

_DSL_V1: dict[str, Any] = {
    "components": {
        "dataio_0": {
            "module": "DataIO",
            "input": {"data": {"data": ["args.train_data"]}},
            "output": {"data": ["train"], "model": ["dataio"]},
            "need_deploy": True,
        },
        "intersection_0": {
            "module": "Intersection",
            "input": {"data": {"data": ["dataio_0.train"]}},
            "output": {"data": ["train"]},
        },
        "hetero_lr_0": {
            "module": "HeteroLR",
            "input": {"data": {"train_data": ["intersection_0.train"]}},
            "output": {"data": ["train"], "model": ["hetero_lr"]},
        },
        "evaluation_0": {
            "module": "Evaluation",
            "input": {"data": {"data": ["hetero_lr_0.train"]}},
            "output": {"data": ["evaluate"]},
        },
    }
}

_CONF_V1: dict[str, Any] = {
    "initiator": {"role": "guest", "party_id": 9999},
    "job_parameters": {"work_mode": 1, "job_type": "train", "processors_per_node": 1},
    "role": {"guest": [9999], "host": [10000], "arbiter": [10000]},
    "role_parameters": {
        "guest": {
            "args": {
                "data": {"train_data": [{"name": "breast_hetero_guest", "namespace": "experiment"}]}
            },
            "dataio_0": {
                "with_label": [True],
                "label_name": ["y"],
                "label_type": ["int"],
                "output_format": ["dense"],
            },
        },
        "host": {
            "args": {
                "data": {"train_data": [{"name": "breast_hetero_host", "namespace": "experiment"}]}
            },
            "dataio_0": {"with_label": [False], "output_format": ["dense"]},
            "evaluation_0": {"need_run": [False]},
        },
    },
    "algorithm_parameters": {
        "intersection_0": {
            "intersect_method": "rsa",
            "sync_intersect_ids": True,
            "only_output_key": False,
        },
        "hetero_lr_0": {
            "penalty": "L2",
            "optimizer": "rmsprop",
            "alpha": 0.01,
            "learning_rate": 0.15,
            "max_iter": 30,
            "batch_size": -1,
            "early_stop": "diff",
            "tol": 0.0001,
            "init_param": {"init_method": "zeros"},
        },
        "evaluation_0": {"eval_type": "binary", "pos_label": 1},
    },
}

_DSL_V2: dict[str, Any] = {
    "components": {
        "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
        "data_transform_0": {
            "module": "DataTransform",
            "input": {"data": {"data": ["reader_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        },
        "intersection_0": {
            "module": "Intersection",
            "input": {"data": {"data": ["data_transform_0.data"]}},
            "output": {"data": ["data"]},
        },
        "hetero_lr_0": {
            "module": "HeteroLR",
            "input": {"data": {"train_data": ["intersection_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        },
        "evaluation_0": {
            "module": "Evaluation",
            "input": {"data": {"data": ["hetero_lr_0.data"]}},
            "output": {"data": ["data"]},
        },
    }
}

# Reference §3.6, with two hosts so that its `"0|1"` key names real parties.
_CONF_V2: dict[str, Any] = {
    "dsl_version": 2,
    "initiator": {"role": "guest", "party_id": 9999},
    "role": {"guest": [9999], "host": [10000, 10001], "arbiter": [10000]},
    "job_parameters": {
        "common": {"job_type": "train", "work_mode": 1, "backend": 0, "task_parallelism": 1},
        "role": {"guest": {"0": {"task_cores": 4}}},
    },
    "component_parameters": {
        "common": {
            "intersection_0": {"intersect_method": "rsa"},
            "hetero_lr_0": {
                "penalty": "L2",
                "optimizer": "rmsprop",
                "alpha": 0.01,
                "learning_rate": 0.15,
                "max_iter": 30,
                "batch_size": -1,
                "early_stop": "diff",
                "init_param": {"init_method": "zeros"},
            },
            "evaluation_0": {"eval_type": "binary"},
        },
        "role": {
            "guest": {
                "0": {
                    "reader_0": {
                        "table": {"name": "breast_hetero_guest", "namespace": "experiment"}
                    },
                    "data_transform_0": {
                        "with_label": True,
                        "label_name": "y",
                        "label_type": "int",
                        "output_format": "dense",
                    },
                }
            },
            "host": {
                "0|1": {"data_transform_0": {"with_label": False}},
                "0": {
                    "reader_0": {
                        "table": {"name": "breast_hetero_host", "namespace": "experiment"}
                    },
                    "evaluation_0": {"need_run": False},
                },
                "1": {
                    "reader_0": {
                        "table": {"name": "breast_hetero_host_b", "namespace": "experiment"}
                    }
                },
            },
        },
    },
}


def dsl_v1() -> dict[str, Any]:
    return copy.deepcopy(_DSL_V1)


def conf_v1() -> dict[str, Any]:
    return copy.deepcopy(_CONF_V1)


def dsl_v2() -> dict[str, Any]:
    return copy.deepcopy(_DSL_V2)


def conf_v2() -> dict[str, Any]:
    return copy.deepcopy(_CONF_V2)


def any_route(party_id: int) -> bool:
    return True


def fate_json(spec: str) -> dict[str, Any]:
    """A JSON file of FATE's repository, `<tag>:<path>`, read from a bare mirror of it
    (`FATEFLOW_FATE_REPO`, else `/work/.mirror/FederatedAI+FATE/repo`); skips without one."""
    repository = Path(os.environ.get("FATEFLOW_FATE_REPO", "/work/.mirror/FederatedAI+FATE/repo"))
    if not repository.is_dir():
        pytest.skip(f"FATE's repository is not at {repository}: set FATEFLOW_FATE_REPO")
    shown = subprocess.run(
        ["git", "-C", str(repository), "show", spec], capture_output=True, check=True, timeout=60
    )
    found: dict[str, Any] = json.loads(shown.stdout)
    return found
