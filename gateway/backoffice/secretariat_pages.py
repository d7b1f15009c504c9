"""The secretariat's pages: the cartable with its folders and search, one request's file with every
action, the workflow chart. Reports, ready-made replies and printing are in `secretariat_reports`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import filetype
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.errors import MESSAGES
from contracts.secretariat_rpc import CartableQuery
from gateway.backoffice import secretariat_reports
from gateway.backoffice.secretariat_api import staff_of
from gateway.backoffice.secretariat_charts import workflow_svg
from gateway.backoffice.secretariat_labels import FOLDERS, NOTICES, STATUSES, with_channel
from gateway.common import ApiError, call, call_cached, command_id, form_data, validated
from gateway.web.csrf import FORM_FIELD
from gateway.web.templates import render
from infra.attachments import AttachmentStore, clean_file_name

FILTERS: tuple[str, ...] = ("tracking_code", "national_code", "registration_number", "date_from", "date_to")
FILTERS += ("status", "unit", "service_id", "province", "overdue")
SEARCH_FIELDS = tuple(name for name in FILTERS if name != "province")  # an admin's secretariat: no search
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "register": ("register", ()),
    "refer": ("refer", ("unit", "representative", "instruction")),  # the name: from identity
    "recall": ("recall", ("reason",)),
    "take": ("take", ()),
    "release": ("release", ("reason",)),
    "note": ("add_note", ("text",)),
    "return": ("return_to_applicant", ("reason",)),
    "status": ("set_request_status", ("value", "reason")),
    "reply": ("reply", ("kind", "body", "reply_number", "reply_date", "legal_basis", "appeal_authority")),
    "close": ("close", ("reason",)),
    "archive": ("archive", ("reason",)),
    "reopen": ("reopen", ("reason",)),
}
REPLY_EXTRA = ("appeal_deadline", "notes")
MAX_ATTACHMENT = 2 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}


async def cartable(request: Request) -> Response:
    """The cartable: a folder, the search form, one page of requests.

    A search looks in every folder whichever tab it was typed on (a tracking code finds its
    request after referral or the final reply too): the rows name their folder and the tabs
    count the hits in each. A tab clicked during a search (`in_folder=1`) shows its hits only."""
    staff = staff_of(request)
    params = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
    tab = request.query_params.get("folder", "awaiting")
    tab = tab if tab in FOLDERS or tab == "all" else "awaiting"
    searching = any(params.get(field) for field in SEARCH_FIELDS)
    narrowed = searching and tab != "all" and request.query_params.get("in_folder") == "1"
    folder = tab if narrowed or not searching else "all"
    query: dict[str, Any] = {**params, "staff": staff, "folder": folder}
    if request.query_params.get("after", "").isdigit():
        query["after"] = int(request.query_params["after"])
    query["overdue"] = bool(params.get("overdue"))
    error = None
    try:
        page = await call(request, "secretariat", "cartable", validated(CartableQuery, query))
    except ApiError as refused:
        error, page = MESSAGES.get(refused.code, MESSAGES["invalid_input"])[1], {"items": [], "counts": {}}
    page["items"] = [with_channel(row) for row in page["items"]]
    catalogue = await call_cached(request, "secretariat", "catalogue")
    context = {"page": page, "folder": folder, "tab": tab, "filters": params, "folders": FOLDERS}
    context |= {"searching": searching, "narrowed": narrowed}
    context |= {"statuses": STATUSES, "catalogue": catalogue, "error": error}
    return render(request, "secretariat/cartable.html", context)


async def _case_file(request: Request, request_id: str) -> dict[str, Any]:
    """The file, waiting briefly for the read model to show the action just taken."""
    staff = staff_of(request)
    wanted = request.query_params.get("v", "")
    numbered = request.query_params.get("done") == "register"
    for _ in range(60):
        file: dict[str, Any] = await call(request, "secretariat", "case_file", request_id, staff)
        case = file["case"]
        behind = wanted.lstrip("-").isdigit() and case["version"] < int(wanted)
        if not behind and not (numbered and case["registration_number"] is None):
            break
        await asyncio.sleep(0.05)
    return file | {"case": with_channel(file["case"])}


async def case_page(
    request: Request, *, error: str | None = None, form: dict[str, str] | None = None, status: int = 200
) -> Response:
    """One request: details, deadline, actions, workflow (list and chart), report, replies."""
    request_id = request.path_params["request_id"]
    file = await _case_file(request, request_id)
    done = request.query_params.get("done", "")
    context = {
        **file,
        "representatives": await call_cached(request, "identity", "representatives"),
        "staff": staff_of(request),
        "chart": workflow_svg(file["history"]),
        "statuses": STATUSES,
        "error": error,
        "notice": NOTICES.get(done) if not error else None,
        "form": form or {},
        "command_id": uuid.uuid4().hex,
    }
    return render(request, "secretariat/case.html", context, status_code=status)


async def case_action(request: Request) -> Response:
    """Any action of the case page; a refusal shows the page again with what was typed."""
    request_id, name = request.path_params["request_id"], request.path_params["action"]
    if name not in ACTIONS:
        raise ApiError("page_not_found")
    form = await form_data(request)
    method, fields = ACTIONS[name]
    body: dict[str, Any] = {"request_id": request_id, "staff": staff_of(request)}
    for field in fields + (REPLY_EXTRA if name == "reply" else ()):
        if form.get(field, "").strip():
            body[field] = form[field]
    if form.get("expected_version", "").lstrip("-").isdigit():
        body["expected_version"] = int(form["expected_version"])
    try:
        if name == "refer":
            body["unit_name"] = form.get("unit_name", "")
            body = await _with_representative(request, body)
        if name == "reply":
            body["attachments"] = await _attachments(request)
            if form.get("canned_id"):
                body = await _with_canned(request, body, form["canned_id"])
        body |= _command(request, name, form, body.get("attachments", ()))
        answer = await call(request, "secretariat", method, body)
    except ApiError as refused:
        message = MESSAGES.get(refused.code, MESSAGES["internal_error"])[1]
        status = MESSAGES.get(refused.code, (500, ""))[0]
        return await case_page(request, error=message, form=form | {"action": name}, status=status)
    version = answer.get("version") if isinstance(answer, dict) else None
    target = f"/secretariat/cases/{request_id}?done={name}" + (f"&v={version}" if version is not None else "")
    return RedirectResponse(target, status_code=303)


def _command(
    request: Request, action: str, form: dict[str, str], attachments: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """The command of one form of the page, named by the key the page put in it: each form its
    own (the key and the action), scoped to the signed-in account (another account's key names
    another command), and fingerprinted with what was typed and uploaded, so a form sent twice
    is one command and a key sent again with other input is refused."""
    key = form.get("command_id")
    typed = {name: value for name, value in form.items() if name not in ("command_id", FORM_FIELD)}
    sent = typed | {"attachments": [file["sha256"] for file in attachments]}
    return command_id(request, sent, key=f"{key}-{action}") if key else {}


async def _with_representative(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """A referral to a representative chosen from the list: their name from identity, and
    only when they serve the unit referred to (one granted since shows within the cache's time)."""
    chosen = body.get("representative")
    if not chosen:
        return body
    await call(request, "secretariat", "case_file", body["request_id"], body["staff"])  # in reach first
    for person in await call_cached(request, "identity", "representatives"):
        if person["account_id"] == chosen and person["unit"] == body.get("unit"):
            return {**body, "representative_name": person["full_name"]}
    raise ApiError("representative_not_in_unit")


async def _with_canned(request: Request, body: dict[str, Any], canned_id: str) -> dict[str, Any]:
    """Fill the reply's empty fields from the chosen ready-made reply."""
    for canned in await call(request, "secretariat", "canned_replies", None):
        if canned["canned_id"] == canned_id:
            for field in ("body", "legal_basis", "appeal_authority", "appeal_deadline", "notes"):
                if canned[field] and not body.get(field):
                    body[field] = canned[field]
            return body
    raise ApiError("canned_reply_not_found")


async def _attachments(request: Request) -> list[dict[str, Any]]:
    """The reply's files, stored by content (the form's CSRF token was checked by `form_data`)."""
    store = AttachmentStore()
    refs = []
    for upload in (await request.form()).getlist("attachments"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        data = await upload.read(MAX_ATTACHMENT + 1)
        name = clean_file_name(upload.filename)
        # The type comes from the bytes and must match the name's extension: the browser's
        # declared type is whatever the sender wants it to be.
        kind = filetype.guess(data)
        media = kind.mime if kind else ""
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        same = kind is not None and {"jpeg": "jpg"}.get(extension, extension) == kind.extension
        if len(data) > MAX_ATTACHMENT or media not in ATTACHMENT_TYPES or not same:
            raise ApiError("invalid_input", "attachments")
        stored = store.put(data)
        refs.append(
            {
                "attachment_id": stored.attachment_id,
                "name": name,
                "media_type": media,
                "size": stored.size,
                "sha256": stored.sha256,
            }
        )
    return refs


async def home(request: Request) -> Response:
    staff_of(request)
    return RedirectResponse("/secretariat/cartable", status_code=303)


routes: list[BaseRoute] = [
    Route("/secretariat", home, methods=["GET"], include_in_schema=False),
    Route("/secretariat/cartable", cartable, methods=["GET"], include_in_schema=False),
    Route("/secretariat/cases/{request_id}", case_page, methods=["GET"], include_in_schema=False),
    Route("/secretariat/cases/{request_id}/{action}", case_action, methods=["POST"], include_in_schema=False),
    *secretariat_reports.routes,
]
schemas: dict[str, type[BaseModel]] = {}
