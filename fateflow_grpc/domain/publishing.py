"""Publishing models to FATE-Serving: `/v1/model/load` and `/v1/model/bind` (reference §8.2, §8.3).

Load is federated. The initiator asks every party of the model except arbiters (itself too) to
load its own part; each party checks it holds its part, then sends FATE-Serving's `publishLoad`
to each of its serving instances (the request's, else its configured ones), naming every
party's model, as FATE-Flow does. Each party's outcome is reported under its role and party id.

Bind is the initiator's alone: `publishBind` of its own part to a service id, at its serving
instances. The serving protocol is spoken behind `Serving` (`fateflow_grpc/serving_client.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import (
    FailedPrecondition,
    FateFlowError,
    InvalidArgument,
    NotFound,
    RetCode,
)
from fateflow_grpc.ids import new_job_id
from fateflow_grpc.storage import jobs, model_info
from fateflow_grpc.storage.database import Database

#: FATE-Flow's answer when neither the request nor the party names a serving instance.
NO_SERVINGS = "Please configure servings address"


@dataclass(frozen=True)
class Model:
    """A federated model: its id, version and the parties that hold its parts."""

    model_id: str
    model_version: str
    roles: Mapping[str, tuple[int, ...]]

    def parties(self) -> Iterator[PartyRole]:
        for role, party_ids in self.roles.items():
            for party_id in party_ids:
                yield PartyRole(role, party_id)


@dataclass(frozen=True)
class Publication:
    """What a load or bind request names: the model, its initiator, how serving should load it."""

    initiator: PartyRole
    model: Model
    load_type: str = ""
    file_path: str = ""


@dataclass(frozen=True)
class LoadOrder:
    """What the initiator asks one party: load your part of `model` into these servings."""

    party: PartyRole
    model: Model
    #: Overrides the party's configured serving addresses when not empty.
    servings: tuple[str, ...]
    load_type: str
    file_path: str


@dataclass(frozen=True)
class Outcome:
    """How a load went at one party: FATE's retcode (0 on success) and message."""

    party: PartyRole
    retcode: int
    message: str


@dataclass(frozen=True)
class ServingRequest:
    """One call to a serving instance (FATE-Serving's `PublishRequest` in our terms)."""

    local: PartyRole
    model: Model
    #: The parties whose part of the model the request names.
    parts: tuple[PartyRole, ...]
    service_id: str = ""
    load_type: str = ""
    file_path: str = ""


@dataclass(frozen=True)
class ServingAnswer:
    """A serving instance's answer: status code 0 is success."""

    status_code: int
    message: str


class Serving(Protocol):
    """FATE-Serving's model service at an address; raises `FederatedError` naming the
    address when it cannot be reached in time."""

    def publish_load(self, address: str, request: ServingRequest) -> ServingAnswer: ...

    def publish_bind(self, address: str, request: ServingRequest) -> ServingAnswer: ...


class ModelLoaders(Protocol):
    """Other parties' nodes, asked to load their part; raises `FederatedError` naming the
    party when it cannot be reached."""

    def load_model(self, order: LoadOrder) -> Outcome: ...


