"""The font Persian text is set in on the server, and how much room a text takes in it.

Printed replies embed this font; charts drawn on the server measure their labels with it
(shaped by HarfBuzz, as a browser shapes them) so a label column or a legend is as wide as its
longest text instead of a guessed number of pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb

from gateway.web.assets import vazirmatn_ttf

PACKAGED = Path(__file__).resolve().parents[2] / "var/npm/node_modules/vazirmatn"
"""Where `deploy/bootstrap.sh` installs the Vazirmatn npm package (the default `WEB_PACKAGES_DIR`)."""

FONT_CANDIDATES = (
    str(PACKAGED / "fonts/ttf/Vazirmatn-Regular.ttf"),
    "/usr/share/fonts/truetype/vazirmatn/Vazirmatn-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
"""Fonts with Persian glyphs, best first: Vazirmatn from the npm package `deploy/bootstrap.sh`
installs (the pages' font, so a PDF reads as its page; `WEB_PACKAGES_DIR` moves it, see
`persian_font`), else a system copy; DejaVu Sans comes with Debian's fonts-dejavu-core."""

APPROXIMATE_ADVANCE = 0.6
"""An average advance in em, for a machine without any of the fonts above."""


@dataclass(frozen=True)
class LineBox:
    """How far a line of text reaches above and below its baseline, in em."""

    ascent: float
    descent: float

    @property
    def height(self) -> float:
        return self.ascent + self.descent


def persian_font(configured: str | None = None) -> str | None:
    """`configured` when that file exists, else the first installed candidate (the Vazirmatn
    package under `WEB_PACKAGES_DIR` first), else None."""
    packaged = (str(vazirmatn_ttf()),)
    for candidate in ((configured,) if configured else ()) + packaged + FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None


@lru_cache(maxsize=4)
def _shaper(path: str) -> tuple[hb.Font, int]:
    face = hb.Face(hb.Blob.from_file_path(path))
    return hb.Font(face), face.upem


def text_width(text: str, size: float) -> float:
    """The advance of `text` set at `size` (in the units of `size`), shaped with its joining
    forms and ligatures as a browser shapes it."""
    path = persian_font()
    if path is None:
        return len(text) * size * APPROXIMATE_ADVANCE
    font, upem = _shaper(path)
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()  # right to left for Persian, left to right for Latin
    hb.shape(font, buffer, {})
    advance: int = sum(position.x_advance for position in buffer.glyph_positions)
    return advance / upem * size


def line_box() -> LineBox:
    """The font's ascent and descent (what a browser's text box spans), in em."""
    path = persian_font()
    if path is None:
        return LineBox(ascent=0.95, descent=0.25)
    font, upem = _shaper(path)
    extents = font.get_font_extents("ltr")
    return LineBox(ascent=extents.ascender / upem, descent=-extents.descender / upem)
