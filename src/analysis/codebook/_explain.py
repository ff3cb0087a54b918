"""Codebook errors as a person reads them: the YAML line, the variable, the key, a hint."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import pydantic


def _line(positions: Mapping[tuple[str, ...], int], loc: list[str]) -> str:
    """'line N: ' for the longest prefix of ``loc`` whose line is known."""
    for end in range(len(loc), 0, -1):
        line = positions.get(tuple(loc[:end]))
        if line is not None:
            return f"line {line}: "
    return ""


def explain(exc: pydantic.ValidationError, source: str,
            positions: Mapping[tuple[str, ...], int], keys: Mapping[str, list[str]]) -> str:
    """Turn pydantic's errors into lines naming the YAML line, variable and key."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith("@"):
            where, _, msg = msg[1:].partition(": ")
            parts = where.split(".")
            if parts[0] == "analysis":
                loc = parts
            elif loc[:1] == ["variables"] and len(loc) >= 2:
                loc = ["variables", loc[1], *parts]
            else:
                loc = ["variables", *parts]
        if loc[:1] == ["variables"] and len(loc) >= 2:
            variable = loc[1]
            key = ".".join(p for p in loc[2:] if not p.startswith(("function-", "tagged-")))
            key = _strip_union_noise(key)
            hint = ""
            if err["type"] == "extra_forbidden":
                field = key.split(".")[-1]
                pool = (
                    keys["instrument"]
                    if ".instrument" in f".{key}" and "." in key
                    else keys["derive"] if ".derive" in f".{key}" and "." in key
                    else keys["variable"]
                )
                close = difflib.get_close_matches(field, pool, n=1)
                msg = "unknown key"
                hint = (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else f" (known keys: {', '.join(pool)})"
                )
            if err["type"] == "literal_error":
                msg = f"{err['input']!r} is not allowed; {msg.replace('Input should be ', 'use ')}"
            where = _line(positions, ["variables", variable, *key.split(".")] if key
                          else ["variables", variable])
            lines.append(f"{where}variable {variable!r}, key {key or '(whole entry)'!r}: "
                         f"{msg}{hint}")
        else:
            key = ".".join(loc) or "(top level)"
            hint = ""
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(loc[-1], keys["codebook"], n=1)
                msg = "unknown key"
                hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"{_line(positions, loc)}key {key!r}: {msg}{hint}")
    lines = list(dict.fromkeys(lines))
    head = f"{source}: the codebook has {len(lines)} problem{'s' if len(lines) > 1 else ''}:"
    return "\n".join([head, *(f"  - {line}" for line in lines)])


def _strip_union_noise(key: str) -> str:
    noise = {"int", "str", "float", "None", "tuple[union[float,str,none],union[float,str,none]]"}
    parts = [p for p in key.split(".") if p.replace(" ", "").lower() not in noise]
    return ".".join(parts) if parts else key
