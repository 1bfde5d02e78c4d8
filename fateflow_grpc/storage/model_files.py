"""Where a party keeps its part of a model: one JSON file per component model output, under
`<data_dir>/models/<party model id>/<model version>/<component>/<alias>.json` (FATE's
`model_local_cache/<party model id>/<model version>/` layout, JSON where FATE has protobuf).

A model's archive (what export, import, store and restore move) is a zip of that version
directory's `<component>/<alias>.json` files plus `model_info.json`, the model's info row.

A component's checkpoints (FATE's ModelCheckpoint callback) are beside, under
`<model version>/checkpoint/<component>/<step index>#<step name>.json`, FATE's
`checkpoint/<component>/<step index>#<step name>` directories: they stay with the party that
trained (the archive holds the component models only, as FATE's does).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fateflow_grpc.errors import AlreadyExists, InvalidArgument
from fateflow_grpc.ids import party_model_id

#: The archive member holding the model info row as JSON.
INFO_MEMBER = "model_info.json"
#: Names that may become one path component: no separator, no NUL, not `.` or `..`.
_NAME = re.compile(r"[^/\\\x00]+")
#: Where imports and restores are unpacked before they replace a model, under `models/`.
_STAGING = ".staging"
#: The directory of a version's checkpoints, FATE's.
CHECKPOINTS = "checkpoint"
#: Largest unpacked archive: its members are read into memory, and a zip bomb must not be.
MAX_UNPACKED_BYTES = 256 << 20


def _is_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name)) and name not in (".", "..")


def _checked(name: str, what: str) -> str:
    if not _is_name(name):
        raise InvalidArgument(
            f"{what} {name!r} can not name a model directory", field=what, value=name
        )
    return name


def version_dir(data_dir: Path, role: str, party_id: int, model_id: str, version: str) -> Path:
    """The directory of one party's model version; names that would leave it are refused."""
    party_model = _checked(party_model_id(role, party_id, model_id), "party_model_id")
    return data_dir / "models" / party_model / _checked(version, "model_version")


def model_path(
    data_dir: Path,
    role: str,
    party_id: int,
    model_id: str,
    version: str,
    component: str,
    alias: str,
) -> Path:
    return version_dir(data_dir, role, party_id, model_id, version) / component / f"{alias}.json"


def checkpoint_dir(
    data_dir: Path, role: str, party_id: int, model_id: str, version: str, component: str
) -> Path:
    return (
        version_dir(data_dir, role, party_id, model_id, version)
        / CHECKPOINTS
        / _checked(component, "component_name")
    )


def checkpoint_path(directory: Path, step_index: int, step_name: str) -> Path:
    return directory / f"{step_index}#{_checked(step_name, 'step_name')}.json"


def checkpoints(directory: Path) -> list[tuple[int, str, Path]]:
    """The checkpoints in `directory` (step index, step name, file), oldest step first."""
    found = []
    for path in directory.glob("*#*.json") if directory.is_dir() else ():
        index, name = path.stem.split("#", 1)
        if index.isdigit():
            found.append((int(index), name, path))
    return sorted(found)


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


def read_models(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every model output of a version directory, by (component, alias)."""
    if not directory.is_dir():
        return {}
    return {
        (path.parent.name, path.stem): json.loads(path.read_text())
        for path in sorted(directory.glob("*/*.json"))
    }


def write_archive(directory: Path, info: dict[str, Any], archive: IO[bytes]) -> None:
    """Zip the model files of `directory` and `info` into `archive`."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(INFO_MEMBER, json.dumps(info))
        if directory.is_dir():
            for path in sorted(directory.glob("*/*.json")):
                zipped.write(path, path.relative_to(directory).as_posix())


@contextmanager
def unpacked(archive: IO[bytes], data_dir: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    """Check `archive` and unpack its model files into a staging directory under
    `<data_dir>/models`, removed when the block ends; yield the model info it holds and that
    directory (for `installing`).

    Refuses what is not a zip, a member that is not `model_info.json` or
    `<component>/<alias>.json` (so none can land outside the directory), a model file that is
    not a JSON object, and an archive without model info.
    """
    with _staging(data_dir) as staging:
        yield _unpack(archive, staging), staging


@contextmanager
def copied(source: Path, data_dir: Path) -> Iterator[Path]:
    """A copy of the model files of the version directory `source` in a staging directory
    (for `installing`), removed when the block ends."""
    with _staging(data_dir) as staging:
        for path in sorted(source.glob("*/*.json")):
            target = staging / path.relative_to(source)
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)
        yield staging


def remove(target: Path) -> None:
    """Delete a version directory (a deployed copy withdrawn)."""
    shutil.rmtree(target, ignore_errors=True)


@contextmanager
def _staging(data_dir: Path) -> Iterator[Path]:
    staging = data_dir / "models" / _STAGING / secrets.token_hex(8)
    staging.mkdir(parents=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive: IO[bytes], staging: Path) -> dict[str, Any]:
    try:
        zipped = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as error:
        raise InvalidArgument(f"the model archive is not a zip file: {error}") from None
    info: dict[str, Any] | None = None
    with zipped:
        # zipfile stops reading a member at its declared size, so the sum bounds the memory.
        unpacked = sum(member.file_size for member in zipped.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise InvalidArgument(
                f"the model archive unpacks to {unpacked} bytes, more than the "
                f"{MAX_UNPACKED_BYTES} a model may have"
            )
        for member in zipped.infolist():
            name = member.filename
            if member.is_dir():  # zip tools add them; the files' paths make them again
                continue
            parts = name.split("/")
            if name != INFO_MEMBER and not (
                len(parts) == 2 and parts[1].endswith(".json") and all(map(_is_name, parts))
            ):
                raise InvalidArgument(
                    f"the model archive holds {name!r}, which is not <component>/<alias>.json",
                    member=name,
                )
            try:
                content = json.loads(zipped.read(member))
            except (zipfile.BadZipFile, ValueError, EOFError) as error:
                raise InvalidArgument(
                    f"the model archive's {name} can not be read: {error}", member=name
                ) from None
            if not isinstance(content, dict):
                raise InvalidArgument(
                    f"the model archive's {name} is not a JSON object", member=name
                )
            if name == INFO_MEMBER:
                info = content
            else:
                write_model(staging / parts[0] / parts[1], content)
    if info is None:
        raise InvalidArgument(f"the model archive has no {INFO_MEMBER}", member=INFO_MEMBER)
    return info


@contextmanager
def installing(staging: Path, target: Path, *, replace: bool) -> Iterator[None]:
    """Move `staging` to `target` for the block (the model's info row is written in it).

    If the block raises, `target` is as it was; a model already at `target` is an error unless
    `replace`, and is only deleted once the block has succeeded.
    """
    if target.exists() and not replace:
        raise AlreadyExists(
            f"model {target.parent.name} version {target.name} is here already",
            party_model_id=target.parent.name,
            model_version=target.name,
        )
    previous = target.with_name(f"{target.name}.replaced-{secrets.token_hex(4)}")
    if target.exists():
        target.rename(previous)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
        yield
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        if previous.exists():
            previous.rename(target)
        raise
    shutil.rmtree(previous, ignore_errors=True)
