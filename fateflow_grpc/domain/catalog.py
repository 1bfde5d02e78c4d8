"""The component modules a DSL may name, as far as parsing a job needs to know them.

Components arrive later and describe themselves with a `ModuleInfo`; job parsing only sees the
`ModuleCatalog` protocol, so tests and tools can build small catalogs of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol


@dataclass(frozen=True)
class ModuleInfo:
    """One module (FATE's `setting_conf/<Module>.json` plus its parameter class defaults)."""

    #: The canonical name, such as `DataTransform`.
    name: str
    #: The roles that run this module; a party of another role gets no task for it.
    roles: frozenset[str]
    #: Parameter names with FATE's defaults. Empty means "not declared": keys go unchecked.
    parameters: Mapping[str, object] = field(default_factory=dict, hash=False)
    #: Other names the DSL may use, such as `DataIO` for `DataTransform`.
    aliases: frozenset[str] = frozenset()
    #: The data input kinds it reads (`data`, `train_data`...). Empty means "not declared".
    input_kinds: frozenset[str] = frozenset()
    #: Whether a component of this module goes into a predict DSL when the DSL does not say.
    need_deploy: bool = True
    #: Checks a party's resolved parameters before the job is created (raising
    #: InvalidArgument naming the parameter) and returns them, normalised.
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = field(
        default=None, compare=False, hash=False
    )
    #: The columns a party's resolved parameters need in the tables the component reads from
    #: the conf (through a Reader, or v1 `args`), checked where the job is created.
    required_columns: Callable[[dict[str, Any]], list[str]] | None = field(
        default=None, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # Defaults are shared by every job that uses the module; nobody may change them.
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))


class ModuleCatalog(Protocol):
    """Where job parsing looks modules up."""

    def get(self, name: str) -> ModuleInfo | None:
        """The module called `name` (canonical name or alias), or None."""
        ...

    def names(self) -> Sequence[str]:
        """Every name `get` answers, for error messages."""
        ...


class Catalog:
    """A fixed set of modules, found by canonical name or alias."""

    def __init__(self, modules: Iterable[ModuleInfo]) -> None:
        self._by_name: dict[str, ModuleInfo] = {}
        for module in modules:
            for name in (module.name, *sorted(module.aliases)):
                if name in self._by_name:
                    # Two modules answering one name is a bug in the component set, not input.
                    raise ValueError(f"module name {name!r} is claimed twice")
                self._by_name[name] = module

    def get(self, name: str) -> ModuleInfo | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)
