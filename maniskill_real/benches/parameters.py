"""The robot nodes' parameters: described, checked, and read-only unless a node applies them
while it runs.

Each parameter is declared with a ParameterDescriptor (description, range, read_only), so
``ros2 param describe`` and rqt_reconfigure show what it is. One check runs on the value given
at start-up and on every later ``set_parameters`` request: rclpy calls on-set callbacks for both
(rclpy/node.py: ``declare_parameters`` and ``_set_parameters_atomically``), after refusing a
read-only parameter and one outside its descriptor's range. A number's range is also checked
here, since a float parameter takes integers too (``dynamic_typing``, so that
``ros2 param set /node rate 2`` works) and rclpy checks a float range on floats only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter


class ParameterError(ValueError):
    """A start-up parameter value the node refuses; the message names the parameter."""


@dataclass(frozen=True)
class Spec:
    default: Any
    """Its type is the parameter's (a float also takes integers)."""
    description: str
    runtime: bool = False
    """The node applies a new value while running; every other parameter is read-only."""
    low: float | None = None
    """Inclusive bounds of a number (or of every number in a list)."""
    high: float | None = None
    positive: bool = False
    """Must be > 0 (rates, sizes)."""
    choices: tuple[str, ...] | None = None
    """The values a string parameter may take."""
    type_: Parameter.Type | None = None
    """The type where the default can't tell it: rclpy takes ``[]`` for a byte array
    (rclpy/parameter.py, ``Parameter.Type.from_parameter_value``)."""

    @property
    def numeric(self) -> bool:
        values = _values(self.default)
        return bool(values) and all(_is_number(v) for v in values)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` can't be this parameter's value; None if it can."""
        if self.choices is not None and value not in self.choices:
            return f"expected one of {', '.join(map(repr, self.choices))}, got {value!r}"
        if not self.numeric:
            return None  # rclpy's static typing is the whole check
        if isinstance(self.default, list):
            # rclpy hands number arrays over as array.array, string arrays as lists
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                return f"expected a list of numbers, got {value!r}"
            values = list(value)
        else:
            values = [value]
        for v in values:
            if not (_is_number(v) and math.isfinite(v)):
                return f"expected finite numbers, got {value!r}"
            if self.positive and v <= 0:
                return f"must be > 0, got {v!r}"
            if self.low is not None and v < self.low:
                return f"must be >= {self.low}, got {v!r}"
            if self.high is not None and v > self.high:
                return f"must be <= {self.high}, got {v!r}"
        return None

    def descriptor(self) -> ParameterDescriptor:
        floats = self.numeric and not all(isinstance(v, int) for v in _values(self.default))
        d = ParameterDescriptor(
            description=self.description,
            read_only=not self.runtime,
            dynamic_typing=floats and self.type_ is None,
        )
        if self.positive:
            d.additional_constraints = "> 0"
        low = 0 if self.positive and self.low is None else self.low
        if low is not None and self.high is not None:  # a range needs both ends
            if floats:
                d.floating_point_range = [
                    FloatingPointRange(from_value=float(low), to_value=float(self.high))
                ]
            else:
                d.integer_range = [IntegerRange(from_value=int(low), to_value=int(self.high))]
        elif low is not None:
            d.additional_constraints = d.additional_constraints or f">= {low}"
        return d


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _values(default: Any) -> list[Any]:
    return default if isinstance(default, list) else [default]


def declare(node: Node, specs: dict[str, Spec]) -> dict[str, Any]:
    """Declare ``specs`` on ``node`` and return their start-up values; one that fails its check
    raises ParameterError naming it, and the same check refuses it in a later set request."""

    def check(params: list[Parameter]) -> SetParametersResult:
        for param in params:
            spec = specs.get(param.name)
            why = spec.problem(param.value) if spec is not None else None
            if why:
                return SetParametersResult(successful=False, reason=f"{param.name}: {why}")
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(check)
    for name, spec in specs.items():
        try:
            if spec.type_ is None:
                node.declare_parameter(name, spec.default, spec.descriptor())
                continue
            # Declared typed but unset, get_parameters answers nothing for every request that
            # names it (rclpy/parameter_service.py), which breaks `ros2 param dump`: set it,
            # before a read-only one gets its read-only descriptor (rclpy refuses to set a
            # read-only parameter, but lets Node.set_descriptor make a writable one read-only).
            writable = spec.descriptor()
            writable.read_only = False
            declared = node.declare_parameter(name, spec.type_, writable)
            if declared.type_ == Parameter.Type.NOT_SET:
                result = node.set_parameters([Parameter(name, spec.type_, spec.default)])[0]
                if not result.successful:
                    raise ParameterError(f"parameter '{name}': {result.reason}")
            if not spec.runtime:
                descriptor = spec.descriptor()
                descriptor.type = spec.type_.value
                node.set_descriptor(name, descriptor)
        except (InvalidParameterValueException, InvalidParameterTypeException) as e:
            raise ParameterError(f"parameter '{name}': {e}") from None
    return {name: node.get_parameter(name).value for name in specs}
