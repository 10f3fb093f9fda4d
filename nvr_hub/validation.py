"""Validation at the edge: voluptuous errors become one precise sentence naming the field."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import voluptuous as vol

from nvr_hub.errors import BadRequest

F = TypeVar("F", bound=Callable[..., Any])


def described(func: F, schema: dict[str, Any]) -> F:
    """Attach the JSON schema a validator accepts, for the OpenAPI document."""
    func.json_schema = schema  # type: ignore[attr-defined]
    return func


def field_path(path: list[Any]) -> str:
    """Render a voluptuous error path as `a.b[0].c`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def describe(err: vol.Invalid) -> str:
    """Turn a voluptuous error into a sentence that names the offending field."""
    if isinstance(err, vol.MultipleInvalid):
        err = err.errors[0]
    path = field_path(list(err.path))
    msg = err.error_message
    if not path:
        return msg
    if msg == "extra keys not allowed":
        return f"unknown field '{path}'"
    if msg == "required key not provided":
        return f"missing field '{path}'"
    return f"invalid field '{path}': {msg}"


def validate(schema: vol.Schema, data: Any) -> Any:
    """Run a schema and raise `BadRequest` naming the first bad field."""
    try:
        return schema(data)
    except vol.Invalid as err:
        raise BadRequest(describe(err)) from err


def _strict_bool(value: Any) -> bool:
    """Accept real booleans and 0/1 (LightNVR clients send both), nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise vol.Invalid("expected a boolean")


strict_bool = described(_strict_bool, {"type": "boolean"})


def strict_int(value: Any) -> int:
    """Accept ints (and integral floats), never booleans or strings."""
    if isinstance(value, bool):
        raise vol.Invalid("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise vol.Invalid("expected an integer")


def strict_float(value: Any) -> float:
    """Accept finite numbers, never booleans or strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid("expected a number")
    if not math.isfinite(value):
        raise vol.Invalid("expected a finite number")
    return float(value)


def int_range(low: int, high: int) -> Callable[[Any], int]:
    """An integer validator bounded on both sides, with the bounds in the message."""

    def check(value: Any) -> int:
        number = strict_int(value)
        if not low <= number <= high:
            raise vol.Invalid(f"must be between {low} and {high}")
        return number

    return described(check, {"type": "integer", "minimum": low, "maximum": high})


def float_range(low: float, high: float) -> Callable[[Any], float]:
    """A float validator bounded on both sides."""

    def check(value: Any) -> float:
        number = strict_float(value)
        if not low <= number <= high:
            raise vol.Invalid(f"must be between {low} and {high}")
        return number

    return described(check, {"type": "number", "minimum": low, "maximum": high})


def text(max_len: int, *, min_len: int = 0) -> Callable[[Any], str]:
    """A string validator with a length cap (long strings are rejected, not truncated)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise vol.Invalid("expected a string")
        if len(value) > max_len:
            raise vol.Invalid(f"must be at most {max_len} characters")
        if len(value) < min_len:
            raise vol.Invalid(f"must be at least {min_len} characters")
        if "\x00" in value:
            raise vol.Invalid("must not contain NUL characters")
        return value

    return described(check, {"type": "string", "minLength": min_len, "maxLength": max_len})
