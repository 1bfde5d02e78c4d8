"""FATE's hetero stepwise selection (`stepwise_param`, `model_selection/stepwise`) for the
coordinated GLMs: every candidate model (a mask over the guest's and the host's features) is
refitted from scratch with the module's own protocol, its tags scoped by the mask; the arbiter
scores each by its last loss, AIC or BIC (FATE's `IC`: k * dfe + 2 n loss; for linear
regression `IC_Approx`: k * dfe + n log(2 loss)), with dfe the features in plus the intercept,
k = 2 (AIC) or log n (BIC), n the host's row count, and tells the others the step's best
(`step_best`). Candidates, their order and the stop rules are FATE's (`HeteroStepwise.run`):
backward drops one feature, forward adds one (from the empty model, one of each party's at
once), `both` does both; it stops when the best stays the same, every feature is in, `nvmin`
or `nvmax` is reached or `max_step` steps are done. The final model is the last best, and each
step is a `train`/`stepwise_<n>` metric (FATE's metric type STEPWISE, its masks in the meta).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.feature.binning import anonymous_name
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import Participants, Transport
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

_VARIABLES = "StepwiseTransferVariable"
HOST_DATA_INFO = f"{_VARIABLES}.host_data_info"
GUEST_DATA_INFO = f"{_VARIABLES}.guest_data_info"
STEP_BEST = f"{_VARIABLES}.step_best"

Mask = npt.NDArray[np.bool_]
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    score_name: str  # "aic" or "bic", lower case as FATE stores it
    forward: bool
    backward: bool
    direction: str
    max_step: int
    nvmin: int
    nvmax: int | None


def read(reader: ParamReader) -> Settings | None:
    """FATE's StepwiseParam checks; None when `need_stepwise` is off."""
    section = reader.section("stepwise_param")
    score_name = section.choice("score_name", ("aic", "bic"))
    section.choice("mode", ("hetero", "homo"))
    section.choice("role", ("guest", "host", "arbiter"))
    direction = section.choice("direction", ("forward", "backward", "both"))
    max_step = section.integer("max_step", minimum=1)
    nvmin = section.integer("nvmin", minimum=2)
    nvmax = section.optional_integer("nvmax")
    if nvmax is not None and nvmax < nvmin:
        raise section.error("nvmax", nvmax, f"must be at least nvmin ({nvmin})")
    if not section.boolean("need_stepwise"):
        return None
    if section.raw("mode") != "hetero":
        raise section.error("mode", section.raw("mode"), "must be hetero for a hetero model")
    return Settings(
        score_name,
        direction in ("forward", "both"),
        direction in ("backward", "both"),
        direction,
        max_step,
        nvmin,
        nvmax,
    )


class Scoped:
    """A transport whose tags are prefixed, so that each candidate's fit has its own."""

    def __init__(self, transport: Transport, prefix: str) -> None:
        self._transport = transport
        self._prefix = prefix

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        self._transport.remote(obj, name, f"{self._prefix}.{tag}", parties)

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        return self._transport.get(name, f"{self._prefix}.{tag}", parties, timeout)


def mask_string(host: Mask, guest: Mask) -> str:
    return "".join("1" if v else "0" for v in np.concatenate([host, guest]))


def _drop_one(mask: Mask) -> Iterator[Mask]:
    for k in np.nonzero(mask)[0]:
        new = mask.copy()
        new[k] = False
        if new.any():
            yield new


def _add_one(mask: Mask) -> Iterator[Mask]:
    for k in np.nonzero(~mask)[0]:
        new = mask.copy()
        new[k] = True
        yield new


def candidates(s: Settings, host: Mask, guest: Mask, step: int) -> list[tuple[Mask, Mask]]:
    """The step's candidate models, in FATE's order."""
    found: list[tuple[Mask, Mask]] = []
    if s.backward:
        if step == 0:
            found.append((host, guest))
        else:
            found += [(h, guest) for h in _drop_one(host)] + [(host, g) for g in _drop_one(guest)]
    if s.forward:
        if not host.any() and not guest.any():
            if step == 0:
                found.append((host, guest))
            else:
                found += list(itertools.product(_add_one(host), _add_one(guest)))
        else:
            found += [(h, guest) for h in _add_one(host)] + [(host, g) for g in _add_one(guest)]
    return found


def stops(s: Settings, step: int, new: tuple[Mask, Mask], old: tuple[Mask, Mask]) -> bool:
    """FATE's `check_stop`."""
    if step == 0:
        return False
    if all(np.array_equal(a, b) for a, b in zip(new, old, strict=True)):
        return True
    if new[0].all() and new[1].all():
        return True
    new_in, old_in = int(new[0].sum() + new[1].sum()), int(old[0].sum() + old[1].sum())
    if new_in == s.nvmin and old_in >= s.nvmin:
        return True
    if s.nvmax is not None and new_in == s.nvmax and old_in <= s.nvmax:
        return True
    return step >= s.max_step


