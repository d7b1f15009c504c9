"""The font Persian text is set in on the server, and how much room a text takes in it.

Printed replies embed this font; charts drawn on the server measure their labels with it
(shaped by HarfBuzz, as a browser shapes them) so a label column or a legend is as wide as its
longest text instead of a guessed number of pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb

from infra.fonts import FONT_CANDIDATES, persian_font

__all__ = ["FONT_CANDIDATES", "LineBox", "line_box", "persian_font", "text_width"]

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
