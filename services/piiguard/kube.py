"""Kubernetes Secrets: the one place services and the operator read them (and the
operator writes the stages' projected ones).

Through ``kubernetes_asyncio``'s public API (``CoreV1Api.read_namespaced_secret``)
with the pod's service account: its bound token is re-read from the projected
file before it expires (``try_refresh_token``), so a rotated token is picked up
without a restart. ``PIIGUARD_KUBERNETES_API_URL`` points it elsewhere (tests
use a mock API server; no credentials are sent there).

A missing Secret is an answer (``None``); a forbidden one raises
:class:`~piiguard.errors.SecretUnreadable`; an unreachable API raises
:class:`~piiguard.errors.TransientError`. Values are returned as the API gives
them (base64), never logged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from piiguard.errors import SecretUnreadable, TransientError

if TYPE_CHECKING:
    from piiguard.settings import Settings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0  # seconds for one Secret read: a stage retries rather than waits


class SecretsApi:
    """Secrets of any namespace the service account may read.

    Each call opens its own short-lived HTTP session (Secret reads are rare: the
    callers cache values for a minute), so nothing is left open when a caller
    forgets to close; the configuration, with its token-refresh hook, is kept."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self._configuration_cache: Any = None

    @contextlib.asynccontextmanager
    async def _api(self) -> AsyncIterator[Any]:
        from kubernetes_asyncio import client

        if self._configuration_cache is None:
            self._configuration_cache = self._configuration()
        async with client.ApiClient(self._configuration_cache) as api_client:
            yield client.CoreV1Api(api_client)

    def _configuration(self) -> Any:
        from kubernetes_asyncio.client import Configuration

        configuration = Configuration()
        if self.config.kubernetes_api_url:
            configuration.host = self.config.kubernetes_api_url.rstrip("/")
            return configuration
        from kubernetes_asyncio.config import ConfigException, incluster_config

        environ = {
            incluster_config.SERVICE_HOST_ENV_NAME: self.config.kubernetes_service_host or "",
            incluster_config.SERVICE_PORT_ENV_NAME: self.config.kubernetes_service_port or "",
        }
        loader = incluster_config.InClusterConfigLoader(
            token_filename=incluster_config.SERVICE_TOKEN_FILENAME,
            cert_filename=incluster_config.SERVICE_CERT_FILENAME,
            try_refresh_token=True,  # bound service-account tokens rotate
            environ=environ,
        )
        try:
            loader.load_and_set(configuration)
        except ConfigException as exc:
            raise TransientError(f"no Kubernetes API to read Secrets from ({exc})") from None
        return configuration

    async def read(self, namespace: str, name: str) -> Mapping[str, str] | None:
        """The Secret's ``data`` (base64 values), or None if there is no such Secret."""
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            async with self._api() as api:
                secret = await api.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status in (401, 403):
                raise SecretUnreadable(f"{namespace}/{name}") from None
            raise TransientError(f"Kubernetes API: HTTP {exc.status}") from None
        except (OSError, TimeoutError) as exc:
            raise TransientError(f"Kubernetes API: {type(exc).__name__}") from None
        except Exception as exc:  # the client's transport (aiohttp) errors
            raise TransientError(f"Kubernetes API: {type(exc).__name__}") from None
        return dict(secret.data or {})

    async def patch_data(self, namespace: str, name: str, data: Mapping[str, str | None]) -> None:
        """Merge ``data`` (base64 values; ``None`` removes a key) into a Secret's data
        (a JSON merge patch: other keys stay as they are)."""
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            async with self._api() as api:
                await api.patch_namespaced_secret(name, namespace, {"data": dict(data)},
                                                  _content_type="application/merge-patch+json",
                                                  _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status in (401, 403):
                raise SecretUnreadable(f"{namespace}/{name}") from None
            raise TransientError(f"Kubernetes API: HTTP {exc.status}") from None
        except (OSError, TimeoutError) as exc:
            raise TransientError(f"Kubernetes API: {type(exc).__name__}") from None

    async def close(self) -> None:
        """Nothing stays open between calls; kept so callers can say they are done."""
