"""The pages that must follow the code: docs/configuration.md and docs/api.md complete and
current, the node configs shown in README.md and docs/ valid, and their links to files alive."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from fateflow_grpc.config import NodeConfig, Route, Security, Tls

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@functools.cache
def _generator() -> ModuleType:
    """docs/generate_api.py, which is a script, not a module of a package."""
    spec = importlib.util.spec_from_file_location("generate_api", DOCS / "generate_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _documented_keys(heading: str) -> set[str]:
    """The keys in the first column of the tables under `## heading` of configuration.md."""
    text = (DOCS / "configuration.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)
    assert len(section) == 2, f"configuration.md has no section '## {heading}'"
    body = section[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("config_class", "heading"),
    [
        (NodeConfig, "Node keys"),
        (Tls, "tls: TLS of one link"),
        (Route, "Routes"),
        (Security, "security: what this party lets a job expose"),
    ],
)
def test_every_config_key_is_documented(config_class: type, heading: str) -> None:
    fields = {field.name for field in dataclasses.fields(config_class)}
    documented = _documented_keys(heading)
    assert not fields - documented, (
        f"docs/configuration.md, section '{heading}', lacks {sorted(fields - documented)}"
    )
    assert not documented - fields, (
        f"docs/configuration.md, section '{heading}', documents keys that do not exist: "
        f"{sorted(documented - fields)}"
    )


def test_api_reference_is_current() -> None:
    generator = _generator()
    assert (DOCS / "api.md").read_text() == generator.render(), (
        "docs/api.md is stale; run python docs/generate_api.py"
    )


def test_api_reference_lists_every_route() -> None:
    generator = _generator()
    routes = generator.build_routes(generator.descriptor_set().file)
    text = (DOCS / "api.md").read_text()
    assert routes
    for route in routes:
        assert f"\n### {route.verb} {route.path}\n" in text


#: The pages whose YAML blocks are node configs.
CONFIG_PAGES = [ROOT / "README.md", DOCS / "configuration.md", DOCS / "operations.md"]


@pytest.mark.parametrize("page", CONFIG_PAGES, ids=lambda page: page.name)
def test_node_configs_shown_are_valid(page: Path) -> None:
    """Every YAML block of a page is a node config that loads, as a reader would copy it."""
    for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.DOTALL):
        NodeConfig.from_dict(yaml.safe_load(block))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_to_files_lead_somewhere(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to {target}, which is not there"
