"""Reading a component's parameters the way FATE's `BaseParam.check` does, with one error style.

    reader = ParamReader("Intersection", params, DEFAULTS)
    method = reader.choice("intersect_method", ("rsa", "raw"))
    rsa = reader.section("rsa_params")
    key_length = rsa.integer("key_length", minimum=1024)

A reader refuses names its defaults do not have (FATE 1.x refuses "redundant parameters" too),
takes FATE's default for a name the conf leaves out, and raises `InvalidArgument` naming the
parameter by its full path (`rsa_params.key_length`) and the module, before any party starts
work. Strings that FATE lower-cases before checking (`check_and_change_lower`) are compared
case-insensitively here as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fateflow_grpc.errors import InvalidArgument

#: Keys every module accepts and leaves to the scheduler (`need_run` decides whether a party
#: runs the component at all; by the time parameters reach a component it has been acted on).
SCHEDULER_KEYS = frozenset({"need_run"})


class ParamReader:
    """One section of a module's parameters, read against FATE's defaults for that section."""

    def __init__(
        self,
        module: str,
        values: Mapping[str, Any] | None,
        defaults: Mapping[str, Any],
        path: str = "",
    ) -> None:
        self._module = module
        self._path = path
        self._defaults = defaults
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise _error(module, path.rstrip("."), values, "must be an object of parameters")
        self._values = values
        unknown = sorted(set(values) - set(defaults) - (SCHEDULER_KEYS if not path else set()))
        if unknown:
            names = ", ".join(f"{path}{name}" for name in unknown)
            known = ", ".join(f"{path}{name}" for name in sorted(defaults))
            raise InvalidArgument(
                f"{module} has no parameter {names}; it takes {known}",
                module=module,
                parameter=f"{path}{unknown[0]}",
            )

    def error(self, name: str, value: object, message: str) -> InvalidArgument:
        """An error about parameter `name` of this section (its full path goes in the message)."""
        return _error(self._module, f"{self._path}{name}", value, message)

    def knows(self, name: str) -> bool:
        """Whether `name` is a parameter of this section at all."""
        return name in self._defaults

    def changed(self, name: str) -> bool:
        """Whether `name` has another value than FATE's default. (A job's parameters reach a
        component merged with the defaults, so a value the conf gives equal to the default
        cannot be told from one it leaves out.)"""
        return name in self._values and self._values[name] != self._defaults[name]

    def raw(self, name: str) -> Any:
        """The value the conf gives, or FATE's default."""
        return self._values.get(name, self._defaults[name])

    def section(self, name: str) -> ParamReader:
        default = self._defaults[name]
        assert isinstance(default, Mapping), f"{name} has no default section"
        return ParamReader(self._module, self.raw(name), default, f"{self._path}{name}.")

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise self.error(name, value, "must be true or false")
        return value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name)
        # bool is an int in Python; FATE's check_positive_integer refuses it, and so do we.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(name, value, "must be an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, value, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(name, value, f"must be at most {maximum}")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self.raw(name) is None else self.integer(name)

    def number(
        self,
        name: str,
        *,
        minimum: float | None = None,
        above: float | None = None,
        maximum: float | None = None,
    ) -> float:
        value = self.raw(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(name, value, "must be a number")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise self.error(name, value, "must be a finite number")
        if minimum is not None and number < minimum:
            raise self.error(name, value, f"must be at least {minimum:g}")
        if above is not None and number <= above:
            raise self.error(name, value, f"must be greater than {above:g}")
        if maximum is not None and number > maximum:
            raise self.error(name, value, f"must be at most {maximum:g}")
        return number

    def string(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str):
            raise self.error(name, value, "must be a string")
        return value

    def choice(self, name: str, choices: Sequence[str]) -> str:
        value = self.raw(name)
        if isinstance(value, str):
            for choice in choices:
                if value.lower() == choice.lower():
                    return choice
        raise self.error(name, value, f"must be one of {', '.join(choices)}")

    def only(self, name: str, allowed: object, why: str) -> None:
        """A FATE parameter accepted at its default only, because we do not implement the rest."""
        value = self.raw(name)
        if value != allowed or type(value) is not type(allowed):
            raise self.error(name, value, f"can only be {allowed!r} here ({why})")


def _error(module: str, parameter: str, value: object, message: str) -> InvalidArgument:
    return InvalidArgument(
        f"{module} parameter {parameter} {message}, not {value!r}",
        module=module,
        parameter=parameter,
        value=repr(value),
    )
