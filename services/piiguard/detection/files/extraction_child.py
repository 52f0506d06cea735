"""The extraction child: ``python -m piiguard.detection.files.extraction_child LIMITS_JSON``.

Reads one file's bytes on stdin, writes its ``Extraction`` as JSON on stdout.
It runs with an address-space limit and a CPU-time limit, so a decompression
bomb or a decoder stuck in a loop ends this process, not the detection worker.
It prints nothing else: no content ever reaches a log.
"""

from __future__ import annotations

import json
import os
import sys


def _limit_resources(time_budget: float) -> None:
    try:
        import resource

        from piiguard.detection.files.limits import CHILD_MEMORY_BYTES

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
        cpu = int(time_budget) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-Linux
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from piiguard.detection.files.limits import Limits

    limits = Limits(**json.loads(args[0]))
    _limit_resources(limits.time_budget)
    from piiguard.detection.files.extract import extract

    data = sys.stdin.buffer.read()
    result = extract(data, limits)
    sys.stdout.write(json.dumps(result.as_dict()))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
