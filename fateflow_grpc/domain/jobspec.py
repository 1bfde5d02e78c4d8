"""A job as the scheduler sees it: the DSL plus the runtime conf, resolved for every party.

`parse_job` checks everything before anything is created and answers every per-party question
(parameters, whether a component runs there, which tables it reads) from the parsed job.
Conf v1 and v2 and their parameter rules are in reference §3.3-3.7.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from fateflow_grpc.domain.catalog import Catalog, ModuleCatalog, ModuleInfo
from fateflow_grpc.domain.dsl import ARGS, PIPELINE, READER, ComponentSpec, EdgeType, parse_dsl
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound
from fateflow_grpc.ids import ROLES, model_id, new_job_id

# What a job's users need, in one import (catalog and ids live in their own modules).
__all__ = [
    "Catalog",
    "ComponentSpec",
    "JobSpec",
    "ModuleCatalog",
    "ModuleInfo",
    "PartyRole",
    "TableRef",
    "model_id",
    "new_job_id",
    "parse_job",
]

#: FATE 1.5+'s `JOB_DEFAULT_TIMEOUT`: three days, for a missing or non-positive timeout.
DEFAULT_TIMEOUT = 259200
JOB_TYPES = ("train", "predict")
#: The parameter every module understands: false means no task for that party.
NEED_RUN = "need_run"

#: FATE's top-level conf keys, plus the ones FATE's clients add (`conf_path`, `dsl_path`).
CONF_KEYS = frozenset(
    {
        "initiator",
        "role",
        "job_parameters",
        "role_parameters",
        "algorithm_parameters",
        "component_parameters",
        "dsl_version",
        "conf_path",
        "dsl_path",
        "gen_table_info",
        "local",
        "provider",
    }
)
_V2_SECTION = "component_parameters"
_INDEX = re.compile(r"0|[1-9][0-9]*")
_DIGITS = re.compile(r"[0-9]+")


class TableRef(NamedTuple):
    """A stored table, as FATE names it."""

    name: str
    namespace: str


@dataclass(frozen=True, eq=False)
class JobSpec:
    """A checked job. Build it with `parse_job`; the `_` fields are its resolved conf."""

    dsl_version: int
    job_type: str
    #: Seconds the job may run.
    timeout: int
    initiator: PartyRole
    _roles: Mapping[str, tuple[int, ...]] = field(repr=False)
    #: In topological order.
    components: tuple[ComponentSpec, ...]
    _job_parameters: Mapping[PartyRole, dict[str, Any]] = field(repr=False)
    #: (component, party) -> parameters, for parties whose role runs the module.
    _parameters: Mapping[tuple[str, PartyRole], dict[str, Any]] = field(repr=False)
    _runs: frozenset[tuple[str, PartyRole]] = field(repr=False)
    _tables: Mapping[tuple[str, PartyRole], dict[str, TableRef]] = field(repr=False)
    #: The conf's entries for components that are not in the DSL, left out as FATE leaves
    #: them (`<where>.<component>`, such as `algorithm_parameters.intersect_0`).
    ignored: tuple[str, ...] = ()

    @property
    def roles(self) -> dict[str, list[int]]:
        """Role -> party ids, in conf order (a fresh copy)."""
        return {role: list(ids) for role, ids in self._roles.items()}

    def component(self, name: str) -> ComponentSpec:
        for component in self.components:
            if component.name == name:
                return component
        raise NotFound(f"component {name} is not in this job's DSL", component=name)

    def parties(self) -> list[PartyRole]:
        """Every (role, party id), in conf order; one party id may play several roles."""
        return [PartyRole(role, party_id) for role, ids in self._roles.items() for party_id in ids]

    def job_parameters(self, role: str, party_id: int) -> dict[str, Any]:
        return _copy(self._job_parameters[self._party(role, party_id)])

    def component_parameters(self, component: str, role: str, party_id: int) -> dict[str, Any]:
        """Defaults, then the conf's values for that party; empty if its role has no task."""
        self.component(component)
        key = (component, self._party(role, party_id))
        return _copy(self._parameters.get(key, {}))

    def runs_at(self, component: str, role: str, party_id: int) -> bool:
        return (component, PartyRole(role, party_id)) in self._runs

    def upstream(self, component: str) -> list[tuple[str, EdgeType]]:
        return self.component(component).upstream()

    def input_tables(self, component: str, role: str, party_id: int) -> dict[str, TableRef]:
        """The tables a component reads at a party: v1 `{args key: table}`, a v2 Reader
        `{"table": table}`; empty for other components and where it does not run."""
        self.component(component)
        return dict(self._tables.get((component, self._party(role, party_id)), {}))

    def dependency_view(self, role: str, party_id: int) -> dict[str, Any]:
        """FATE's `/v1/pipeline/dag/dependency` data for one party."""
        party = self._party(role, party_id)
        return {
            "component_list": [c.name for c in self.components],
            "dependencies": {
                c.name: [{"component_name": up, "type": kind} for up, kind in c.upstream()]
                for c in self.components
                if c.upstream()
            },
            "component_module": {c.name: c.dsl_module for c in self.components},
            "component_need_run": {c.name: (c.name, party) in self._runs for c in self.components},
        }

    def _party(self, role: str, party_id: int) -> PartyRole:
        if party_id not in self._roles.get(role, ()):
            raise NotFound(
                f"{role} {party_id} is not a party of this job", role=role, party_id=party_id
            )
        return PartyRole(role, party_id)


