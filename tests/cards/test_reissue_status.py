"""Reissuing a lost card replaces the plastic, not the membership's standing."""

from __future__ import annotations

import time

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.cards import service
from tests.cards.builders import current_card, import_owner, pre_owner_unit


async def test_reissuing_a_suspended_card_keeps_the_new_card_suspended(database, tmp_path, signer):
    member = await import_owner(tmp_path, [pre_owner_unit()])
    await service.suspend_card(member, "业主申请暂停", staff_id=1)

    await service.reissue_card(member, "卡片遗失补办", staff_id=1)

    card = await current_card(member)
    assert card["status"] == "suspended" and card["status_reason"] == "业主申请暂停"
    with pytest.raises(service.CardSuspended):
        await service.verify_code(signer.sign("static", card["id"]), signer, time.time())
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert actions == ["card.suspend", "card.reissue"]
