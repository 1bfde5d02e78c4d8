"""HeteroPoisson (FATE's `HeteroPoisson` module): Poisson regression with a log link on
features split across a guest (with the counts and, optionally, an exposure column named by
`exposure_colname`, which is not a feature), one host, and an arbiter holding the Paillier key;
FATE 1.x's protocol (`hetero_glm.py`).

mu = exposure * exp(u): the host sends [[exp(u_h)]], the guest forms [[d]] =
exposure * exp(u_g) * [[exp(u_h)]] - y; the loss is FATE's mean(mu - y (u + log exposure))
(the negative log-likelihood without log(y!)), from the host's [[u_h]] per row; predictions
are mu. As in FATE: one host only, and sample weights are ignored (with a warning). An exposure
of 0 counts as 1e-7 (FATE's `safe_log`).

As FATE 1.5-1.11's, it has stepwise selection, validation during training with early stopping
(regression metrics of mu, the validate data's exposure applied), cross validation,
ModelCheckpoint and warm start (`hetero_glm.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.linear import hetero_glm as glm
from fateflow_grpc.components.linear import hetero_lr as lr
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.errors import FederatedError

MODULE = "HeteroPoisson"
# FATE 1.5-1.11's PoissonParam.
DEFAULTS = glm.defaults(optimizer="rmsprop", extra={"exposure_colname": None})


def _exp(values: glm.Floats) -> glm.Floats:
    # A forward too large to exponentiate is a diverged model: inf says so in the loss.
    with np.errstate(over="ignore"):
        return np.exp(values)


class Poisson:
    module = MODULE
    variables = "HeteroPoissonTransferVariable"
    multi_host = False
    ic_approx = False
    weighted = False

    def host_forward(self, forward: glm.Floats) -> glm.Floats:
        return _exp(forward)

    def guest_part(self, forward: glm.Floats, labels: glm.Floats, offset: glm.Floats) -> glm.Floats:
        return -labels

    def combine(
        self, own: glm.Encrypted, host: glm.Encrypted, forward: glm.Floats, offset: glm.Floats
    ) -> glm.Encrypted:
        mu = _exp(forward + offset)
        return [a + h * float(m) for a, h, m in zip(own, host, mu, strict=True)]

    def host_intermediate(
        self,
        key: paillier.PublicKey,
        forward: glm.Floats,
        weights: glm.Encrypted | None,
        precision: float,
    ) -> glm.Encrypted:
        return key.encrypt_many(forward, precision=lr._RESIDUAL_PRECISION)

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
        # sum(exp(u_g + o) exp(u_h)) - sum(y (u_g + o)) - sum(y u_h)
        if len(intermediate) != len(labels):
            raise FederatedError(
                f"{MODULE}: the host sent {len(intermediate)} loss intermediates, not {len(labels)}"
            )
        mu = paillier.dot(_exp(forward + offset), host, precision=precision)
        own = float(labels @ (forward + offset))
        return mu - paillier.dot(labels, intermediate, precision=precision) - own

    def predictions(self, forward: glm.Floats, offset: glm.Floats) -> glm.Floats:
        return _exp(forward + offset)


POISSON = Poisson()


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's PoissonParam checks; InvalidArgument naming the first parameter that is wrong."""
    reader = glm.validate(MODULE, params, DEFAULTS)
    exposure = reader.raw("exposure_colname")
    if exposure is not None:
        reader.string("exposure_colname")
    return dict(params or {})


class HeteroPoisson:
    info = glm.module_info(MODULE, DEFAULTS, lambda params: validate_parameters(params))

    def run(self, context: TaskContext) -> None:
        validate_parameters(context.parameters)
        glm.run(context, POISSON, DEFAULTS, context.parameters.get("exposure_colname"))