def parse_job(
    dsl: Mapping[str, Any],
    runtime_conf: Mapping[str, Any],
    catalog: ModuleCatalog,
    *,
    has_route: Callable[[int], bool],
) -> JobSpec:
    """Check a DSL and runtime conf (v1 or v2) and resolve them for every party.

    `has_route(party_id)` says whether this node can reach that party; the caller answers
    True for the node's own party. Every problem raises `InvalidArgument` naming the culprit.
    """
    if not isinstance(runtime_conf, Mapping):
        raise InvalidArgument("the runtime conf must be a JSON object")
    version = dsl_version(runtime_conf)
    _check_conf_keys(runtime_conf, version)
    roles = _roles(runtime_conf)
    initiator = _initiator(runtime_conf, roles)
    conf: _Conf = _ConfV1(runtime_conf, roles) if version == 1 else _ConfV2(runtime_conf, roles)
    common = conf.common_job_parameters()
    job_type = _job_type(common)
    components = parse_dsl(dsl, catalog, version=version, predict=job_type == "predict")
    ignored = conf.check_components(components, catalog)

    indexed = [
        (PartyRole(role, pid), i) for role, ids in roles.items() for i, pid in enumerate(ids)
    ]
    parameters: dict[tuple[str, PartyRole], dict[str, Any]] = {}
    runs: set[tuple[str, PartyRole]] = set()
    tables: dict[tuple[str, PartyRole], dict[str, TableRef]] = {}
    for component in components:
        module = _module(catalog, component)
        feeder = _model_feeder(component)
        for party, index in indexed:
            if party.role not in module.roles:
                continue  # FATE: a role the module does not list gets no task
            resolved = _merged(module.parameters, *conf.overlays(component.name, party, index))
            need_run = _need_run(resolved, component.name, party)
            if feeder is not None:
                need_run = (feeder, party) in runs
            if module.validate is not None and need_run:
                try:
                    resolved = module.validate(resolved)
                except InvalidArgument as error:
                    named = InvalidArgument(
                        f"{component.name} ({module.name}) at {party.role} {party.party_id}: "
                        f"{error.message}",
                        reason=error.reason,
                        component=component.name,
                    )
                    named.metadata.update(error.metadata)
                    raise named from None
            parameters[(component.name, party)] = resolved
            if need_run:
                runs.add((component.name, party))
                found = conf.tables(component, party, index, resolved)
                if found:
                    tables[(component.name, party)] = found

    for party_id in dict.fromkeys(pid for ids in roles.values() for pid in ids):
        if not has_route(party_id):
            plays = [role for role, ids in roles.items() if party_id in ids]
            raise InvalidArgument(
                f"no route to party {party_id} ({', '.join(plays)}): "
                "add it to this node's routes before submitting",
                reason="NO_ROUTE",
                party_id=party_id,
            )

    return JobSpec(
        dsl_version=version,
        job_type=job_type,
        timeout=_timeout(common),
        initiator=initiator,
        _roles=MappingProxyType(roles),
        components=components,
        _job_parameters=MappingProxyType(
            {party: conf.job_parameters(party, index) for party, index in indexed}
        ),
        _parameters=MappingProxyType(parameters),
        _runs=frozenset(runs),
        _tables=MappingProxyType(tables),
        ignored=tuple(ignored),
    )


