"""FATE's own example jobs (1.5.3 and 1.11.4, `examples/dsl/v1` and `v2`), read from FATE's git
mirror at run time: every parameter set they give a feature, statistics or sampling module (or
LocalBaseline), as each party sees it once the job is resolved (defaults, common, role, v1's
per-party lists), is accepted, or refused naming the parameter, and only those in `REFUSED`.

The jobs are resolved by the node's own job parser (`parse_job`); the other modules of a job are
taken as they come, so that one job's LR or SecureBoost parameters do not hide its feature
components'. Skips when the mirror is not here (set FATEFLOW_FATE_MIRROR to a bare clone)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fateflow_grpc.components import registry
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.errors import InvalidArgument

TAGS = ("v1.5.3", "v1.11.4")
CHECKED = frozenset(
    {
        "HeteroFeatureBinning",
        "HomoFeatureBinning",
        "HeteroFeatureSelection",
        "FeatureScale",
        "DataStatistics",
        "PSI",
        "Scorecard",
        "OneHotEncoder",
        "HomoOneHotEncoder",
        "FeatureImputation",
        "ColumnExpand",
        "LabelTransform",
        "SampleWeight",
        "Union",
        "HeteroDataSplit",
        "HomoDataSplit",
        "FederatedSample",
        "LocalBaseline",
    }
)

_EXPERIMENT = "examples/dsl/v1/experiment/config/test_hetero_lr_train_job_conf.json"
#: (tag, example file, component) -> the parameter its refusal names. Only FATE 1.5.3's old
#: `experiment` job: it gives parameters of FATE before 1.5 (`cols`, `select_cols`), which FATE
#: 1.5 ignores silently and the job parser here refuses by name (an unknown parameter).
REFUSED: dict[tuple[str, str, str], str] = {
    ("v1.5.3", _EXPERIMENT, "hetero_feature_binning_0"): "cols",
    ("v1.5.3", _EXPERIMENT, "hetero_feature_selection_0"): "select_cols",
}


#: (tag, conf) -> why the job does not resolve before its feature components are reached.
UNRESOLVED: dict[tuple[str, str], str] = {}
#: (tag, conf, component): not checked, as a sibling of its module was refused.
NOT_REACHED: set[tuple[str, str, str]] = set()


def _mirror() -> Path | None:
    candidates = [Path(p) for p in [os.environ.get("FATEFLOW_FATE_MIRROR")] if p]
    candidates.append(Path("/work/.mirror/FederatedAI+FATE/repo"))
    return next((p for p in candidates if (p / "HEAD").is_file()), None)


def _git(*args: str) -> str:
    mirror = _mirror()
    assert mirror is not None
    return subprocess.run(
        ["git", "-C", str(mirror), *args], check=True, capture_output=True, text=True
    ).stdout


@cache
def _files(tag: str) -> tuple[str, ...]:
    listed = _git("ls-tree", "-r", "--name-only", tag, "examples/dsl/")
    return tuple(p for p in listed.splitlines() if p.endswith(".json"))


def _json(tag: str, path: str) -> Any:
    try:
        return json.loads(_git("show", f"{tag}:{path}"))
    except (ValueError, subprocess.CalledProcessError):
        return None


def _jobs(tag: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(conf path, dsl, conf) of every job a testsuite of the tag pairs up, and of every other
    conf whose DSL is named alike (`x_conf.json`, `x_dsl.json`)."""
    files = set(_files(tag))
    pairs: dict[str, str] = {}
    for suite in sorted(p for p in files if p.endswith("testsuite.json")):
        found = _json(tag, suite)
        if not isinstance(found, dict) or not isinstance(found.get("tasks"), dict):
            continue
        folder = suite.rsplit("/", 1)[0]
        for task in found["tasks"].values():
            if isinstance(task, dict) and "conf" in task and "dsl" in task:
                conf_path = os.path.normpath(f"{folder}/{task['conf']}")
                pairs[conf_path] = os.path.normpath(f"{folder}/{task['dsl']}")
    for path in sorted(files):
        if path.endswith("_conf.json") and path not in pairs:
            pairs[path] = path.removesuffix("_conf.json") + "_dsl.json"
    for conf_path, dsl_path in sorted(pairs.items()):
        if conf_path not in files or dsl_path not in files:
            continue
        conf, dsl = _json(tag, conf_path), _json(tag, dsl_path)
        if isinstance(conf, dict) and isinstance(dsl, dict):
            yield conf_path, dsl, conf


