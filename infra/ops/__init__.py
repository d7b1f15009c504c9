"""Operations on the event history: replay, verify, audit, export/import, integrity, stats."""
