"""The survey service: the questionnaire after a final reply, and its reports."""

from __future__ import annotations

from typing import Any

from contracts.eventstore import EventStore
from contracts.survey import AnswerSurvey, OpenSurvey
from infra.db import Database
from infra.nameko_glue import ReadModels, Settings, Store, health_rpc, replies, rpc
from infra.settings import SurveySettings
from services.survey import commands, reports
from services.survey.projections import Invitations, Responses, is_invited

PROJECTIONS = (Invitations(), Responses())


class SurveyService:
    name = "survey"

    store: EventStore = Store()
    settings: SurveySettings = Settings(SurveySettings)
    db: Database = ReadModels(*PROJECTIONS, every=1.0)  # invitations: a reply's survey can wait

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()  # the events its projections parked, for /healthz

    @rpc
    @replies
    def invited(self, request_id: str) -> bool:
        return is_invited(self.db.read, request_id)

    @rpc
    @replies
    def open(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.open_survey(self.store, OpenSurvey.model_validate(payload))

    @rpc
    @replies
    def answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.answer_survey(self.store, AnswerSurvey.model_validate(payload))

    @rpc
    @replies
    def report(self, filters: dict[str, str]) -> dict[str, Any]:
        return reports.report(self.db.read, _filters(filters))

    @rpc
    @replies
    def csv_rows(self, filters: dict[str, str]) -> list[list[str]]:
        return reports.csv_rows(self.db.read, _filters(filters))


def _filters(filters: dict[str, str]) -> dict[str, str]:
    return {k: str(v) for k, v in filters.items() if k in ("province", "unit", "service_id", "period") and v}
