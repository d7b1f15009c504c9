"""Every read model's projections own their tables alone: a replay empties and swaps exactly the
tables of the projection it rebuilds, so a shared table would come back with only one
projection's rows (and two rebuilds side by side would drop each other's shadow tables)."""

from __future__ import annotations

from services.read_models import read_models


def test_no_two_projections_declare_the_same_table() -> None:
    owner: dict[str, str] = {}
    for projections in read_models().values():
        for projection in projections:
            for table in projection.metadata.tables:
                assert table not in owner, f"{table} is declared by {owner[table]} and {projection.name}"
                owner[table] = projection.name
    assert {"identity_accounts", "identity_verification_cases", "secretariat_cases"} <= owner.keys()
