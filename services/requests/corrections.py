"""A request the secretariat returned for correction comes back, corrected, as often as needed.

Whether it is returned comes from the events (the secretariat's case stream, folded into the
request), never from a read model that may lag behind them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.catalogue import AttachmentRules
from contracts.eventstore import EventStore
from contracts.requests import Resubmit
from infra.attachments import AttachmentStore
from infra.decider import handle
from services.requests.catalogue import load_service
from services.requests.commands import load_request
from services.requests.files import decoded, store_checked
from services.requests.request import Correct, correctable, kept, requests
from services.requests.streams import case_stream, request_stream

PURPOSE = "resubmitted"


def resubmit(store: EventStore, files: AttachmentStore, command: Resubmit) -> dict[str, str]:
    """Send the corrected request back to the secretariat: new subject and text, files removed
    or one added under the service's rules; only while it is returned to the citizen. A repeated
    command gets its first answer (its file is not checked or stored again)."""
    loaded = load_request(store, command.request_id, with_case=True)
    added = None
    repeated = any(recorded.id == command.derived(PURPOSE) for recorded in loaded.own)
    if command.file_base64 and not repeated:
        submitted = correctable(loaded.state, command.account_id)  # before the file is stored
        card = load_service(store, submitted.service_id).card if submitted.service_id else None
        rules = card.attachment_rules if card else AttachmentRules()
        data, name = decoded(command.file_base64, "file_base64"), command.file_name or "file"
        added = store_checked(files, name, data, rules, len(kept(loaded.state, command)))
    decided = handle(
        store,
        requests,
        Correct(command, added, datetime.now(UTC)),
        request_stream(command.request_id),
        identity=command,
        purpose=PURPOSE,
        also=(case_stream(command.request_id),),
        loaded=loaded,
        actor=f"citizen:{command.account_id}",
    )
    return decided.state.answer()
