"""The secretariat's read-model tables (one projection owns them all, so they never disagree)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

cases_table = sa.Table(
    "secretariat_cases",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, unique=True),  # the submission's: paging key
    sa.Column("tracking_code", sa.String(20), nullable=False, unique=True),
    sa.Column("province", sa.String(50), nullable=False),
    sa.Column("national_code", sa.String(10), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("mobile", sa.String(11), nullable=False),
    sa.Column("applicant_kind", sa.String(10), nullable=False),
    sa.Column("company_name", sa.String(200)),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("form", sa.String(10), nullable=False),
    sa.Column("attachments", sa.Text, nullable=False),  # JSON list of AttachmentRef
    sa.Column("service_id", sa.String(50)),
    sa.Column("service_name", sa.String(200)),
    sa.Column("unit", sa.String(50)),  # the unit the service names, then the last referral's
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stage", sa.String(12), nullable=False),
    sa.Column("request_status", sa.String(12), nullable=False),
    sa.Column("registration_number", sa.String(50)),
    sa.Column("registered_at", sa.String(40)),
    sa.Column("holder_name", sa.String(200), nullable=False),
    sa.Column("holder_unit", sa.String(50)),
    sa.Column("holder_person", sa.String(100)),
    sa.Column("taken_by", sa.String(100)),
    sa.Column("taken_name", sa.String(200)),
    sa.Column("returned_to", sa.String(200)),
    sa.Column("returned_name", sa.String(200)),
    sa.Column("version", sa.Integer, nullable=False),  # the case stream's revision, -1 before any
    sa.Column("replies", sa.Integer, nullable=False),
    sa.Column("final_reply_at", sa.String(40)),
    sa.Column("reply_days", sa.Integer),  # working days from submission to the final reply
    sa.Column("expected_days", sa.Integer, nullable=False),
    sa.Column("due_on", sa.String(10)),  # ISO date; NULL while the clock is paused
    sa.Column("paused_since", sa.String(40)),
    sa.Column("paused_days", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Index("ix_secretariat_cases_province_stage", "province", "stage", "position"),
    sa.Index("ix_secretariat_cases_province_position", "province", "position"),
    sa.Index("ix_secretariat_cases_holder_unit", "holder_unit", "stage", "position"),
    sa.Index("ix_secretariat_cases_national_code", "national_code"),
    sa.Index("ix_secretariat_cases_registration", "registration_number"),
    sa.Index("ix_secretariat_cases_submitted", "province", "submitted_at"),
    sa.Index("ix_secretariat_cases_due", "province", "stage", "due_on"),
    sa.Index("ix_secretariat_cases_status", "province", "status", "position"),
    sa.Index("ix_secretariat_cases_unit", "province", "unit", "position"),
    sa.Index("ix_secretariat_cases_service", "service_id", "position"),
)

case_details_table = sa.Table(
    "secretariat_case_details",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("applicant", sa.Text),  # JSON: everything the applicant gave (Applicant)
    sa.Column("visit", sa.Text),  # JSON: the «مراجعه به سازمان» step (Visit), NULL without one
    sa.Column("unit", sa.String(50)),  # the unit filed for (the cartable's `unit` follows referrals)
    sa.Column("addressee_unit", sa.String(50)),  # «واحد سازمانی مخاطب» the citizen chose (seed 002)
    sa.Column("files_at", sa.String(40), nullable=False),  # when the current files were sent
    sa.Column("earlier_files", sa.Text, nullable=False),  # JSON: earlier versions, newest first
)
"""What the citizen gave beyond the cartable's columns, and the files a correction replaced
(each earlier version with when it was sent and when it was replaced). Its own table, read by
key on the case page only, so the cartable's rows stay narrow. A desk upgraded from before it
shows these for requests filed earlier after `pishkhan replay secretariat.cases`."""

case_units_table = sa.Table(
    "secretariat_case_units",
    metadata,
    sa.Column("unit", sa.String(50), primary_key=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),  # the case's paging key, for keyset joins
    sa.Index("ix_secretariat_case_units_unit_position", "unit", "position"),
)
"""Every unit a request was ever referred to: its representatives may see it."""

history_table = sa.Table(
    "secretariat_history",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # the reason, instruction, note or reply
    sa.Column("holder_name", sa.String(200), nullable=False),  # who held it after this step
    sa.Column("internal", sa.Boolean, nullable=False),  # never shown to the citizen
)

replies_table = sa.Table(
    "secretariat_replies",
    metadata,
    sa.Column("reply_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("clerk", sa.String(100), nullable=False),
    sa.Column("clerk_name", sa.String(200), nullable=False),
    sa.Column("posted_at", sa.String(40), nullable=False),
    sa.Column("reply_number", sa.String(50)),
    sa.Column("reply_date", sa.String(10)),
    sa.Column("legal_basis", sa.Text),
    sa.Column("appeal_authority", sa.Text),
    sa.Column("appeal_deadline", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("attachments", sa.Text, nullable=False),
)

services_table = sa.Table(
    "secretariat_services",
    metadata,
    sa.Column("service_id", sa.String(50), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("unit", sa.String(50)),
    sa.Column("expected_days", sa.Integer, nullable=False),
)
"""What the catalogue says of each service (its expected duration in working days)."""

units_table = sa.Table(
    "secretariat_units",
    metadata,
    sa.Column("unit", sa.String(50), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)

partners_table = sa.Table(
    "secretariat_partners",
    metadata,
    sa.Column("partner_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)
"""The partner systems (`PartnerAdded`) by name, so a request a partner filed through Open311 (an
applicant of kind "partner", with no national code) says whose system it came from. Read by key
when a page shows such a request; a desk upgraded from before it names partners added earlier
after `pishkhan replay secretariat.cases` (until then the page says only «سامانهٔ همکار»)."""

canned_table = sa.Table(
    "secretariat_canned_replies",
    metadata,
    sa.Column("canned_id", sa.String(64), primary_key=True),
    sa.Column("service_id", sa.String(50), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("appeal_authority", sa.Text, nullable=False),
    sa.Column("appeal_deadline", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

due_counts_table = sa.Table(
    "secretariat_due_counts",
    metadata,
    sa.Column("province", sa.String(50), primary_key=True),
    sa.Column("stage", sa.String(12), primary_key=True),
    sa.Column("due_on", sa.String(10), primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False),
)
"""How many requests of each secretariat are at each stage with each due date (`""`: none, as
while the citizen corrects): the cartable's folder and overdue counts from a few rows a day
instead of an index scan of every open request (4.5 ms a call with 100,000 stored). Replaces
`secretariat_stage_counts`, which counted each request in its first stage for good."""
