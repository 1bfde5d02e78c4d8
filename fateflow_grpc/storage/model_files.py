"""Where a party keeps its part of a model: one JSON file per component model output, under
`<data_dir>/models/<party model id>/<model version>/<component>/<alias>.json` (FATE's
`model_local_cache/<party model id>/<model version>/` layout, JSON where FATE has protobuf)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fateflow_grpc.domain.ids import party_model_id


def model_path(
    data_dir: Path,
    role: str,
    party_id: int,
    model_id: str,
    version: str,
    component: str,
    alias: str,
) -> Path:
    party_model = party_model_id(role, party_id, model_id)
    return data_dir / "models" / party_model / version / component / f"{alias}.json"


def write_model(path: Path, model: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(model))
    temporary.replace(path)  # a reader never sees half a model


def read_model(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    model: dict[str, Any] = json.loads(path.read_text())
    return model
