"""Print the requirements of PII Guard's base set plus the given extras, one a line.

Used by the Dockerfile to install a component's dependencies from pyproject.toml
before the source is copied (so editing the source does not reinstall them):

    python docker/requirements.py detection > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return lines


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(requirements(root / "pyproject.toml", sys.argv[1:])))
