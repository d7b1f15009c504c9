"""The requests service: the catalogue, drafts, submissions and the citizen's view of each request."""

from __future__ import annotations

from typing import Any

from contracts.catalogue import DefineUnit, PublishService, RetireService, ServicePublished
from contracts.content import HideContent, SaveContent
from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.requests import (
    AddAttachment,
    DiscardDraft,
    RemoveAttachment,
    Resubmit,
    SaveDraft,
    StartDraft,
    SubmitDraft,
    SubmitForPartner,
)
from contracts.rpc import SubmitRequest
from contracts.support import AnswerTicket, CloseTicket, FollowUpTicket, OpenTicket
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.nameko_glue import (
    DependencyProvider,
    ReadModels,
    Settings,
    Store,
    health_rpc,
    replies,
    rpc,
    shared_database,
    shared_store,
)
from infra.settings import RequestsSettings
from services.requests import (
    catalogue,
    catalogue_view,
    commands,
    content,
    content_view,
    corrections,
    drafts,
    lookups,
    open311,
    open311_queries,
    queries,
    sample_catalogue,
    tickets,
    tickets_queries,
)
from services.requests.catalogue_view import Catalogue
from services.requests.content_view import Contents
from services.requests.drafts_view import Drafts
from services.requests.projections import CitizenRequests
from services.requests.tickets_view import Tickets

PROJECTIONS = (CitizenRequests(), Drafts(), Catalogue(), Contents(), Tickets())
"""In this order in each pass: the tracking view first (within 300 ms of a submission)."""


class Files(DependencyProvider):
    """Injects the attachment store; on start, offers the sample catalogue (a no-op once loaded;
    `SAMPLE_CATALOGUE=0` turns it off)."""

    def setup(self) -> None:
        self.files = AttachmentStore()
        if RequestsSettings.load().SAMPLE_CATALOGUE:
            sample_catalogue.load(shared_store())

    def get_dependency(self, worker_ctx: Any) -> AttachmentStore:
        return self.files


class TrackLimits(DependencyProvider):
    """Makes the table of failed look-ups and injects the limit on them (`lookups`)."""

    def setup(self) -> None:
        self.limit = lookups.TrackLimit.from_env()
        lookups.setup(shared_database(self.container.service_name))

    def get_dependency(self, worker_ctx: Any) -> lookups.TrackLimit:
        return self.limit


