"""The citizen's drafts, for the "awaiting action" folder of the cartable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from contracts.requests import DraftDiscarded, DraftSaved, RequestSubmitted
from infra.projections import Context, RowsProjection
from infra.rows import Rows

metadata = sa.MetaData()

drafts_table = sa.Table(
    "requests_drafts",
    metadata,
    sa.Column("draft_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(100), nullable=False, index=True),
    sa.Column("service_id", sa.String(11), nullable=False),
    sa.Column("form", sa.String(10), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("saved_at", sa.String(40), nullable=False),
)


class Drafts(RowsProjection):
    """requests_drafts: live drafts (a submitted or discarded one leaves)."""

    name = "requests.drafts"
    handles = (DraftSaved, DraftDiscarded, RequestSubmitted)
    metadata = metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load(drafts_table, [_draft_id(event) for event in events if _had_a_draft(event)])

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        if not _had_a_draft(event):
            return
        if not isinstance(event, DraftSaved):
            rows.delete(drafts_table, _draft_id(event))
            return
        values = {"step": event.step, "saved_at": event.saved_at}
        if rows.update(drafts_table, event.draft_id, values) is None:
            rows.insert(
                drafts_table,
                {
                    "draft_id": event.draft_id,
                    "account_id": event.account_id,
                    "service_id": event.service_id,
                    "form": event.form,
                    "started_at": event.saved_at,
                    **values,
                },
            )


def _had_a_draft(event: Any) -> bool:
    """False for a request submitted through the JSON API in one call: it never had a draft."""
    return not (isinstance(event, RequestSubmitted) and event.form == "api")


def _draft_id(event: Any) -> str:
    """The draft an event is about: a submitted request keeps its draft's id."""
    return str(event.request_id if isinstance(event, RequestSubmitted) else event.draft_id)
