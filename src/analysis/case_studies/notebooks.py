"""Which case-study notebooks can run, and the report session each one opens.

A case study reads a registered public dataset (:mod:`analysis.datasets`)
instead of a survey file, so it has no ``data``/``codebook`` parameters: its
``dataset`` parameter names the dataset, and the report is rendered only
when that dataset's file can be had without downloading (the data folder
``BACKPAIN_DATA_DIR`` or the cache). Otherwise the report step prints one
line saying which case study it skipped and how to get its data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

from analysis.errors import ReportError

FOLDER = Path(__file__).resolve().parents[3] / "notebooks" / "case_studies"

#: notebook stem -> registered dataset it reads
CASE_STUDIES: dict[str, str] = {
    "driving_disc": "hsaur3-backpain",
    "pelvic_parameters": "vertebral-column",
    "backpack": "stat2data-backpack",
}


def skip_message(notebook: str, dataset: str) -> str:
    """The one line the report step prints for a case study whose data are missing."""
    return (f"skipped case study {notebook}: dataset {dataset} not found; run "
            f"'backpain datasets fetch {dataset}' or set BACKPAIN_DATA_DIR")


def case_study_notebooks(folder: str | Path | None = None) -> tuple[list[Path], list[str]]:
    """The case-study notebooks whose data are at hand, and a skip line for each of the others.

    A dataset is at hand when :func:`analysis.datasets.local_path` finds a
    checked copy (nothing is downloaded here). A copy with a wrong checksum
    is skipped too, its line naming the checksum problem.

    Examples
    --------
    >>> runnable, skipped = case_study_notebooks()
    >>> for line in skipped:  # doctest: +SKIP
    ...     print(line)
    """
    from analysis.datasets import local_path
    from analysis.errors import DatasetError

    folder = Path(folder) if folder else FOLDER
    runnable, skipped = [], []
    for stem, dataset in CASE_STUDIES.items():
        path = folder / f"{stem}.ipynb"
        if not path.is_file():
            raise ReportError(f"Case-study notebook {path} is missing.")
        try:
            found = local_path(dataset)
        except DatasetError as exc:  # a copy is there but fails its checksum
            skipped.append(f"skipped case study {stem}: {str(exc).splitlines()[0]}")
            continue
        if found is None:
            skipped.append(skip_message(stem, dataset))
        else:
            runnable.append(path)
    return runnable, skipped


def open_case_study(name: str, dataset: str, *, out_dir: str | Path | None = None,
                    threshold: int | None = 5, rounding: int | None = None,
                    groups: str | None = None, pairs: str | None = None,
                    overlaps: list | None = None, characteristics: list | None = None,
                    **parameters: Any):
    """Load ``dataset`` and start the report record of case study ``name``.

    Like :func:`analysis.report.open_report`, but the survey comes from
    :func:`analysis.datasets.load` (checksum-verified file, the dataset's
    own codebook), and the provenance names that file and codebook; ``out_dir`` None (run
    by hand) writes into :func:`analysis.report.session.scratch_folder`. ``groups`` (a
    variable: the rows-by-group table) and ``pairs`` (an exposure: its matched sets and
    discordant pairs), ``overlaps`` (``[variable, by]`` pairs: the distribution tables) and
    ``characteristics`` (Table 1's columns, when the notebook shows fewer than the default)
    name the case study's own tables, which its release registers
    with the report's before deciding anything
    (:func:`analysis.case_studies.sections.register_tables`).
    """
    from analysis import datasets
    from analysis.datasets.registry import CODEBOOK_DIR
    from analysis.report.session import ReportSession, check_rule, scratch_folder

    threshold, rounding = check_rule(threshold, rounding)
    matplotlib.rcParams["svg.hashsalt"] = "backpain"
    try:
        from analysis.figures import set_theme

        set_theme()
    except ImportError:  # pragma: no cover - figures are part of the package
        pass
    survey = datasets.load(dataset)
    from analysis.case_studies.released import attach_release

    own = {k: v for k, v in (("groups", groups), ("pairs", pairs),
                             ("overlaps", [list(o) for o in overlaps or ()] or None),
                             ("characteristics", list(characteristics or ()) or None))
           if v is not None}
    report = ReportSession(name=name, survey=survey, data=datasets.fetch(dataset),
                           codebook=CODEBOOK_DIR / datasets.get(dataset).codebook_file,
                           out_dir=scratch_folder(out_dir), threshold=threshold,
                           rounding=rounding, parameters={"dataset": dataset, **own,
                                                          **parameters})
    return attach_release(report, _shown_parts(name))


def _shown_parts(name: str) -> set[str] | None:
    """The parts of the report's release the case study's notebook shows (None: all).

    A table the notebook never shows (Table 1 of a matched design) must not
    cost the tables it does show their complements.
    """
    import json

    from analysis.report.disclosure import notebook_parts

    path = FOLDER / f"{name}.ipynb"
    if not path.is_file():
        return None
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return notebook_parts(["".join(c["source"]) for c in cells if c["cell_type"] == "code"])
