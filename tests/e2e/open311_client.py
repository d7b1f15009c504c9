"""A small Open311 GeoReport v2 client written from the spec (http://wiki.open311.org/GeoReport_v2),
run as its own process against a running desk:

    python -m tests.e2e.open311_client --base http://127.0.0.1:8000/open311/v2 [--format xml] \
        services | service CODE | file --api-key K --service CODE ... | list --api-key K ... |
        read --api-key K ID | token --api-key K TOKEN

It prints one JSON line: {"status": the HTTP status, "body": what came back, XML read into the
same lists and objects as JSON}. It speaks only HTTP (the standard library's urllib, nothing of
the desk's code) and checks what the spec requires of each answer (fields present, booleans,
the datatypes and types it names, ISO 8601 times); a violation exits 2 with its reason.

Why not the `open311` package on PyPI (1.1, 2011): it installs on Python 3 but does not import
there (Python 2's implicit relative imports, `from api import API`, end in a circular import
error), so it cannot talk to the desk.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
TYPES = {"realtime", "batch", "blackbox"}
LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"}
"""Elements whose children are a list (repeated children become one anyway)."""


class Violation(Exception):
    """An answer the spec does not allow."""


def from_xml(node: ET.Element) -> Any:
    """An XML element as JSON would carry it: text, an object, or a list of its children."""
    children = list(node)
    if not children:
        return node.text or ""
    if node.tag in LISTS or len({c.tag for c in children}) < len(children):
        return [from_xml(c) for c in children]
    return {c.tag: from_xml(c) for c in children}


def fetch(
    url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as failed:
        status, raw, kind = failed.code, failed.read(), failed.headers.get("Content-Type", "")
    if url.split("?")[0].endswith(".xml"):
        if "xml" not in kind:
            raise Violation(f"asked for XML, got {kind}")
        return status, from_xml(ET.fromstring(raw))
    return status, json.loads(raw)


def _boolean(value: Any) -> bool:
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise Violation(f"not a boolean: {value!r}")


def _time(value: Any) -> None:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise Violation(f"a time without its offset: {value}")


def _has(item: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if n not in item]
    if missing:
        raise Violation(f"missing {missing} in {item}")


def check(command: str, status: int, body: Any) -> None:
    """What the spec requires of the answer to `command`."""
    if status >= 400:
        if not (isinstance(body, list) and body):
            raise Violation(f"an error not in the spec's shape: {body}")
        for error in body:
            _has(error, "code", "description")
            if int(error["code"]) != status:
                raise Violation(f"error code {error['code']} under HTTP {status}")
        return
    if command == "discovery":
        _has(body, "changeset", "contact", "endpoints")
        for endpoint in body["endpoints"]:
            _has(endpoint, "specification", "url", "type", "formats")
    elif command == "services":
        for service in body:
            _has(
                service,
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group",
            )
            _boolean(service["metadata"])
            if service["type"] not in TYPES:
                raise Violation(f"type {service['type']}")
    elif command == "service":
        _has(body, "service_code", "attributes")
        for attribute in body["attributes"]:
            _has(
                attribute,
                "variable",
                "code",
                "datatype",
                "required",
                "datatype_description",
                "order",
                "description",
            )
            _boolean(attribute["variable"]), _boolean(attribute["required"])
            if attribute["datatype"] not in DATATYPES:
                raise Violation(f"datatype {attribute['datatype']}")
            if attribute["datatype"].endswith("valuelist"):
                for value in attribute.get("values") or []:
                    _has(value, "key", "name")
    elif command in ("file", "token"):
        for answer in body:
            _has(answer, "service_request_id" if command == "token" else "token")
            if command == "file" and not (answer.get("service_request_id") or answer.get("token")):
                raise Violation("neither service_request_id nor token")
    elif command in ("list", "read"):
        for request in body:
            _has(request, "service_request_id", "status", "service_code", "requested_datetime")
            if request["status"] not in ("open", "closed"):
                raise Violation(f"status {request['status']}")
            _time(request["requested_datetime"])
            if request.get("updated_datetime"):
                _time(request["updated_datetime"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the endpoint, e.g. http://host/open311/v2")
    parser.add_argument("--format", default="json", choices=("json", "xml"))
    parser.add_argument("--api-key", default="")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("discovery")
    commands.add_parser("services")
    commands.add_parser("service").add_argument("code")
    filing = commands.add_parser("file")
    filing.add_argument("--service", required=True)
    for name in (
        "first-name",
        "last-name",
        "phone",
        "email",
        "description",
        "address-string",
        "idempotency-key",
    ):
        filing.add_argument(f"--{name}", default="")
    filing.add_argument("--attribute", action="append", default=[], help="code=value")
    listing = commands.add_parser("list")
    for name in ("service-request-id", "service-code", "status", "start-date", "end-date"):
        listing.add_argument(f"--{name}", default="")
    commands.add_parser("read").add_argument("id")
    commands.add_parser("token").add_argument("token")
    args = parser.parse_args(argv)
    base, ext = args.base.rstrip("/"), args.format
    key = {"api_key": args.api_key} if args.api_key else {}
    if args.command == "discovery":
        status, body = fetch(f"{base.rsplit('/', 1)[0]}/discovery.{ext}")
    elif args.command == "services":
        status, body = fetch(f"{base}/services.{ext}")
    elif args.command == "service":
        status, body = fetch(f"{base}/services/{args.code}.{ext}")
    elif args.command == "file":
        form = {
            **key,
            "service_code": args.service,
            "first_name": args.first_name,
            "last_name": args.last_name,
            "phone": args.phone,
            "email": args.email,
            "description": args.description,
            "address_string": args.address_string,
        }
        for pair in args.attribute:
            code, _, value = pair.partition("=")
            form[f"attribute[{code}]"] = value
        headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
        status, body = fetch(f"{base}/requests.{ext}", form, headers)
    elif args.command == "list":
        names = ("service_request_id", "service_code", "status", "start_date", "end_date")
        query = {**key, **{n: getattr(args, n) for n in names if getattr(args, n)}}
        status, body = fetch(f"{base}/requests.{ext}?{urllib.parse.urlencode(query)}")
    elif args.command == "read":
        status, body = fetch(f"{base}/requests/{args.id}.{ext}?{urllib.parse.urlencode(key)}")
    else:
        status, body = fetch(f"{base}/tokens/{args.token}.{ext}?{urllib.parse.urlencode(key)}")
    try:
        check(args.command, status, body)
    except (Violation, ValueError, KeyError, TypeError) as broken:
        print(json.dumps({"status": status, "body": body, "violation": str(broken)}, ensure_ascii=False))
        return 2
    print(json.dumps({"status": status, "body": body}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
