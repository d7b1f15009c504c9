"""Ports to systems outside identity (civil registry, Shahkar, SMS) and their real adapters.

The registry and Shahkar are reached over HTTP with a short time-out; a time-out or a server
error becomes a Persian `registry_unavailable`/`shahkar_unavailable` the page shows with a way
to try again. The one-time code travels to notify over RPC; until notify answers, the code
stays valid and the page offers to resend it.
"""

from __future__ import annotations

import abc
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.errors import DomainError
from contracts.identity import RegistryRecord
from infra.settings import IdentitySettings

log = logging.getLogger(__name__)


class CivilRegistry(abc.ABC):
    """استعلام ثبت احوال."""

    @abc.abstractmethod
    def inquire(self, national_code: str, birth_date: str) -> RegistryRecord:
        """The person's record; `registry_mismatch` when the pair is unknown,
        `registry_unavailable` when the registry did not answer."""


class Shahkar(abc.ABC):
    """Mobile-ownership check (شاهکار)."""

    @abc.abstractmethod
    def matches(self, national_code: str, mobile: str) -> bool:
        """True when `mobile` is registered to `national_code`; `shahkar_unavailable` otherwise."""


class CodeSender(abc.ABC):
    """Hands a one-time code to the SMS channel."""

    @abc.abstractmethod
    def send(self, mobile: str, code: str, purpose: str, message_id: str) -> bool:
        """True when the message was accepted (sent or queued)."""


class LinkSender(abc.ABC):
    """Hands a one-time link to the e-mail channel."""

    @abc.abstractmethod
    def send(self, email: str, link: str, purpose: str, message_id: str) -> bool:
        """True when the e-mail was accepted (sent or queued)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and decoded JSON body."""

    status: int
    body: dict[str, Any]


def _post(url: str, body: dict[str, str], timeout: float, unavailable: str) -> Answer:
    """POST JSON with a time-out. The standard library's client, because it cooperates with
    eventlet's green sockets inside a Nameko worker (httpx's does not)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, malformed URL
        log.warning("%s: %s", url, error)
        raise DomainError(unavailable, type(error).__name__) from None
    if status >= 500:
        raise DomainError(unavailable, f"HTTP {status}")
    try:
        decoded = json.loads(raw or b"{}")
    except ValueError:
        raise DomainError(unavailable, "not JSON") from None
    return Answer(status, decoded if isinstance(decoded, dict) else {})


class HttpCivilRegistry(CivilRegistry):
    """`CIVIL_REGISTRY_URL` + `/inquiry`, time-out `CIVIL_REGISTRY_TIMEOUT` seconds (default 3)."""

    def __init__(self, url: str | None = None, timeout: float | None = None) -> None:
        settings = IdentitySettings.load()
        self.url = (url or settings.CIVIL_REGISTRY_URL).rstrip("/")
        self.timeout = timeout or settings.CIVIL_REGISTRY_TIMEOUT

    def inquire(self, national_code: str, birth_date: str) -> RegistryRecord:
        body = {"national_code": national_code, "birth_date": birth_date}
        response = _post(self.url + "/inquiry", body, self.timeout, "registry_unavailable")
        if response.status == 404:
            raise DomainError("registry_mismatch")
        if response.status != 200:
            raise DomainError("registry_unavailable", f"HTTP {response.status}")
        try:
            record = RegistryRecord.model_validate(response.body)
        except ValueError:
            raise DomainError("registry_unavailable", "unexpected answer") from None
        if record.birth_date != birth_date:
            raise DomainError("registry_mismatch")
        return record


class HttpShahkar(Shahkar):
    """`SHAHKAR_URL` + `/match`, time-out `SHAHKAR_TIMEOUT` seconds (default 3)."""

    def __init__(self, url: str | None = None, timeout: float | None = None) -> None:
        settings = IdentitySettings.load()
        self.url = (url or settings.SHAHKAR_URL).rstrip("/")
        self.timeout = timeout or settings.SHAHKAR_TIMEOUT

    def matches(self, national_code: str, mobile: str) -> bool:
        body = {"national_code": national_code, "mobile": mobile}
        response = _post(self.url + "/match", body, self.timeout, "shahkar_unavailable")
        if response.status != 200:
            raise DomainError("shahkar_unavailable", f"HTTP {response.status}")
        return bool(response.body.get("match"))


class RpcCaller(Protocol):
    """Nameko's service proxy for notify (`RpcProxy("notify")`)."""

    def send_code(self, payload: dict[str, str]) -> Any: ...

    def send_link(self, payload: dict[str, str]) -> Any: ...


class NotifyCodeSender(CodeSender):
    """Sends through notify's `send_code`; any failure (notify not there yet, a provider down)
    answers False and the user is offered to resend."""

    def __init__(self, notify: RpcCaller) -> None:
        self.notify = notify

    def send(self, mobile: str, code: str, purpose: str, message_id: str) -> bool:
        _write_test_code(mobile, code, purpose)
        payload = {"mobile": mobile, "code": code, "purpose": purpose, "message_id": message_id}
        return _accepted("send_code", lambda: self.notify.send_code(payload))


class NotifyLinkSender(LinkSender):
    """Sends through notify's `send_link`; any failure answers False (the holder asks again by
    signing in)."""

    def __init__(self, notify: RpcCaller) -> None:
        self.notify = notify

    def send(self, email: str, link: str, purpose: str, message_id: str) -> bool:
        payload = {"email": email, "link": link, "purpose": purpose, "message_id": message_id}
        return _accepted("send_link", lambda: self.notify.send_link(payload))


def _accepted(method: str, send: Callable[[], Any]) -> bool:
    """Whether notify took the message (sent or queued); any failure is "not sent"."""
    try:
        reply = send()
    except Exception as error:  # noqa: BLE001 - MethodNotFound, RemoteError, timeouts: all "not sent"
        log.warning("notify.%s failed: %s", method, type(error).__name__)
        return False
    if not (isinstance(reply, dict) and reply.get("ok")):
        return False
    return reply["result"].get("status") in ("sent", "queued")


def _write_test_code(mobile: str, code: str, purpose: str) -> None:
    """TEST ONLY: with `IDENTITY_TEST_CODES_FILE` set (never in production), codes are also
    appended to that file, so tests can read them while notify cannot send them yet."""
    path = IdentitySettings.load().IDENTITY_TEST_CODES_FILE
    if path:
        with path.open("a", encoding="utf-8") as file:
            file.write(f"{mobile} {purpose} {code}\n")
