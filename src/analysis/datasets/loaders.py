"""Loading a registered dataset as a :class:`~analysis.survey.Survey`, and describing it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from analysis.datasets.fetch import fetch, local_path
from analysis.datasets.registry import get
from analysis.errors import BackpainError, DatasetError
from analysis.load import load_survey
from analysis.survey import Survey


def load(name: str, *, keep_identifiers: bool = False) -> Survey:
    """The public dataset ``name`` as a validated :class:`Survey`.

    The file is found (or downloaded) and checked by :func:`fetch`, parsed
    into a raw DataFrame whose columns are the codebook's names, and validated
    against the dataset's codebook with ``on_invalid="raise"``: a file that
    passed its checksum but broke its codebook would be a bug of this package,
    never silently repaired. The row index ``line`` is the row's position in
    the upstream data (1-based).

    Examples
    --------
    >>> survey = load("vertebral-column")  # doctest: +SKIP
    >>> survey.data["diagnosis"].value_counts()  # doctest: +SKIP
    """
    dataset = get(name)
    path = fetch(name)
    try:
        raw = dataset.parser(path)
    except BackpainError:
        raise
    except Exception as exc:  # a third-party reader failing on a file that passed its checksum
        raise DatasetError(
            f"{path}: cannot parse the file of dataset {name!r} ({type(exc).__name__}: {exc})."
        ) from exc
    survey = load_survey(raw, dataset.codebook, on_invalid="raise",
                         keep_identifiers=keep_identifiers)
    return replace(survey, source=f"{name} ({path.name})")


def info(name: str) -> dict[str, Any]:
    """What the registry knows of dataset ``name``, without reading or downloading it.

    Keys: ``name, title, url, sha256, file, licence, citation, rows, columns``
    (the codebook's column names, in order) and ``local_path`` (the verified
    local copy, or ``None`` when it has still to be fetched).
    """
    dataset = get(name)
    return {
        "name": dataset.name,
        "title": dataset.title,
        "url": dataset.url,
        "sha256": dataset.sha256,
        "file": dataset.file_name,
        "licence": dataset.licence,
        "citation": dataset.citation,
        "rows": dataset.n_rows,
        "columns": list(dataset.codebook.variables),
        "local_path": local_path(name),
    }
