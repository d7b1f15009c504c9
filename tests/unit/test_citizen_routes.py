"""The citizen gateway routes its submissions first, which changes no other request's route."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match

from gateway.citizen import app as citizen


def _matching(routes: list[BaseRoute], path: str) -> list[tuple[BaseRoute, Match]]:
    scope = {"type": "http", "path": path, "root_path": "", "method": "POST"}
    found = [(route, route.matches(dict(scope))[0]) for route in routes]
    return [(route, match) for route, match in found if match is not Match.NONE]


def test_the_submission_is_routed_first() -> None:
    (first,) = citizen.FIRST
    assert getattr(citizen.app.router.routes[0], "path", None) == first


def test_no_other_route_matches_a_path_routed_first() -> None:
    # Only then is moving its route to the front the same routing for every request.
    for path in citizen.FIRST:
        matching = _matching(citizen.app.router.routes, path)
        assert [getattr(route, "path", None) for route, _ in matching] == [path]
        assert matching[0][1] is Match.FULL


def test_every_other_route_keeps_its_order() -> None:
    before = [route for area in citizen.AREAS for route in area.routes]
    moved = [route for route in before if getattr(route, "path", None) in citizen.FIRST]
    rest = [route for route in citizen.app.router.routes if route not in moved]
    assert [route for route in before if route not in moved] == rest[: len(before) - len(moved)]
