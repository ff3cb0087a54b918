"""The data-quality counts in the report's release: participant flow, changes, missing values.

Cells of the rows read (population ``"read"``: each exclusion rule's rows,
the rows excluded by any rule, the diagram's pooled reasons) and of the
respondents analysed (``"analysed"``: the missing-values table), registered
with the run's :class:`~analysis.privacy.Release` (:mod:`.disclosure`) and
rendered by the data-quality sections and the methods paragraph.
"""

from __future__ import annotations

import pandas as pd

from analysis import style
from analysis.privacy import Release, cell_key
from analysis.report.tables import NOT_ASKED, blank_keys

POPULATION = "analysed"  # every respondent analysed: Table 1, prevalence, missing values
READ = "read"  # rows read: the participant flow
EXCLUDED = cell_key(READ, excluded="(any rule)")  # rows excluded, all rules: the methods text
ASKED = "(asked)"


def flow_keys(flow: pd.DataFrame) -> list:
    """The cell of each row of :attr:`Survey.flow` (read, each step's reasons, analysed)."""
    keys = []
    for stage, step, reason in flow[["stage", "step", "reason"]].itertuples(index=False):
        if stage == "read":
            keys.append(cell_key(READ))
        elif stage == "analysed":
            keys.append(cell_key(POPULATION))
        else:
            keys.append(cell_key(READ, excluded=f"{step}: {reason}"))
    return keys


def pooled_flow(flow: pd.DataFrame, threshold: int | None) -> pd.DataFrame:
    """The flow with each step's reasons of fewer than ``threshold`` rows pooled.

    For the diagram, which cannot show "<5": the small reasons of a step
    become "other rules" (with the smallest other reason when the pool is
    still small). Adds a column ``parts``: the reasons each row pools.
    """
    rows = []
    for (stage, step), group in flow.groupby(["stage", "step"], sort=False):
        group = group.assign(parts=[[r] for r in group["reason"]])
        if stage != "excluded" or threshold is None:
            rows.append(group)
            continue
        group = group.sort_values(["n", "reason"])
        small = group["n"] < threshold
        if small.sum() and group.loc[small, "n"].sum() < threshold and (~small).any():
            small.iloc[int(small.sum())] = True  # the smallest other reason joins the pool
        if small.sum() > 1:
            pooled = pd.DataFrame([{"stage": stage, "step": step, "reason": "other rules",
                                    "label": "other rules",
                                    "n": int(group.loc[small, "n"].sum()),
                                    "parts": list(group.loc[small, "reason"])}])
            group = pd.concat([group[~small], pooled], ignore_index=True)
        rows.append(group)
    return pd.concat(rows, ignore_index=True)


def register_flow(release: Release, flow: pd.DataFrame) -> None:
    """Rows read = every reason excluded + rows analysed, and the diagram's pooled counts."""
    keys = flow_keys(flow)
    for key, n in zip(keys, flow["n"], strict=True):
        release.add_cell(key, float(n), where="participant flow")
    read = [k for k, s in zip(keys, flow["stage"], strict=True) if s == "read"]
    if read:
        release.add_relation(read[0], [k for k in keys if k != read[0]])
    excluded = [k for k, s in zip(keys, flow["stage"], strict=True) if s == "excluded"]
    if excluded:  # the methods paragraph prints their sum
        release.add_cell(EXCLUDED, float(flow.loc[flow["stage"] == "excluded", "n"].sum()),
                         where="methods")
        release.add_relation(EXCLUDED, excluded)
    for _, row in pooled_flow(flow, release.threshold).iterrows():
        if row["stage"] == "excluded" and len(row["parts"]) > 1:
            pool = cell_key(READ, excluded=f"{row['step']}: other rules")
            release.add_cell(pool, float(row["n"]), where="participant flow diagram")
            release.add_relation(pool, [cell_key(READ, excluded=f"{row['step']}: {r}")
                                        for r in row["parts"]])
    for step, block in flow[flow["stage"] == "excluded"].groupby("step", sort=False):
        total = cell_key(READ, excluded_step=str(step))
        release.add_cell(total, float(block["n"].sum()), where="participant flow diagram")
        release.add_relation(total, [cell_key(READ, excluded=f"{step}: {r}")
                                     for r in block["reason"]])


def diagram_flow(release: Release, flow: pd.DataFrame) -> pd.DataFrame | None:
    """The pooled flow the diagram draws, each reason's count as released (``shown``).

    A step's hidden reasons are drawn as one "other rules" whose count is the
    step's released total minus its shown reasons (so it tells nothing the
    table does not); a lone hidden reason reads as in the table ("<5").
    None when a box's total (rows read, excluded at a step, analysed) is
    hidden, or under rounding, where the boxes' sums would not match.
    """
    pooled = pooled_flow(flow, release.threshold)
    keys = []
    for stage, step, reason, parts in pooled[["stage", "step", "reason", "parts"]].itertuples(
            index=False):
        if stage == "excluded" and len(parts) > 1:
            keys.append(cell_key(READ, excluded=f"{step}: other rules"))
        else:
            keys.append(flow_keys(pd.DataFrame([{"stage": stage, "step": step,
                                                 "reason": reason}]))[0])
    totals = [k for k, stage in zip(keys, pooled["stage"], strict=True) if stage != "excluded"]
    totals += [cell_key(READ, excluded_step=str(s))
               for s in flow.loc[flow["stage"] == "excluded", "step"].unique()]
    if any(release.hidden(k) for k in totals) or release.rounding:
        # rounded counts do not add up, and a box's hidden total has no number to draw
        return None
    drawn = pooled.drop(columns=["parts"]).assign(
        hidden=[release.hidden(k) for k in keys], shown=[release.label(k) for k in keys])
    rows = []
    for (stage, step), group in drawn.groupby(["stage", "step"], sort=False):
        if stage == "excluded" and group["hidden"].sum() > 1:
            hidden = group[group["hidden"]]
            n = int(hidden["n"].sum())
            group = pd.concat([group[~group["hidden"]], pd.DataFrame([{
                "stage": stage, "step": step, "reason": "other rules", "label": "other rules",
                "n": n, "hidden": False, "shown": style.count(n)}])], ignore_index=True)
        rows.append(group)
    return pd.concat(rows, ignore_index=True).drop(columns=["hidden"])


