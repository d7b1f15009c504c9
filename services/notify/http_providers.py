"""SMS providers reached over HTTP: a generic JSON gateway and Kavenegar's REST API.

Both pass our message id as the provider's de-duplication key (Kavenegar's `localid`), so a
message handed over again after a crash is not sent again: the provider answers with the
first result. A refusal that will never change is a `PermanentFailure`; a timeout, a refused
connection or a server error is a `TransientFailure` (the message is tried again later).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from services.notify.providers import Delivery, PermanentFailure, Receipt, SmsProvider, TransientFailure


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and body."""

    status_code: int
    text: str

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.text)


def post(url: str, *, timeout: float, json_body: Any = None, form: dict[str, str] | None = None) -> Answer:
    """POST with the standard library (it cooperates with eventlet's green sockets, where httpx
    does not); a network failure or a time-out is a `TransientFailure`."""
    if form is not None:
        data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    else:
        data, kind = json.dumps(json_body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Answer(answer.status, answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out
        raise TransientFailure(f"{type(error).__name__}: {error}") from error


class HttpSmsProvider(SmsProvider):
    """A generic JSON gateway: `POST /messages {id, to, text}` answers `{id}`; `POST /receipts
    {ids}` answers `{receipts: {id: {status, reason}}}`. 4xx is a refusal, 429 and 5xx are not."""

    name = "http"

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, body: dict[str, Any]) -> Answer:
        return post(self.base_url + path, json_body=body, timeout=self.timeout)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        answer = self._post("/messages", {"id": message_id, "to": to, "text": text})
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TransientFailure(f"HTTP {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentFailure(_reason(answer))
        return Delivery(provider_message_id=str(answer.json()["id"]))

    def receipts(self, provider_message_ids: list[str]) -> dict[str, Receipt]:
        if not provider_message_ids:
            return {}
        answer = self._post("/receipts", {"ids": provider_message_ids})
        if answer.status_code != 200:
            raise TransientFailure(f"HTTP {answer.status_code}")
        found = answer.json().get("receipts", {})
        return {key: Receipt(value["status"], value.get("reason", "")) for key, value in found.items()}


# Kavenegar's message states (its REST documentation's "status" table).
KAVENEGAR_DELIVERED = {10}
KAVENEGAR_FAILED = {6: "failed", 11: "undelivered", 13: "cancelled", 14: "blocked", 100: "invalid_id"}
# Return codes worth another try later: the server could not answer, or the account ran dry.
KAVENEGAR_TRANSIENT = {409, 418, 429}


class KavenegarProvider(SmsProvider):
    """Kavenegar's REST API: `/v1/{API-KEY}/sms/send.json` with receptor, sender, message and
    `localid` (our message id); receipts from `/v1/{API-KEY}/sms/status.json`."""

    name = "kavenegar"

    def __init__(self, base_url: str, api_key: str, sender: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.sender = sender
        self.timeout = timeout

    def _call(self, method: str, form: dict[str, str]) -> list[dict[str, Any]]:
        url = f"{self.base_url}/v1/{self.api_key}/sms/{method}.json"
        answer = post(url, form=form, timeout=self.timeout)
        try:
            body = answer.json()
            status = int(body["return"]["status"])
        except (ValueError, KeyError, TypeError):
            raise TransientFailure(f"HTTP {answer.status_code}: not Kavenegar's answer") from None
        if status == 200:
            entries = body.get("entries") or []
            return list(entries)
        reason = f"kavenegar {status}: {body['return'].get('message', '')}"
        if status in KAVENEGAR_TRANSIENT or status >= 500:
            raise TransientFailure(reason)
        raise PermanentFailure(reason)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        form = {"receptor": to, "message": text, "localid": message_id}
        if self.sender:
            form["sender"] = self.sender
        entries = self._call("send", form)
        if not entries:
            raise TransientFailure("kavenegar answered without an entry")
        entry = entries[0]
        if int(entry.get("status", 1)) in KAVENEGAR_FAILED:
            raise PermanentFailure(f"kavenegar {entry['status']}: {entry.get('statustext', '')}")
        return Delivery(provider_message_id=str(entry["messageid"]))

    def receipts(self, provider_message_ids: list[str]) -> dict[str, Receipt]:
        if not provider_message_ids:
            return {}
        found: dict[str, Receipt] = {}
        for entry in self._call("status", {"messageid": ",".join(provider_message_ids)}):
            status = int(entry["status"])
            if status in KAVENEGAR_DELIVERED:
                found[str(entry["messageid"])] = Receipt("delivered")
            elif status in KAVENEGAR_FAILED:
                text = entry.get("statustext") or KAVENEGAR_FAILED[status]
                found[str(entry["messageid"])] = Receipt("failed", f"{KAVENEGAR_FAILED[status]}: {text}")
            else:
                found[str(entry["messageid"])] = Receipt("pending")
        return found


def _reason(answer: Answer) -> str:
    try:
        return str(answer.json().get("error") or answer.text)
    except ValueError:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"
