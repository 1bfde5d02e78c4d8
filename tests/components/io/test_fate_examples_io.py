"""Every DataTransform / DataIO and Evaluation parameter set of FATE's own example confs
(FederatedAI/FATE `examples/dsl`, releases 1.5.3 to 1.11.4), read from a git mirror of FATE at
run time (`FATEFLOW_FATE_REPO`, or /work/.mirror/FederatedAI+FATE/repo; skipped when absent),
each party's parameters as its conf resolves them: accepted, or refused by name when they ask
for string features or labels (`data_type`, `exclusive_data_type`, `label_type` `str`)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from fateflow_grpc.components.evaluation import evaluation
from fateflow_grpc.components.io import data_transform
from fateflow_grpc.errors import InvalidArgument

TAGS = ("v1.5.3", "v1.6.1", "v1.7.2", "v1.8.1", "v1.9.2", "v1.10.0", "v1.11.4")
MODULES = {"dataio_": data_transform, "data_transform_": data_transform, "evaluation_": evaluation}


def _repository() -> Path:
    path = Path(os.environ.get("FATEFLOW_FATE_REPO", "/work/.mirror/FederatedAI+FATE/repo"))
    if not (path / "HEAD").is_file() and not (path / ".git").exists():
        pytest.skip(f"no git mirror of FATE at {path} (set FATEFLOW_FATE_REPO)")
    return path


def _confs(repository: Path, tag: str) -> Iterator[tuple[str, Any]]:
    listing = subprocess.run(
        ["git", "-C", str(repository), "ls-tree", "-r", tag, "examples/dsl"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    blobs = [
        (line.split()[2], line.split("\t", 1)[1]) for line in listing if line.endswith(".json")
    ]
    batch = subprocess.run(
        ["git", "-C", str(repository), "cat-file", "--batch"],
        input=("\n".join(sha for sha, _ in blobs) + "\n").encode(),
        capture_output=True,
        check=True,
    ).stdout
    position = 0
    for _, path in blobs:
        header_end = batch.index(b"\n", position)
        size = int(batch[position:header_end].split()[2])
        body = batch[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1
        try:
            yield path, json.loads(body)
        except ValueError:
            continue


def _module(component: str) -> Any:
    return next((m for prefix, m in MODULES.items() if component.startswith(prefix)), None)


def _parameter_sets(conf: Mapping[str, Any]) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(component, module, parameters) for each party a conf gives parameters to."""
    if not isinstance(conf, Mapping) or "role" not in conf:
        return
    roles = conf.get("role") or {}
    if "component_parameters" in conf:  # v2
        section = conf["component_parameters"] or {}
        common = section.get("common") or {}
        by_role = section.get("role") or {}
        for role, ids in roles.items():
            for index in range(len(ids)):
                overlays: dict[str, dict[str, Any]] = {}
                for keys, components in (by_role.get(role) or {}).items():
                    chosen = str(keys).split("|")
                    if keys == "all" or str(index) in chosen:
                        for component, values in components.items():
                            overlays.setdefault(component, {}).update(values)
                for component in {*common, *overlays}:
                    module = _module(component)
                    if module is not None:
                        yield (
                            component,
                            module,
                            {**common.get(component, {}), **overlays.get(component, {})},
                        )
    else:  # v1
        algorithm = conf.get("algorithm_parameters") or {}
        by_role = conf.get("role_parameters") or {}
        for role, ids in roles.items():
            for index in range(len(ids)):
                components = set(algorithm) | set(by_role.get(role) or {})
                for component in components:
                    module = _module(component)
                    if module is None:
                        continue
                    values = dict(algorithm.get(component) or {})
                    for key, per_party in ((by_role.get(role) or {}).get(component) or {}).items():
                        if isinstance(per_party, list) and index < len(per_party):
                            values[key] = per_party[index]
                    yield component, module, values


def _asks_for_strings(values: Mapping[str, Any]) -> bool:
    exclusive = values.get("exclusive_data_type") or {}
    return (
        str(values.get("data_type", "")).lower() == "str"
        or (values.get("with_label") is True and str(values.get("label_type", "")).lower() == "str")
        or (
            isinstance(exclusive, Mapping) and "str" in {str(v).lower() for v in exclusive.values()}
        )
    )


@pytest.mark.parametrize("tag", TAGS)
def test_fates_example_parameters(tag: str) -> None:
    repository = _repository()
    seen = 0
    for path, conf in _confs(repository, tag):
        if "/experiment/" in path:
            continue  # FATE's scratch example: it names parameters no FATE release defines
        for component, module, values in _parameter_sets(conf):
            values = {k: v for k, v in values.items() if k != "need_run"}
            merged = {**module.DEFAULTS, **values}
            seen += 1
            where = f"{tag}:{path} {component}"
            if _asks_for_strings(values):
                with pytest.raises(InvalidArgument, match="str is not supported"):
                    module.validate_parameters(merged)
            else:
                try:
                    module.validate_parameters(merged)
                except InvalidArgument as error:
                    pytest.fail(f"{where}: {error.message}")
    assert seen > 50
