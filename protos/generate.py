"""Generate the Python code of the protos into the `fateflow` package (committed, never hand-edited).

    python protos/generate.py          # regenerate
    python protos/generate.py --check  # fail if the committed code is stale (CI)

The output tree mirrors the proto directories (`fateflow/v1/` -> `fateflow.v1`), so generated
imports work unchanged; FATE-Serving's protocol (`fateflow/serving/`) keeps FATE-Serving's
package name inside. `google.api` comes from googleapis-common-protos at run time.
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "fateflow"


def generate(out: Path) -> None:
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "fateflow").rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    for directory in [out / "fateflow", *(p for p in (out / "fateflow").rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()


def tree(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = tree(Path(tmp) / "fateflow")
        if "--check" in sys.argv:
            committed = tree(OUT)
            stale = sorted(
                name
                for name in fresh.keys() | committed.keys()
                if name not in fresh
                or name not in committed
                or not filecmp.cmp(fresh[name], committed[name], shallow=False)
            )
            if stale:
                sys.exit(
                    "generated code is stale; run python protos/generate.py: " + ", ".join(stale)
                )
            print(f"generated code is fresh ({len(fresh)} files)")
            return
        for name, path in fresh.items():
            target = OUT / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        for name in tree(OUT).keys() - fresh.keys():
            (OUT / name).unlink()
        print(f"wrote {len(fresh)} files under {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