class PredictedModel(NamedTuple):
    """The model a predict job uses, the party whose copy holds the training conf, and the
    predict conf's DSL version."""

    model_id: str
    model_version: str
    initiator: PartyRole
    dsl_version: int


def predicted_model(runtime_conf: Mapping[str, Any]) -> PredictedModel | None:
    """The model of a predict job's conf; None for a training job. Raises as `parse_job`
    does on a conf it cannot read."""
    if not isinstance(runtime_conf, Mapping):
        raise InvalidArgument("the runtime conf must be a JSON object")
    version = dsl_version(runtime_conf)
    roles = _roles(runtime_conf)
    conf: _Conf = _ConfV1(runtime_conf, roles) if version == 1 else _ConfV2(runtime_conf, roles)
    common = conf.common_job_parameters()
    if _job_type(common) != "predict":
        return None
    return PredictedModel(
        str(common.get("model_id", "")),
        str(common.get("model_version", "")),
        _initiator(runtime_conf, roles),
        version,
    )


def with_training_conf(
    conf: Mapping[str, Any], train_conf: Mapping[str, Any], dsl: Mapping[str, Any]
) -> dict[str, Any]:
    """A predict job's conf on top of its training job's component parameters, as FATE
    resolves a predict job: what the predict conf leaves out, the training conf gives (the
    deployed components' parameters, the training tables of the Readers kept). Only the
    predict DSL's components and the predict conf's roles are taken; confs of different DSL
    versions do not mix."""
    listed = dsl.get("components") if isinstance(dsl, Mapping) else None
    components = set(listed) if isinstance(listed, Mapping) else set()
    version = dsl_version(conf)
    if dsl_version(train_conf) != version:
        return dict(conf)
    roles = set(conf.get("role") or {})

    def kept(by_component: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(by_component or {}).items() if k in components}

    def by_role(section: Any, keep: Callable[[str, Any], Any]) -> dict[str, Any]:
        """The section's roles that the predict conf has, each keeping what `keep` gives
        (None: the key is left out)."""
        return {
            role: {
                key: value
                for key, value in ((key, keep(key, value)) for key, value in dict(by_key).items())
                if value is not None
            }
            for role, by_key in dict(section or {}).items()
            if role in roles and isinstance(by_key, Mapping)
        }

    def role_parameters(key: str, value: Any) -> Any:
        if _index_key(key):  # a party index key holds components
            return kept(value)
        return value if key in components else None  # conf v1's form: the key is a component

    v2 = dict(train_conf.get(_V2_SECTION) or {})
    base = {
        "algorithm_parameters": kept(train_conf.get("algorithm_parameters")),
        "role_parameters": by_role(train_conf.get("role_parameters"), role_parameters),
        _V2_SECTION: {
            "common": kept(v2.get("common")),
            "role": by_role(v2.get("role"), lambda _, by_component: kept(by_component)),
        },
    }
    merged = dict(conf)
    for name, parameters in base.items():
        if name in train_conf:
            merged[name] = _merged(parameters, conf.get(name) or {})
    return merged


# --- the conf's top level ------------------------------------------------------------------


def dsl_version(conf: Mapping[str, Any]) -> int:
    value = conf.get("dsl_version", 1)
    if (value in (1, 2) and not isinstance(value, bool)) or value in ("1", "2"):
        return int(value)
    raise InvalidArgument(
        f"dsl_version must be 1 or 2, not {value!r}", reason="BAD_DSL_VERSION", dsl_version=value
    )


def _check_conf_keys(conf: Mapping[str, Any], version: int) -> None:
    unknown = sorted(str(key) for key in conf if key not in CONF_KEYS)
    if unknown:
        raise InvalidArgument(
            f"unknown runtime conf keys: {', '.join(unknown)}; "
            f"a conf has: {', '.join(sorted(CONF_KEYS))}",
            reason="UNKNOWN_CONF_KEY",
            keys=",".join(unknown),
        )
    if _V2_SECTION in conf and version == 1:
        raise InvalidArgument(
            f"{_V2_SECTION} belongs to conf v2: set `dsl_version: 2` (with a v2 DSL), "
            "or use role_parameters and algorithm_parameters",
            reason="CONFLICTING_PARAMETERS",
            keys=_V2_SECTION,
        )


