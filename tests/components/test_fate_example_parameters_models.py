"""Every parameter set FATE's example jobs (1.5.3 and 1.11.4, `examples/dsl/v1` and `v2`) give
HeteroSSHELR, HeteroSSHELinR, HeteroPearson, HeteroKmeans, FeldmanVerifiableSum and
SecureInformationRetrieval (role
parameters merged over common ones, as a party sees them) is accepted, or refused naming the
parameter of a feature that is not here yet (issue #20)."""

from __future__ import annotations

from typing import Any

import pytest

from fateflow_grpc.components.registry import component
from fateflow_grpc.errors import InvalidArgument
from tests.components.tasks import merged

KEY = {"encrypt_param": {"key_length": 1024}}
SSHE_LR = {"alpha": 0.01, "batch_size": -1, "learning_rate": 0.15, "tol": 0.0001, **KEY}
SSHE_LINR = {
    "alpha": 0.01,
    "batch_size": -1,
    "decay": 0.0,
    "decay_sqrt": False,
    "early_stop": "weight_diff",
    "learning_rate": 0.15,
    "optimizer": "sgd",
    "tol": 0.001,
    **KEY,
}
ZEROS = {"init_method": "zeros"}

#: (module, parameters, the parameter a refusal names, or None when accepted).
EXAMPLES: list[tuple[str, dict[str, Any], str | None]] = [
    ("FeldmanVerifiableSum", {"q_n": 6, "sum_cols": [1, 2, 3]}, None),
    ("HeteroKmeans", {"k": 4, "max_iter": 4, "tol": 0.01}, None),
    ("HeteroKmeans", {"k": 3, "max_iter": 10}, None),
    ("HeteroPearson", {"column_indexes": -1}, None),
    ("HeteroPearson", {"column_indexes": -1, "cross_parties": False}, None),
    ("HeteroPearson", {"column_indexes": -1, "cross_parties": False, "need_run": False}, None),
    ("HeteroPearson", {"column_indexes": -1, "use_mix_rand": True}, None),
    ("HeteroPearson", {"column_indexes": -1, "fixpoint_bit_length": 1024}, None),
    (
        "HeteroPearson",
        {"column_indexes": -1, "fixpoint_bit_length": 1024, "use_mix_rand": True},
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "init_param": ZEROS | {"fit_intercept": True},
            "max_iter": 20,
            "penalty": None,
            "reveal_every_iter": False,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {"init_param": ZEROS, "max_iter": 20, "penalty": "L2", "reveal_every_iter": True},
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "cv_param": {"n_splits": 5, "need_cv": True, "random_seed": 42, "shuffle": False},
            "init_param": ZEROS,
            "max_iter": 20,
            "penalty": "None",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "cv_param": {"n_splits": 5, "need_cv": False, "random_seed": 42, "shuffle": False},
            "init_param": ZEROS,
            "max_iter": 20,
            "penalty": "None",
            "reveal_every_iter": False,
            "reveal_strategy": "encrypted_reveal_in_host",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "batch_size": 100,
            "init_param": {"init_const": 100, "init_method": "const"},
            "learning_rate": 0.2,
            "max_iter": 20,
            "penalty": "L2",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "init_param": ZEROS,
            "max_iter": 20,
            "optimizer": "rmsprop",
            "penalty": "L2",
            "reveal_every_iter": True,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "callback_param": {
                "callbacks": ["EarlyStopping", "PerformanceEvaluate"],
                "early_stopping_rounds": 5,
                "metrics": ["mean_absolute_error", "root_mean_squared_error"],
                "save_freq": 1,
                "use_first_metric_only": False,
                "validation_freqs": 1,
            },
            "init_param": ZEROS,
            "max_iter": 20,
            "penalty": "L2",
            "reveal_every_iter": True,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    (
        "HeteroSSHELinR",
        SSHE_LINR
        | {
            "callback_param": {"callbacks": ["ModelCheckpoint"]},
            "init_param": ZEROS,
            "max_iter": 5,
            "penalty": "L2",
        },
        None,
    ),
    ("HeteroSSHELinR", SSHE_LINR | {"max_iter": 15, "penalty": "L2"}, None),
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "early_stop": "diff",
            "init_param": ZEROS | {"fit_intercept": False},
            "max_iter": 30,
            "optimizer": "rmsprop",
            "penalty": "L2",
            "reveal_every_iter": True,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "early_stop": "diff",
            "init_param": ZEROS | {"fit_intercept": True},
            "max_iter": 30,
            "optimizer": "sgd",
            "penalty": None,
            "reveal_every_iter": False,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    *[
        (
            "HeteroSSHELR",
            SSHE_LR
            | {
                "early_stop": "weight_diff",
                "init_param": ZEROS | {"fit_intercept": False},
                "max_iter": 30,
                "optimizer": "sgd",
                "penalty": "L2",
                "reveal_every_iter": False,
                "reveal_strategy": strategy,
            },
            None,
        )
        for strategy in ("encrypted_reveal_in_host", "respectively")
    ],
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "cv_param": {"n_splits": 3, "need_cv": True, "random_seed": 103, "shuffle": False},
            "early_stop": "diff",
            "init_param": ZEROS | {"fit_intercept": True},
            "max_iter": 30,
            "optimizer": "rmsprop",
            "penalty": "L2",
            "reveal_every_iter": True,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    *[
        (
            "HeteroSSHELR",
            SSHE_LR
            | {
                "early_stop": "diff",
                "init_param": {"init_method": "random_uniform"},
                "max_iter": iterations,
                "optimizer": "sgd",
                "penalty": None,
                "reveal_every_iter": False,
                "reveal_strategy": "encrypted_reveal_in_host",
            },
            None,
        )
        for iterations in (30, 1)
    ],
    *[
        (
            "HeteroSSHELR",
            SSHE_LR
            | {
                "alpha": alpha,
                "early_stop": stop,
                "init_param": ZEROS | {"fit_intercept": intercept},
                "max_iter": 30,
                "optimizer": optimizer,
                "penalty": penalty,
                "reveal_every_iter": True,
                "reveal_strategy": "respectively",
            },
            None,
        )
        for alpha, stop, intercept, optimizer, penalty in (
            (0.01, "diff", True, "rmsprop", "L1"),
            (0.01, "diff", True, "rmsprop", "L2"),
            (0.01, "weight_diff", False, "rmsprop", "L2"),
            (0.001, "diff", False, "adam", "L2"),
            (0.001, "diff", False, "adam", "L1"),
        )
    ],
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "alpha": 10,
            "decay": 0.5,
            "early_stop": "weight_diff",
            "init_param": {"fit_intercept": False, "init_const": 200, "init_method": "const"},
            "learning_rate": 0.3,
            "max_iter": 30,
            "penalty": "L2",
        },
        None,
    ),
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "alpha": 0.001,
            "early_stop": "diff",
            "init_param": ZEROS | {"fit_intercept": False},
            "max_iter": 30,
            "optimizer": "sgd",
            "penalty": None,
            "reveal_every_iter": False,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "callback_param": {
                "callbacks": ["ModelCheckpoint"],
                "metrics": None,
                "save_freq": 1,
                "use_first_metric_only": False,
            },
            "early_stop": "diff",
            "init_param": ZEROS | {"fit_intercept": True},
            "max_iter": 3,
            "optimizer": "sgd",
            "penalty": "L2",
        },
        None,
    ),
    (
        "HeteroSSHELR",
        SSHE_LR
        | {
            "callback_param": {
                "callbacks": ["EarlyStopping", "PerformanceEvaluate"],
                "early_stopping_rounds": 3,
                "validation_freqs": 1,
            },
            "early_stop": "diff",
            "init_param": ZEROS,
            "max_iter": 30,
            "optimizer": "rmsprop",
            "penalty": "L2",
            "reveal_every_iter": True,
            "reveal_strategy": "respectively",
        },
        None,
    ),
    ("HeteroSSHELR", {**KEY, "max_iter": 2}, None),
    *[
        (
            "SecureInformationRetrieval",
            {
                "commutative_encryption": "CommutativeEncryptionPohligHellman",
                "non_committing_encryption": "aes",
                "oblivious_transfer_protocol": "OT_Hauck",
                "raw_retrieval": False,
                "security_level": 0.5,
                **more,
            },
            None,
        )
        for more in (
            {"key_size": 1024},
            {"dh_params": {"key_length": 1024}, "target_cols": ["x0", "x3"]},
        )
    ],
]


@pytest.mark.parametrize(("module", "params", "refused"), EXAMPLES)
def test_fates_example_parameters(module: str, params: dict[str, Any], refused: str | None) -> None:
    info = component(module).info
    assert info.validate is not None
    if refused is None:
        info.validate(merged(info.parameters, params))
        return
    with pytest.raises(InvalidArgument) as raised:
        info.validate(merged(info.parameters, params))
    assert refused in raised.value.message and "issue #20" in raised.value.message
