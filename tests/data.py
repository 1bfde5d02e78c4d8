"""Where tests find their tables.

The breast cancer tables of the examples are in the repository (`examples/data/`). FATE's own
example tables (multi-class, regression, Poisson, `default_credit`, svmlight and tag formats) are
not: they are FATE's files, kept beside the project in the steering repository's
`shared/data/fate/`. A test that needs one asks `fate_table(name)`, which finds them there (or
where `FATEFLOW_FATE_DATA` points) and otherwise skips, saying where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def fate_data_dir() -> Path | None:
    """FATE's example tables, or None when this checkout has none beside it."""
    candidates = (
        [Path(os.environ["FATEFLOW_FATE_DATA"])] if "FATEFLOW_FATE_DATA" in os.environ else []
    )
    candidates += [ROOT.parent / "shared" / "data" / "fate", Path("/work/shared/data/fate")]
    return next((path for path in candidates if (path / "upload_tables.json").is_file()), None)


def fate_table(name: str) -> Path:
    """FATE's example table `name` (a file name such as `default_credit_hetero_guest.csv`)."""
    found = fate_data_dir()
    if found is None:
        pytest.skip(
            "FATE's example tables are not here: set FATEFLOW_FATE_DATA to a copy of "
            "shared/data/fate (looked beside the repository and in /work/shared/data/fate)"
        )
    path = found / name
    if not path.is_file():
        raise FileNotFoundError(f"FATE's example table {name} is not in {found}")
    return path
