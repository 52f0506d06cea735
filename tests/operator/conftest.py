"""The operator under test: Kopf embedded in the test's event loop, talking to a
KMock Kubernetes emulator and a real nats-server.

KMock stores objects as plain JSON; :class:`ApiServer` adds the bits of
apiserver behaviour Kopf relies on: resourceVersion and generation bumps,
uid/creationTimestamp, and names for ``generateName`` objects (Events).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import itertools
import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Refresh status every second (Kopf timers read their interval at registration).
os.environ.setdefault("PIIGUARD_STATUS_INTERVAL", "1s")

import jsonpatch
import kmock
import kopf
import pytest
import pytest_asyncio

import piiguard_operator.handlers  # noqa: F401  (registers the handlers)
from piiguard.jetstream import connect
from piiguard.natsserver import NatsServer, free_port
from piiguard.security.natsauth import HARNESS
from piiguard_operator import GROUP, KIND, PLURAL, VERSION
from piiguard_operator.config import OperatorConfig
from tests.support.notion_standin import NotionStandIn

NS = "slack"
POLICIES = kmock.resource(GROUP, VERSION, PLURAL)
SECRETS = kmock.resource("", "v1", "secrets")
POLICIES_URL = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{PLURAL}"

# Secret values used by tests; assertions check they never leak.
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
BOT_TOKEN = "xoxb-1111-2222-abcdefabcdef"
ADMIN_TOKEN = "xoxp-3333-4444-fedcbafedcba"
NOTION_TOKEN = "ntn_4ab8c1f0e2d7operatortest"
SECRET_VALUES = (SIGNING_SECRET, BOT_TOKEN, ADMIN_TOKEN, NOTION_TOKEN)
# As the chart deploys it: the release namespace (not the policies') holds one
# projected credentials Secret per stage, which the operator fills.
RELEASE_NS = "piiguard-system"
PROJECTED = {"ingest": "piiguard-ingest-credentials", "detection": "piiguard-detection-credentials",
             "action": "piiguard-action-credentials"}


@kopf.on.login()
def login_to_the_emulator(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
    return kopf.ConnectionInfo(server=memo.kube_url, insecure=True, default_namespace=NS)


class ApiServer(kmock.KubernetesEmulator):
    """KMock's emulator plus the metadata bookkeeping of a real apiserver."""

    _versions = itertools.count(1)

    async def _handle(self, request: kmock.Request) -> Any:
        if request.resource is not None and isinstance(request.data, dict | list):
            self._stamp(request)
        try:
            return await super()._handle(request)
        except jsonpatch.JsonPatchTestFailed as exc:
            # A stale resourceVersion: the apiserver answers 422, and Kopf retries.
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None

    def _stamp(self, request: kmock.Request) -> None:
        version = str(next(self._versions))
        data = request.data
        if request.action == kmock.action.CREATE and isinstance(data, dict):
            meta = data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{version}"
            meta.setdefault("namespace", request.namespace)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("generation", 1)
            meta.setdefault("creationTimestamp", _now())
            meta["resourceVersion"] = version
        elif request.action == kmock.action.UPDATE and request.name is not None:
            assert request.resource is not None
            key = (request.resource, request.namespace, request.name)
            current = self.objects[key].raw if key in self.objects else {}
            generation = int(current.get("metadata", {}).get("generation", 1))
            spec_changed = request.subresource is None and (
                "spec" in data if isinstance(data, dict)
                else any(op.get("path", "").startswith("/spec") for op in data)
            )
            bumped: dict[str, Any] = {"resourceVersion": version}
            if spec_changed:
                bumped["generation"] = generation + 1
            if isinstance(data, dict):
                data.setdefault("metadata", {}).update(bumped)
            else:
                data.extend({"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in bumped.items())


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest_asyncio.fixture
async def apiserver() -> AsyncIterator[ApiServer]:
    async with ApiServer() as server, kmock.Server(server):
        server.resources[POLICIES] = kmock.ResourceInfo(
            kind=KIND, namespaced=True, subresources={"status"},
            verbs={"get", "list", "watch", "create", "patch", "update", "delete"},
        )
        server.resources[SECRETS] = kmock.ResourceInfo(kind="Secret", namespaced=True,
                                                       verbs={"get", "patch"})
        for name in PROJECTED.values():
            server.objects[SECRETS, RELEASE_NS, name] = {
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": RELEASE_NS}, "data": {}}
        server.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create"})
        server.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", verbs={"list", "watch"})
        server.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
            kind="CustomResourceDefinition", verbs={"list", "watch"}
        )
        yield server


@dataclass
class FakeVerifier:
    """Slack's auth.test, answered from a set of revoked tokens."""

    revoked: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    async def rejection(self, token: str) -> str | None:
        self.asked.append(token)
        return "token_revoked" if token in self.revoked else None


@dataclass
class Cluster:
    """What a test does to the cluster, and how it waits for the operator."""

    api: ApiServer
    nats: NatsServer
    verifier: FakeVerifier
    operator: OperatorProcess | None = None
    notion: NotionStandIn | None = None  # the Notion API the operator asks about databases

    def add_secret(self, name: str = "slack-creds", data: Mapping[str, str] | None = None) -> None:
        values = data if data is not None else {
            "signing-secret": SIGNING_SECRET, "bot-token": BOT_TOKEN, "admin-token": ADMIN_TOKEN,
        }
        self.api.objects[SECRETS, NS, name] = {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": NS},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
        }

    async def create(self, name: str, spec: Mapping[str, Any]) -> None:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
                "metadata": {"name": name, "namespace": NS}, "spec": dict(spec)}
        response = await self.api.post(POLICIES_URL, json=body)
        assert response.status in (200, 201), await response.text()

    async def patch_spec(self, name: str, spec_patch: Mapping[str, Any]) -> None:
        response = await self.api.patch(
            f"{POLICIES_URL}/{name}", json={"spec": dict(spec_patch)},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status == 200, await response.text()

    async def delete(self, name: str) -> None:
        response = await self.api.delete(f"{POLICIES_URL}/{name}")
        assert response.status == 200, await response.text()

    async def get(self, name: str) -> dict[str, Any] | None:
        response = await self.api.get(f"{POLICIES_URL}/{name}")
        if response.status == 404:
            return None
        return dict(await response.json())

    async def condition(self, name: str, type_: str) -> dict[str, Any]:
        obj = await self.get(name) or {}
        for condition in obj.get("status", {}).get("conditions", []):
            if condition["type"] == type_:
                return dict(condition)
        return {}

    async def wait_condition(self, name: str, type_: str, status: str, reason: str | None = None,
                             timeout: float = 15, generation: int | None = None) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            found = await self.condition(name, type_)
            ok = found.get("status") == status and (reason is None or found.get("reason") == reason)
            ok = ok and (generation is None or found.get("observedGeneration") == generation)
            return found if ok else None

        return await eventually(check, timeout, f"{name}: {type_}={status} ({reason})")


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await probe()
        except Exception as exc:  # not there yet (e.g. a consumer not yet created)
            last = exc
        else:
            if last:
                return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


# The in-process operator's /metrics (served once per test process, as in a pod).
OPERATOR_METRICS_PORT = free_port()


def operator_nats(server: NatsServer) -> dict[str, Any]:
    """The operator's NATS settings: its own account on the test's secured server."""
    env = server.client_env("operator")
    return {"nats_url": env["NATS_URL"], "nats_user": env.get("NATS_USER"),
            "nats_password": env.get("NATS_PASSWORD"), "nats_tls_ca": env.get("NATS_TLS_CA"),
            "credentials_namespace": RELEASE_NS,
            "credentials_secrets": ",".join(f"{k}={v}" for k, v in PROJECTED.items())}


@dataclass
class OperatorProcess:
    """One run of the operator in a thread with its own event loop, as ``kopf run``
    would run it (Kopf cancels tasks it did not start in its loop when it stops, so
    it cannot share the test's loop). Restartable, as a pod would be."""

    cluster: Cluster
    thread: threading.Thread | None = None
    stop_flag: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    async def start(self) -> None:
        settings = kopf.OperatorSettings()
        settings.scanning.disabled = True  # KMock serves no namespace list
        settings.watching.server_timeout = 30
        settings.networking.error_backoffs = [0.2, 0.5]
        memo = kopf.Memo(
            kube_url=str(self.cluster.api.url),
            config=OperatorConfig(**operator_nats(self.cluster.nats), metrics_port=OPERATOR_METRICS_PORT,
                                  kubernetes_api_url=str(self.cluster.api.url),
                                  notion_api_url=(self.cluster.notion.base_url if self.cluster.notion
                                                  else "http://127.0.0.1:9")),
            verifier=self.cluster.verifier,
        )
        ready = threading.Event()
        self.stop_flag = threading.Event()
        self.error = None

        def main() -> None:
            try:
                asyncio.run(kopf.operator(
                    standalone=True, namespaces=[NS], settings=settings, memo=memo,
                    stop_flag=self.stop_flag, ready_flag=ready,
                ))
            except asyncio.CancelledError:
                pass  # Kopf ends by cancelling its own tasks: a clean exit
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=main, name="operator", daemon=True)
        self.thread.start()
        assert await asyncio.to_thread(ready.wait, 15), "the operator did not start within 15s"

    async def stop(self) -> None:
        if self.thread is None:
            return
        self.stop_flag.set()
        thread, self.thread = self.thread, None
        await asyncio.to_thread(thread.join, 20)
        assert not thread.is_alive(), "the operator did not stop within 20s"
        if self.error is not None:
            raise self.error


@pytest_asyncio.fixture
async def cluster(apiserver: ApiServer, nats_server: NatsServer) -> AsyncIterator[Cluster]:
    """A cluster with the operator running; stopped (and checked for secret leaks)
    after the test."""
    notion = NotionStandIn(NOTION_TOKEN).start()
    world = Cluster(api=apiserver, nats=nats_server, verifier=FakeVerifier(), notion=notion)
    world.operator = OperatorProcess(world)
    await world.operator.start()
    try:
        yield world
    finally:
        await world.operator.stop()
        notion.stop()
        # No secret value in any version of any object the operator wrote (status, events).
        for (resource, _, name), obj in apiserver.objects.items():
            if resource == SECRETS:
                continue
            text = repr([dict(version) for version in obj.history if version is not None])
            for value in SECRET_VALUES:
                assert value not in text, f"a secret value leaked into {resource} {name}"


@pytest_asyncio.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[Any]:
    nc = await connect(nats_server.url, name="test", auth=nats_server.auth(HARNESS))
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def spec_for(team_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid policy spec for a workspace, with its Secrets in ``slack-creds``."""
    spec: dict[str, Any] = {
        "workspace": {"teamId": team_id, "name": f"Workspace {team_id}"},
        "secrets": {
            "signingSecret": {"name": "slack-creds", "key": "signing-secret"},
            "botToken": {"name": "slack-creds", "key": "bot-token"},
            "adminToken": {"name": "slack-creds", "key": "admin-token"},
        },
        "queues": {
            "detection": {"concurrency": 3, "maxAttempts": 5, "backoff": ["1s", "2s"], "ackWait": "10s"},
            "action": {"concurrency": 6, "maxAttempts": 4, "backoff": [2], "ackWait": 20},
        },
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def team() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()