def _party_id(value: Any, where: str) -> int:
    """Party ids arrive as ints, as strings, and as floats after a trip through protobuf."""
    party_id: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        party_id = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _DIGITS.fullmatch(value)
    ):
        party_id = int(value)
    if party_id is None or party_id <= 0:
        hint = " (0 is the local pseudo-party, not a job party)" if party_id == 0 else ""
        raise InvalidArgument(
            f"{where}: party id {value!r} is not a positive integer{hint}",
            reason="BAD_PARTY_ID",
            party_id=value,
        )
    return party_id


def _roles(conf: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    raw = conf.get("role")
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidArgument(
            'the conf has no `role`: give the party ids of each role, e.g. {"guest": [9999]}',
            reason="NO_PARTIES",
        )
    roles: dict[str, tuple[int, ...]] = {}
    for role, values in raw.items():
        if not isinstance(values, list) or not values:
            raise InvalidArgument(
                f"role {role} has no parties: give a list of party ids or leave the role out",
                reason="NO_PARTIES",
                role=role,
            )
        ids = [_party_id(value, f"role.{role}") for value in values]
        for i, party_id in enumerate(ids):
            if party_id in ids[:i]:
                raise InvalidArgument(
                    f"party {party_id} is listed twice in role {role}",
                    reason="CONFLICTING_PARAMETERS",
                    role=role,
                    party_id=party_id,
                )
        roles[str(role)] = tuple(ids)
    return roles


def _initiator(conf: Mapping[str, Any], roles: Mapping[str, tuple[int, ...]]) -> PartyRole:
    raw = conf.get("initiator")
    if not isinstance(raw, Mapping) or "role" not in raw or "party_id" not in raw:
        raise InvalidArgument(
            'the conf has no `initiator`: give {"role": ..., "party_id": ...}',
            reason="BAD_INITIATOR",
        )
    role, party_id = str(raw["role"]), _party_id(raw["party_id"], "initiator")
    if party_id not in roles.get(role, ()):
        raise InvalidArgument(
            f"initiator {role} {party_id} is not among the {role} parties "
            f"({', '.join(map(str, roles.get(role, ()))) or 'none'})",
            reason="BAD_INITIATOR",
            role=role,
            party_id=party_id,
        )
    return PartyRole(role, party_id)


def _job_type(common: Mapping[str, Any]) -> str:
    job_type = common.get("job_type", "train")
    if job_type not in JOB_TYPES:
        raise InvalidArgument(
            f"job_type must be train or predict, not {job_type!r}",
            reason="BAD_JOB_PARAMETER",
            job_type=job_type,
        )
    if job_type == "predict":
        missing = [key for key in ("model_id", "model_version") if not common.get(key)]
        if missing:
            raise InvalidArgument(
                f"a predict job needs job_parameters {' and '.join(missing)} "
                "(those of the training job)",
                reason="BAD_JOB_PARAMETER",
                keys=",".join(missing),
            )
    return str(job_type)


def _timeout(common: Mapping[str, Any]) -> int:
    value = common.get("timeout")
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(
            f"job_parameters timeout must be a number of seconds, not {value!r}",
            reason="BAD_JOB_PARAMETER",
            timeout=value,
        )
    return int(value) if value > 0 else DEFAULT_TIMEOUT


def _module(catalog: ModuleCatalog, component: ComponentSpec) -> ModuleInfo:
    module = catalog.get(component.module)
    assert module is not None  # parse_dsl found it
    return module


def _model_feeder(component: ComponentSpec) -> str | None:
    """The component whose model this one takes (FATE's `train_input_model`: the last of its
    `model` inputs from the DSL); it runs at a party where that one does, whatever its own
    `need_run` says, as FATE derives it."""
    sources = [ref.source for ref in component.model_inputs if ref.source != PIPELINE]
    return sources[-1] if sources else None


def _need_run(parameters: Mapping[str, Any], component: str, party: PartyRole) -> bool:
    need_run = parameters.get(NEED_RUN, True)
    if not isinstance(need_run, bool):
        raise InvalidArgument(
            f"component {component} at {party.role} {party.party_id}: "
            f"need_run must be true or false, not {need_run!r}",
            reason="BAD_PARAMETER",
            component=component,
            role=party.role,
        )
    return need_run


# --- conf v1 and v2 -----------------------------------------------------------------------


@dataclass(frozen=True)
class _RoleEntry:
    """A piece of a role's component parameters, for some of the role's parties."""

    #: Where it is in the conf, for messages.
    where: str
    #: The party indexes it is for; None for all of them.
    indexes: frozenset[int] | None
    #: Component name (or `args`) -> its parameters.
    components: Mapping[str, Any]
    #: Conf v1's form: each parameter a list holding one value per party of the role.
    listed: bool = False

    def values(self, component: str, index: int) -> Mapping[str, Any]:
        """What this entry gives `component` at the party of that index."""
        if self.indexes is not None and index not in self.indexes:
            return {}
        values: Mapping[str, Any] = self.components.get(component, {})
        if not self.listed:
            return values
        return _element(values, index, f"{self.where}.{component}")


class _Conf(ABC):
    """What parsing needs from a conf, whatever its version.

    Component parameters come the same way in both versions, as FATE's parsers take them:
    common ones (`algorithm_parameters`, `component_parameters.common`) for every party, then
    role ones, `role_parameters.<role>` and `component_parameters.role.<role>`, later ones
    winning. A role's parameters are keyed by party index (`"0"`, `"0|1"`, `"all"`), or, in
    conf v1's form, by component with one value per party in each parameter's list. Entries
    for components that are not in the DSL are left out (FATE's parser walks the DSL's
    components) and named by `ignored`.
    """

    def __init__(self, conf: Mapping[str, Any], roles: Mapping[str, tuple[int, ...]]) -> None:
        self._conf = conf
        self._roles = roles
        #: Sections for a role the job does not have, which FATE's parser never reads.
        self._absent_roles: list[str] = []
        self._common = [
            (where, self._section(*where.split(".")))
            for where in ("algorithm_parameters", f"{_V2_SECTION}.common")
        ]
        self._by_role: dict[str, list[_RoleEntry]] = {role: [] for role in roles}
        for role, section in self._roles_of(
            self._section("role_parameters"), "role_parameters"
        ).items():
            self._section("role_parameters", role)
            listed = {key: value for key, value in section.items() if not _index_key(key)}
            if listed:
                where = f"role_parameters.{role}"
                self._by_role[role].append(_RoleEntry(where, None, listed, listed=True))
            for key in section:
                if _index_key(key):
                    self._by_role[role].append(self._indexed("role_parameters", role, key))
        for role, section in self._roles_of(
            self._section(_V2_SECTION, "role"), f"{_V2_SECTION}.role"
        ).items():
            for key in section:
                self._by_role[role].append(self._indexed(_V2_SECTION, "role", role, key))

    def _indexed(self, *path: str) -> _RoleEntry:
        """The entry at `<section>.<role>.<index key>`, its key checked against the role's
        party count."""
        *_, role, key = path
        count = len(self._roles[role])
        where = ".".join(path[:-1])
        parts = key.split("|")
        if key != "all" and not all(_INDEX.fullmatch(p) and int(p) < count for p in parts):
            raise InvalidArgument(
                f"{where} has party index key {key!r}, but {role} has "
                f"{count} part{'y' if count == 1 else 'ies'} (index 0 to {count - 1}); "
                'use "all", an index such as "0", or indexes such as "0|1"',
                reason="CONFLICTING_PARAMETERS",
                section=path[0],
                role=role,
                key=key,
            )
        indexes = None if key == "all" else frozenset(int(p) for p in parts)
        return _RoleEntry(f'{where}."{key}"', indexes, self._section(*path))

    @abstractmethod
    def common_job_parameters(self) -> Mapping[str, Any]:
        """The job-level parameters: v1 `job_parameters`, v2 `job_parameters.common`."""

    @abstractmethod
    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        """One party's job parameters; `index` is its position among its role's parties."""

    @abstractmethod
    def tables(
        self, component: ComponentSpec, party: PartyRole, index: int, parameters: Mapping[str, Any]
    ) -> dict[str, TableRef]:
        """The tables the component reads at that party, checked."""

    def entries(self) -> Iterator[tuple[str, str, Any]]:
        """(where, component name, its parameters) for every component entry of the conf."""
        for where, section in self._common:
            for name, values in section.items():
                yield where, str(name), values
        for entries in self._by_role.values():
            for entry in entries:
                for name, values in entry.components.items():
                    if name != ARGS:
                        yield entry.where, str(name), values

    def overlays(self, component: str, party: PartyRole, index: int) -> list[Mapping[str, Any]]:
        """What goes over the module's defaults for that party, in order."""
        common = [section.get(component, {}) for _, section in self._common]
        return common + [entry.values(component, index) for entry in self._by_role[party.role]]

    def check_components(
        self, components: Sequence[ComponentSpec], catalog: ModuleCatalog
    ) -> list[str]:
        """Each entry for a component of the DSL names only parameters its module declares.
        Returns the entries for components that are not in the DSL (`<where>.<name>`)."""
        by_name = {component.name: component for component in components}
        ignored: list[str] = []
        for where, name, values in self.entries():
            component = by_name.get(name)
            if component is None:
                ignored.append(f"{where}.{name}")
                continue
            if not isinstance(values, Mapping):
                raise InvalidArgument(
                    f"{where}.{name} must be a JSON object of parameters",
                    reason="BAD_PARAMETER",
                    component=name,
                )
            module = _module(catalog, component)
            if not module.parameters:
                continue  # the module declares no parameters: nothing to check against
            for key in values:
                if key != NEED_RUN and key not in module.parameters:
                    raise InvalidArgument(
                        f"component {name} ({module.name}) has no parameter {key!r} "
                        f"(in {where}.{name}); its parameters: "
                        f"{', '.join(sorted(module.parameters))}",
                        reason="UNKNOWN_PARAMETER",
                        component=name,
                        module=module.name,
                        key=key,
                    )
        return self._absent_roles + ignored

    def _section(self, *path: str) -> Mapping[str, Any]:
        section: Mapping[str, Any] = self._conf
        for depth, key in enumerate(path, 1):
            value = section.get(key) or {}
            if not isinstance(value, Mapping):
                where = ".".join(path[:depth])
                raise InvalidArgument(
                    f"{where} must be a JSON object", reason="BAD_PARAMETER", section=where
                )
            section = value
        return section

    def _roles_of(self, section: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        """The parts of `section` (keyed by role) for the job's roles. A part for another of
        FATE's roles is left out, as FATE's parser leaves it (one conf serves jobs with and
        without an arbiter), and named by `ignored`; a name that is no role is refused."""
        for role in section:
            if role not in ROLES:
                raise InvalidArgument(
                    f"{where} names role {role}, which is not one of {', '.join(sorted(ROLES))}",
                    reason="CONFLICTING_PARAMETERS",
                    role=role,
                    section=where,
                )
            if role not in self._roles:
                self._absent_roles.append(f"{where}.{role}")
        return {role: part for role, part in section.items() if role in self._roles}


class _ConfV1(_Conf):
    """`job_parameters` flat; DSL v1's `args` tables in `role_parameters.<role>.args.data`:
    `{<key>: [one table per party]}`, or `{<key>: table}` under a party index key."""

    def __init__(self, conf: Mapping[str, Any], roles: Mapping[str, tuple[int, ...]]) -> None:
        super().__init__(conf, roles)
        self._job = self._section("job_parameters")
        for key in ("common", "role"):
            if key in self._job:
                raise InvalidArgument(
                    f"job_parameters.{key} belongs to conf v2: set `dsl_version: 2`, "
                    "or give conf v1 job parameters flat",
                    reason="CONFLICTING_PARAMETERS",
                    key=key,
                )

    def common_job_parameters(self) -> Mapping[str, Any]:
        return self._job

    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        return _copy(self._job)

    def tables(
        self, component: ComponentSpec, party: PartyRole, index: int, parameters: Mapping[str, Any]
    ) -> dict[str, TableRef]:
        found: dict[str, TableRef] = {}
        keys = [
            ref.name
            for refs in component.data_inputs.values()
            for ref in refs
            if ref.source == ARGS
        ]
        for key in dict.fromkeys(keys):
            table, where = None, f"role_parameters.{party.role}.args.data.{key}"
            for entry in self._by_role[party.role]:
                if entry.indexes is not None and index not in entry.indexes:
                    continue
                args = entry.components.get(ARGS) or {}
                data = args.get("data") if isinstance(args, Mapping) else None
                value = data.get(key) if isinstance(data, Mapping) else None
                if value is None:
                    continue
                if not entry.listed:
                    table, where = value, f"{entry.where}.args.data.{key}"
                elif isinstance(value, list) and index < len(value):
                    table, where = value[index], f"{entry.where}.args.data.{key}[{index}]"
            if table is None:
                raise InvalidArgument(
                    f"component {component.name} reads args.{key}, but {where} has no table "
                    f"for {party.role} {party.party_id} (party index {index})",
                    reason="DANGLING_INPUT",
                    component=component.name,
                    role=party.role,
                    party_id=party.party_id,
                    key=key,
                )
            found[key] = _table(table, where, component.name)
        return found


class _ConfV2(_Conf):
    """`job_parameters.common` + `.role.<role>.<index key>`; a Reader's `table` parameter."""

    def __init__(self, conf: Mapping[str, Any], roles: Mapping[str, tuple[int, ...]]) -> None:
        super().__init__(conf, roles)
        for section in ("job_parameters", _V2_SECTION):
            extra = [key for key in self._section(section) if key not in ("common", "role")]
            if extra:
                raise InvalidArgument(
                    f"{section} of a v2 conf holds `common` and `role`, not {', '.join(extra)}: "
                    f"move them into {section}.common",
                    reason="CONFLICTING_PARAMETERS",
                    section=section,
                    keys=",".join(extra),
                )
        self._job_common = self._section("job_parameters", "common")
        self._job_role = {
            role: [
                self._indexed("job_parameters", "role", role, key)
                for key in self._section("job_parameters", "role", role)
            ]
            for role in self._roles_of(
                self._section("job_parameters", "role"), "job_parameters.role"
            )
        }

    def common_job_parameters(self) -> Mapping[str, Any]:
        return self._job_common

    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        return _merged(
            self._job_common,
            *(
                entry.components
                for entry in self._job_role.get(party.role, [])
                if entry.indexes is None or index in entry.indexes
            ),
        )

    def tables(
        self, component: ComponentSpec, party: PartyRole, index: int, parameters: Mapping[str, Any]
    ) -> dict[str, TableRef]:
        if component.module != READER:
            return {}
        where = f'{_V2_SECTION}.role.{party.role}."{index}".{component.name}.table'
        if not parameters.get("table"):  # absent, or the module's empty default
            raise InvalidArgument(
                f"component {component.name} has no table to read at {party.role} "
                f"{party.party_id}: set {where} to {{name, namespace}}",
                reason="DANGLING_INPUT",
                component=component.name,
                role=party.role,
                party_id=party.party_id,
            )
        return {"table": _table(parameters["table"], where, component.name)}


# --- values --------------------------------------------------------------------------------


def _index_key(key: str) -> bool:
    """A key naming parties by index (`"all"`, `"0"`, `"0|1"`); component names never are."""
    return key == "all" or all(_DIGITS.fullmatch(part) for part in key.split("|"))


def _element(by_party: Mapping[str, Any], index: int, where: str) -> dict[str, Any]:
    """Conf v1: element `index` of each list, recursing into nested objects; short lists
    give nothing (FATE skips them)."""
    picked: dict[str, Any] = {}
    for key, values in by_party.items():
        if isinstance(values, Mapping):
            nested = _element(values, index, f"{where}.{key}")
            if nested:
                picked[key] = nested
        elif isinstance(values, list):
            if index < len(values):
                picked[key] = values[index]
        else:
            raise InvalidArgument(
                f"{where}.{key} must be a list with one value per party of the role "
                f"(conf v1), not {values!r}; values for every party go in algorithm_parameters",
                reason="BAD_PARAMETER",
                section=where,
                key=key,
            )
    return picked


def _table(value: Any, where: str, component: str) -> TableRef:
    if isinstance(value, Mapping):
        name, namespace = value.get("name"), value.get("namespace")
        if isinstance(name, str) and name and isinstance(namespace, str) and namespace:
            return TableRef(name, namespace)
    raise InvalidArgument(
        f"{where} must be a table {{name, namespace}}, not {value!r}",
        reason="BAD_PARAMETER",
        component=component,
        section=where,
    )


def _merged(base: Mapping[str, Any], *overlays: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with each overlay on top; nested objects merge key by key."""
    merged = _copy(base)
    for overlay in overlays:
        for key, value in overlay.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                merged[key] = _merged(merged[key], value)
            else:
                merged[key] = _plain(value)
    return merged


def _copy(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in mapping.items()}


def _plain(value: Any) -> Any:
    """A deep copy made of dicts and lists, so no caller can change what a JobSpec holds."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
