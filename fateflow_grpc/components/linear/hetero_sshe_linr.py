"""HeteroSSHELinR (FATE 1.8+'s `HeteroSSHELinR` module): linear regression between a guest and
one host with secret sharing and Paillier encryption, no arbiter (`linear/sshe.py` has the
protocol).

The residual is d = z - y, the loss the mean of (z - y)^2 / 2 (FATE's `compute_loss`), and
predictions are the forward itself, in FATE's regression output (`predict_result` and
`predict_score` both the prediction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.crypto import secret_sharing as ss
from fateflow_grpc.components.linear import sshe
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, regression_prediction_table
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "HeteroSSHELinR"
# FATE's HeteroSSHELinRParam: EncryptParam's method must be Paillier (LR's may be None).
DEFAULTS = sshe.defaults(optimizer="sgd", max_iter=20, classifier=False)


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's HeteroSSHELinRParam checks; the values the protocol reads, normalised."""
    encrypt = params.get("encrypt_param") if isinstance(params, Mapping) else None
    if isinstance(encrypt, Mapping) and "method" in encrypt and encrypt["method"] is None:
        raise InvalidArgument(
            f"{MODULE} parameter encrypt_param.method must be Paillier, not None",
            module=MODULE,
            parameter="encrypt_param.method",
        )
    return sshe.validate(
        MODULE,
        params,
        DEFAULTS,
        revealed_optimizers=("sgd", "rmsprop", "adam", "adagrad"),
        shared_optimizers=("sgd",),
    )


class Linear:
    module = MODULE
    residual_bits = 0
    eval_type = "regression"
    multi_class = False

    def check_labels(self, labels: sshe.Floats) -> sshe.Floats:
        if not np.isfinite(labels).all():
            raise InvalidArgument(f"{MODULE}: the labels hold nan or inf", module=MODULE)
        return labels

    def residual(
        self, forward: sshe.Encrypted, forward_bits: int, labels: sshe.Floats
    ) -> sshe.Encrypted:
        targets = ss.fixed(labels, forward_bits).tolist()
        return [z - int(y) for z, y in zip(forward, targets, strict=True)]

    def loss_terms(
        self, guest_part: Sequence[int], labels: sshe.Floats, forward_bits: int
    ) -> tuple[list[int], int]:
        # (Z - Y)^2 = b^2 + 2 (a - Y) b + (a - Y)^2 at scale 2^(2s), for Z = a + b.
        targets = ss.fixed(labels, forward_bits).tolist()
        differences = [a - int(y) for a, y in zip(guest_part, targets, strict=True)]
        return [2 * v for v in differences], sum(v * v for v in differences)

    def loss_scale(self, count: int, forward_bits: int) -> tuple[int, float]:
        return (2 * count) << (2 * forward_bits), 0.0

    def scores(self, forward: sshe.Floats) -> sshe.Floats:
        return forward

    def output(
        self, data: Dataset, scores: sshe.Floats, params: Mapping[str, Any], kind: str
    ) -> pa.Table:
        return regression_prediction_table(data.ids, data.labels, scores, kind, data.sid)

    def meta(self, settings: sshe.Settings) -> dict[str, Any]:
        """FATE's LinRModelMeta."""
        rule = settings.rule
        return {
            "penalty": rule.penalty,
            "tol": settings.tol,
            "alpha": rule.alpha,
            "optimizer": rule.optimizer,
            "batch_size": settings.batch_size,
            "learning_rate": rule.learning_rate,
            "max_iter": settings.max_iter,
            "early_stop": settings.early_stop,
            "fit_intercept": settings.fit_intercept,
            "reveal_strategy": settings.reveal_strategy,
        }


LINEAR = Linear()


class HeteroSSHELinR:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        sshe.run(context, validate_parameters(context.parameters), LINEAR)
