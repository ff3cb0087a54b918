"""A :class:`~analysis.privacy.Release` saved as JSON and read back (one run, many kernels)."""

from __future__ import annotations

import json

import pandas as pd

from analysis.privacy._decision import LOG_COLUMNS
from analysis.privacy.cells import CellKey, CellRecord


def dump(release) -> str:
    """Everything ``release`` registered, and its decision when made (see ``Release.to_json``)."""

    def key(k: CellKey) -> list:
        return [k.population, [list(p) for p in k.levels]]

    return json.dumps({
        "threshold": release.threshold, "rounding": release.rounding,
        "cells": [[key(k), c.value, c.released, c.where, *([True] if c.derived else [])]
                  for k, c in release._cells.items()],
        "relations": [[key(t), [key(p) for p in parts]]
                      for t, parts in release._relations.values()],
        "levels": {v: [list(lv), m] for v, (lv, m) in release._levels.items()},
        "estimates": {n: [key(k) for k in ks] for n, ks in release._estimates.items()},
        # the decision itself, when made: a notebook loading it need not decide again
        "decision": None if release._status is None else {
            "status": [[key(k), s] for k, s in release._status.items()],
            "log": release._log.to_dict(orient="list")},
    }, sort_keys=True, indent=1, ensure_ascii=False)


def load(cls, text: str):
    """The release :func:`dump` saved, sealed (it renders; it registers nothing new)."""
    data = json.loads(text)

    def key(item) -> CellKey:
        return CellKey(item[0], tuple((v, lv) for v, lv in item[1]))

    out = cls(data["threshold"], rounding=data["rounding"])
    for k, value, released, where, *derived in data["cells"]:
        cell = out._cells[key(k)] = CellRecord(value, released, list(where), bool(derived))
        cell.value = None if value is None else float(value)
    for total, parts in data["relations"]:
        t, ps = key(total), tuple(key(p) for p in parts)
        out._relations[t, frozenset(ps)] = (t, ps)
    out._levels = {v: (tuple(lv), m) for v, (lv, m) in data["levels"].items()}
    out._estimates = {n: tuple(key(k) for k in ks) for n, ks in data["estimates"].items()}
    out._frozen = True  # sealed: what the saved release decides is what every page shows
    decision = data.get("decision")
    if decision:
        out._status = {key(k): s for k, s in decision["status"]}
        out._log = pd.DataFrame(decision["log"], columns=LOG_COLUMNS)
    return out


__all__ = ["dump", "load"]
