"""File sizes and typed text as pages and printed replies write them."""

from __future__ import annotations

import pytest

from gateway.web.formats import file_size, persian_text


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "۰ بایت"),
        (700, "۷۰۰ بایت"),
        (1024, "۱ کیلوبایت"),
        (1536, "۱٫۵ کیلوبایت"),
        (1024 * 1024 - 1, "۱ مگابایت"),
        (5 * 1024 * 1024 + 300_000, "۵٫۳ مگابایت"),
    ],
)
def test_a_size_has_the_unit_that_suits_it(size: int, shown: str) -> None:
    assert file_size(size) == shown


def test_typed_digits_print_persian_but_addresses_keep_theirs() -> None:
    typed = "ماده 17 قانون، پاسخ به info2@example.com یا https://x.ir/a/17 تا 1403/05/06"
    assert persian_text(typed) == (
        "ماده ۱۷ قانون، پاسخ به info2@example.com یا https://x.ir/a/17 تا ۱۴۰۳/۰۵/۰۶"
    )
    assert persian_text(None) == ""
