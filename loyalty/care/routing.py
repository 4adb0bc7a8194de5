"""Which channels a message to an owner may take, in order: the owner's choice for its kind
(or for every kind), else LOYALTY_CHANNEL_ORDER (WeChat → SMS → e-mail). A channel is left out
when it is not configured here, has no template for the kind, the owner has no address on it
(no WeChat binding, no e-mail), or the address is blocked (flagged by the provider, an
unsubscribed follower). Login codes go by SMS only: the code proves the phone. Updates on the
owner's own cases and events try the channels the owner left out last, rather than not at all.

The demo's `log` SMS backend reaches nobody, so it comes last whatever the order: it is where a
message goes only when no real channel can take it."""

from __future__ import annotations

from typing import Any

from loyalty.care.channels import channel
from loyalty.care.tables import TRANSACTIONAL, BlockedAddress, ChannelChoice
from loyalty.settings import Settings


async def chosen_order(member_id: int, kind: str, settings: Settings) -> list[str]:
    rows = await ChannelChoice.select(ChannelChoice.kind, ChannelChoice.channels).where(
        (ChannelChoice.member == member_id) & ChannelChoice.kind.is_in([kind, "*"])
    )
    by_kind = {row["kind"]: row["channels"] for row in rows}
    raw = by_kind.get(kind, by_kind.get("*", settings.channel_order))
    return [name for name in raw.split(",") if name]


async def blocked(name: str, address: str) -> bool:
    return await BlockedAddress.exists().where(BlockedAddress.key == f"{name}:{address}")


async def block(name: str, address: str, reason: str) -> None:
    await BlockedAddress.insert(
        BlockedAddress(key=f"{name}:{address}", channel=name, address=address, reason=reason[:200])
    ).on_conflict(target=BlockedAddress.key, action="DO NOTHING")


async def unblock(name: str, address: str) -> None:
    await BlockedAddress.delete().where(BlockedAddress.key == f"{name}:{address}")


async def routes(member: dict[str, Any], kind: str, settings: Settings) -> list[tuple[str, str]]:
    """(channel name, recipient) in the order to try; `member` has id, phone and email."""
    from loyalty.identity.tables import WechatBinding

    order = ["sms"] if kind == "login_code" else await chosen_order(member["id"], kind, settings)
    if kind in TRANSACTIONAL and kind != "login_code":
        # An update on the owner's own case or event must reach them: the channels they left
        # out still come after the ones they chose.
        order += [name for name in settings.channel_order.split(",") if name not in order]
    found: list[tuple[str, str]] = []
    for choice in order:
        if choice == "wechat":
            if not settings.wechat_app_id:
                continue
            binding = await WechatBinding.select(WechatBinding.openid).where(WechatBinding.member == member["id"]).first()
            candidate = ("wechat", binding["openid"]) if binding else None
        elif choice == "sms":
            candidate = (settings.sms_backend, member["phone"]) if member["phone"] else None
        else:
            candidate = ("email", member["email"]) if member["email"] else None
        if candidate is None or not channel(candidate[0], settings).can_send(kind):
            continue
        if await blocked(*candidate):
            continue
        found.append(candidate)
    # The log reaches nobody: last resort only.
    return sorted(found, key=lambda route: route[0] == "log")
