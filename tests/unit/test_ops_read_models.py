"""`services.read_models` lists every projection that owns tables, and none that can send an SMS."""

from __future__ import annotations

from services.notify.projections import Planner
from services.read_models import read_models
from tests.contract.test_events import ALL_PROJECTIONS


def test_every_projection_with_tables_can_be_replayed_and_verified() -> None:
    listed = [type(p) for projections in read_models().values() for p in projections]
    owning_tables = {p for p in ALL_PROJECTIONS if p.metadata.tables}
    assert owning_tables - set(listed) == set(), "add these to services/read_models.py"
    assert len(listed) == len(set(listed))
    names = [p.name for projections in read_models().values() for p in projections]
    assert len(names) == len(set(names))  # checkpoints are keyed by name


def test_the_replayed_planner_has_no_provider_to_send_through() -> None:
    planners = [p for projections in read_models().values() for p in projections if isinstance(p, Planner)]
    assert len(planners) == 1 and planners[0].channels is None