def score(s: Settings, linear: bool, count: int, features: int, loss: float) -> float:
    """FATE's information criterion of a model with `features` parameters (intercept in)."""
    k = 2.0 if s.score_name == "aic" else math.log(count)
    fit = count * math.log(loss * 2) if linear else 2 * count * loss
    value = k * features + fit
    if math.isinf(value):
        raise InvalidArgument("stepwise: a candidate model's loss is infinite; stepwise stopped")
    return value


@dataclass
class Step:
    """One step's best, for its metric."""

    step: int
    host: Mask
    guest: Mask
    loss: float | None
    score: float | None


def exchange_sizes(
    transport: Transport,
    parties: Participants,
    role: str,
    local: tuple[int, int, list[str]] | None,
    timeout: float,
) -> tuple[tuple[int, int, list[str]], tuple[int, int, list[str]]]:
    """(rows, features, anonymous header) of the host and of the guest, at every party."""
    host, guest = parties.hosts[0], parties.guest
    arbiter = parties.require_arbiter()
    if role == "host":
        assert local is not None
        transport.remote(list(local), HOST_DATA_INFO, "stepwise", [arbiter, guest])
        return local, _info(transport.get(GUEST_DATA_INFO, "stepwise", [guest], timeout)[0], guest)
    if role == "guest":
        assert local is not None
        transport.remote(list(local), GUEST_DATA_INFO, "stepwise", [arbiter, host])
        return _info(transport.get(HOST_DATA_INFO, "stepwise", [host], timeout)[0], host), local
    return (
        _info(transport.get(HOST_DATA_INFO, "stepwise", [host], timeout)[0], host),
        _info(transport.get(GUEST_DATA_INFO, "stepwise", [guest], timeout)[0], guest),
    )


def _info(obj: object, sender: PartyRole) -> tuple[int, int, list[str]]:
    if (
        not isinstance(obj, list)
        or len(obj) != 3
        or not all(isinstance(v, int) and v >= 0 for v in obj[:2])
        or not isinstance(obj[2], list)
    ):
        raise FederatedError(f"{sender.role} {sender.party_id} sent a data info that is not valid")
    return int(obj[0]), int(obj[1]), [str(v) for v in obj[2]]


def anonymous_header(role: str, party_id: int, features: int) -> list[str]:
    return [anonymous_name(role, party_id, k) for k in range(features)]


def select(
    s: Settings,
    transport: Transport,
    parties: Participants,
    role: str,
    sizes: tuple[int, int],
    train: Callable[[Transport, Mask, Mask], T],
    scorer: Callable[[Any, Mask, Mask], tuple[float, float]] | None,
    timeout: float,
) -> tuple[T | None, tuple[Mask, Mask], list[Step]]:
    """The search, at any role in lockstep: `train` fits a candidate (host mask, guest mask)
    over the transport given; the arbiter's `scorer` gives a fitted candidate's (loss, score).
    Returns the final model (None when it is the empty model), its masks and each step's
    best."""
    if len(parties.hosts) != 1:
        raise InvalidArgument(f"stepwise selection works with one host, not {len(parties.hosts)}")
    j_host, j_guest = sizes
    start = np.ones if s.backward else np.zeros
    host, guest = start(j_host, dtype=bool), start(j_guest, dtype=bool)
    trained: dict[str, T | None] = {}
    scores: dict[str, tuple[float, float] | None] = {}
    steps: list[Step] = []
    arbiter = parties.require_arbiter()
    step = 0
    while step <= s.max_step:
        names = {mask_string(host, guest)}
        for h, g in candidates(s, host, guest, step):
            key = mask_string(h, g)
            names.add(key)
            if key in trained:
                continue
            if not h.any() and not g.any():
                # FATE fits no empty model: it has no score.
                trained[key], scores[key] = None, None
                continue
            model = train(Scoped(transport, f"stepwise.{key}"), h, g)
            trained[key] = model
            scores[key] = scorer(model, h, g) if scorer is not None else None
        if not host.any() and not guest.any() and step == 0:
            steps.append(Step(step, host, guest, None, None))
            step += 1
            continue
        tag = f"stepwise.{step}"
        if role == "arbiter":
            scored = [(value[1], key) for key in names if (value := scores.get(key)) is not None]
            best = min(scored)[1]
            transport.remote(best, STEP_BEST, tag, [parties.guest, *parties.hosts])
        else:
            best = _best(transport.get(STEP_BEST, tag, [arbiter], timeout)[0], arbiter, names)
        mask = np.array([c == "1" for c in best], dtype=bool)
        old = (host, guest)
        host, guest = mask[:j_host], mask[j_host:]
        if stops(s, step, (host, guest), old):
            break
        value = scores.get(best)
        steps.append(Step(step, host, guest, *(value if value is not None else (None, None))))
        step += 1
    return trained[mask_string(host, guest)], (host, guest), steps


