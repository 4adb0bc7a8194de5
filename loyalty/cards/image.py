"""The card image: a PNG the size of a bank card at 300 dpi (1012 × 638), drawn with Pillow.

Tier colour and name, member name, masked number, project, and the static QR code. The words
are the catalogue's, in the reader's locale, each with the other language small beneath it (the
card's bilingual look); the locale is part of the face, so each language has its own ETag. The font is Noto Sans CJK SC subset to GBK and shipped in `fonts/` (SIL OFL), so names
render on machines without CJK fonts. Rendering is a pure function of `CardFace`, cached by
it; the ETag is a hash of the same face, so a changed tier, name or card makes a new image.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from loyalty.i18n import DEFAULT_LOCALE, LOCALES, _, translate
from loyalty.i18n.enums import ENUMS

FONTS = Path(__file__).resolve().parent / "fonts"
WIDTH, HEIGHT = 1012, 638
TEMPLATE_VERSION = "card-v1"

# (gradient start, gradient end, main text, secondary text, accent)
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "platinum": ((38, 40, 46), (112, 118, 128), (240, 240, 242), (196, 200, 206), (229, 228, 226)),
    "gold": ((122, 88, 24), (222, 184, 92), (255, 250, 236), (250, 232, 190), (255, 236, 179)),
    "silver": ((226, 230, 234), (146, 154, 164), (28, 32, 38), (70, 76, 86), (255, 255, 255)),
    "blue": ((10, 52, 112), (46, 124, 214), (255, 255, 255), (204, 224, 250), (160, 205, 255)),
}
CLUB = _("Owner Club")
MEMBER = _("Valued owner")


@dataclass(frozen=True)
class CardFace:
    tier: str
    member_name: str
    masked_number: str
    project_name: str
    code: str
    locale: str = DEFAULT_LOCALE

    def etag(self) -> str:
        digest = hashlib.sha256("\x1f".join((TEMPLATE_VERSION, *astuple(self))).encode()).hexdigest()
        return f'"{digest[:32]}"'


@lru_cache(maxsize=16)
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / f"NotoSansSC-{weight}-GBK.otf"), size)


@lru_cache(maxsize=4)
def _background(tier: str) -> Image.Image:
    """The tier's gradient with a soft arc pattern and rounded corners (cached per tier)."""
    start, end, _, _, accent = PALETTES[tier]
    # A horizontal gradient tilted by 20°: rotated inside a square larger than the card's
    # diagonal, so the cropped middle has no empty corners.
    side = int((WIDTH**2 + HEIGHT**2) ** 0.5) + 2
    gradient = Image.linear_gradient("L").rotate(90).resize((side, side)).rotate(20, resample=Image.BICUBIC)
    left, top = (side - WIDTH) // 2, (side - HEIGHT) // 2
    gradient = gradient.crop((left, top, left + WIDTH, top + HEIGHT))
    base = Image.composite(Image.new("RGB", (WIDTH, HEIGHT), end), Image.new("RGB", (WIDTH, HEIGHT), start), gradient)
    overlay = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for radius in range(260, 1100, 70):
        draw.ellipse((WIDTH - radius, HEIGHT - radius, WIDTH + radius, HEIGHT + radius), outline=(*accent, 26), width=3)
    card = Image.alpha_composite(base.convert("RGBA"), overlay)
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, WIDTH - 1, HEIGHT - 1), radius=40, fill=255)
    card.putalpha(mask)
    return card


def _qr(code: str, size: int) -> Image.Image:
    # A fixed mask pattern skips trying all eight (most of qrcode's time); any mask scans.
    maker = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, box_size=10, mask_pattern=2)
    maker.add_data(code)
    maker.make(fit=True)
    image = maker.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    return image.resize((size, size), Image.NEAREST)


def qr_svg(code: str) -> str:
    """The code as a scalable QR (SVG), for screens: black modules on white with a quiet zone,
    drawn as one path (crisp at any size, bright enough for a till's scanner)."""
    maker = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, mask_pattern=2)
    maker.add_data(code)
    maker.make(fit=True)
    matrix = maker.get_matrix()
    size = len(matrix)
    cells = "".join(f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, on in enumerate(row) if on)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{cells}" fill="#000"/></svg>'
    )


def _fit(draw: ImageDraw.ImageDraw, text: str, weight: str, size: int, max_width: int) -> ImageFont.FreeTypeFont:
    font = _font(weight, size)
    while size > 20 and draw.textlength(text, font=font) > max_width:
        size -= 4
        font = _font(weight, size)
    return font


@lru_cache(maxsize=512)
def render_png(face: CardFace) -> bytes:
    """The card as PNG bytes."""
    _, _, main, secondary, accent = PALETTES[face.tier]
    card = _background(face.tier).copy()
    draw = ImageDraw.Draw(card)
    other = next(locale for locale in LOCALES if locale != face.locale)
    draw.text((64, 52), translate(CLUB, face.locale), font=_font("Bold", 46), fill=main)
    draw.text((66, 112), translate(CLUB, other).upper(), font=_font("Regular", 22), fill=secondary)
    tier = ENUMS["tier"][face.tier]
    draw.text((WIDTH - 64, 48), translate(tier, face.locale), font=_font("Bold", 58), fill=main, anchor="ra")
    draw.text((WIDTH - 66, 122), translate(tier, other).upper(), font=_font("Regular", 24), fill=accent, anchor="ra")
    draw.line((64, 176, 420, 176), fill=(*accent, 180), width=2)

    name_font = _fit(draw, face.member_name, "Bold", 64, 520)
    draw.text((64, 250), face.member_name, font=name_font, fill=main)
    draw.text((66, 334), translate(MEMBER, face.locale), font=_font("Regular", 24), fill=secondary)
    draw.text((64, 470), face.masked_number, font=_font("Bold", 40), fill=main)
    project_font = _fit(draw, face.project_name, "Regular", 26, 540)
    draw.text((66, 530), face.project_name, font=project_font, fill=secondary)

    box, qr_size = 300, 260
    left, top = WIDTH - 64 - box, HEIGHT - 56 - box
    draw.rounded_rectangle((left, top, left + box, top + box), radius=24, fill=(255, 255, 255))
    card.paste(_qr(face.code, qr_size), (left + (box - qr_size) // 2, top + (box - qr_size) // 2))

    # 256 colours are plenty for a card (gradient, text, QR) and make the PNG ~5× smaller and
    # far quicker to encode than 32-bit RGBA; the corners stay transparent.
    output = io.BytesIO()
    card.quantize(256, method=Image.Quantize.FASTOCTREE).save(output, format="PNG", compress_level=3)
    return output.getvalue()
