"""The DSL: a job's components and how their inputs and outputs connect them (reference §3.1).

`parse_dsl` checks a DSL and returns its components in topological order; `generate_predict_dsl`
answers FATE's `job/dsl/generate`. The runtime conf is `jobspec.py`'s business.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from fateflow_grpc.domain.catalog import ModuleCatalog
from fateflow_grpc.errors import InvalidArgument

#: The pseudo component of DSL v1 that stands for the tables named in the conf's `args`.
ARGS = "args"
#: The pseudo component of predict DSLs that stands for the models of the training job.
PIPELINE = "pipeline"
#: FATE's module that reads a table in DSL v2.
READER = "Reader"

EdgeType = Literal["data", "model"]

# `<prefix>_<index>`; ASCII word characters only, so a name never contains the `.` of a reference.
_COMPONENT_NAME = re.compile(r"(?P<prefix>[A-Za-z0-9_]*[A-Za-z0-9])_(?P<index>[0-9]+)", re.ASCII)


class Ref(NamedTuple):
    """One `<source>.<name>` reference from a component's inputs.

    `source` is a component, `args` (v1: the conf's table called `name`) or `pipeline` (predict:
    `name` is `<component>.<alias>`, a model of the training job).
    """

    source: str
    name: str

    def __str__(self) -> str:
        return f"{self.source}.{self.name}"


@dataclass(frozen=True)
class ComponentSpec:
    """One component of a DSL."""

    name: str
    #: The catalog's canonical module name (`DataTransform` for a DSL saying `DataIO`).
    module: str
    #: The module as the DSL wrote it; FATE echoes this one back (dependency view, predict DSL).
    dsl_module: str
    data_inputs: Mapping[str, tuple[Ref, ...]] = field(hash=False)
    model_inputs: tuple[Ref, ...]
    isometric_model_inputs: tuple[Ref, ...]
    data_outputs: tuple[str, ...]
    model_outputs: tuple[str, ...]
    need_deploy: bool

    def upstream(self) -> list[tuple[str, EdgeType]]:
        """The components this one reads, data edges first, each (component, type) once."""
        edges: dict[tuple[str, EdgeType], None] = {}
        for refs in self.data_inputs.values():
            edges.update(((ref.source, "data"), None) for ref in refs)
        for ref in (*self.model_inputs, *self.isometric_model_inputs):
            edges[(ref.source, "model")] = None
        return [edge for edge in edges if edge[0] not in (ARGS, PIPELINE)]


def parse_dsl(
    dsl: Mapping[str, Any],
    catalog: ModuleCatalog,
    *,
    version: int,
    predict: bool = False,
) -> tuple[ComponentSpec, ...]:
    """Check `dsl` against the catalog; return its components in topological order.

    `predict` allows `pipeline.<component>.<alias>` model inputs (models of the training job).
    """
    components = _read_components(dsl, version=version, predict=predict)
    resolved = [
        _resolve_module(component, dsl["components"][component.name], catalog, version)
        for component in components
    ]
    _check_prefixes(resolved)
    return _topological(resolved)


def _read_components(dsl: Mapping[str, Any], *, version: int, predict: bool) -> list[ComponentSpec]:
    """The components as written (module not looked up), with their references checked."""
    if not isinstance(dsl, Mapping):
        raise InvalidArgument("the DSL must be a JSON object with a `components` object")
    bodies = dsl.get("components")
    if not isinstance(bodies, Mapping) or not bodies:
        raise InvalidArgument(
            "the DSL has no components: give `components` as an object of "
            '`"<name>": {"module": ...}` entries',
            reason="NO_COMPONENTS",
        )
    components = [
        _read_component(str(name), body, version=version, predict=predict)
        for name, body in bodies.items()
    ]
    _check_references(components)
    return components


def _read_component(name: str, body: Any, *, version: int, predict: bool) -> ComponentSpec:
    if not _COMPONENT_NAME.fullmatch(name):
        raise InvalidArgument(
            f"component name {name!r} is not `<prefix>_<index>`, such as `hetero_lr_0`",
            reason="BAD_COMPONENT_NAME",
            component=name,
        )
    if not isinstance(body, Mapping):
        raise InvalidArgument(f"component {name} must be a JSON object", component=name)
    module = body.get("module")
    if not isinstance(module, str) or not module:
        raise InvalidArgument(
            f"component {name} has no `module`", reason="UNKNOWN_MODULE", component=name
        )
    inputs = _section(body, "input", name)
    outputs = _section(body, "output", name)
    data = inputs.get("data", {})
    if not isinstance(data, Mapping):
        raise InvalidArgument(
            f"component {name}: `input.data` must map input kinds to lists of references",
            component=name,
        )
    data = _eval_data_renamed(data, name)
    need_deploy = body.get("need_deploy", True)
    if not isinstance(need_deploy, bool):
        raise InvalidArgument(
            f"component {name}: `need_deploy` must be true or false", component=name
        )

    def refs(values: Any, where: str, model: bool) -> tuple[Ref, ...]:
        texts = _strings(values, f"component {name}: `{where}`", name)
        return tuple(
            _ref(text, name, where, version, model=model, predict=predict) for text in texts
        )

    return ComponentSpec(
        name=name,
        module=module,
        dsl_module=module,
        data_inputs=MappingProxyType(
            {str(kind): refs(values, f"input.data.{kind}", False) for kind, values in data.items()}
        ),
        # FATE 1.7+'s intersection cache is a model under another name: `output.cache` is
        # saved, and `input.cache` read, as a model output and input are.
        model_inputs=refs(inputs.get("model", []), "input.model", True)
        + refs(inputs.get("cache", []), "input.cache", True),
        isometric_model_inputs=refs(
            inputs.get("isometric_model", []), "input.isometric_model", True
        ),
        data_outputs=_strings(outputs.get("data", []), f"component {name}: `output.data`", name),
        model_outputs=_strings(outputs.get("model", []), f"component {name}: `output.model`", name)
        + _strings(outputs.get("cache", []), f"component {name}: `output.cache`", name),
        # `parse_dsl` puts the module's default in when the DSL does not say.
        need_deploy=need_deploy,
    )


def _eval_data_renamed(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """FATE's `eval_data` (DSL v1's name) is the validate data beside `train_data` and the test
    data without it; it cannot be given with either of those."""
    if "eval_data" not in data:
        return data
    clashing = [kind for kind in ("validate_data", "test_data") if kind in data]
    if clashing:
        raise InvalidArgument(
            f"component {name}: `input.data.eval_data` cannot be given with "
            f"`{clashing[0]}` (eval_data is the validate data beside train_data, the test data "
            "without it)",
            reason="UNKNOWN_INPUT_KIND",
            component=name,
            input_kind="eval_data",
        )
    kind = "validate_data" if "train_data" in data else "test_data"
    return {kind if key == "eval_data" else key: value for key, value in data.items()}


def _section(body: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"component {name}: `{key}` must be a JSON object", component=name)
    return value


def _strings(values: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise InvalidArgument(f"{where} must be a list of names", component=name)
    return tuple(values)


def _ref(text: str, component: str, where: str, version: int, *, model: bool, predict: bool) -> Ref:
    parts = text.split(".")
    if parts[0] == ARGS and version != 1:
        raise InvalidArgument(
            f"component {component} `{where}` names {text}, but DSL v2 has no `args`: "
            "read the table with a Reader component and give its `table` in the conf",
            reason="ARGS_IN_DSL_V2",
            component=component,
            input=text,
        )
    if parts[0] == PIPELINE and model:
        if not predict:
            raise InvalidArgument(
                f"component {component} `{where}` names {text}; models of a training job "
                "(`pipeline.<component>.<alias>`) can only be used by a predict job",
                reason="DANGLING_INPUT",
                component=component,
                input=text,
            )
        if len(parts) == 3 and all(parts):
            return Ref(PIPELINE, f"{parts[1]}.{parts[2]}")
    elif len(parts) == 2 and all(parts):
        return Ref(parts[0], parts[1])
    raise InvalidArgument(
        f"component {component} `{where}` has {text!r}; a reference is "
        "`<component>.<output name>` (or `pipeline.<component>.<alias>` for a trained model)",
        reason="DANGLING_INPUT",
        component=component,
        input=text,
    )


def _check_references(components: Sequence[ComponentSpec]) -> None:
    """Every input names a component of the DSL and an output that component declares."""
    by_name = {component.name: component for component in components}
    for component in components:
        edges: list[tuple[str, Ref, EdgeType]] = [
            (f"input.data.{kind}", ref, "data")
            for kind, refs in component.data_inputs.items()
            for ref in refs
        ]
        edges += [("input.model", ref, "model") for ref in component.model_inputs]
        edges += [
            ("input.isometric_model", ref, "model") for ref in component.isometric_model_inputs
        ]
        for where, ref, kind in edges:
            if ref.source == (ARGS if kind == "data" else PIPELINE):
                continue  # checked against the conf / the training job's model
            upstream = by_name.get(ref.source)
            if upstream is None:
                raise InvalidArgument(
                    f"component {component.name} `{where}` names {ref}, "
                    f"but there is no component {ref.source} in the DSL",
                    reason="DANGLING_INPUT",
                    component=component.name,
                    input=str(ref),
                )
            declared = upstream.data_outputs if kind == "data" else upstream.model_outputs
            if ref.name not in declared:
                raise InvalidArgument(
                    f"component {component.name} `{where}` names {ref}, but {ref.source} "
                    f"declares no {kind} output {ref.name!r} "
                    f"(its {kind} outputs: {', '.join(declared) or 'none'})",
                    reason="DANGLING_INPUT",
                    component=component.name,
                    input=str(ref),
                )


def _resolve_module(
    component: ComponentSpec, body: Mapping[str, Any], catalog: ModuleCatalog, version: int
) -> ComponentSpec:
    module = catalog.get(component.dsl_module)
    if module is None:
        raise InvalidArgument(
            f"component {component.name}: unknown module {component.dsl_module!r}; "
            f"known modules: {', '.join(catalog.names())}",
            reason="UNKNOWN_MODULE",
            component=component.name,
            module=component.dsl_module,
        )
    if module.name == READER and version == 1:
        raise InvalidArgument(
            f"component {component.name}: a Reader needs DSL v2 (`dsl_version: 2` in the conf); "
            "DSL v1 reads tables through `args`",
            reason="READER_IN_DSL_V1",
            component=component.name,
        )
    if module.input_kinds:
        for kind in component.data_inputs:
            if kind not in module.input_kinds:
                raise InvalidArgument(
                    f"component {component.name} ({module.name}) has no data input {kind!r}; "
                    f"it reads: {', '.join(sorted(module.input_kinds))}",
                    reason="UNKNOWN_INPUT_KIND",
                    component=component.name,
                    module=module.name,
                    input_kind=kind,
                )
    need_deploy = body.get("need_deploy", module.need_deploy)
    return dataclasses.replace(component, module=module.name, need_deploy=need_deploy)


def _check_prefixes(components: Sequence[ComponentSpec]) -> None:
    """FATE's parser insists that one name prefix always means one module."""
    modules: dict[str, ComponentSpec] = {}
    for component in components:
        match = _COMPONENT_NAME.fullmatch(component.name)
        assert match is not None  # checked when read
        first = modules.setdefault(match["prefix"], component)
        if first.module != component.module:
            raise InvalidArgument(
                f"components {first.name} ({first.module}) and {component.name} "
                f"({component.module}) share the prefix {match['prefix']!r}; "
                "one prefix must always name one module",
                reason="BAD_COMPONENT_NAME",
                component=component.name,
                other=first.name,
            )