def _best(obj: object, arbiter: PartyRole, names: set[str]) -> str:
    if not isinstance(obj, str) or obj not in names:
        raise FederatedError(f"{arbiter.role} {arbiter.party_id} sent a step_best not of this step")
    return obj


def step_meta(
    s: Settings,
    step: Step,
    count: int,
    fit_intercept: bool,
    anonymous: tuple[list[str], list[str]],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """FATE's `record_step_best` metric meta (the party's own extras in `extra`)."""
    return {
        "name": f"stepwise_{step.step}",
        "metric_type": "STEPWISE",
        "host_mask": step.host.tolist(),
        "guest_mask": step.guest.tolist(),
        "score_name": s.score_name,
        "number_in": int(step.host.sum() + step.guest.sum()),
        "direction": s.direction,
        "n_count": count,
        "host_features_anonym": anonymous[0],
        "guest_features_anonym": anonymous[1],
        "loss": step.loss,
        "current_ic_val": step.score,
        "fit_intercept": fit_intercept,
        **extra,
    }


LogMetric = Callable[[str, str, Sequence[tuple[Any, Any]], dict[str, Any]], None]


def client_search(
    s: Settings,
    transport: Transport,
    parties: Participants,
    local: PartyRole,
    header: Sequence[str],
    rows: int,
    fit: Callable[[Transport, list[int]], T],
    log_metric: LogMetric,
    fit_intercept: bool,
    timeout: float,
) -> tuple[T | None, list[int]]:
    """A guest's or host's part of the search: `fit(transport, columns)` fits a candidate on
    those of its feature columns (positions in `header`); the model the search keeps (None
    for the empty model) and its columns. Each step's best is logged as FATE's metric, with
    this party's feature names and whether its model has an intercept (a host's has none)."""
    anonymous = anonymous_header(local.role, local.party_id, len(header))
    (count, j_host, host_names), (_, j_guest, guest_names) = exchange_sizes(
        transport, parties, local.role, (rows, len(header), anonymous), timeout
    )

    def own(host: Mask, guest: Mask) -> list[int]:
        return np.flatnonzero(host if local.role == "host" else guest).tolist()

    final, (host, guest), steps = select(
        s,
        transport,
        parties,
        local.role,
        (j_host, j_guest),
        lambda scoped, h, g: fit(scoped, own(h, g)),
        None,
        timeout,
    )
    for step in steps:
        kept = {header[k] for k in own(step.host, step.guest)}
        extra = {"all_features": list(header), "to_enter": [n for n in header if n not in kept]}
        meta = step_meta(s, step, count, fit_intercept, (host_names, guest_names), extra)
        log_metric("train", meta["name"], [(meta["name"], float(step.step))], meta)
    return final, own(host, guest)


def arbiter_search(
    s: Settings,
    transport: Transport,
    parties: Participants,
    fit: Callable[[Transport], T],
    last_loss: Callable[[T], float | None],
    linear: bool,
    log_metric: LogMetric,
    fit_intercept: bool,
    timeout: float,
) -> T | None:
    """The arbiter's part: `fit(transport)` takes part in a candidate's fit and gives its
    model, whose last loss (`last_loss`) scores it (`linear`: FATE's IC_Approx)."""
    (count, j_host, host_names), (_, j_guest, guest_names) = exchange_sizes(
        transport, parties, "arbiter", None, timeout
    )

    def scorer(model: T, host: Mask, guest: Mask) -> tuple[float, float]:
        loss = last_loss(model)
        if loss is None:
            raise InvalidArgument("stepwise needs the loss of each model (one host)")
        features = int(host.sum() + guest.sum()) + int(fit_intercept)
        return loss, score(s, linear, count, features, loss)

    final, _, steps = select(
        s,
        transport,
        parties,
        "arbiter",
        (j_host, j_guest),
        lambda scoped, h, g: fit(scoped),
        scorer,
        timeout,
    )
    for step in steps:
        meta = step_meta(s, step, count, fit_intercept, (host_names, guest_names), {})
        log_metric("train", meta["name"], [(meta["name"], float(step.step))], meta)
    return final
