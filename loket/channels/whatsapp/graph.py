"""The only HTTP client of Meta's Graph API (or the emulator: only the base URL differs).

Every call carries the channel's Bearer token and an explicit ``User-Agent`` (media downloads
without one get error pages), has connect and read timeouts, and turns a failure into
``GraphError``: the Graph error object when Meta sent one (``error.code``, ``error_data.details``,
``is_transient``...), ``code=-1`` (transient) when the network failed. The token is never logged,
and is cut out of any exception text that might carry it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from loket.channels import secrets
from loket.channels.models import Channel

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
# Meta answers a send in well under a second; a media upload of 100 MB needs the long write.
TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=120.0, pool=10.0)
NETWORK = -1  # GraphError.code for a failure below HTTP (DNS, refused, timeout, reset)


def _version() -> str:
    try:
        return importlib.metadata.version("loket")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a tree
        return "0"


USER_AGENT = f"Loket/{_version()}"


class GraphError(Exception):
    """A Graph API call failed. ``code`` is Meta's error code (``-1``: no HTTP answer)."""

    def __init__(
        self,
        code: int,
        *,
        subcode: int | None = None,
        title: str = "",
        details: str = "",
        http_status: int = 0,
        transient: bool = False,
        fbtrace_id: str = "",
    ) -> None:
        super().__init__(f"Graph error {code}: {title or details or http_status}")
        self.code = code
        self.subcode = subcode
        self.title = title
        self.details = details
        self.http_status = http_status
        self.transient = transient
        self.fbtrace_id = fbtrace_id


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_error(status: int, body: Any) -> GraphError:
    """Meta's ``{"error": {...}}`` object (or anything else a proxy answered) as a GraphError."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping) or _int(error.get("code")) is None:
        # No Graph error object: a proxy page, a 502. The server side may recover.
        return GraphError(
            NETWORK,
            title=f"HTTP {status}",
            details="The server answered without a Graph error object.",
            http_status=status,
            transient=status >= 500 or status == 429,
        )
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, Mapping) else None
    message = str(error.get("message") or "")
    return GraphError(
        _int(error.get("code")) or 0,
        subcode=_int(error.get("error_subcode")),
        title=str(error.get("error_user_title") or error.get("title") or message),
        details=str(details or error.get("error_user_msg") or message),
        http_status=status,
        transient=bool(error.get("is_transient")),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
    )


_shared: dict[str, httpx.Client] = {}
_shared_lock = threading.Lock()


def _http() -> httpx.Client:
    """One connection pool per process (TLS handshakes to Meta are not free)."""
    with _shared_lock:
        if "client" not in _shared:
            _shared["client"] = httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})
        return _shared["client"]


class Graph:
    """Calls to one channel's Graph API: ``base_url/version/path`` with its token."""

    def __init__(self, base_url: str, api_version: str, token: str) -> None:
        self.root = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self._token = token

    def __repr__(self) -> str:  # never the token
        return f"<Graph {self.root}>"

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    def _network_error(self, method: str, url: str, exc: httpx.HTTPError) -> GraphError:
        detail = self._redact(f"{type(exc).__name__}: {exc}")
        log.warning("graph %s %s failed: %s", method, self._redact(url), detail)
        return GraphError(NETWORK, title="network", details=detail, transient=True)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = _http().request(method, url, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:
            raise self._network_error(method, url, exc) from None
        log.debug("graph %s %s -> %s", method, self._redact(url), response.status_code)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, f"{self.root}/{path.lstrip('/')}", **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success:
            error = parse_error(response.status_code, body)
            log.warning(
                "graph %s %s: %s %s (%s) fbtrace_id=%s",
                method,
                path,
                response.status_code,
                error.code,
                self._redact(error.details),
                error.fbtrace_id,
            )
            raise error
        if not isinstance(body, dict):
            raise GraphError(
                NETWORK,
                title=f"HTTP {response.status_code}",
                details="The answer was not a JSON object.",
                http_status=response.status_code,
                transient=True,
            )
        return body

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._json("GET", path, params=params)

    def post(
        self,
        path: str,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._json("POST", path, json=json, files=files, data=data)

    def delete(self, path: str) -> dict[str, Any]:
        return self._json("DELETE", path)

    def download(self, url: str, *, max_bytes: int | None = None) -> httpx.Response:
        """GET a media URL with the Bearer token, following redirects (lookaside → CDN).

        The body is read here (the returned response holds it); more than ``max_bytes``
        raises ``TooLarge`` as soon as it is known, without reading the rest. A non-2xx
        answer raises GraphError (the Graph error object when there is one).
        """
        try:
            with _http().stream(
                "GET", url, headers=self._headers(), follow_redirects=True
            ) as response:
                if not response.is_success:
                    response.read()
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    raise parse_error(response.status_code, body)
                declared = _int(response.headers.get("content-length"))
                if max_bytes is not None and declared is not None and declared > max_bytes:
                    raise TooLarge(declared)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(size)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise self._network_error("GET", url, exc) from None
        # The body is decoded already (gzip): the copy must not say it is still encoded.
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
        )


class TooLarge(Exception):
    """A download went over its size limit (``size`` bytes, at least)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def client(channel: Channel) -> Graph:
    """The Graph client for ``channel`` (its base URL, API version and access token)."""
    config = channel.config or {}
    return Graph(
        str(config.get("base_url") or DEFAULT_BASE_URL),
        str(config.get("api_version") or DEFAULT_API_VERSION),
        secrets.get(channel, "access_token"),
    )
