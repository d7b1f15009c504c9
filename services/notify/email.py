"""E-mail, the second channel: an SMTP adapter behind the same kind of port as SMS.

The message id travels as the `Message-ID` header, so a mailbox (or our test server) can tell
a re-sent copy from a new message.
"""

from __future__ import annotations

import abc
import json
import smtplib
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlparse

from infra.settings import NotifySettings
from services.notify.providers import Delivery, PermanentFailure, TransientFailure


class EmailProvider(abc.ABC):
    """Sends one e-mail, identified by `message_id`."""

    name: str

    @abc.abstractmethod
    def send(self, message_id: str, to: str, subject: str, text: str) -> Delivery:
        """Hand the e-mail over; `PermanentFailure` or `TransientFailure` as for SMS."""


class SmtpProvider(EmailProvider):
    """Plain SMTP (STARTTLS when `use_tls`)."""

    name = "smtp"

    def __init__(
        self, host: str, port: int, sender: str, *, use_tls: bool = False, timeout: float = 10.0
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.use_tls, self.timeout = use_tls, timeout

    def send(self, message_id: str, to: str, subject: str, text: str) -> Delivery:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, to, subject
        mail["Message-ID"] = f"<{message_id}@pishkhan>"
        mail.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise TransientFailure(f"{type(error).__name__}: {error}") from error
        return Delivery(provider_message_id=f"smtp-{message_id}")


class SimulatedSmtpProvider(SmtpProvider):
    """The local test SMTP server: asks its HTTP side where it listens, at the first send."""

    def __init__(self, simulator_url: str, sender: str) -> None:
        super().__init__("", 0, sender)
        self.simulator_url = simulator_url.rstrip("/")

    def send(self, message_id: str, to: str, subject: str, text: str) -> Delivery:
        if not self.port:
            try:
                with urllib.request.urlopen(self.simulator_url + "/smtp", timeout=5) as answer:
                    where = json.loads(answer.read())
            except (OSError, ValueError) as error:
                raise TransientFailure(f"test SMTP server not reachable: {error}") from error
            self.host, self.port = where["host"], int(where["port"])
        return super().send(message_id, to, subject, text)


def email_from_env() -> EmailProvider | None:
    """`SMTP_URL` (smtp://host:port, smtp+starttls://…), else the test server at
    `SMTP_SIMULATOR_URL`, else none (e-mails then fail for good, visibly)."""
    settings = NotifySettings.load()
    sender = settings.MAIL_FROM
    if settings.SMTP_URL:
        url = urlparse(settings.SMTP_URL)
        return SmtpProvider(
            url.hostname or "127.0.0.1", url.port or 25, sender, use_tls=url.scheme.endswith("starttls")
        )
    if settings.SMTP_SIMULATOR_URL:
        return SimulatedSmtpProvider(settings.SMTP_SIMULATOR_URL, sender)
    return None
