"""sdk/validation.py, apart from any learner: FATE's validation parameters, which rounds are
scored, the metrics logged under FATE's names, early stopping's bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.sdk.checkpoint import STEP_NAME, Checkpoints, read_save_freq
from fateflow_grpc.components.sdk.learning import prediction_table, regression_prediction_table
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.validation import (
    CALLBACK_DEFAULTS,
    Validation,
    ValidationParams,
    read_validation,
)
from fateflow_grpc.errors import InvalidArgument

DEFAULTS: dict[str, Any] = {
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": None,
    "use_first_metric_only": False,
    "callback_param": CALLBACK_DEFAULTS,
}


def read(params: dict[str, Any], defaults: dict[str, Any] = DEFAULTS) -> ValidationParams:
    # As a job hands them over: merged with the defaults.
    merged = {**defaults, **params}
    if "callback_param" in params:
        merged["callback_param"] = {**CALLBACK_DEFAULTS, **params["callback_param"]}
    return read_validation(ParamReader("Learner", merged, defaults))


def test_fate_styles_of_parameters() -> None:
    assert read({}) == ValidationParams()
    assert read({"validation_freqs": 2, "metrics": ["auc"]}).freqs == 2
    assert read({"validation_freqs": [0, 3]}).freqs == frozenset({0, 3})
    callback = read(
        {
            "callback_param": {
                "callbacks": ["EarlyStopping"],
                "validation_freqs": 1,
                "early_stopping_rounds": 3,
            }
        }
    )
    assert (callback.freqs, callback.early_stopping_rounds) == (1, 3)
    # callbacks empty: no validation whatever the other keys say (FATE's CallbackList)
    assert not read({"callback_param": {"validation_freqs": 1}}).enabled
    # A learner without early stopping (FATE 1.5's HomoSecureBoost) takes the rest.
    homo = {
        k: v
        for k, v in DEFAULTS.items()
        if k not in ("early_stopping_rounds", "use_first_metric_only")
    }
    assert read({"validation_freqs": 1}, homo).freqs == 1


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"early_stopping_rounds": 2}, "needs validation_freqs"),
        ({"validation_freqs": 0}, "validation_freqs"),
        ({"validation_freqs": 1, "metrics": "auc"}, "metrics"),
        (
            {"validation_freqs": 1, "callback_param": {"callbacks": ["PerformanceEvaluate"]}},
            "cannot be set with callback_param",
        ),
        ({"callback_param": {"callbacks": ["Whatever"]}}, "Whatever"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        read(params)


def binary(scores: list[float], labels: list[int], kind: str) -> pa.Table:
    ids = np.asarray([str(i) for i in range(len(scores))], dtype=object)
    return prediction_table(ids, np.asarray(labels, float), np.asarray(scores), 0.5, kind)


def test_due_rounds_and_fates_metric_names() -> None:
    logged: list[tuple[str, str, Any, Any]] = []
    validation = Validation(
        ValidationParams(freqs=2), "binary", log_metric=lambda *r: logged.append(r)
    )
    assert [r for r in range(6) if validation.due(r)] == [1, 3, 5]
    validation.score(
        1,
        train=binary([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0], "train"),
        validate=binary([0.2, 0.4, 0.9, 0.6], [0, 1, 1, 0], "validate"),
    )
    names = {(namespace, name) for namespace, name, _, _ in logged}
    assert {("train", "iteration_1"), ("validate", "iteration_1")} <= names
    summary = next(p for ns, n, p, _ in logged if (ns, n) == ("validate", "iteration_1"))
    assert dict(summary) == {"auc": 0.75, "ks": 0.5}
    assert validation.summary() == {"auc": [0.75], "ks": [0.5]}  # the validation data's


def test_early_stopping_keeps_the_best_round() -> None:
    validation = Validation(
        ValidationParams(freqs=1, early_stopping_rounds=2, metrics=("auc",)),
        "binary",
        log_metric=lambda *r: None,
    )
    train = binary([0.1, 0.9], [0, 1], "train")
    for round_, auc_scores in enumerate(
        ([0.2, 0.4, 0.9, 0.6], [0.1, 0.7, 0.9, 0.6], [0.3, 0.5, 0.9, 0.6], [0.3, 0.7, 0.8, 0.6])
    ):
        validation.score(round_, train=train, validate=binary(auc_scores, [0, 1, 1, 0], "validate"))
        if validation.stop:
            break
    assert validation.stop and round_ == 3
    assert validation.best_round == 1  # auc 1.0 in round 1, not improved in rounds 2 and 3


def test_regression_defaults_and_smaller_is_better() -> None:
    validation = Validation(
        ValidationParams(freqs=1, early_stopping_rounds=1), "regression", log_metric=lambda *r: None
    )
    ids = np.asarray(["a", "b"], dtype=object)
    for round_, error in enumerate((1.0, 0.5, 0.7)):
        table = regression_prediction_table(
            ids, np.asarray([0.0, 0.0]), np.asarray([error, error]), "validate"
        )
        validation.score(round_, train=None, validate=table)
    assert set(validation.summary()) == {"root_mean_squared_error", "mean_absolute_error"}
    assert validation.stop and validation.best_round == 1


def test_early_stopping_needs_validation_data() -> None:
    with pytest.raises(InvalidArgument, match="validate_data"):
        Validation(
            ValidationParams(freqs=1, early_stopping_rounds=2),
            "binary",
            log_metric=lambda *r: None,
            has_validate_data=False,
        )


def test_model_checkpoint_alone_validates_nothing_and_keeps_every_save_freq_th_epoch() -> None:
    # FATE's hetero_lr_warm_start conf: ModelCheckpoint alone, validation settings beside it
    # that FATE does not act on (no PerformanceEvaluate nor EarlyStopping callback).
    callback = {
        "callbacks": ["ModelCheckpoint"],
        "validation_freqs": 1,
        "early_stopping_rounds": 1,
        "save_freq": 2,
    }
    assert read({"callback_param": callback}) == ValidationParams()
    reader = ParamReader("HeteroLR", {"callback_param": callback}, DEFAULTS)
    saved: list[tuple[int, str, dict[str, Any]]] = []
    checkpoints = Checkpoints(read_save_freq(reader), lambda *c: saved.append(c))
    for epoch in range(5):
        checkpoints.epoch_end(epoch, lambda epoch=epoch: {"iters": epoch + 1})
    assert saved == [
        (0, STEP_NAME, {"iters": 1}),
        (2, STEP_NAME, {"iters": 3}),
        (4, STEP_NAME, {"iters": 5}),
    ]
    checkpoints.of_class(1)(6, lambda: {"iters": 7})
    assert saved[-1] == (6, "model_1", {"iters": 7})
    epoch = {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": "epoch"}}
    assert read_save_freq(ParamReader("HeteroLR", epoch, DEFAULTS)) == 1
    off = {"callback_param": {"callbacks": ["EarlyStopping"], "validation_freqs": 1}}
    assert read_save_freq(ParamReader("HeteroLR", off, DEFAULTS)) is None
    with pytest.raises(InvalidArgument, match="save_freq"):
        read_save_freq(
            ParamReader(
                "HeteroLR",
                {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 0}},
                DEFAULTS,
            )
        )