def _topological(components: Sequence[ComponentSpec]) -> tuple[ComponentSpec, ...]:
    """Kahn's algorithm; among ready components, DSL order first, so the order is stable."""
    position = {component.name: i for i, component in enumerate(components)}
    upstream = {c.name: {up for up, _ in c.upstream()} for c in components}
    downstream: dict[str, set[str]] = {c.name: set() for c in components}
    for name, ups in upstream.items():
        for up in ups:
            downstream[up].add(name)
    waiting = {name: len(ups) for name, ups in upstream.items()}
    ready = [position[name] for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[ComponentSpec] = []
    while ready:
        component = components[heapq.heappop(ready)]
        order.append(component)
        for down in downstream[component.name]:
            waiting[down] -= 1
            if waiting[down] == 0:
                heapq.heappush(ready, position[down])
    if len(order) < len(components):
        cycle = _find_cycle({name: ups for name, ups in upstream.items() if waiting[name]})
        raise InvalidArgument(
            f"component dependencies form a loop: {' -> '.join([*cycle, cycle[0]])}",
            reason="DEPENDENCY_CYCLE",
            components=",".join(cycle),
        )
    return tuple(order)


def _find_cycle(stuck: Mapping[str, set[str]]) -> list[str]:
    """One cycle among components that never became ready.

    Each of them still waits for another stuck one, so walking upstream must revisit a name.
    """
    path: list[str] = []
    name = min(stuck)
    while name not in path:
        path.append(name)
        name = min(up for up in stuck[name] if up in stuck)
    cycle = path[path.index(name) :]
    # Walking went upstream; report the flow direction (producer -> consumer).
    return cycle[::-1]


# Which input kind of a training component feeds which kind at prediction; the first one the
# component has wins (FATE's order).
_PREDICT_DATA_KINDS = (
    ("data", "data"),
    ("train_data", "test_data"),
    ("validate_data", "test_data"),
    ("test_data", "test_data"),
)


def component_names(value: Any, field: str) -> list[str]:
    """Component names as FATE's clients send them: a list (the pipeline SDK), names separated
    by commas (the CLI), or a list's JSON text."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return [name.strip() for name in text.split(",") if name.strip()]
        try:
            value = json.loads(text)
        except ValueError as error:
            raise InvalidArgument(f"{field} is not JSON: {error}", field=field) from None
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InvalidArgument(
            f"{field} must be a comma-separated string or a list of names", field=field
        )
    return value


def generate_predict_dsl(
    train_dsl: Mapping[str, Any], components: Sequence[str], version: int
) -> dict[str, Any]:
    """The predict DSL of `job/dsl/generate`: the listed components of `train_dsl`, rewired.

    - A kept component reads the first of its data inputs in FATE's order (`data`, then
      `train_data`/`validate_data`/`test_data`, which become `test_data`).
    - A reference to a dropped component is replaced by what that component read (its first
      data input), until it reaches a kept component or the raw data. Raw data is
      `args.eval_data` in v1; in v2, data from a Reader that is not deployed is dropped, as
      FATE's deploy step drops it (the predict job's own Reader is wired in by whoever submits
      it: the pipeline SDK, or a user editing the DSL), leaving an empty `data` object.
    - A component with model outputs loads them from the training job:
      `input.model = ["pipeline.<component>.<alias>", ...]`; one without reads the trained
      models it read in training, which must be kept too. Model outputs and isometric models
      are not part of a predict DSL.
    """
    if version not in (1, 2):
        raise InvalidArgument(f"DSL version must be 1 or 2, not {version!r}", version=version)
    specs = _topological(_read_components(train_dsl, version=version, predict=False))
    names = [spec.name for spec in specs]
    wanted = list(dict.fromkeys(components))
    if not wanted:
        raise InvalidArgument("name at least one component of the training DSL to deploy")
    missing = [name for name in wanted if name not in names]
    if missing:
        raise InvalidArgument(
            f"components {', '.join(missing)} are not in the training DSL "
            f"(it has: {', '.join(names)})",
            reason="UNKNOWN_COMPONENT",
            components=",".join(missing),
        )
    keep = set(wanted)
    # What the data outputs of each dropped component stand for in the predict DSL.
    stands_for: dict[str, Ref | None] = {}

    def rewire(ref: Ref) -> Ref | None:
        if ref.source == ARGS:
            return Ref(ARGS, "eval_data")
        return ref if ref.source in keep else stands_for[ref.source]

    predict: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in keep:
            first = _first_data_input(spec)
            stands_for[spec.name] = rewire(first[1][0]) if first else None
            continue
        predict[spec.name] = _predict_component(spec, rewire, keep)
    return {"components": predict}


def inference_dsl(
    train_dsl: Mapping[str, Any], catalog: ModuleCatalog, version: int
) -> dict[str, Any]:
    """A training job's predict DSL, as FATE 1.x keeps it with the model: its components that
    `need_deploy` (the module's default unless the DSL says), rewired by
    `generate_predict_dsl`. A v1 predict job submitted without a DSL runs it."""
    specs = parse_dsl(train_dsl, catalog, version=version)
    return generate_predict_dsl(
        train_dsl, [spec.name for spec in specs if spec.need_deploy], version
    )


def _predict_component(
    spec: ComponentSpec, rewire: Callable[[Ref], Ref | None], keep: set[str]
) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    first = _first_data_input(spec)
    if first:
        refs = [ref for ref in map(rewire, first[1]) if ref is not None]
        # Nothing left: an empty `data`, where FATE 1.5.2+ drops the key, because fate-client
        # 1.5.0's pipeline (written for FATE-Flow 1.5.0, which kept the Reader's data) puts
        # its own Reader's data into that object, and fails without it.
        inputs["data"] = (
            {_predict_kind(first[0]): list(dict.fromkeys(map(str, refs)))} if refs else {}
        )
    if spec.model_outputs:
        inputs["model"] = [f"{PIPELINE}.{spec.name}.{alias}" for alias in spec.model_outputs]
    elif spec.model_inputs:
        dropped = [str(ref) for ref in spec.model_inputs if ref.source not in keep]
        if dropped:
            raise InvalidArgument(
                f"component {spec.name} uses the trained model {', '.join(dropped)}; "
                "deploy that component too",
                reason="DANGLING_INPUT",
                component=spec.name,
                models=",".join(dropped),
            )
        inputs["model"] = [f"{PIPELINE}.{ref}" for ref in spec.model_inputs]
    body: dict[str, Any] = {"module": spec.dsl_module}
    if inputs:
        body["input"] = inputs
    if spec.data_outputs:
        body["output"] = {"data": list(spec.data_outputs)}
    return body


def _first_data_input(spec: ComponentSpec) -> tuple[str, tuple[Ref, ...]] | None:
    for kind, _ in _PREDICT_DATA_KINDS:
        if spec.data_inputs.get(kind):
            return kind, spec.data_inputs[kind]
    return None


def _predict_kind(kind: str) -> str:
    return dict(_PREDICT_DATA_KINDS)[kind]
