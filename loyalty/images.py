"""Pictures people upload (complaint photos): checked with Pillow before anything is stored.

A picture is refused, naming its field, when it is larger than the byte limit, when its
header claims more pixels than the ceiling (LOYALTY_UPLOAD_MAX_PIXELS, 40 megapixels by
default: a phone photo is 12 to 24), or when Pillow cannot verify it and decode it whole (an
upload cut short). The ceiling is read from the header, before a single pixel is decoded: an
18 KB PNG can claim 15000 × 10000 pixels and would otherwise cost whoever decodes it (a staff
member's browser, a thumbnail, this check) gigabytes.
Pillow's own decompression-bomb warning is an error here, whatever the ceiling.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from loyalty.i18n.format import Later, items, large_number
from loyalty.errors import DomainError, InvalidField
from loyalty.i18n import _


class ImageTooLarge(DomainError):
    type = "image-too-large"
    status = 422
    title = _("The picture is too large")


def check_image(data: bytes, *, field: str, formats: tuple[str, ...], max_bytes: int, max_pixels: int) -> str:
    """The picture's format (one of `formats`, Pillow's names), once it is within the limits
    and verifies; else a 422 naming `field`."""
    if not data:
        raise InvalidField(_("the picture is empty"), field=field)
    if len(data) > max_bytes:
        raise ImageTooLarge(_("a picture is at most {megabytes} MB", megabytes=max_bytes // (1024 * 1024)), field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as image:
                kind = image.format or ""
                width, height = image.size
                if width * height > max_pixels:
                    raise _TooManyPixels(width, height)
                image.verify()
            # verify() reads the structure, not the pixels: a JPEG cut in half passes it. Decoding
            # every pixel (within the ceiling just checked) refuses a picture nobody could see whole;
            # verify() leaves its image unusable, hence the second open.
            with Image.open(io.BytesIO(data), formats=formats) as image:
                image.load()
    except _TooManyPixels as error:
        raise ImageTooLarge(
            _("{width} × {height} pixels; a picture has at most {pixels} pixels",
              width=error.width, height=error.height, pixels=_pixels(max_pixels)),
            field=field,
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageTooLarge(
            _("more pixels than can safely be opened; a picture has at most {pixels} pixels", pixels=_pixels(max_pixels)),
            field=field,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # ValueError too: Pillow's own limits on compressed text and profile chunks
        raise InvalidField(
            _("not a whole picture in {formats}", formats=Later(items, [_FORMAT_NAMES.get(f, f) for f in formats], style="or")),
            field=field,
        ) from None
    return kind


# Pillow's format names as people write them.
_FORMAT_NAMES = {"WEBP": "WebP"}


def _pixels(pixels: int) -> Later:
    return Later(large_number, pixels)  # 40 million / 4000万


class _TooManyPixels(Exception):
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
