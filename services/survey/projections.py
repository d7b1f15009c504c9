"""The survey's read models: which requests may be surveyed, and every response for reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any

import jdatetime
import sqlalchemy as sa

from contracts.requests import RequestSubmitted
from contracts.secretariat import ReplyPosted
from contracts.survey import QUESTIONS, SurveyAnswered
from infra.projections import Context, Projection, RowsProjection
from infra.rows import Rows

TEHRAN = timezone(timedelta(hours=3, minutes=30))

metadata = sa.MetaData()
requests_table = sa.Table(
    "survey_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("tracking_code", sa.String(20), nullable=False, unique=True),
    sa.Column("national_code", sa.String(10), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("mobile", sa.String(11), nullable=False),
    sa.Column("email", sa.String(200)),
    sa.Column("unit", sa.String(100)),
    sa.Column("service_id", sa.String(20)),
    sa.Column("service_name", sa.String(300)),
    sa.Column("province", sa.String(50), nullable=False),
    sa.Column("final_reply_at", sa.String(40)),
    sa.Column("answered_at", sa.String(40)),
)

responses_metadata = sa.MetaData()
responses_table = sa.Table(
    "survey_responses",
    responses_metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("unit", sa.String(100), index=True),
    sa.Column("service_id", sa.String(20), index=True),
    sa.Column("service_name", sa.String(300)),
    sa.Column("province", sa.String(50)),
    sa.Column("answered_at", sa.String(40), nullable=False),
    sa.Column("month", sa.String(7), nullable=False, index=True),  # Jalali yyyy/mm, Tehran time
    *(sa.Column(q.id, sa.SmallInteger, nullable=False) for q in QUESTIONS),
    sa.Column("comment", sa.Text),
)


def jalali_month(moment: str) -> str:
    """The Jalali year and month (yyyy/mm) of an ISO time, in Tehran."""
    when = datetime.fromisoformat(moment)
    local = jdatetime.datetime.fromgregorian(datetime=when.astimezone(TEHRAN))
    return f"{local.year:04d}/{local.month:02d}"


class Invitations(RowsProjection):
    """survey_requests: each request with its second factor, and whether it may be surveyed
    (a final reply was posted) or already was."""

    name = "survey.invitations"
    handles = (RequestSubmitted, ReplyPosted, SurveyAnswered)
    metadata = metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(requests_table, events, attrgetter("request_id"), RequestSubmitted)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        if isinstance(event, RequestSubmitted):
            rows.insert(
                requests_table,
                {
                    "request_id": event.request_id,
                    "tracking_code": event.tracking_code,
                    "national_code": event.applicant.national_code,
                    "full_name": event.applicant.full_name,
                    "mobile": event.applicant.mobile,
                    "email": event.applicant.email,
                    "unit": event.unit,
                    "service_id": event.service_id,
                    "service_name": event.service_name,
                    "province": event.province,
                },
            )
        elif isinstance(event, ReplyPosted) and event.kind == "final":
            rows.update(requests_table, event.request_id, {"final_reply_at": event.posted_at})
        elif isinstance(event, SurveyAnswered):
            rows.update(requests_table, event.request_id, {"answered_at": event.answered_at})


class Responses(Projection):
    """survey_responses: one row per response, for the reports."""

    name = "survey.responses"
    handles = (SurveyAnswered,)
    metadata = responses_metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        conn.execute(
            responses_table.insert().values(
                request_id=event.request_id,
                unit=event.unit,
                service_id=event.service_id,
                service_name=event.service_name,
                province=event.province,
                answered_at=event.answered_at,
                month=jalali_month(event.answered_at),
                comment=event.comment,
                **{q.id: event.answers[q.id] for q in QUESTIONS},
            )
        )


def is_invited(db_read: sa.Engine, request_id: str) -> bool:
    """True once the request may be surveyed."""
    with db_read.connect() as conn:
        query = sa.select(requests_table.c.final_reply_at).where(requests_table.c.request_id == request_id)
        return conn.execute(query).scalar() is not None
