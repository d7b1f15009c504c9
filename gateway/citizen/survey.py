"""The citizen's survey (seed 003's «نظرسنجی و پیگیری درخواست»): the tracking code and national
code, the citizen-details form, the sixteen-question questionnaire; and the same as JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.errors import MESSAGES
from contracts.normalise import is_blank
from contracts.persian import is_national_code, normalize_code, normalize_mobile
from contracts.survey import AXES, QUESTIONS, SCALE, AnswerSurvey, OpenSurvey
from gateway.common import ApiError, call, form_data, payload
from gateway.web.templates import render

SESSION_KEY = "survey"
DETAILS = ("first_name", "last_name", "respondent_national_code", "mobile", "email")


def _message(code: str) -> str:
    return MESSAGES.get(code, MESSAGES["invalid_input"])[1]


async def start(request: Request) -> Response:
    """The tracking-code form (or, posted, the survey it opens)."""
    if request.method == "GET":
        return render(request, "survey/start.html", {"form": {}})
    form = await form_data(request)
    typed = {k: form.get(k, "") for k in ("tracking_code", "national_code")}
    try:
        opened = await call(request, "survey", "open", OpenSurvey.model_validate(typed).model_dump())
    except (ApiError, ValueError) as error:
        code = error.code if isinstance(error, ApiError) else "invalid_input"
        return render(request, "survey/start.html", {"form": typed, "error": _message(code)}, status_code=422)
    request.session[SESSION_KEY] = {**typed, "opened": opened, "details": opened["prefill"]}
    return RedirectResponse("/survey/details", status_code=303)


def _state(request: Request) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY)
    return state if isinstance(state, dict) and "opened" in state else None


def _check_details(form: dict[str, str]) -> dict[str, str]:
    errors = {}
    for name in ("first_name", "last_name"):
        if is_blank(form.get(name, "")):
            errors[name] = "این فیلد را پر کنید."
    if not is_national_code(normalize_code(form.get("respondent_national_code", ""))):
        errors["respondent_national_code"] = _message("invalid_national_code")
    if normalize_mobile(form.get("mobile", "")) is None:
        errors["mobile"] = _message("invalid_mobile")
    return errors


async def details(request: Request) -> Response:
    """فرم ثبت مشخصات شهروند."""
    state = _state(request)
    if state is None:
        return RedirectResponse("/survey", status_code=303)
    if request.method == "GET":
        return render(request, "survey/details.html", {"survey": state["opened"], "form": state["details"]})
    form = await form_data(request)
    typed = {k: form.get(k, "").strip() for k in DETAILS}
    errors = _check_details(typed)
    if errors:
        context = {
            "survey": state["opened"],
            "form": typed,
            "errors": errors,
            "error": _message("invalid_input"),
        }
        return render(request, "survey/details.html", context, status_code=422)
    request.session[SESSION_KEY] = {**state, "details": typed, "details_done": True}
    return RedirectResponse("/survey/questions", status_code=303)


async def questions(request: Request) -> Response:
    """پرسشنامه: sixteen questions on the five-point scale and an optional comment."""
    state = _state(request)
    if state is None or not state.get("details_done"):
        return RedirectResponse("/survey/details" if state else "/survey", status_code=303)
    context: dict[str, Any] = {
        "survey": state["opened"],
        "questions": QUESTIONS,
        "axes": AXES,
        "scale": SCALE,
    }
    if request.method == "GET":
        return render(request, "survey/questions.html", {**context, "answers": {}, "comment": ""})
    form = await form_data(request)
    answers = {q.id: form.get(q.id, "") for q in QUESTIONS}
    comment = form.get("comment", "")
    missing = [q.number for q in QUESTIONS if answers[q.id] not in {str(v) for v in SCALE}]
    if missing:
        context |= {
            "answers": answers,
            "comment": comment,
            "missing": missing,
            "error": _message("survey_incomplete"),
        }
        return render(request, "survey/questions.html", context, status_code=422)
    body = {
        "tracking_code": state["tracking_code"],
        "national_code": state["national_code"],
        **state["details"],
        "answers": {key: int(value) for key, value in answers.items()},
        "comment": comment or None,
        "command_id": state["opened"]["request_id"],  # a double click records one response
    }
    try:
        await call(request, "survey", "answer", AnswerSurvey.model_validate(body).model_dump())
    except (ApiError, ValueError) as error:
        code = error.code if isinstance(error, ApiError) else "invalid_input"
        if code != "survey_already_answered":
            context |= {"answers": answers, "comment": comment, "error": _message(code)}
            return render(request, "survey/questions.html", context, status_code=422)
    request.session.pop(SESSION_KEY, None)
    return render(request, "survey/done.html", {"survey": state["opened"]})


async def api_open(request: Request) -> JSONResponse:
    """
    summary: Open the survey of a request that has its final reply
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/OpenSurvey"}}}}
    responses:
      200: {description: the request surveyed and the citizen's details to prefill}
      404: {description: no request with this tracking code and national code}
      409: {description: no final reply yet (survey_not_ready) or already answered}
    """
    return JSONResponse(await call(request, "survey", "open", await payload(request, OpenSurvey)))


async def api_answer(request: Request) -> JSONResponse:
    """
    summary: Answer the survey (once per request)
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/AnswerSurvey"}}}}
    responses:
      201: {description: recorded}
      409: {description: already answered, or not open yet}
      422: {description: a missing answer or an invalid field}
    """
    result = await call(request, "survey", "answer", await payload(request, AnswerSurvey))
    return JSONResponse(result, status_code=201)


routes: list[BaseRoute] = [
    Route("/survey", start, methods=["GET", "POST"], include_in_schema=False),
    Route("/survey/details", details, methods=["GET", "POST"], include_in_schema=False),
    Route("/survey/questions", questions, methods=["GET", "POST"], include_in_schema=False),
    Route("/api/survey/open", api_open, methods=["POST"]),
    Route("/api/survey/answers", api_answer, methods=["POST"]),
]
schemas: dict[str, type[BaseModel]] = {"OpenSurvey": OpenSurvey, "AnswerSurvey": AnswerSurvey}
