"""``backpain report`` end to end on surveys that are not the example (issue 13, "Done when").

Each shape of :mod:`own_shapes` (three public datasets with codebooks written
from their documentation, six simulated surveys made by ``generate.py``, and
the example itself) is rendered once, in-process through
``analysis.cli.main``, and every page is checked: exit 0, no traceback, no
example-only wording, no heading without anything under it, the model the
plan should choose, and the adjusted estimate, n and events of one exposure
in ``results.json`` equal to a direct call of ``analysis.models`` (and of
``analysis.plan.fit_plan``) on the same survey.

Runtime: each notebook costs a kernel start and ~5 s. The shapes in
:data:`FULL` get the whole report (every notebook that applies); the others
only the models notebook ``03_risk_factors`` (``--notebooks`` is not a CLI
option, so those call ``render_reports(..., notebooks=[...])``, the function
the CLI calls). The reports run one after another: concurrent kernels collide.
Measured on the 2 shared cores: the whole module in 104 s (a whole report 12-19 s,
the models notebook alone 4-9 s), 184 s when the machine was busy.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from own_shapes import SHAPES, Shape, public_dir

from analysis.cli import main
from analysis.load import load_survey
from analysis.plan import fit_plan, plan
from analysis.report import render_reports
from analysis.report.build import report_notebooks
from analysis.report.session import table_key

pytestmark = pytest.mark.slow

# The whole report for these: a public dataset, the sparse small survey and the design-based
# one (the design reaches the prevalence table, not only the models). The example's whole
# report is rendered by tests/test_report.py (a 1,500-row simulation of it); here the
# committed example file gets the models notebook.
FULL = {"backpack", "small_sparse", "complex_design"}
MODELS_ONLY = "03_risk_factors"
EXAMPLE_WORDS = re.compile(r"spasm|back-muscle|truth", re.IGNORECASE)
MEASURES = ("OR", "IRR", "RRR")
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", params=SHAPES, ids=[s.name for s in SHAPES])
def rendered(request, tmp_path_factory) -> tuple[Shape, Path, Path, int]:
    shape: Shape = request.param
    if shape.public and not (public_dir() / shape.public).is_file():
        pytest.skip(f"public file {shape.public} not in {public_dir()} (BACKPAIN_DATA_DIR)")
    tmp = tmp_path_factory.mktemp(shape.name)
    data, out = shape.data_file(tmp), tmp / "reports"
    start = time.perf_counter()
    if shape.name in FULL:
        code = main(["report", str(data), "--codebook", str(shape.codebook), "--out", str(out)])
    else:
        render_reports(data, shape.codebook, out, progress=False,
                       notebooks=[p for p in report_notebooks() if p.stem == MODELS_ONLY])
        code = 0
    TIMES[shape.name] = time.perf_counter() - start
    return shape, data, out, code


def _pages(out: Path) -> list[Path]:
    return sorted(out.glob("*.html")) + sorted((out / "analyst").glob("*.html"))


class _Sections(HTMLParser):
    """Headings h2 and whether anything visible (text, table, image) follows each."""

    def __init__(self):
        super().__init__()
        self.sections: list[list] = []  # [heading text, has content]
        self._in_h2 = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "h2":
            self._in_h2 = True
            self.sections.append(["", False])
        elif tag in ("img", "table", "svg") and self.sections and not self._in_h2:
            self.sections[-1][1] = True

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._skip or not self.sections:
            return
        text = data.replace("¶", "").strip()
        if self._in_h2:
            self.sections[-1][0] += text
        elif text:
            self.sections[-1][1] = True


def test_exits_zero_with_every_page(rendered):
    shape, _, out, code = rendered
    assert code == 0
    expected = {p.stem for p in report_notebooks()} if shape.name in FULL else {MODELS_ONLY}
    if shape.name in FULL and shape.name != "example":
        expected.discard("04_questionnaires")  # none of these declares a questionnaire
    assert {p.stem for p in out.glob("0*.html")} == expected
    assert (out / "index.html").is_file()


def test_no_traceback_no_example_wording_no_empty_section(rendered):
    shape, _, out, _ = rendered
    simulated = shape.name == "example"  # the only codebook here with simulated: true
    for page in _pages(out):
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text, page
        assert "application/vnd.jupyter.stderr" not in text, f"{page}: stderr output shown"
        body = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.DOTALL)
        # The analyst pages show the notebook's code (planned.truth(report)): words of the
        # report are what is checked, not the names of its functions.
        words = re.sub(r'<div class="highlight[^"]*"><pre>.*?</pre>', "", body, flags=re.DOTALL)
        if not simulated:
            found = EXAMPLE_WORDS.findall(re.sub(r"<[^>]+>", " ", words))
            assert not found, f"{page}: example wording {found}"
        parser = _Sections()
        parser.feed(body)
        empty = [title for title, content in parser.sections if not content]
        assert not empty, f"{page}: headings with nothing under them: {empty}"



@pytest.mark.browser
def test_reader_pages_fit_a_phone_and_a_desktop(rendered, browser):
    """Own data are not the example: other labels and table widths (issue 18)."""
    from tests.test_report_cdp import page_problems

    shape, _, out, _ = rendered
    problems = []
    for page in sorted(out.glob("*.html")):
        problems += page_problems(browser, page, label=f"{shape.name}_")
    assert problems == []

def _parse_ci(text: str) -> tuple[float, float, float]:
    match = re.fullmatch(r"([\d.e+]+) \(([\d.e+]+)-([\d.e+]+)\)", text.strip())
    assert match, f"not an estimate with its interval: {text!r}"
    return tuple(float(g) for g in match.groups())


def _close(shown: float, direct: float) -> bool:
    # The page shows 2 decimals (3 significant digits above 10): rounding only.
    return abs(shown - direct) <= 0.0051 + 0.0051 * abs(direct)


def _direct(survey, fitted, exposure: str) -> object:
    """The same model by a direct call of analysis.models, not through the plan.

    With a causal diagram the exposure's estimate comes from its own model: the exposure
    and its adjustment set, no interaction (plan.causal.fit_by_adjustment_set).
    """
    from analysis import models

    m = fitted.plan
    common = dict(outcome=m.outcome, exposures=m.exposures, adjust_for=m.adjust_for)
    interactions = m.interactions
    if m.adjustment_sets:
        common.update(exposures=[exposure], adjust_for=m.adjustment_sets[exposure])
        interactions = []
    if m.model in ("logistic", "Firth logistic"):
        return models.logistic(survey, **common, interactions=interactions,
                               firth=m.model == "Firth logistic", design=m.design)
    if m.model == "conditional logistic":
        return models.conditional_logistic(survey, **common, strata=m.match)
    if m.model in ("Poisson", "negative binomial"):
        return models.counts(survey, **common, exposure_time=m.exposure_time,
                             family="poisson" if m.model == "Poisson" else "negbin")
    if m.model == "proportional odds":
        return models.ordinal(survey, **common)
    return models.multinomial(survey, **common)


def test_plan_and_numbers_equal_direct_fits(rendered):
    shape, data, out, _ = rendered
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))[MODELS_ONLY]
    survey = load_survey(data, shape.codebook, on_invalid="exclude")
    chosen = plan(survey)
    first = chosen.models[0]
    assert first.model == shape.model
    assert results["plan"]["rows"][0][1] == shape.model
    assert shape.exposure in first.exposures
    fits = fit_plan(survey, chosen)
    fitted = fits[0]
    assert fitted.failure is None, fitted.failure
    # A model that could not be fitted is a notice with its reason, never a table.
    for failed in (f for f in fits if f.failure is not None):
        key = table_key("model", failed.plan.key)
        assert results[f"{key}_failure"]["rows"] == [[failed.failure]]
        assert key not in results
    everything = json.loads((out / "results.json").read_text(encoding="utf-8"))
    if chosen.design and "02_descriptives" in everything:
        _check_design_prevalence(survey, chosen, everything)
    shown = results[table_key("model", first.key)]
    column = next(c for c in shown["columns"]
                  if any(c == f"{m} adjusted (95% CI)" for m in MEASURES))
    rows = [dict(zip(shown["columns"], r, strict=True)) for r in shown["rows"]]
    table = fitted.result.table
    exposure_rows = table[(table["variable"] == shape.exposure)
                          & ~table["label"].str.endswith("(reference)")]
    estimate = next(f"{m.lower()}_adjusted" for m in MEASURES
                    if f"{m.lower()}_adjusted" in table.columns)
    checks = [("plan", exposure_rows)]
    if survey.codebook[shape.exposure].type not in ("numeric", "count"):
        # Coded exposures have no step: an independent call of analysis.models gives the same.
        direct = _direct(survey, fitted, shape.exposure).table
        checks.append(("models", direct[(direct["variable"] == shape.exposure)
                                        & ~direct["label"].str.endswith("(reference)")]))
    for source, expected in checks:
        assert len(expected), source
        for _, want in expected.iterrows():
            level = want.get("outcome_level")  # multinomial: one block per outcome level
            row = next(r for r in rows if r["Factor"] == want["label"]
                       and r.get("Outcome") == level)
            value, low, high = _parse_ci(row[column])
            assert _close(value, want[estimate]), (source, row, want[estimate])
            assert _close(low, want["ci_low_adjusted"]) and _close(high, want["ci_high_adjusted"])
            if row["n"] and not row["n"].startswith("<"):
                # counts carry the default style's thousands separators ("1,123")
                assert int(row["n"].replace(",", "")) == int(want["n"]), (source, row)



def _check_design_prevalence(survey, chosen, results: dict) -> None:
    """Under a declared design the prevalence shown is the design-based estimate."""
    from analysis.describe import prevalence

    outcome = chosen.models[0].outcome
    table = results["02_descriptives"]["prevalence"]
    coded = [v for v in chosen.models[0].exposures if survey.data[v].dtype == "category"]
    direct = prevalence(survey, outcome, by=coded, weighted=False, design=True)
    column = table["columns"].index("Design-based, % (95% CI)")
    for row, want in zip(table["rows"], direct.itertuples(), strict=True):
        value, low, high = _parse_ci(row[column])
        # one decimal of a percentage: rounding only
        assert abs(value - 100 * want.design_prevalence) <= 0.051
        assert abs(low - 100 * want.design_ci_low) <= 0.051
        assert abs(high - 100 * want.design_ci_high) <= 0.051
