"""Arithmetic formulas of derived variables, parsed without ``eval``.

A formula such as ``weight_kg / (height_cm / 100) ** 2`` may hold variable
names, numbers, ``+ - * / **``, parentheses and the functions ``log``,
``exp``, ``sqrt`` and ``abs``; anything else (attribute access, calls of other
functions, comparisons) is refused, so a codebook cannot run code.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import numpy as np

FUNCTIONS = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
              ast.Div: np.divide, ast.Pow: np.power}


class FormulaError(ValueError):
    """A formula the codebook may not hold; the message says which part."""


def _parse(formula: str) -> ast.expr:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula {formula!r} is not arithmetic ({exc.msg})") from None
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Name,
                   ast.Load, ast.Constant, ast.Call, *_OPERATORS)
        if not isinstance(node, allowed):
            raise FormulaError(f"formula {formula!r}: {type(node).__name__} is not allowed; "
                               "use names, numbers, + - * / ** and log, exp, sqrt, abs")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise FormulaError(f"formula {formula!r}: only numbers may be constants")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name)
                                               and node.func.id in FUNCTIONS
                                               and len(node.args) == 1 and not node.keywords):
            raise FormulaError(f"formula {formula!r}: the only functions are "
                               f"{', '.join(FUNCTIONS)}, each of one argument")
    return tree.body


def formula_names(formula: str) -> list[str]:
    """The variable names a formula uses (each once)."""
    tree = _parse(formula)
    functions = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in functions]
    return list(dict.fromkeys(names))


def evaluate_formula(formula: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """The formula's value for every row; NaN where an input is missing or the result is not
    finite (division by zero, log of a negative number)."""

    def value(node: ast.expr):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(columns[node.id], dtype=float)
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](value(node.args[0]))
        return _OPERATORS[type(node.op)](value(node.left), value(node.right))

    with np.errstate(all="ignore"):
        out = np.asarray(value(_parse(formula)), dtype=float)
    n = len(next(iter(columns.values()))) if columns else 1
    out = np.broadcast_to(out, (n,)).copy()
    out[~np.isfinite(out)] = np.nan
    return out


__all__ = ["FUNCTIONS", "FormulaError", "evaluate_formula", "formula_names"]
