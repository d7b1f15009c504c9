"""The citizen's drafts, for the "awaiting action" folder of the cartable."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from contracts.requests import DraftDiscarded, DraftSaved, RequestSubmitted
from infra.projections import Context, Projection

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


class Drafts(Projection):
    """requests_drafts: live drafts (a submitted or discarded one leaves)."""

    name = "requests.drafts"
    handles = (DraftSaved, DraftDiscarded, RequestSubmitted)
    metadata = metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        if isinstance(event, DraftSaved):
            where = drafts_table.c.draft_id == event.draft_id
            values = {"step": event.step, "saved_at": event.saved_at}
            if conn.execute(drafts_table.update().where(where).values(**values)).rowcount == 0:
                conn.execute(
                    drafts_table.insert().values(
                        draft_id=event.draft_id,
                        account_id=event.account_id,
                        service_id=event.service_id,
                        form=event.form,
                        started_at=event.saved_at,
                        **values,
                    )
                )
        else:
            key = event.draft_id if isinstance(event, DraftDiscarded) else event.request_id
            conn.execute(drafts_table.delete().where(drafts_table.c.draft_id == key))
