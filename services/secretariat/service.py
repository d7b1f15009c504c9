"""The secretariat service: cartables, registration numbers, referral, replies, deadlines."""

from __future__ import annotations

from typing import Any

from contracts.eventstore import EventStore
from contracts.secretariat_rpc import (
    AddNote,
    CartableQuery,
    CaseCommand,
    Recall,
    Refer,
    Reply,
    ReturnToApplicant,
    SaveCannedReply,
    SetRequestStatus,
    Staff,
    WithReason,
)
from infra.db import Database
from infra.nameko_glue import ReadModels, Settings, Store, health_rpc, replies, rpc
from infra.settings import SecretariatSettings
from services.secretariat import canned, commands, lifecycle, queries
from services.secretariat import overview as figures
from services.secretariat.projections import Inbox

PROJECTIONS = (Inbox(),)


class SecretariatService:
    name = "secretariat"

    store: EventStore = Store()
    settings: SecretariatSettings = Settings(SecretariatSettings)
    db: Database = ReadModels(*PROJECTIONS, every=0.1)  # the cartable: within 300 ms of a submission

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()  # the events its projections parked, for /healthz

    # -- reads ------------------------------------------------------------------------------

    @rpc
    @replies
    def cartable(self, payload: dict[str, Any]) -> dict[str, Any]:
        return queries.cartable(self.db.read, CartableQuery.model_validate(payload))

    @rpc
    @replies
    def case_file(self, request_id: str, staff: dict[str, Any]) -> dict[str, Any]:
        who = Staff.model_validate(staff)
        file = queries.case_file(self.db.read, request_id, who)
        return file | {"allowed_actions": commands.allowed_actions(self.store, request_id, who)}

    @rpc
    @replies
    def overview(self, staff: dict[str, Any]) -> dict[str, Any]:
        return figures.overview(self.db.read, Staff.model_validate(staff))

    @rpc
    @replies
    def catalogue(self) -> dict[str, Any]:
        return {"units": queries.units_list(self.db.read), "services": queries.services_list(self.db.read)}

    @rpc
    @replies
    def canned_replies(self, service_id: str | None = None) -> list[dict[str, Any]]:
        return queries.canned_replies(self.db.read, service_id)

    # -- actions on a request ---------------------------------------------------------------

    @rpc
    @replies
    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.register(self.store, CaseCommand.model_validate(payload))

    @rpc
    @replies
    def refer(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.refer(self.store, Refer.model_validate(payload))

    @rpc
    @replies
    def recall(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.recall(self.store, Recall.model_validate(payload))

    @rpc
    @replies
    def take(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.take(self.store, CaseCommand.model_validate(payload))

    @rpc
    @replies
    def release(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.release(self.store, WithReason.model_validate(payload))

    @rpc
    @replies
    def add_note(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.add_note(self.store, AddNote.model_validate(payload))

    @rpc
    @replies
    def return_to_applicant(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.return_to_applicant(self.store, ReturnToApplicant.model_validate(payload))

    @rpc
    @replies
    def set_request_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.set_request_status(self.store, SetRequestStatus.model_validate(payload))

    @rpc
    @replies
    def reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.reply(self.store, Reply.model_validate(payload))

    @rpc
    @replies
    def close(self, payload: dict[str, Any]) -> dict[str, Any]:
        return lifecycle.close(self.store, WithReason.model_validate(payload))

    @rpc
    @replies
    def archive(self, payload: dict[str, Any]) -> dict[str, Any]:
        return lifecycle.archive(self.store, WithReason.model_validate(payload))

    @rpc
    @replies
    def reopen(self, payload: dict[str, Any]) -> dict[str, Any]:
        return lifecycle.reopen(self.store, WithReason.model_validate(payload))

    # -- ready-made replies -----------------------------------------------------------------

    @rpc
    @replies
    def save_canned_reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        return canned.save(self.store, SaveCannedReply.model_validate(payload))

    @rpc
    @replies
    def remove_canned_reply(self, staff: dict[str, Any], service_id: str, canned_id: str) -> dict[str, Any]:
        return canned.remove(self.store, Staff.model_validate(staff), service_id, canned_id)