class RequestsService:
    name = "requests"

    store: EventStore = Store()
    settings: RequestsSettings = Settings(RequestsSettings)
    db: Database = ReadModels(*PROJECTIONS, every=0.1)  # tracking: within 300 ms of a submission
    files: AttachmentStore = Files()
    track_limit: lookups.TrackLimit = TrackLimits()

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()  # the events its projections parked, for /healthz

    # -- catalogue -------------------------------------------------------------------------

    @rpc
    @replies
    def catalogue(self, include_retired: bool = False) -> list[dict[str, Any]]:
        return catalogue_view.units_with_services(self.db.read, include_retired=bool(include_retired))

    @rpc
    @replies
    def service_card(self, service_id: str) -> dict[str, Any]:
        return catalogue_view.service_card(self.db.read, str(service_id))

    @rpc
    @replies
    def define_unit(self, payload: dict[str, Any]) -> dict[str, str]:
        return catalogue.define_unit(self.store, DefineUnit.model_validate(payload))

    @rpc
    @replies
    def publish_service(self, payload: dict[str, Any]) -> dict[str, str]:
        return catalogue.publish_service(self.store, PublishService.model_validate(payload))

    @rpc
    @replies
    def retire_service(self, payload: dict[str, Any]) -> dict[str, str]:
        return catalogue.retire_service(self.store, RetireService.model_validate(payload))

    # -- the citizens' dashboard (seed 003) -------------------------------------------------

    @rpc
    @replies
    def dashboard(self, unit_id: str = "", service_id: str = "") -> dict[str, Any]:
        """Announcements, forms and questions as citizens see them today; questions of
        `unit_id`/`service_id` when given."""
        return content_view.dashboard(self.db.read, content.today(), str(unit_id), str(service_id))

    @rpc
    @replies
    def content_items(self) -> list[dict[str, Any]]:
        return content_view.items(self.db.read, content.today())

    @rpc
    @replies
    def content_item(self, item_id: str) -> dict[str, Any]:
        return content_view.item(self.db.read, str(item_id))

    @rpc
    @replies
    def save_content(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = SaveContent.model_validate(payload)
        saved = content.save_content(self.store, self.files, command, content.now())
        content.shown_soon(self.db.read, saved.pop("position"))
        return saved

    @rpc
    @replies
    def hide_content(self, payload: dict[str, Any]) -> dict[str, Any]:
        done = content.hide_content(self.store, HideContent.model_validate(payload), content.now())
        content.shown_soon(self.db.read, done.pop("position"))
        return done

    @rpc
    @replies
    def content_file(self, item_id: str) -> dict[str, Any]:
        return content.content_file(self.store, self.files, str(item_id), content.today())

    # -- support tickets (seed 001: ثبت تیکت، تیکت‌های من) ------------------------------------

    @rpc
    @replies
    def open_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        opened = tickets.open_ticket(self.store, self.files, OpenTicket.model_validate(payload))
        return tickets_queries.wait_for(self.db.read, opened)

    @rpc
    @replies
    def follow_up_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        written = tickets.follow_up(self.store, self.files, FollowUpTicket.model_validate(payload))
        return tickets_queries.wait_for(self.db.read, written)

    @rpc
    @replies
    def answer_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        answered = tickets.answer_ticket(self.store, AnswerTicket.model_validate(payload))
        return tickets_queries.wait_for(self.db.read, answered)

    @rpc
    @replies
    def close_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        closed = tickets.close_ticket(self.store, CloseTicket.model_validate(payload))
        return tickets_queries.wait_for(self.db.read, closed)

    @rpc
    @replies
    def my_tickets(self, account_id: str) -> list[dict[str, Any]]:
        return tickets_queries.my_tickets(self.db.read, str(account_id))

    @rpc
    @replies
    def ticket(self, ticket_id: str, account_id: str | None = None) -> dict[str, Any]:
        """One ticket's thread: the citizen's own (`account_id`), or any for support (None)."""
        owner = None if account_id is None else str(account_id)
        return tickets_queries.ticket(self.db.read, str(ticket_id), owner)

    @rpc
    @replies
    def support_folder(self, folder: str = "open") -> dict[str, Any]:
        return tickets_queries.support_folder(self.db.read, str(folder))

    @rpc
    @replies
    def ticket_file(
        self, ticket_id: str, attachment_id: str, account_id: str | None = None
    ) -> dict[str, Any]:
        owner = None if account_id is None else str(account_id)
        return tickets.ticket_file(self.store, self.files, str(ticket_id), owner, str(attachment_id))

    # -- drafts and submission -------------------------------------------------------------

    @rpc
    @replies
    def start_draft(self, payload: dict[str, Any]) -> dict[str, Any]:
        return drafts.start_draft(self.store, StartDraft.model_validate(payload))

    @rpc
    @replies
    def get_draft(self, draft_id: str, account_id: str) -> dict[str, Any]:
        return drafts.get_draft(self.store, str(draft_id), str(account_id))

    @rpc
    @replies
    def save_draft(self, payload: dict[str, Any]) -> dict[str, Any]:
        return drafts.save_draft(self.store, SaveDraft.model_validate(payload))

    @rpc
    @replies
    def add_attachment(self, payload: dict[str, Any]) -> dict[str, Any]:
        return drafts.add_attachment(self.store, self.files, AddAttachment.model_validate(payload))

    @rpc
    @replies
    def remove_attachment(self, payload: dict[str, Any]) -> dict[str, Any]:
        return drafts.remove_attachment(self.store, RemoveAttachment.model_validate(payload))

    @rpc
    @replies
    def discard_draft(self, payload: dict[str, Any]) -> dict[str, str]:
        return drafts.discard_draft(self.store, DiscardDraft.model_validate(payload))

    @rpc
    @replies
    def submit_draft(self, payload: dict[str, Any]) -> dict[str, str]:
        return commands.submit_draft(self.store, SubmitDraft.model_validate(payload))

    @rpc
    @replies
    def submit(self, payload: dict[str, Any]) -> dict[str, str]:
        return commands.submit(self.store, SubmitRequest.model_validate(payload))

    @rpc
    @replies
    def submit_for_partner(self, payload: dict[str, Any]) -> dict[str, str]:
        """A partner system files a request for a person (Open311)."""
        return commands.submit_for_partner(self.store, SubmitForPartner.model_validate(payload))

    @rpc
    @replies
    def service_attributes(self, service_id: str) -> list[dict[str, Any]]:
        """The Open311 attributes of a service that takes requests (`service_not_found` else)."""
        card = catalogue_view.service_card(self.db.read, str(service_id))
        if card["retired"]:
            raise DomainError("service_not_found")
        card.pop("retired")
        return open311.attributes(ServicePublished.model_validate(card))

    @rpc
    @replies
    def partner_requests(self, partner: dict[str, Any], filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The requests a partner may read (its unit's, or all), filtered as Open311 asks."""
        return open311_queries.requests_for(self.db.read, dict(partner), dict(filters))

    @rpc
    @replies
    def partner_request(self, partner: dict[str, Any], key: str) -> dict[str, Any]:
        """One request by tracking code or id, if the partner may read it."""
        return open311_queries.request_for(self.db.read, dict(partner), str(key))

    @rpc
    @replies
    def resubmit(self, payload: dict[str, Any]) -> dict[str, str]:
        return corrections.resubmit(self.store, self.files, Resubmit.model_validate(payload))

    # -- the citizen's view ----------------------------------------------------------------

    @rpc
    @replies
    def receipt(self, request_id: str, account_id: str) -> dict[str, Any]:
        return queries.receipt(self.store, str(request_id), str(account_id))

    @rpc
    @replies
    def cartable(self, account_id: str, folder: str = "progress") -> dict[str, Any]:
        return queries.cartable(self.db.read, str(account_id), str(folder))

    @rpc
    @replies
    def request_detail(self, account_id: str, request_id: str) -> dict[str, Any]:
        return queries.request_detail(self.db.read, str(account_id), str(request_id))

    @rpc
    @replies
    def track(self, tracking_code: str, national_code: str, client: str = "") -> dict[str, Any]:
        """The citizen's own look-up by code and national code; `client`: the caller's address,
        whose failed look-ups are limited (see `lookups`)."""
        return lookups.limited(
            self.db,
            self.track_limit,
            str(client),
            lambda: queries.track(self.db.read, str(tracking_code), str(national_code)),
        )

    @rpc
    @replies
    def public_track(
        self, tracking_code: str, second_factor: str, client: str = "", captcha_passed: bool = False
    ) -> dict[str, Any]:
        """Status and steps by code and mobile or national code; `client` as for `track`.
        `captcha_passed`: the tracking page's captcha was solved (identity said so to the gateway),
        which lets a look-up through past the address's limit (it still counts if it fails)."""
        return lookups.limited(
            self.db,
            self.track_limit,
            str(client),
            lambda: queries.public_track(self.db.read, str(tracking_code), str(second_factor)),
            captcha_passed=captcha_passed is True,
        )

    @rpc
    @replies
    def track_captcha_needed(self, client: str) -> bool:
        """Whether the tracking page must show a captcha to `client` (past its failed look-ups)."""
        return bool(client) and lookups.is_limited(self.db, self.track_limit, str(client))

    @rpc
    @replies
    def attachment(self, request_id: str, account_id: str, attachment_id: str) -> dict[str, Any]:
        return queries.attachment(
            self.store, self.files, str(request_id), str(account_id), str(attachment_id)
        )
