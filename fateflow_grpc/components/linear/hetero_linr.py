"""HeteroLinR (FATE's `HeteroLinR` module): linear regression on features split across a
guest (with the labels), hosts, and an arbiter holding the Paillier key; FATE 1.x's protocol
(`hetero_glm.py`) with the identity link.

The residual is d = u - y (u = X w, every party's forward summed), the loss the mean of
(u - y)^2 / 2 (FATE's `compute_loss`, with one host only), predictions the forward itself, in
FATE's regression output (`predict_result` and `predict_score` both the prediction).

As FATE 1.5-1.11's, it has stepwise selection, validation during training with early stopping
(regression metrics), cross validation, ModelCheckpoint and warm start (`hetero_glm.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.linear import hetero_glm as glm
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.errors import FederatedError

MODULE = "HeteroLinR"
# FATE 1.5-1.11's LinearParam.
DEFAULTS = glm.defaults(optimizer="sgd", extra={"sqn_param": glm.SQN_DEFAULTS})


class Linear:
    module = MODULE
    variables = "HeteroLinRTransferVariable"
    multi_host = True
    ic_approx = True
    weighted = True

    def host_forward(self, forward: glm.Floats) -> glm.Floats:
        return forward

    def guest_part(self, forward: glm.Floats, labels: glm.Floats, offset: glm.Floats) -> glm.Floats:
        return forward - labels

    def combine(
        self, own: glm.Encrypted, host: glm.Encrypted, forward: glm.Floats, offset: glm.Floats
    ) -> glm.Encrypted:
        return [a + b for a, b in zip(own, host, strict=True)]

    def host_intermediate(
        self,
        key: paillier.PublicKey,
        forward: glm.Floats,
        weights: glm.Encrypted | None,
        precision: float,
    ) -> glm.Encrypted:
        # [[sum w u_h^2]]: with weights, from the guest's encrypted ones.
        if weights is None:
            return [key.encrypt(float(forward @ forward))]
        return [paillier.dot(np.square(forward), weights, precision=precision)]

    def loss_sum(
        self,
        forward: glm.Floats,
        labels: glm.Floats,
        offset: glm.Floats,
        weights: glm.Floats,
        host: glm.Encrypted,
        intermediate: glm.Encrypted,
        precision: float,
    ) -> paillier.EncryptedNumber:
        # w (u_g - y + u_h)^2 = w (u_g - y)^2 + 2 w (u_g - y) u_h + w u_h^2
        if len(intermediate) != 1:
            raise FederatedError(f"{MODULE}: the host sent {len(intermediate)} loss intermediates")
        difference = forward - labels
        plain = float(np.sum(weights * np.square(difference)))
        cross = paillier.dot(2.0 * weights * difference, host, precision=precision)
        return (cross + intermediate[0] + plain) * 0.5

    def predictions(self, forward: glm.Floats, offset: glm.Floats) -> glm.Floats:
        return forward


LINEAR = Linear()


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's LinearParam checks; InvalidArgument naming the first parameter that is wrong."""
    glm.validate(MODULE, params, DEFAULTS)
    return dict(params or {})


class HeteroLinR:
    info = glm.module_info(MODULE, DEFAULTS, lambda params: validate_parameters(params))

    def run(self, context: TaskContext) -> None:
        glm.run(context, LINEAR, DEFAULTS)
