"""CacheLoader (FATE-Flow 1.7+'s component): the Intersection cache an earlier job made (its
`run_cache`) becomes this job's `output.cache`, which an Intersection takes as `input.cache`.

Parameters, FATE-Flow's `CacheLoaderParam`: ``job_id`` and ``component_name`` name the earlier
job's Intersection, ``cache_name`` its `output.cache` name; each party loads its own cache of that
job. As FATE-Flow's, it records what it loaded as the meta of metric `cache_loader`/<cache_name>
(type CACHE_INFO).

Departures from FATE-Flow: ``cache_key`` (FATE-Flow's key of a cache in its cache store) is
refused when given: caches are found by job, component and name here. ``cache_name`` left out is
`cache`, the name FATE's examples and pipeline give (FATE-Flow takes the component's only cache).
``job_id`` and ``component_name`` must be given (FATE-Flow finds no cache without them and fails
the job when it runs; this refuses the job at submission).
"""

from __future__ import annotations

from typing import Any

from fateflow_grpc.components.intersect.intersection import CACHE_KEY
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "CacheLoader"
DEFAULTS: dict[str, Any] = {
    "cache_key": None,
    "job_id": None,
    "component_name": None,
    "cache_name": None,
}
#: The cache's name when the conf gives none.
DEFAULT_CACHE_NAME = "cache"


def validate_parameters(params: dict[str, Any]) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    if reader.raw("cache_key") is not None:
        raise reader.error(
            "cache_key",
            reader.raw("cache_key"),
            "(FATE-Flow's cache store by key) is not here: name the cache by job_id, "
            "component_name and cache_name",
        )
    for name in ("job_id", "component_name"):
        if reader.raw(name) is None or not reader.string(name):
            raise reader.error(name, reader.raw(name), "must name the earlier job's cache")
    if reader.raw("cache_name") is not None and not reader.string("cache_name"):
        raise reader.error("cache_name", "", "must be a cache's name")
    return params


class CacheLoader:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        validate=validate_parameters,
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        job_id, component = params["job_id"], params["component_name"]
        name = params["cache_name"] or DEFAULT_CACHE_NAME
        cache = context.job_model(job_id, component, name)
        if CACHE_KEY not in cache:
            raise InvalidArgument(
                f"{context.task.component_name}: {component}.{name} of job {job_id} is not an "
                "Intersection cache (run_cache)",
                job_id=job_id,
            )
        context.save_model(cache)
        context.log_metric(
            "cache_loader",
            name,
            [],
            {
                "name": "cache",
                "metric_type": "CACHE_INFO",
                "job_id": job_id,
                "component_name": component,
                "cache_name": name,
            },
        )
        context.log.info("loaded the cache %s.%s of job %s", component, name, job_id)