def undrawn_flow(release: Release) -> str:
    """Why the participant-flow diagram is not drawn (when :func:`diagram_flow` is None)."""
    return ("The participant-flow diagram is not drawn: "
            + ("its counts are rounded and would not add up." if release.rounding
               else "one of its totals is suppressed."))


def exclusions_once(counts: pd.DataFrame, flow: pd.DataFrame) -> pd.DataFrame:
    """The changes table with each excluded row counted once, under its first rule.

    The ledger counts a row breaking several exclusion rules under each; the
    participant flow counts it under the first. Shown side by side, the
    difference of the two counts is the number of respondents who broke both
    rules, which no table protects (and, with two rules, the rows that broke
    only the first). So the public changes table counts excluded rows as the
    flow does; a rule whose rows all broke an earlier rule has no row. The
    analyst's ledger keeps every rule's count.
    """
    in_flow = dict(zip(flow_keys(flow), flow["n"], strict=True))
    excluded = counts["action"] == "excluded"
    first = [in_flow.get(_flow_key(step, column, rule), 0) for step, column, rule in
             counts.loc[excluded, ["step", "column", "rule"]].itertuples(index=False)]
    out = counts.copy()
    if excluded.any():  # pandas will not set an empty list into an integer column
        out.loc[excluded, "n"] = first
    return out[~excluded | (out["n"] > 0)].reset_index(drop=True)


def change_keys(counts: pd.DataFrame, flow: pd.DataFrame) -> list:
    """A cell per row of the changes table (:func:`exclusions_once`).

    A rule's excluded rows are the flow's cell; the values a rule set missing
    are cells of their own (values, not respondents, and no other table adds
    them up).
    """
    in_flow = set(flow_keys(flow))
    keys = []
    for step, column, rule, action in counts[["step", "column", "rule",
                                               "action"]].itertuples(index=False):
        flow_key = _flow_key(step, column, rule)
        if action == "excluded" and flow_key in in_flow:
            keys.append(flow_key)
        else:
            keys.append(cell_key("changes", step=step, column=column, rule=rule,
                                 action=action))
    return keys


def register_changes(release: Release, counts: pd.DataFrame, flow: pd.DataFrame) -> list:
    """The changes table's cells (:func:`change_keys` of :func:`exclusions_once`); their keys."""
    keys = change_keys(counts, flow)
    for key, n in zip(keys, counts["n"], strict=True):
        release.add_cell(key, float(n), where="values changed by rule")
    return keys


def _flow_key(step, column, rule):
    return cell_key(READ, excluded=f"{step}: {column}: {rule}" if column else f"{step}: {rule}")


def change_counts(survey) -> pd.DataFrame:
    """Values set missing and rows excluded, by step, column, rule and action.

    ``survey`` is a survey, or its ledger counts already taken (a Parquet
    dataset's, from DuckDB). Not the rows a model leaves out (the ledger
    holds those once a model is fitted): the table is the same before and
    after fitting.
    """
    blocks = survey if isinstance(survey, pd.DataFrame) else survey.accounts.counts()
    blocks = blocks[~blocks["action"].isin(["dropped column", "not in model"])]
    blocks = blocks.assign(column=blocks["column"].fillna("").astype(str))
    return (blocks.groupby(["step", "column", "rule", "action"], dropna=False, sort=True)["n"]
            .sum().reset_index())


def register_missing(release: Release, counts: pd.DataFrame) -> tuple[list, list]:
    """The missing-values table (:func:`analysis.figures.missingness`): keys of Missing, Asked."""
    base = cell_key(POPULATION)
    missing_keys, asked_keys = [], []
    for row in counts.itertuples(index=False):
        shown, _ = blank_keys(release, base, row.variable, row.n_missing, row.n_not_asked)
        asked = base.plus(row.variable, ASKED)
        release.add_cell(shown, float(row.n_missing), where="missing values")
        release.add_cell(asked, float(row.n_asked), where="missing values")
        release.add_relation(asked, [base.plus(row.variable, "(known)"), shown])
        if row.n_not_asked:
            release.add_relation(base, [asked, base.plus(row.variable, NOT_ASKED)])
        missing_keys.append(shown)
        asked_keys.append(asked)
    return missing_keys, asked_keys


__all__ = [
    "ASKED",
    "EXCLUDED",
    "POPULATION",
    "READ",
    "change_counts",
    "change_keys",
    "diagram_flow",
    "exclusions_once",
    "flow_keys",
    "pooled_flow",
    "register_changes",
    "register_flow",
    "register_missing",
    "undrawn_flow",
]
