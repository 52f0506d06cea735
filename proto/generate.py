"""Regenerate the Python code for the contracts in proto/ (one command).

    python proto/generate.py          # rewrite services/piiguard/v1/*_pb2*.py
    python proto/generate.py --check  # fail if the checked-in code is stale (CI)

The generated modules live in the ``piiguard.v1`` package, mirroring the proto
package, so generated imports (``from piiguard.v1 import event_pb2``) resolve.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUT_ROOT = ROOT / "services"
PACKAGE_DIR = Path("piiguard") / "v1"


def generate(out_root: Path) -> list[Path]:
    protos = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        # Typed stubs from mypy-protobuf (enum ValueType, gRPC stubs).
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *(str(p) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted((out_root / PACKAGE_DIR).glob("*_pb2*.py*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        target_dir = OUT_ROOT / PACKAGE_DIR
        if args.check:
            current = sorted(target_dir.glob("*_pb2*.py*"))
            stale = [p.name for p in fresh if not (target_dir / p.name).exists()
                     or not filecmp.cmp(p, target_dir / p.name, shallow=False)]
            extra = sorted({p.name for p in current} - {p.name for p in fresh})
            if stale or extra:
                print(f"generated code is stale: {stale + extra}; run: python proto/generate.py",
                      file=sys.stderr)
                return 1
            print("generated code is up to date")
            return 0
        target_dir.mkdir(parents=True, exist_ok=True)
        for old in target_dir.glob("*_pb2*.py*"):
            old.unlink()
        for path in fresh:
            shutil.copy(path, target_dir / path.name)
        print(f"wrote {len(fresh)} files to {target_dir.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
