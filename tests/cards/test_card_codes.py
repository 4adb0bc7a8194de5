"""Card codes through the card service: static until the card is replaced, dynamic for its
minute ±1; reissue kills the old card's codes, suspension stops them until reactivation."""

from __future__ import annotations

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.cards import codes, service
from loyalty.cards.tables import Card
from loyalty.identity.service import create_staff
from tests.cards.builders import current_card, import_owner, noon, pre_owner_unit, TODAY

NOW = noon(TODAY).timestamp()  # 12:00:00 exactly: the start of a minute


async def owner_with_card(folder) -> tuple[int, int]:
    member = await import_owner(folder, [pre_owner_unit()])
    return member, (await current_card(member))["id"]


async def service_staff() -> int:
    return (await create_staff("service1", "service-password-1", "service")).id


async def test_a_static_code_verifies_to_its_card_and_member(database, frozen, tmp_path, signer):
    member, card_id = await owner_with_card(tmp_path)

    verified = await service.verify_code(await service.static_code(member, signer), signer, NOW)

    assert (verified.card_id, verified.member_id, verified.kind, verified.tier) == (card_id, member, "static", "blue")
    assert verified.member_name == "李四"
    assert verified.expires_at_unix is None


@pytest.mark.parametrize("seconds_later", [0, 59, 60, 119])
async def test_a_dynamic_code_verifies_in_its_minute_and_the_next(database, frozen, tmp_path, signer, seconds_later):
    member, card_id = await owner_with_card(tmp_path)
    dynamic = await service.dynamic_code(member, signer, NOW)

    verified = await service.verify_code(dynamic.code, signer, NOW + seconds_later)

    assert (verified.card_id, verified.kind) == (card_id, "dynamic")
    assert verified.expires_at_unix == dynamic.expires_at_unix == NOW + 120


async def test_a_dynamic_code_is_not_accepted_before_its_minute(database, frozen, tmp_path, signer):
    # The server makes the codes; accepting the minute before would let one live three minutes.
    member, card_id = await owner_with_card(tmp_path)
    dynamic = await service.dynamic_code(member, signer, NOW)

    assert (await service.verify_code(dynamic.code, signer, NOW)).card_id == card_id
    with pytest.raises(codes.CodeExpired):
        await service.verify_code(dynamic.code, signer, NOW - 1)


@pytest.mark.parametrize("seconds_later", [120, 121, 180, 3600])
async def test_a_dynamic_code_is_expired_two_minutes_later(database, frozen, tmp_path, signer, seconds_later):
    member, _ = await owner_with_card(tmp_path)
    dynamic = await service.dynamic_code(member, signer, NOW)

    with pytest.raises(codes.CodeExpired):
        await service.verify_code(dynamic.code, signer, NOW + seconds_later)


async def test_the_dynamic_code_rotates_every_minute_and_says_when_to_refresh(database, frozen, tmp_path, signer):
    member, _ = await owner_with_card(tmp_path)

    first = await service.dynamic_code(member, signer, NOW + 15)
    same_minute = await service.dynamic_code(member, signer, NOW + 59)
    next_minute = await service.dynamic_code(member, signer, NOW + 60)

    steps = [signer.open(c.code).step for c in (first, same_minute, next_minute)]
    assert steps[0] == steps[1] == steps[2] - 1
    assert (first.step_seconds, first.refresh_after_seconds, same_minute.refresh_after_seconds) == (60, 45, 1)


async def test_each_dynamic_code_is_a_new_one_time_code(database, frozen, tmp_path, signer):
    # A code that paid is spent: the phone asks again (same minute) and gets another one.
    member, _ = await owner_with_card(tmp_path)

    made = [(await service.dynamic_code(member, signer, NOW)).code for _ in range(5)]

    assert len(set(made)) == 5
    assert len({signer.open(code).nonce for code in made}) == 5


async def test_reissuing_a_card_kills_its_static_and_dynamic_codes(database, frozen, tmp_path, signer):
    member, old_card = await owner_with_card(tmp_path)
    old_static = await service.static_code(member, signer)
    old_dynamic = (await service.dynamic_code(member, signer, NOW)).code

    masked = await service.reissue_card(member, "卡片遗失 lost", await service_staff())

    for code in (old_static, old_dynamic):
        with pytest.raises(service.CardReplaced):
            await service.verify_code(code, signer, NOW)
    new = await current_card(member)
    assert new["id"] != old_card and masked.endswith(new["number"][-4:])
    assert (await Card.select(Card.status).where(Card.id == old_card).first())["status"] == "replaced"


