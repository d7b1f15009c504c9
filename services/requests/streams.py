"""The names of the streams the requests service writes, and of the secretariat's it reads."""

from __future__ import annotations

from contracts.catalogue import unit_stream

__all__ = ["case_stream", "draft_stream", "request_stream", "service_stream", "unit_stream"]


def request_stream(request_id: str) -> str:
    """The stream that holds one request's own events."""
    return f"request-{request_id}"


def case_stream(request_id: str) -> str:
    """The secretariat's stream of the request's case (read, never written, here)."""
    return f"case-{request_id}"


def draft_stream(draft_id: str) -> str:
    """The stream of one draft's saves."""
    return f"draft-{draft_id}"


def service_stream(service_id: str) -> str:
    """The stream of one catalogue service."""
    return f"catalogue-service-{service_id}"
