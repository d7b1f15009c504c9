"""Hand-written fakes of our own ports, in one place for every test that needs one.

Each fake implements its port's abstract class, so a port that gains a method breaks the fake
at once instead of a test far away. They remember what they were asked and answer from plain
fields a test sets (who is in the registry, which calls fail), never from mocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from contracts.errors import DomainError
from contracts.identity import RegistryRecord
from services.identity.adapters import CivilRegistry, CodeSender, LinkSender, Shahkar
from services.notify.email import EmailProvider
from services.notify.providers import Delivery, PermanentFailure, Receipt, SmsProvider, TransientFailure

# -- identity's ports ------------------------------------------------------------------------


@dataclass
class FakeCivilRegistry(CivilRegistry):
    """The civil registry (ثبت احوال) as a dictionary of people by national code; `down` makes
    it stop answering."""

    people: dict[str, RegistryRecord] = field(default_factory=dict)
    down: bool = False

    def inquire(self, national_code: str, birth_date: str) -> RegistryRecord:
        if self.down:
            raise DomainError("registry_unavailable")
        person = self.people.get(national_code)
        if person is None or person.birth_date != birth_date:
            raise DomainError("registry_mismatch")
        return person


@dataclass
class FakeShahkar(Shahkar):
    """Shahkar as a dictionary of mobile numbers to their owners' national codes."""

    owners: dict[str, str] = field(default_factory=dict)

    def matches(self, national_code: str, mobile: str) -> bool:
        return self.owners.get(mobile) == national_code


@dataclass
class FakeCodeSender(CodeSender):
    """Keeps every one-time code handed over; `working=False` makes the channel refuse them."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    """(mobile, code, purpose) of each code, oldest first."""
    working: bool = True

    def send(self, mobile: str, code: str, purpose: str, message_id: str) -> bool:
        self.sent.append((mobile, code, purpose))
        return self.working

    def last_code(self, mobile: str) -> str:
        """The code sent last to `mobile`."""
        return next(code for to, code, _ in reversed(self.sent) if to == mobile)


@dataclass
class FakeLinkSender(LinkSender):
    """Keeps every link it was asked to send. Identity e-mails activation links only, so a link
    for any other purpose fails the test that caused it."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    """(address, link) of each e-mail, oldest first."""
    purposes: tuple[str, ...] = ("activate_account",)

    def send(self, email: str, link: str, purpose: str, message_id: str) -> bool:
        assert purpose in self.purposes, f"a link for {purpose!r}"
        self.sent.append((email, link))
        return True

    def last(self) -> dict[str, str]:
        """The account and token of the last link sent."""
        query = parse_qs(urlsplit(self.sent[-1][1]).query)
        return {"account_id": query["account"][0], "token": query["token"][0]}


# -- notify's ports --------------------------------------------------------------------------


@dataclass
class FakeSmsProvider(SmsProvider):
    """Records every hand-over; answers each message id with the same provider id, as a real
    provider that de-duplicates would.

    `script` holds what the next calls do: "ok", "transient", "permanent", or a callable run
    during the call (to act as a second instance racing this one)."""

    name: str = "fake"
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    script: list[str | Callable[[], None]] = field(default_factory=list)
    receipts_by_id: dict[str, Receipt] = field(default_factory=dict)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        self.calls.append((message_id, to, text))
        step = self.script.pop(0) if self.script else "ok"
        if callable(step):
            step()
        elif step == "transient":
            raise TransientFailure("provider down")
        elif step == "permanent":
            raise PermanentFailure("number blocks promotional messages")
        return Delivery(provider_message_id=f"p-{message_id}")

    def receipts(self, provider_message_ids: list[str]) -> dict[str, Receipt]:
        return {key: self.receipts_by_id[key] for key in provider_message_ids if key in self.receipts_by_id}

    @property
    def sent_ids(self) -> list[str]:
        """Distinct message ids handed over, in order."""
        return list(dict.fromkeys(call[0] for call in self.calls))


@dataclass
class FakeEmailProvider(EmailProvider):
    """Records every e-mail handed over."""

    name: str = "fake-mail"
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    """(address, subject, text) of each e-mail, oldest first."""

    def send(self, message_id: str, to: str, subject: str, text: str) -> Delivery:
        self.sent.append((to, subject, text))
        return Delivery(provider_message_id=f"mail-{message_id}")


# -- time ------------------------------------------------------------------------------------


@dataclass
class FakeClock:
    """A clock (`Callable[[], float]`, seconds since the epoch) that moves only when a test
    moves `now`."""

    now: float

    def __call__(self) -> float:
        return self.now
