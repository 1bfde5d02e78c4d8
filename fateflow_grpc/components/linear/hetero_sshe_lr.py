"""HeteroSSHELR (FATE 1.8+'s `HeteroSSHELR` module): logistic regression between a guest and
one host with secret sharing and Paillier encryption, no arbiter (`linear/sshe.py` has the
protocol).

    params = validate_parameters(component_parameters)
    result = sshe.fit_guest(transport, data, params, parties, LOGISTIC)
    result = sshe.fit_host(transport, data, params, parties, LOGISTIC)

The sigmoid is FATE's first-order Taylor expansion around 0, sigmoid(z) ~ z / 4 + 1 / 2, so
the residual is d = z / 4 + 1 / 2 - y for labels y in {0, 1}, and the loss its second-order
expansion, log 2 + z / 2 - y z + z^2 / 8 (FATE's `compute_loss`); predictions use the true
sigmoid. Labels 0 and 1; more classes train FATE's one-vs-rest, one such model per class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.linear import sshe
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, prediction_table
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "HeteroSSHELR"
DEFAULTS = sshe.defaults(optimizer="sgd", max_iter=100, classifier=True)


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's HeteroSSHELRParam checks; the values the protocol reads, normalised."""
    return sshe.validate(
        MODULE,
        params,
        DEFAULTS,
        revealed_optimizers=("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd"),
        shared_optimizers=("sgd", "nesterov_momentum_sgd"),
    )


class Logistic:
    module = MODULE
    residual_bits = 2
    eval_type = "binary"
    multi_class = True

    def check_labels(self, labels: sshe.Floats) -> sshe.Floats:
        distinct = sorted(set(np.unique(labels).tolist()))
        if not set(distinct) <= {0.0, 1.0}:
            shown = ", ".join(f"{v:g}" for v in distinct[:5])
            raise InvalidArgument(
                f"{MODULE} trains a binary model on labels 0 and 1, not {shown}",
                module=MODULE,
            )
        return labels

    def residual(
        self, forward: sshe.Encrypted, forward_bits: int, labels: sshe.Floats
    ) -> sshe.Encrypted:
        # 4 z + 2 - 4 y at scale 2^s is d = z / 4 + 1 / 2 - y at scale 2^(s + 2).
        half, one = 1 << (forward_bits + 1), 1 << (forward_bits + 2)
        return [z + (half - one * int(y)) for z, y in zip(forward, labels.tolist(), strict=True)]

    def loss_terms(
        self, guest_part: Sequence[int], labels: sshe.Floats, forward_bits: int
    ) -> tuple[list[int], int]:
        # 8 * 2^(2s) (z / 2 - y z + z^2 / 8) = (4 - 8 y) 2^s Z + Z^2, and Z = a + b.
        linear = [(4 - 8 * int(y)) << forward_bits for y in labels.tolist()]
        k = [2 * a + c for a, c in zip(guest_part, linear, strict=True)]
        constant = sum(a * a + c * a for a, c in zip(guest_part, linear, strict=True))
        return k, constant

    def loss_scale(self, count: int, forward_bits: int) -> tuple[int, float]:
        return (8 * count) << (2 * forward_bits), math.log(2)

    def scores(self, forward: sshe.Floats) -> sshe.Floats:
        # exp of a large negative argument overflows to inf (1 / inf = 0, right).
        with np.errstate(over="ignore"):
            scores: sshe.Floats = 1.0 / (1.0 + np.exp(-forward))
        return scores

    def output(
        self, data: Dataset, scores: sshe.Floats, params: Mapping[str, Any], kind: str
    ) -> pa.Table:
        threshold = params["predict_param"]["threshold"]
        return prediction_table(data.ids, data.labels, scores, threshold, kind, data.sid)

    def meta(self, settings: sshe.Settings) -> dict[str, Any]:
        """FATE's LRModelMeta of the SSHE models."""
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
            "need_one_vs_rest": False,
            "reveal_strategy": settings.reveal_strategy,
        }


LOGISTIC = Logistic()


class HeteroSSHELR:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        sshe.run(context, validate_parameters(context.parameters), LOGISTIC)
