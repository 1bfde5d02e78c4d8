"""The parameter sections FATE's linear models share (`federatedml/param/glm_param.py` and what
it holds): their defaults, and FATE's checks of them, for every module of this family.

    reader = ParamReader(MODULE, params, DEFAULTS)      # DEFAULTS holding these sections
    sqn = read_sqn(reader)                              # sqn_param, checked
    refuse_stepwise(reader, MODULE)                     # stepwise_param, off
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fateflow_grpc.components.sdk.parameters import ParamReader

#: Why `optimizer: sqn` is refused, on purpose: FATE's arbiter builds the quasi-Newton Hessian
#: from the model's weights and gradients, which it holds in the clear; ours sees masked
#: gradients only, and keeps no weights.
SQN_REFUSED = (
    "sqn is not offered: FATE's stochastic quasi-Newton needs the arbiter to see the gradients "
    "and the weights in the clear, and ours sees only masked gradients"
)
#: FATE's `StochasticQuasiNewtonParam` defaults.
SQN_DEFAULTS: dict[str, Any] = {
    "update_interval_L": 3,
    "memory_M": 5,
    "sample_size": 5000,
    "random_seed": None,
}
#: FATE's `StepwiseParam` defaults.
STEPWISE_DEFAULTS: dict[str, Any] = {
    "score_name": "AIC",
    "mode": "hetero",
    "role": "guest",
    "direction": "both",
    "max_step": 10,
    "nvmin": 2,
    "nvmax": None,
    "need_stepwise": False,
}
#: FATE's `EncryptedModeCalculatorParam.mode` values. FATE 1.7+ warns and runs every one of
#: them as `strict` (each ciphertext freshly randomised), which is what ours always do.
CALCULATOR_MODES = ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")


@dataclass(frozen=True)
class SqnParams:
    """FATE's sqn: every `update_interval_L` steps, a Hessian-vector product on `sample_size`
    rows updates a memory of the last `memory_M` curvature pairs."""

    update_interval_L: int
    memory_M: int
    sample_size: int
    random_seed: int | None


def read_sqn(reader: ParamReader) -> SqnParams:
    """The `sqn_param` section, checked as FATE's `StochasticQuasiNewtonParam.check`."""
    sqn = reader.section("sqn_param")
    seed = sqn.raw("random_seed")
    return SqnParams(
        update_interval_L=sqn.integer("update_interval_L", minimum=1),
        memory_M=sqn.integer("memory_M", minimum=1),
        sample_size=sqn.integer("sample_size", minimum=1),
        random_seed=None if seed is None else sqn.integer("random_seed", minimum=0),
    )


def refuse_stepwise(reader: ParamReader, module: str) -> None:
    """`stepwise_param` checked as FATE's `StepwiseParam.check`, and refused switched on."""
    stepwise = reader.section("stepwise_param")
    stepwise.choice("score_name", ("AIC", "BIC"))
    stepwise.choice("mode", ("homo", "hetero"))
    stepwise.choice("role", ("guest", "host", "arbiter"))
    stepwise.choice("direction", ("forward", "backward", "both"))
    stepwise.integer("max_step", minimum=1)
    nvmin = stepwise.integer("nvmin", minimum=2)
    if stepwise.raw("nvmax") is not None:
        stepwise.integer("nvmax", minimum=nvmin)
    stepwise.only("need_stepwise", False, f"{module}'s stepwise selection is not implemented")