#: The module a refused component is renamed to, so that the job's next refusal shows.
_UNCHECKED = "UncheckedModule"


class _Lenient:
    """The node's modules for those checked here, and any other module taken as it comes."""

    def __init__(self) -> None:
        self._real = registry.catalog(with_testing=False)

    def get(self, name: str) -> ModuleInfo | None:
        real = self._real.get(name)
        if real is not None:
            return real if real.name in CHECKED else replace(real, validate=None, parameters={})
        return ModuleInfo(name=name, roles=frozenset({"guest", "host", "arbiter", "local"}))

    def names(self) -> list[str]:
        return self._real.names()


def _checked_module(module: object) -> str | None:
    real = registry.catalog(with_testing=False).get(str(module))
    return real.name if real is not None and real.name in CHECKED else None


def _outcomes(tag: str) -> Iterator[tuple[tuple[str, str, str], InvalidArgument | None]]:
    """Per (tag, conf, component) of a checked module: None when every party accepts its
    parameters, else the refusal."""
    for conf_path, dsl, conf in _jobs(tag):
        components = dsl.get("components")
        if not isinstance(components, dict):
            continue
        checked = [
            name
            for name, c in components.items()
            if isinstance(c, dict) and _checked_module(c.get("module"))
        ]
        refused: dict[str, InvalidArgument] = {}
        dsl = copy.deepcopy(dsl)
        while checked:
            try:
                parse_job(dsl, conf, _Lenient(), has_route=lambda _: True)
            except InvalidArgument as error:
                component = str(error.metadata.get("component"))
                if component not in checked or component in refused:
                    # The job as FATE wrote it does not resolve here (a conf naming a component
                    # its DSL lacks, ...): the business of the job's checks, not of these.
                    UNRESOLVED[(tag, conf_path)] = error.message
                    checked = []
                    break
                refused[component] = error
                # The job parser wants one module per component name prefix: the refused
                # component's siblings of its module step aside with it, unchecked.
                module = components[component]["module"]
                for name, found in dsl["components"].items():
                    if found.get("module") == module:
                        found["module"] = _UNCHECKED
                        if name not in refused:
                            NOT_REACHED.add((tag, conf_path, name))
                continue
            break
        for name in checked:
            if (tag, conf_path, name) not in NOT_REACHED:
                yield (tag, conf_path, name), refused.get(name)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str, str], InvalidArgument | None]:
    if _mirror() is None:
        pytest.skip("FATE's git mirror is not here: set FATEFLOW_FATE_MIRROR to a bare clone")
    return {key: outcome for tag in TAGS for key, outcome in _outcomes(tag)}


def test_fates_example_parameters_are_accepted_or_refused_by_name(
    outcomes: dict[tuple[str, str, str], InvalidArgument | None],
) -> None:
    assert len(outcomes) > 100  # the examples were found and paired
    refused = {key: error for key, error in outcomes.items() if error is not None}
    for key, error in refused.items():
        print(key, error.message)
    for key, message in UNRESOLVED.items():
        print("unresolved", key, message)
    # A component's own check names `parameter`; the job parser's unknown names, `key`.
    named = {
        key: str(error.metadata.get("parameter") or error.metadata.get("key"))
        for key, error in refused.items()
    }
    assert named == REFUSED
    # hetero_feature_selection_1 shares its module with the refused hetero_feature_selection_0.
    assert {(tag, conf, name) for tag, conf, name in NOT_REACHED} == {
        ("v1.5.3", _EXPERIMENT, "hetero_feature_selection_1")
    }
