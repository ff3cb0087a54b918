"""Reading codebook YAML as a person means it: YAML 1.2 scalars, no repeated keys, line numbers.

PyYAML implements YAML 1.1, where ``NO``, ``yes``, ``on`` and ``off`` are
booleans, ``010`` is octal, ``1:30`` is 90 and ``2024-01-01`` a date: a
level labelled ``NO`` (Norway, or the answer "NO") would silently become
``False``. :class:`CodebookLoader` resolves plain scalars by the YAML 1.2
core schema instead (booleans are ``true``/``false`` only, integers are
decimal, ``0o`` octal or ``0x`` hexadecimal, no timestamps), refuses a key
written twice in one mapping (YAML says keys are unique; PyYAML keeps the
last one), and :func:`load_yaml` returns, next to the data, the line of
every key so that codebook errors can name it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class CodebookLoader(yaml.SafeLoader):
    """A SafeLoader with YAML 1.2 core-schema scalars that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the base class says so
                if first is not None:
                    raise ConstructorError(
                        None, None,
                        f"key {key!r} appears twice in one mapping (first on line {first}, "
                        f"again on line {key_node.start_mark.line + 1}); YAML keys are unique, "
                        "remove or rename one",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: CodebookLoader, node) -> int:
    text = loader.construct_scalar(node).replace("_", "")
    if text.lower().startswith(("0o", "+0o", "-0o")):
        return int(text.replace("0o", "").replace("0O", ""), 8)
    if text.lower().lstrip("+-").startswith("0x"):
        return int(text, 16)
    return int(text, 10)


CodebookLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CodebookLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
CodebookLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
CodebookLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))
CodebookLoader.add_constructor(_INT, _construct_int)


def load_yaml(text: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The document in ``text`` and the 1-based line of each key, by its path of keys."""
    loader = CodebookLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[tuple[str, ...], int] = {}

    def walk(node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*path, str(key_node.value))
                lines.setdefault(key, key_node.start_mark.line + 1)
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                lines.setdefault((*path, str(k)), item.start_mark.line + 1)
                walk(item, (*path, str(k)))

    if node is not None:
        walk(node, ())
    return data, lines
