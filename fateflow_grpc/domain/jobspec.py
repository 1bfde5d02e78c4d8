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
from fateflow_grpc.domain.dsl import ARGS, READER, ComponentSpec, EdgeType, parse_dsl
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound
from fateflow_grpc.ids import model_id, new_job_id

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
_V1_SECTIONS = ("role_parameters", "algorithm_parameters")
_V2_SECTION = "component_parameters"
_INDEX = re.compile(r"0|[1-9][0-9]*")
_PARTY_ID = re.compile(r"[0-9]+")


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
    version = _dsl_version(runtime_conf)
    _check_conf_keys(runtime_conf, version)
    roles = _roles(runtime_conf)
    initiator = _initiator(runtime_conf, roles)
    conf: _Conf = _ConfV1(runtime_conf, roles) if version == 1 else _ConfV2(runtime_conf, roles)
    common = conf.common_job_parameters()
    job_type = _job_type(common)
    components = parse_dsl(dsl, catalog, version=version, predict=job_type == "predict")
    conf.check_components(components, catalog)

    indexed = [
        (PartyRole(role, pid), i) for role, ids in roles.items() for i, pid in enumerate(ids)
    ]
    parameters: dict[tuple[str, PartyRole], dict[str, Any]] = {}
    runs: set[tuple[str, PartyRole]] = set()
    tables: dict[tuple[str, PartyRole], dict[str, TableRef]] = {}
    for component in components:
        module = _module(catalog, component)
        for party, index in indexed:
            if party.role not in module.roles:
                continue  # FATE: a role the module does not list gets no task
            resolved = _merged(module.parameters, *conf.overlays(component.name, party, index))
            if module.validate is not None and _need_run(resolved, component.name, party):
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
            if _need_run(resolved, component.name, party) and all(
                (up, party) in runs for up, kind in component.upstream() if kind == "model"
            ):
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
    )


class PredictedModel(NamedTuple):
    """The model a predict job uses, and the party whose copy holds the training conf."""

    model_id: str
    model_version: str
    initiator: PartyRole


