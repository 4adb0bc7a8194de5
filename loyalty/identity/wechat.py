"""Logging in with WeChat: the Official Account's web OAuth gives the openid of the owner who
opened the club inside WeChat. An openid bound to an owner logs that owner in; an unbound one
waits in the session until the owner proves their phone with a login code once, which binds it
(one openid per owner, one owner per openid). Routes: loyalty.identity.wechat_api."""

from __future__ import annotations

from loyalty import clock
from loyalty.care import routing
from loyalty.identity.tables import WechatBinding
from loyalty.members.tables import Member


async def member_for_openid(openid: str) -> dict | None:
    """The bound owner (id, name, language), unless erased."""
    binding = await WechatBinding.select(WechatBinding.member).where(WechatBinding.openid == openid).first()
    if binding is None:
        return None
    return await Member.select(Member.id, Member.name, Member.language).where(
        (Member.id == binding["member"]) & Member.erased_at.is_null()
    ).first()


async def bind(member_id: int, openid: str) -> None:
    """Bind `openid` to the owner, replacing the owner's earlier binding and moving the openid
    off any other owner (the phone code just proved who holds this WeChat). A follower who was
    flagged as unreachable is reachable again once they log in through WeChat."""
    await WechatBinding.delete().where((WechatBinding.member == member_id) | (WechatBinding.openid == openid))
    await WechatBinding.insert(WechatBinding(member=member_id, openid=openid, bound_at=clock.now()))
    await routing.unblock("wechat", openid)
