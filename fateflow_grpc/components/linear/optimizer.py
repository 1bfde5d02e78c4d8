"""FATE 1.x's optimizers over plaintext weights (`federatedml/optim/optimizer.py`), and its
weight initialisation (`federatedml/optim/initialize.py`), for the linear models.

    optimizer = Optimizer(Rule("rmsprop", 0.15, "L2", 0.01, 1.0, True), size, has_intercept=True)
    weights = optimizer.step(weights, gradient, iteration)      # gradient: the batch's mean
    loss += penalty_value(rule, weights[:-1])

The L2 term is added to the gradient, the step is the optimizer's, L1 is a proximal
(soft-threshold) step; the intercept (the last weight, when there is one) is never penalised.
L1 shrinks by alpha times the step's learning rate: FATE divides by the square root of an
iteration count that is 0 in the first iteration, which would zero every weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
PENALTIES = ("L1", "L2", "NONE")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
#: FATE's nesterov_momentum_coeff.
MOMENTUM = 0.9


@dataclass(frozen=True)
class Rule:
    """What an optimizer step needs of a model's parameters."""

    optimizer: str
    learning_rate: float
    penalty: str
    alpha: float
    decay: float
    decay_sqrt: bool

    def learning_rate_at(self, iteration: int) -> float:
        """FATE's decayed step: lr / sqrt(1 + decay * t), or lr / (1 + decay * t)."""
        scale = 1 + self.decay * iteration
        return self.learning_rate / (math.sqrt(scale) if self.decay_sqrt else scale)


class Optimizer:
    """One party's optimizer over its weights (the intercept last, when it has one)."""

    def __init__(self, rule: Rule, size: int, *, has_intercept: bool) -> None:
        self._rule = rule
        self._coefficients = size - 1 if has_intercept else size
        self._m = np.zeros(size)
        self._v = np.zeros(size)
        self._beta1_power = 1.0
        self._beta2_power = 1.0

    def step(self, weights: Floats, gradient: Floats, iteration: int) -> Floats:
        """The weights after one step on `gradient` (a batch's mean gradient)."""
        rule = self._rule
        k = self._coefficients
        gradient = gradient.copy()
        if rule.penalty == "L2":
            gradient[:k] += rule.alpha * weights[:k]
        rate = rule.learning_rate_at(iteration)
        delta = self._delta(gradient, rate)
        updated = weights - delta
        if rule.penalty == "L1":
            shifted = weights[:k] - delta[:k]
            updated[:k] = np.sign(shifted) * np.maximum(0.0, np.abs(shifted) - rate * rule.alpha)
        return updated

    def _delta(self, gradient: Floats, rate: float) -> Floats:
        method = self._rule.optimizer
        if method == "sgd":
            return rate * gradient
        if method == "rmsprop":
            self._m = 0.99 * self._m + 0.01 * np.square(gradient)
            return rate * gradient / np.sqrt(self._m + 1e-6)
        if method == "adagrad":
            self._m = self._m + np.square(gradient)
            return rate * gradient / (np.sqrt(self._m) + 1e-7)
        if method == "adam":
            self._beta1_power *= 0.9
            self._beta2_power *= 0.999
            self._m = 0.9 * self._m + 0.1 * gradient
            self._v = 0.999 * self._v + 0.001 * np.square(gradient)
            m_hat = self._m / (1 - self._beta1_power)
            v_hat = self._v / (1 - self._beta2_power)
            return rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        # nesterov_momentum_sgd, in FATE's form: the step is mu * v_old - (1 + mu) * v_new.
        velocity = MOMENTUM * self._m - rate * gradient
        delta = MOMENTUM * self._m - (1 + MOMENTUM) * velocity
        self._m = velocity
        return delta


def penalty_value(rule: Rule, coefficients: Floats) -> float:
    """The penalty's share of the loss (FATE's `loss_norm`) over the coefficients given."""
    if rule.penalty == "L2":
        return 0.5 * rule.alpha * float(coefficients @ coefficients)
    if rule.penalty == "L1":
        return rule.alpha * float(np.abs(coefficients).sum())
    return 0.0


def initial_weights(method: str, size: int, *, const: float, seed: int | None) -> Floats:
    """FATE's `Initializer.init_model` without data (what the SSHE models call): the same
    numbers as FATE for a given `random_seed` (numpy's legacy generator, which FATE seeds)."""
    if method == "ones":
        return np.ones(size)
    if method == "const":
        return np.full(size, float(const))
    if method == "zeros":
        return np.zeros(size)
    generator = np.random.RandomState(seed)
    if method == "random_normal":
        return generator.randn(size)
    return generator.rand(size)
