"""`services.read_models` lists every projection that owns tables, and never the SMS sender."""

from __future__ import annotations

from services.notify.projections import Sender
from services.read_models import read_models
from tests.contract.test_events import ALL_PROJECTIONS


def test_every_projection_with_tables_can_be_replayed_and_verified() -> None:
    listed = [type(p) for projections in read_models().values() for p in projections]
    owning_tables = {p for p in ALL_PROJECTIONS if p.metadata.tables}
    assert owning_tables - set(listed) == set(), "add these to services/read_models.py"
    assert len(listed) == len(set(listed))
    names = [p.name for projections in read_models().values() for p in projections]
    assert len(names) == len(set(names))  # checkpoints are keyed by name


def test_the_sms_sender_is_never_replayed() -> None:
    assert Sender not in [type(p) for projections in read_models().values() for p in projections]
    assert not Sender.metadata.tables  # nothing of its own to rebuild
