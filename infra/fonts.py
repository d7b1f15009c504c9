"""The font Persian text is printed in (replies, receipts, audit reports) and how fpdf2 shapes it:
one place for the gateways' PDFs and the operators' audit report alike.
"""

from __future__ import annotations

from pathlib import Path

from infra.settings import GatewaySettings

PACKAGED = Path(__file__).resolve().parents[1] / "var/npm/node_modules/vazirmatn"
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

NO_LIGATURES = {"rlig": False, "liga": False, "dlig": False, "hlig": False}
"""OpenType features that merge several characters into one glyph (lam-alef is `rlig`): off in
every PDF, so that text copied out of it reads as typed."""


def vazirmatn_ttf() -> Path:
    """Vazirmatn's regular TTF in the npm package under `WEB_PACKAGES_DIR` (it may not exist)."""
    return GatewaySettings.load().WEB_PACKAGES_DIR / "vazirmatn" / "fonts" / "ttf" / "Vazirmatn-Regular.ttf"


def persian_font(configured: str | None = None) -> str | None:
    """`configured` when that file exists, else the first installed candidate (the Vazirmatn
    package under `WEB_PACKAGES_DIR` first), else None."""
    for candidate in ((configured,) if configured else ()) + (str(vazirmatn_ttf()),) + FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None
