"""Identity's read models: accounts (find by mobile, staff lists), the accounts an administrator
disabled, and the officers' cartable."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from contracts.identity import (
    AccountDisabled,
    AccountEnabled,
    CitizenRegistered,
    MobileChanged,
    PasswordSet,
    ProfileUpdated,
    RegistryVerified,
    RoleGranted,
    RoleRevoked,
    ShahkarChecked,
    StaffCreated,
    VerificationApproved,
    VerificationRejected,
    VerificationSubmitted,
)
from infra.projections import Context, Projection

# One MetaData per projection: a replay empties and swaps exactly the tables of the projection
# it rebuilds (with one shared, rebuilding the accounts switched in an empty cases table).
accounts_metadata = sa.MetaData()
access_metadata = sa.MetaData()
cases_metadata = sa.MetaData()

accounts_table = sa.Table(
    "identity_accounts",
    accounts_metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("national_code", sa.String(10), nullable=False),
    sa.Column("mobile", sa.String(11), nullable=False, index=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("company_name", sa.String(200)),
    sa.Column("roles", sa.Text, nullable=False, default="{}"),
    sa.Column("level_note", sa.String(40)),
    sa.Column("password_changed_at", sa.String(40)),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

access_table = sa.Table(
    "identity_account_access",
    access_metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("changed_by", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changed_at", sa.String(40), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

cases_table = sa.Table(
    "identity_verification_cases",  # "identity_cases" before cases named a province (unused since)
    cases_metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False, index=True),
    sa.Column("national_code", sa.String(10), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("decided_at", sa.String(40)),
    sa.Column("officer", sa.String(100)),
    sa.Column("reason", sa.Text),
    sa.Column("province", sa.String(50), index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

reviews_table = sa.Table(
    "identity_verification_reviews",
    cases_metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),  # the decision's: one row per review
    sa.Column("case_id", sa.String(64), nullable=False, index=True),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),  # approved / rejected
    sa.Column("officer", sa.String(100), nullable=False),  # the desk officer's account
    sa.Column("remark", sa.Text),  # the rejection's reason, the approval's note
    sa.Column("at", sa.String(40), nullable=False),
)
"""Every desk officer's decision on a case, each round's: the cartable's «گزارش» (seed 004: what
the officers who gave their opinion on the request wrote). The case's row keeps only the latest
round's. A desk upgraded from before it shows earlier decisions after
`pishkhan replay identity.verification_cases`."""


class Accounts(Projection):
    """identity_accounts: one row per account, with its staff roles."""

    name = "identity.accounts"
    handles = (
        CitizenRegistered,
        StaffCreated,
        PasswordSet,
        MobileChanged,
        ProfileUpdated,
        ShahkarChecked,
        RegistryVerified,
        RoleGranted,
        RoleRevoked,
        VerificationApproved,
    )
    metadata = accounts_metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        where = accounts_table.c.account_id == event.account_id
        if isinstance(event, CitizenRegistered | StaffCreated):
            at = event.registered_at if isinstance(event, CitizenRegistered) else event.created_at
            company = (
                event.company.company_name if isinstance(event, CitizenRegistered) and event.company else None
            )
            conn.execute(
                accounts_table.insert().values(
                    account_id=event.account_id,
                    kind="citizen" if isinstance(event, CitizenRegistered) else "staff",
                    national_code=event.national_code,
                    mobile=event.mobile,
                    full_name=event.full_name,
                    company_name=company,
                    roles="{}",
                    created_at=at,
                    position=context.recorded.position,
                )
            )
        elif isinstance(event, PasswordSet):
            conn.execute(accounts_table.update().where(where).values(password_changed_at=event.at))
        elif isinstance(event, MobileChanged):
            conn.execute(accounts_table.update().where(where).values(mobile=event.mobile))
        elif isinstance(event, RegistryVerified):
            name = f"{event.registry.first_name} {event.registry.last_name}"
            conn.execute(accounts_table.update().where(where).values(full_name=name, level_note="registry"))
        elif isinstance(event, ProfileUpdated):
            values: dict[str, Any] = {}
            if event.first_name and event.last_name:
                values["full_name"] = f"{event.first_name} {event.last_name}"
            if event.company:
                values["company_name"] = event.company.company_name
            if values:
                conn.execute(accounts_table.update().where(where).values(**values))
        elif isinstance(event, ShahkarChecked):
            note = "shahkar" if event.matched else "shahkar_mismatch"
            conn.execute(accounts_table.update().where(where).values(level_note=note))
        elif isinstance(event, VerificationApproved):
            conn.execute(accounts_table.update().where(where).values(level_note="officer"))
        elif isinstance(event, RoleGranted | RoleRevoked):
            roles = json.loads(conn.execute(sa.select(accounts_table.c.roles).where(where)).scalar_one())
            if isinstance(event, RoleGranted):
                roles[event.role] = {"province": event.province, "unit": event.unit}
            else:
                roles.pop(event.role, None)
            conn.execute(accounts_table.update().where(where).values(roles=json.dumps(roles, sort_keys=True)))


class Access(Projection):
    """identity_account_access: each account an administrator disabled or enabled again, with
    the latest change's who, why and when (an account never changed has no row)."""

    name = "identity.account_access"
    handles = (AccountDisabled, AccountEnabled)
    metadata = access_metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        disabled = isinstance(event, AccountDisabled)
        values = {
            "disabled": disabled,
            "changed_by": event.disabled_by if disabled else event.enabled_by,
            "reason": event.reason,
            "changed_at": event.at,
            "position": context.recorded.position,
        }
        where = access_table.c.account_id == event.account_id
        if conn.execute(access_table.update().where(where).values(**values)).rowcount == 0:
            conn.execute(access_table.insert().values(account_id=event.account_id, **values))


class Verifications(Projection):
    """identity_verification_cases: the desk officers' cartable of identity-verification cases,
    and identity_verification_reviews: each decision on them.

    Named anew when cases gained their province (a new name builds from the first event at
    start, beside the old `identity_cases`, which nothing reads any more)."""

    name = "identity.verification_cases"
    handles = (VerificationSubmitted, VerificationApproved, VerificationRejected)
    metadata = cases_metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        where = cases_table.c.case_id == event.case_id
        if isinstance(event, VerificationSubmitted):
            values = {
                "account_id": event.account_id,
                "national_code": event.national_code,
                "full_name": event.full_name,
                "kind": event.kind,
                "status": "submitted",
                "round": event.round,
                "submitted_at": event.submitted_at,
                "decided_at": None,
                "officer": None,
                "reason": None,
                "province": event.province,
                "position": context.recorded.position,
            }
            if conn.execute(sa.select(cases_table.c.case_id).where(where)).first() is None:
                conn.execute(cases_table.insert().values(case_id=event.case_id, **values))
            else:
                conn.execute(cases_table.update().where(where).values(**values))
        else:
            status = "approved" if isinstance(event, VerificationApproved) else "rejected"
            reason = event.reason if isinstance(event, VerificationRejected) else event.note
            conn.execute(
                cases_table.update()
                .where(where)
                .values(status=status, decided_at=event.at, officer=event.officer, reason=reason)
            )
            conn.execute(
                reviews_table.insert().values(
                    position=context.recorded.position,
                    case_id=event.case_id,
                    round=event.round,
                    decision=status,
                    officer=event.officer,
                    remark=reason,
                    at=event.at,
                )
            )
