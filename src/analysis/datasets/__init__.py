"""Public datasets on the causes of back pain: registry, checked fetching, loading.

>>> from analysis import datasets
>>> datasets.names()
['hsaur3-backpain', 'vertebral-column', 'stat2data-backpack']
>>> survey = datasets.load("hsaur3-backpain")  # doctest: +SKIP

Files come from pinned upstream URLs and are checked against their sha256;
set ``BACKPAIN_DATA_DIR`` to a folder of already-fetched files to work
without network (see :mod:`analysis.datasets.fetch`).
"""

from analysis.datasets.fetch import cache_dir, fetch, local_path
from analysis.datasets.loaders import info, load
from analysis.datasets.registry import REGISTRY, Dataset, get, names

registry = REGISTRY

__all__ = [
    "REGISTRY",
    "Dataset",
    "cache_dir",
    "fetch",
    "get",
    "info",
    "load",
    "local_path",
    "names",
    "registry",
]