def predicted_model(runtime_conf: Mapping[str, Any]) -> PredictedModel | None:
    """The model of a predict job's conf; None for a training job. Raises as `parse_job`
    does on a conf it cannot read."""
    if not isinstance(runtime_conf, Mapping):
        raise InvalidArgument("the runtime conf must be a JSON object")
    version = _dsl_version(runtime_conf)
    roles = _roles(runtime_conf)
    conf: _Conf = _ConfV1(runtime_conf, roles) if version == 1 else _ConfV2(runtime_conf, roles)
    common = conf.common_job_parameters()
    if _job_type(common) != "predict":
        return None
    return PredictedModel(
        str(common.get("model_id", "")),
        str(common.get("model_version", "")),
        _initiator(runtime_conf, roles),
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
    version = _dsl_version(conf)
    if _dsl_version(train_conf) != version:
        return dict(conf)
    roles = set(conf.get("role") or {})

    def kept(by_component: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(by_component or {}).items() if k in components}

    def by_role(section: Any, keep: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        return {role: keep(value) for role, value in dict(section or {}).items() if role in roles}

    if version == 1:
        base = {
            "algorithm_parameters": kept(train_conf.get("algorithm_parameters")),
            "role_parameters": by_role(train_conf.get("role_parameters"), kept),
        }
    else:
        section = dict(train_conf.get(_V2_SECTION) or {})
        base = {
            _V2_SECTION: {
                "common": kept(section.get("common")),
                "role": by_role(
                    section.get("role"),
                    lambda by_index: {i: kept(v) for i, v in dict(by_index or {}).items()},
                ),
            }
        }
    merged = dict(conf)
    for name, parameters in base.items():
        merged[name] = _merged(parameters, conf.get(name) or {})
    return merged


# --- the conf's top level ------------------------------------------------------------------


def _dsl_version(conf: Mapping[str, Any]) -> int:
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
    v1 = [key for key in _V1_SECTIONS if key in conf]
    if v1 and _V2_SECTION in conf:
        raise InvalidArgument(
            f"the conf mixes v1 {' and '.join(v1)} with v2 {_V2_SECTION}; use one of them",
            reason="CONFLICTING_PARAMETERS",
            keys=",".join([*v1, _V2_SECTION]),
        )
    if v1 and version == 2:
        raise InvalidArgument(
            f"{' and '.join(v1)} belong to conf v1, but dsl_version is 2: "
            f"give component parameters in {_V2_SECTION}",
            reason="CONFLICTING_PARAMETERS",
            keys=",".join(v1),
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
        isinstance(value, str) and _PARTY_ID.fullmatch(value)
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


class _Conf(ABC):
    """What parsing needs from a conf, whatever its version."""

    def __init__(self, conf: Mapping[str, Any], roles: Mapping[str, tuple[int, ...]]) -> None:
        self._conf = conf
        self._roles = roles

    @abstractmethod
    def common_job_parameters(self) -> Mapping[str, Any]:
        """The job-level parameters: v1 `job_parameters`, v2 `job_parameters.common`."""

    @abstractmethod
    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        """One party's job parameters; `index` is its position among its role's parties."""

    @abstractmethod
    def entries(self) -> Iterator[tuple[str, Any, Any]]:
        """(where, component name, its parameters) for every component entry of the conf."""

    @abstractmethod
    def overlays(self, component: str, party: PartyRole, index: int) -> list[Mapping[str, Any]]:
        """What goes over the module's defaults for that party, in order."""

    @abstractmethod
    def tables(
        self, component: ComponentSpec, party: PartyRole, index: int, parameters: Mapping[str, Any]
    ) -> dict[str, TableRef]:
        """The tables the component reads at that party, checked."""

    def check_components(self, components: Sequence[ComponentSpec], catalog: ModuleCatalog) -> None:
        """Each entry names a component of the DSL and only parameters its module declares."""
        by_name = {component.name: component for component in components}
        for where, name, values in self.entries():
            component = by_name.get(name)
            if component is None:
                raise InvalidArgument(
                    f"{where} names component {name}, which is not in the DSL "
                    f"(components: {', '.join(by_name)})",
                    reason="UNKNOWN_COMPONENT",
                    component=name,
                    section=where,
                )
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
        """`section` keyed by role, each role one of the job's."""
        for role in section:
            if role not in self._roles:
                raise InvalidArgument(
                    f"{where} names role {role}, which has no parties in `role`",
                    reason="CONFLICTING_PARAMETERS",
                    role=role,
                    section=where,
                )
        return section


class _ConfV1(_Conf):
    """`job_parameters` flat; `algorithm_parameters.<component>` for every party;
    `role_parameters.<role>.<component>.<key>` lists holding one value per party of the role."""

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
        self._algorithm = self._section("algorithm_parameters")
        self._role = self._roles_of(self._section("role_parameters"), "role_parameters")
        for role in self._role:
            self._section("role_parameters", role)

    def common_job_parameters(self) -> Mapping[str, Any]:
        return self._job

    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        return _copy(self._job)

    def entries(self) -> Iterator[tuple[str, Any, Any]]:
        for name, values in self._algorithm.items():
            yield "algorithm_parameters", name, values
        for role, components in self._role.items():
            for name, values in components.items():
                if name != ARGS:
                    yield f"role_parameters.{role}", name, values

    def overlays(self, component: str, party: PartyRole, index: int) -> list[Mapping[str, Any]]:
        by_party = self._role.get(party.role, {}).get(component, {})
        where = f"role_parameters.{party.role}.{component}"
        return [self._algorithm.get(component, {}), _element(by_party, index, where)]

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
            where = f"role_parameters.{party.role}.args.data.{key}"
            values = self._section("role_parameters", party.role, "args", "data").get(key)
            if not isinstance(values, list) or index >= len(values):
                raise InvalidArgument(
                    f"component {component.name} reads args.{key}, but {where} has no table "
                    f"for {party.role} {party.party_id} (party index {index})",
                    reason="DANGLING_INPUT",
                    component=component.name,
                    role=party.role,
                    party_id=party.party_id,
                    key=key,
                )
            found[key] = _table(values[index], f"{where}[{index}]", component.name)
        return found


class _ConfV2(_Conf):
    """`job_parameters.common` + `.role`; `component_parameters.common.<component>` and
    `component_parameters.role.<role>.<"i" | "i|j" | "all">.<component>`."""

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
        self._job_role = self._by_index("job_parameters")
        self._common = self._section(_V2_SECTION, "common")
        self._role = self._by_index(_V2_SECTION)

    def _by_index(self, section: str) -> Mapping[str, Mapping[str, Any]]:
        """`<section>.role`, its index keys checked against each role's party count."""
        by_role = self._roles_of(self._section(section, "role"), f"{section}.role")
        for role in by_role:
            count = len(self._roles[role])
            for key in self._section(section, "role", role):
                self._section(section, "role", role, key)
                parts = key.split("|")
                if key != "all" and not all(_INDEX.fullmatch(p) and int(p) < count for p in parts):
                    raise InvalidArgument(
                        f"{section}.role.{role} has party index key {key!r}, but {role} has "
                        f"{count} part{'y' if count == 1 else 'ies'} (index 0 to {count - 1}); "
                        'use "all", an index such as "0", or indexes such as "0|1"',
                        reason="CONFLICTING_PARAMETERS",
                        section=section,
                        role=role,
                        key=key,
                    )
        return by_role

    def common_job_parameters(self) -> Mapping[str, Any]:
        return self._job_common

    def job_parameters(self, party: PartyRole, index: int) -> dict[str, Any]:
        return _merged(self._job_common, *_matching(self._job_role.get(party.role, {}), index))

    def entries(self) -> Iterator[tuple[str, Any, Any]]:
        for name, values in self._common.items():
            yield f"{_V2_SECTION}.common", name, values
        for role, by_index in self._role.items():
            for key, components in by_index.items():
                for name, values in components.items():
                    yield f"{_V2_SECTION}.role.{role}.{key}", name, values

    def overlays(self, component: str, party: PartyRole, index: int) -> list[Mapping[str, Any]]:
        matching = _matching(self._role.get(party.role, {}), index)
        return [self._common.get(component, {})] + [
            values[component] for values in matching if component in values
        ]

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


def _matching(by_index: Mapping[str, Any], index: int) -> list[Mapping[str, Any]]:
    """FATE v2's rule: keys `all` or naming this index, in document order (later wins)."""
    return [
        values for key, values in by_index.items() if key == "all" or str(index) in key.split("|")
    ]


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
