"""The version of fateflow-grpc this node runs: the installed package's."""

from __future__ import annotations

import functools
from importlib import metadata


@functools.cache
def version() -> str:
    try:
        return metadata.version("fateflow-grpc")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
