"""A reward's picture: one per reward, uploaded by catalogue staff, checked and re-encoded here
(never stored or served as sent), and shown to the owners who can see the reward.

What is sent is distrusted: `loyalty.images.check_image` takes only JPEG, PNG or WebP of at most
2 MB whose header names at most 40 million pixels (a small PNG can claim 100,000 × 100,000) and
that decodes whole. It is then turned upright by its EXIF orientation, made at most 1200 px on
its long side and written as a fresh JPEG: no EXIF, no GPS, no comments and no trailing bytes
of what was sent survive."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageOps

from loyalty import clock, db, images
from loyalty.audit import service as audit
from loyalty.errors import NotFound
from loyalty.i18n import _
from loyalty.rewards import rules
from loyalty.rewards.tables import Redemption, Reward, RewardPicture

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000
LONG_SIDE = 1200
FORMATS = ("JPEG", "PNG", "WEBP")
FIELD = "picture"


@dataclass(frozen=True)
class Picture:
    data: bytes
    etag: str
    updated_at: object


def _reencode(sent: bytes) -> tuple[bytes, int, int]:
    """The picture as a fresh JPEG of at most LONG_SIDE px, or a 422 naming `picture`."""
    images.check_image(sent, field=FIELD, formats=FORMATS, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(sent), formats=FORMATS) as sent_image:
        picture = ImageOps.exif_transpose(sent_image)  # upright, as the phone that took it showed it
    if picture.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent parts become white (a JPEG has no transparency), not black.
        picture = picture.convert("RGBA")
        white = Image.new("RGB", picture.size, (255, 255, 255))
        white.paste(picture, mask=picture.getchannel("A"))
        picture = white
    else:
        picture = picture.convert("RGB")
    picture.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), picture.width, picture.height


async def set_picture(reward_id: int, sent: bytes, staff_id: int) -> str:
    """Replace the reward's picture with `sent`, checked and re-encoded (audited). A refused
    file writes nothing. Returns the new picture's ETag."""
    if not await Reward.exists().where(Reward.id == reward_id):
        raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
    data, width, height = _reencode(sent)
    etag = hashlib.sha256(data).hexdigest()[:32]
    now = clock.now()
    async with db.transaction():
        changed = await RewardPicture.update({
            RewardPicture.data: data, RewardPicture.etag: etag, RewardPicture.width: width,
            RewardPicture.height: height, RewardPicture.updated_by: staff_id, RewardPicture.updated_at: now,
        }).where(RewardPicture.reward == reward_id).returning(RewardPicture.id)
        if not changed:
            await RewardPicture.insert(RewardPicture(
                reward=reward_id, data=data, etag=etag, width=width, height=height, updated_by=staff_id, updated_at=now,
            ))
        await audit.record(action="reward.picture", subject_kind="reward", subject_id=reward_id, actor_id=staff_id,
                           data={"etag": etag, "width": width, "height": height, "bytes": len(data)})
    return etag


async def with_pictures(reward_ids: list[int]) -> dict[int, str]:
    """The ETag of each of these rewards that has a picture (for the picture's address)."""
    if not reward_ids:
        return {}
    rows = await RewardPicture.select(RewardPicture.reward, RewardPicture.etag).where(
        RewardPicture.reward.is_in(reward_ids)
    )
    return {row["reward"]: row["etag"] for row in rows}


async def picture(reward_id: int) -> Picture:
    rows = await RewardPicture.select(RewardPicture.data, RewardPicture.etag, RewardPicture.updated_at).where(
        RewardPicture.reward == reward_id
    )
    if not rows:
        raise NotFound(_("Reward {reward_id} has no picture", reward_id=reward_id))
    return Picture(bytes(rows[0]["data"]), rows[0]["etag"], rows[0]["updated_at"])


async def owner_may_see(member_id: int, reward_id: int, today: date | None = None) -> None:
    """An owner sees a reward's picture when the reward is offered to them now (stock aside) or
    they hold a redemption or gift of it; otherwise it is not found (no hint that it exists)."""
    today = today or clock.today()
    if await Redemption.exists().where((Redemption.member == member_id) & (Redemption.reward == reward_id)):
        return
    reward = await Reward.select().where(Reward.id == reward_id).first()
    if reward is None or rules.refusal(reward, await rules.owner_facts(member_id), today) is not None:
        raise NotFound(_("There is no reward {reward_id}", reward_id=reward_id))
