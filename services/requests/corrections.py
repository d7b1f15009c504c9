"""A request the secretariat returned for correction comes back, corrected, as often as needed."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.catalogue import AttachmentRules
from contracts.envelope import WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.requests import AttachmentRef, RequestResubmitted, Resubmit
from infra.attachments import AttachmentStore
from services.requests.catalogue import load_service
from services.requests.commands import load_request, request_files, request_stream
from services.requests.files import check_file, media_type
from services.requests.projections import STATUS_RETURNED, requests_table


def _status(db_read: sa.Engine, request_id: str) -> str | None:
    with db_read.connect() as conn:
        return conn.execute(
            sa.select(requests_table.c.status).where(requests_table.c.request_id == request_id)
        ).scalar()


def _new_file(files: AttachmentStore, command: Resubmit, rules: AttachmentRules, kept: int) -> AttachmentRef:
    try:
        data = base64.b64decode(command.file_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("invalid_input", "file_base64 is not base64") from None
    name = command.file_name or "file"
    kind = check_file(name, data, rules, kept)
    stored = files.put(data)
    return AttachmentRef(
        attachment_id=stored.attachment_id,
        name=name,
        media_type=media_type(kind),
        size=stored.size,
        sha256=stored.sha256,
    )


def resubmit(
    store: EventStore, files: AttachmentStore, db_read: sa.Engine, command: Resubmit
) -> dict[str, str]:
    """Send the corrected request back to the secretariat: new subject and text, files removed
    or one added under the service's rules; only while it is returned to the citizen."""
    submitted, version = load_request(store, command.request_id, command.account_id)
    if _status(db_read, command.request_id) != STATUS_RETURNED:
        raise DomainError("not_returned")
    current, _ = request_files(store, command.request_id, command.account_id)
    attachments = tuple(a for a in current if a.attachment_id not in command.remove_attachments)
    if command.file_base64:
        rules = (
            load_service(store, submitted.service_id).card.attachment_rules if submitted.service_id else None
        )
        added = _new_file(files, command, rules or AttachmentRules(), len(attachments))
        if all(a.sha256 != added.sha256 for a in attachments):
            attachments = (*attachments, added)
    event = RequestResubmitted(
        request_id=command.request_id,
        subject=command.subject,
        text=command.text,
        attachments=attachments,
        resubmitted_at=datetime.now(UTC).isoformat(),
    )
    actor = f"citizen:{command.account_id}"
    try:
        store.append(
            request_stream(command.request_id),
            [new_event(event, event_id=command.derived("resubmitted"), actor=actor)],
            version,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    return {"request_id": command.request_id, "tracking_code": submitted.tracking_code}
