"""A real Prometheus server (Debian's ``prometheus`` package) for tests: started on a
free port with a temporary data directory, scraping the given targets every
second, and asked over its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from piiguard.natsserver import free_port

BINARY = shutil.which("prometheus")
SCRAPE_INTERVAL = "1s"


class Prometheus:
    def __init__(self, workdir: Path, targets: dict[str, list[str]]) -> None:
        """``targets``: job name → ``host:port`` addresses serving /metrics."""
        self.workdir = Path(workdir)
        self.targets = targets
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        jobs = [{"job_name": job, "scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL,
                 "static_configs": [{"targets": addresses}]}
                for job, addresses in self.targets.items()]
        return json.dumps({"global": {"scrape_interval": SCRAPE_INTERVAL,
                                      "evaluation_interval": SCRAPE_INTERVAL},
                           "scrape_configs": jobs})  # JSON is YAML

    def start(self, rule_files: list[Path] | None = None, timeout: float = 60.0) -> Prometheus:
        assert BINARY, "prometheus missing: .ci/system-packages installs Debian's prometheus"
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = json.loads(self.config())
        if rule_files:
            config["rule_files"] = [str(p) for p in rule_files]
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(json.dumps(config))
        with open(self.workdir / "prometheus.log", "ab") as log:  # the child keeps its own descriptor
            self.process = self._launch(config_path, log)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError("prometheus exited:\n" + self.log()[-3000:])
            if time.monotonic() > deadline:
                raise TimeoutError("prometheus not ready")
            time.sleep(0.2)
        return self

    def _launch(self, config_path: Path, log: Any) -> subprocess.Popen[bytes]:
        assert BINARY is not None
        return subprocess.Popen(
            [BINARY, f"--config.file={config_path}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdout=log, stderr=subprocess.STDOUT)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def log(self) -> str:
        path = self.workdir / "prometheus.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as answer:
            body = json.loads(answer.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector ``promql`` evaluates to now (a list of samples)."""
        data = self.api("query", query=promql)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    def value(self, promql: str) -> float | None:
        """The single value of ``promql`` (None when the answer is empty)."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def targets_up(self) -> bool:
        """Every target scraped successfully at least once."""
        active = self.api("targets")["activeTargets"]
        expected = sum(len(a) for a in self.targets.values())
        return len(active) == expected and all(t["health"] == "up" for t in active)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