async def test_the_reissued_card_s_codes_verify_and_keep_the_tier(database, frozen, tmp_path, signer):
    member = await import_owner(tmp_path, [pre_owner_unit(), pre_owner_unit()])
    old = await current_card(member)

    await service.reissue_card(member, "卡片遗失 lost", await service_staff())

    new = await current_card(member)
    assert (new["tier"], new["tier_criterion"], new["number"] != old["number"]) == ("gold", old["tier_criterion"], True)
    static = await service.verify_code(await service.static_code(member, signer), signer, NOW)
    dynamic = await service.verify_code((await service.dynamic_code(member, signer, NOW)).code, signer, NOW)
    assert (static.card_id, dynamic.card_id, static.tier) == (new["id"], new["id"], "gold")
    entry = await AuditEntry.select().where(AuditEntry.action == "card.reissue").first()
    assert (entry["subject_id"], entry["reason"]) == (old["id"], "卡片遗失 lost")


async def test_a_suspended_card_s_codes_fail_until_it_is_reactivated(database, frozen, tmp_path, signer):
    member, card_id = await owner_with_card(tmp_path)
    static = await service.static_code(member, signer)
    dynamic = (await service.dynamic_code(member, signer, NOW)).code
    staff = await service_staff()

    await service.suspend_card(member, "疑似冒用 suspected misuse", staff)

    for code in (static, dynamic):
        with pytest.raises(service.CardSuspended):
            await service.verify_code(code, signer, NOW)
    with pytest.raises(service.CardSuspended):
        await service.dynamic_code(member, signer, NOW)

    await service.reactivate_card(member, "本人确认 confirmed by owner", staff)

    assert (await service.verify_code(static, signer, NOW)).card_id == card_id
    assert (await service.verify_code(dynamic, signer, NOW + 30)).card_id == card_id
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert actions == ["card.suspend", "card.reactivate"]


async def test_suspending_needs_a_reason(database, frozen, tmp_path, signer):
    member, _ = await owner_with_card(tmp_path)

    with pytest.raises(service.InvalidField):
        await service.suspend_card(member, "", await service_staff())

    assert (await current_card(member))["status"] == "active"


async def test_a_validly_signed_code_for_a_card_that_does_not_exist_is_refused(database, frozen, tmp_path, signer):
    _, card_id = await owner_with_card(tmp_path)

    with pytest.raises(codes.CodeError):
        await service.verify_code(signer.sign("static", card_id + 1000), signer, NOW)


async def test_a_ticket_code_is_not_a_card_code(database, frozen, tmp_path, signer):
    _, card_id = await owner_with_card(tmp_path)

    with pytest.raises(codes.CodeMalformed):
        await service.verify_code(signer.sign("ticket", card_id), signer, NOW)


async def test_the_card_service_refuses_tampered_foreign_truncated_and_garbage_codes(
    database, frozen, tmp_path, signer
):
    member, _ = await owner_with_card(tmp_path)
    code = await service.static_code(member, signer)
    head, key, payload, signature = code.split(".")
    other_key = codes.CodeSigner.from_secret("other secret that is long enough 0123456789")
    unknown_key = codes.CodeSigner.from_secret("other secret that is long enough 0123456789", key_id="k7")
    cases = {
        ".".join((head, key, payload, ("A" if signature[0] != "A" else "B") + signature[1:])): codes.CodeBadSignature,
        ".".join((head, key, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BA"), signature)): codes.CodeBadSignature,
        other_key.sign("static", (await current_card(member))["id"]): codes.CodeBadSignature,
        unknown_key.sign("static", (await current_card(member))["id"]): codes.CodeUnknownKey,
        code[:-10]: codes.CodeMalformed,
        "not a code": codes.CodeMalformed,
    }

    for text, error in cases.items():
        with pytest.raises(error):
            await service.verify_code(text, signer, NOW)
