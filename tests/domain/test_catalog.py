"""The module catalog: names, aliases, frozen defaults."""

from __future__ import annotations

import pytest

from fateflow_grpc.domain.catalog import Catalog, ModuleInfo
from tests.domain.fate_examples import CATALOG


def test_aliases_find_the_canonical_module() -> None:
    data_io = CATALOG.get("DataIO")
    assert data_io is not None
    assert data_io is CATALOG.get("DataTransform")
    assert data_io.name == "DataTransform"
    assert CATALOG.get("dataio") is None
    assert "DataIO" in CATALOG.names()


def test_defaults_cannot_be_changed() -> None:
    defaults = {"alpha": 1.0}
    module = ModuleInfo("HeteroLR", frozenset({"guest"}), defaults)
    defaults["alpha"] = 2.0
    assert module.parameters == {"alpha": 1.0}
    with pytest.raises(TypeError):
        module.parameters["alpha"] = 3.0  # type: ignore[index]


def test_one_name_two_modules_is_a_bug() -> None:
    with pytest.raises(ValueError, match="'DataIO'"):
        Catalog(
            [
                ModuleInfo("DataIO", frozenset({"guest"})),
                ModuleInfo("DataTransform", frozenset({"guest"}), aliases=frozenset({"DataIO"})),
            ]
        )