class Publishing:
    def __init__(
        self,
        party_id: int,
        servings: tuple[str, ...],
        database: Database,
        parties: ModelLoaders,
        serving: Serving,
    ) -> None:
        self._party_id = party_id
        self._servings = servings
        self._database = database
        self._parties = parties
        self._serving = serving

    def publication(self, fields: Mapping[str, Any], job_id: str) -> Publication:
        """The request's publication: from its `initiator`, `role` and `job_parameters`, or
        from the conf of the training job `job_id`. This node must be its initiator."""
        publication = _publication(self._training_job_fields(job_id) if job_id else fields)
        if publication.initiator.party_id != self._party_id:
            raise InvalidArgument(
                f"this node is party {self._party_id}; publish the model at its initiator, "
                f"party {publication.initiator.party_id}",
                initiator=publication.initiator.party_id,
            )
        return publication

    def load(
        self, publication: Publication, servings: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        """Load the model at every party but arbiters; the load's job id and FATE's per-party
        answer. Raises naming the parties where it failed."""
        outcomes = []
        for party in publication.model.parties():
            if party.role == "arbiter":
                continue  # an arbiter holds no part that serving needs
            order = LoadOrder(
                party, publication.model, servings, publication.load_type, publication.file_path
            )
            if party.party_id == self._party_id:
                outcomes.append(self.load_here(order))
                continue
            try:
                outcomes.append(self._parties.load_model(order))
            except FateFlowError as error:
                outcomes.append(Outcome(party, int(error.retcode), error.message))
        job_id = new_job_id()
        return job_id, load_answer(job_id, outcomes)

    def load_here(self, order: LoadOrder) -> Outcome:
        """Load this party's part of a model into its serving instances."""
        try:
            if order.party.party_id != self._party_id:
                raise InvalidArgument(
                    f"this node is party {self._party_id}, not {order.party.party_id}",
                    party_id=order.party.party_id,
                )
            addresses = self._addresses(order.servings)
            self._check_part(order.party, order.model)
            request = ServingRequest(
                local=order.party,
                model=order.model,
                parts=tuple(order.model.parties()),
                load_type=order.load_type,
                file_path=order.file_path,
            )
            for address in addresses:
                answer = self._serving.publish_load(address, request)
                if answer.status_code:
                    return Outcome(
                        order.party,
                        answer.status_code,
                        f"serving {address} refused to load the model: status code "
                        f"{answer.status_code}, {answer.message}",
                    )
        except FateFlowError as error:
            return Outcome(order.party, int(error.retcode), error.message)
        return Outcome(order.party, 0, "success")

    def bind(self, publication: Publication, servings: tuple[str, ...], service_id: str) -> str:
        """Bind the initiator's part of the model to `service_id`; FATE's message."""
        if not service_id:
            raise InvalidArgument("no service id", retcode=RetCode.PARAMETER_ERROR)
        addresses = self._addresses(servings)
        local = publication.initiator
        self._check_part(local, publication.model)
        request = ServingRequest(
            local=local, model=publication.model, parts=(local,), service_id=service_id
        )
        for address in addresses:
            answer = self._serving.publish_bind(address, request)
            if answer.status_code:
                raise FailedPrecondition(
                    f"serving {address} refused to bind service id {service_id}: status code "
                    f"{answer.status_code}, {answer.message}",
                    retcode=RetCode.PARAMETER_ERROR,
                    address=address,
                    status_code=answer.status_code,
                )
        return f"service id is {service_id}"

    def _addresses(self, servings: tuple[str, ...]) -> tuple[str, ...]:
        addresses = servings or self._servings
        if not addresses:
            raise FailedPrecondition(
                NO_SERVINGS, reason="NO_SERVINGS", retcode=RetCode.EXCEPTION_ERROR
            )
        return addresses

    def _check_part(self, party: PartyRole, model: Model) -> None:
        key = model_info.ModelKey(
            model.model_id, model.model_version, party.role, str(party.party_id)
        )
        with self._database.session() as session:
            model_info.get_party_model(session, key)

    def _training_job_fields(self, job_id: str) -> dict[str, Any]:
        with self._database.session() as session:
            rows = jobs.query_jobs(session, jobs.JobFilter(job_id=job_id, is_initiator=True))
            if not rows:
                raise NotFound(
                    f"job {job_id} was not initiated at this node (party {self._party_id}): "
                    "load or bind by job id at the training job's initiator",
                    job_id=job_id,
                )
            row = rows[0]
            return {
                "initiator": {"role": row.f_initiator_role, "party_id": row.f_initiator_party_id},
                "role": row.f_roles,
                "job_parameters": row.f_runtime_conf.get("job_parameters", {}),
            }


def load_answer(job_id: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """FATE's answer to a load: role -> party -> retcode, and `detail` with each message.
    Raises when a party failed, naming each failed party and why."""
    answer: dict[str, Any] = {"detail": {}}
    for outcome in outcomes:
        role, party = outcome.party.role, str(outcome.party.party_id)
        answer.setdefault(role, {})[party] = outcome.retcode
        answer["detail"].setdefault(role, {})[party] = {
            "retcode": outcome.retcode,
            "retmsg": outcome.message,
        }
    failed = [o for o in outcomes if o.retcode]
    if failed and all(o.message == NO_SERVINGS for o in outcomes):
        raise FailedPrecondition(NO_SERVINGS, reason="NO_SERVINGS", retcode=RetCode.EXCEPTION_ERROR)
    if failed:
        reasons = "; ".join(f"{o.party.role} {o.party.party_id}: {o.message}" for o in failed)
        raise FailedPrecondition(
            f"model load {job_id} failed at {len(failed)} of {len(outcomes)} parties: {reasons}",
            retcode=RetCode.PARAMETER_ERROR,
            job_id=job_id,
        )
    return answer


def _publication(fields: Mapping[str, Any]) -> Publication:
    initiator = _mapping(fields.get("initiator"), "initiator")
    roles = _mapping(fields.get("role"), "role")
    parameters = _mapping(fields.get("job_parameters"), "job_parameters")
    parameters = _mapping(parameters.get("common", parameters), "job_parameters.common")
    wanted = {
        "initiator.role": initiator.get("role"),
        "initiator.party_id": initiator.get("party_id"),
        "role": roles,
        "job_parameters.model_id": parameters.get("model_id"),
        "job_parameters.model_version": parameters.get("model_version"),
    }
    missing = [name for name, value in wanted.items() if value in (None, "", {})]
    if missing:
        raise InvalidArgument(
            f"the following arguments are required: {', '.join(missing)} "
            "(or job_id, the training job's id)",
            fields=",".join(missing),
        )
    parties: dict[str, tuple[int, ...]] = {}
    for role, party_ids in roles.items():
        if not isinstance(party_ids, list):
            raise InvalidArgument(f"role {role} must list its party ids", role=role)
        parties[role] = tuple(_party_id(p, f"role {role}") for p in party_ids)
    publication = Publication(
        initiator=PartyRole(
            str(initiator["role"]), _party_id(initiator["party_id"], "initiator.party_id")
        ),
        model=Model(str(parameters["model_id"]), str(parameters["model_version"]), parties),
        load_type=str(parameters.get("load_type") or ""),
        file_path=str(parameters.get("file_path") or ""),
    )
    if publication.initiator not in set(publication.model.parties()):
        raise InvalidArgument(
            f"the initiator, {publication.initiator.role} {publication.initiator.party_id}, "
            "is not one of the model's parties in role",
        )
    return publication


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{name} must be an object", field=name)
    return value


def _party_id(value: Any, where: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidArgument(
            f"{where}: party id {value!r} is not a number", party_id=value
        ) from None
