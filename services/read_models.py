"""Each service's rebuildable read models, for operations (replay, parked events).

Notify's planner is listed without providers on purpose: a replay must never reach an SMS
provider (it queues nothing for history anyway).
"""

from __future__ import annotations

from infra.projections import Projection
from services.identity.partners_view import Partners
from services.identity.projections import Access, Accounts, Verifications
from services.notify.projections import Planner, Status
from services.requests.catalogue_view import Catalogue
from services.requests.content_view import Contents
from services.requests.drafts_view import Drafts
from services.requests.projections import CitizenRequests
from services.requests.tickets_view import Tickets
from services.secretariat.projections import Inbox
from services.survey.projections import Invitations, Responses


def read_models() -> dict[str, list[Projection]]:
    """Service name → its projections that own tables."""
    return {
        "identity": [Accounts(), Access(), Verifications(), Partners()],
        "requests": [Catalogue(), Contents(), Drafts(), CitizenRequests(), Tickets()],
        "secretariat": [Inbox()],
        "notify": [Planner(), Status()],
        "survey": [Invitations(), Responses()],
    }


def projection_named(name: str) -> Projection:
    """A new instance of the read model projection called `name`."""
    for projections in read_models().values():
        for projection in projections:
            if projection.name == name:
                return projection
    raise KeyError(name)
