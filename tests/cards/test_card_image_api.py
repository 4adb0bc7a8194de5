"""The member's card as a PNG (GET /api/v1/me/card.png): cached by ETag, re-drawn when what is
printed changes, and its QR code is a signed static code for that very card."""

from __future__ import annotations

import io
import time

import httpx
import pytest
import zxingcpp
from PIL import Image

from loyalty.cards import codes, service
from loyalty.identity.service import create_staff
from tests.cards.builders import PHONE, current_card, import_owner, pre_owner_unit
from tests.identity.builders import log_in_member

IMAGE = "/api/v1/me/card.png"


def qr_text(png: bytes) -> str:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1012, 638)
    found = zxingcpp.read_barcodes(image.convert("RGBA").convert("RGB"))
    assert len(found) == 1, f"expected one QR code on the card, found {len(found)}"
    return found[0].text


async def logged_in_owner(client: httpx.AsyncClient, folder, units=None, name: str = "李四") -> int:
    member = await import_owner(folder, units or [pre_owner_unit(room="0101")], name=name)
    await log_in_member(client, f"+86{PHONE}")
    return member


async def test_the_card_image_is_a_png_with_an_etag(client, frozen, tmp_path):
    await logged_in_owner(client, tmp_path)

    response = await client.get(IMAGE)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/png")
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.headers["etag"].startswith('"') and len(response.headers["etag"]) > 10
    assert (await client.get(IMAGE)).headers["etag"] == response.headers["etag"]


async def test_the_card_image_answers_304_without_a_body_when_the_etag_matches(client, frozen, tmp_path):
    await logged_in_owner(client, tmp_path)
    etag = (await client.get(IMAGE)).headers["etag"]

    again = await client.get(IMAGE, headers={"If-None-Match": etag})
    stale = await client.get(IMAGE, headers={"If-None-Match": '"not-the-current-etag"'})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert stale.status_code == 200 and stale.content.startswith(b"\x89PNG")


async def test_a_new_name_makes_a_new_image_with_a_new_etag(client, frozen, tmp_path):
    await logged_in_owner(client, tmp_path, name="李四")
    before = await client.get(IMAGE)

    await import_owner(tmp_path, [pre_owner_unit(room="0101")], name="李思思")
    after = await client.get(IMAGE, headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content


async def test_a_new_tier_makes_a_new_image_with_a_new_etag(client, frozen, tmp_path):
    member = await logged_in_owner(client, tmp_path)
    before = await client.get(IMAGE)

    await import_owner(tmp_path, [pre_owner_unit(room="0101"), pre_owner_unit(room="0201")])
    assert (await current_card(member))["tier"] == "gold"
    after = await client.get(IMAGE, headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content


async def test_the_qr_on_the_card_image_verifies_to_that_card(client, frozen, tmp_path, signer):
    member = await logged_in_owner(client, tmp_path)

    text = qr_text((await client.get(IMAGE)).content)

    verified = await service.verify_code(text, signer, time.time())
    assert (verified.card_id, verified.member_id, verified.kind) == ((await current_card(member))["id"], member, "static")
    assert text != (await current_card(member))["number"]  # signed, never the bare number


async def test_a_reissued_card_gets_a_new_image_and_the_old_qr_stops_working(client, frozen, tmp_path, signer):
    member = await logged_in_owner(client, tmp_path)
    old = await client.get(IMAGE)
    staff = await create_staff("service1", "service-password-1", "service")

    await service.reissue_card(member, "卡片遗失 lost", staff.id)
    new = await client.get(IMAGE, headers={"If-None-Match": old.headers["etag"]})

    assert new.status_code == 200 and new.headers["etag"] != old.headers["etag"]
    assert (await service.verify_code(qr_text(new.content), signer, time.time())).card_id == (await current_card(member))["id"]
    with pytest.raises(service.CardReplaced):
        await service.verify_code(qr_text(old.content), signer, time.time())


async def test_my_dynamic_code_verifies_and_is_not_cached(client, frozen, tmp_path, signer):
    member = await logged_in_owner(client, tmp_path)

    response = await client.get("/api/v1/me/card/code")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["step_seconds"] == 60
    verified = await service.verify_code(body["code"], signer, time.time() + 60)
    assert (verified.member_id, verified.kind) == (member, "dynamic")


async def test_code_keys_verify_my_codes_offline(client, frozen, tmp_path):
    member = await logged_in_owner(client, tmp_path)
    keys = (await client.get("/api/v1/code-keys")).json()
    card_id = (await current_card(member))["id"]

    static = codes.verify_public(qr_text((await client.get(IMAGE)).content), keys["keys"])
    dynamic = codes.verify_public((await client.get("/api/v1/me/card/code")).json()["code"], keys["keys"])

    assert (keys["algorithm"], keys["format"]) == ("Ed25519", "raw-base64url")
    assert (static.kind, static.subject_id) == ("static", card_id)
    assert (dynamic.kind, dynamic.subject_id, dynamic.step) == ("dynamic", card_id, codes.current_step(time.time()))
    foreign = codes.CodeSigner.from_secret("other secret that is long enough 0123456789")
    with pytest.raises(codes.CodeBadSignature):
        codes.verify_public(foreign.sign("static", card_id), keys["keys"])


async def test_code_keys_are_the_public_keys_of_the_app_s_signer_and_need_no_login(client, settings, frozen):
    response = await client.get("/api/v1/code-keys")

    assert response.status_code == 200
    assert response.json()["keys"] == service.signer_for(settings).public_keys()


async def test_my_code_comes_with_its_digits_in_the_json_and_the_svg_headers(client, frozen, tmp_path, signer):
    member = await logged_in_owner(client, tmp_path)

    body = (await client.get("/api/v1/me/card/code")).json()
    svg = await client.get("/api/v1/me/card/code.svg")

    for issued in ((body["digits"], body["code"]), (svg.headers["x-card-digits"], svg.headers["x-card-code"])):
        digits, code = issued
        assert len(digits) == 18 and digits.startswith("66") and digits.isdigit()
        assert await service.expand_typed_code(digits, signer) == code  # the digits are that very code
    assert body["digits"] != svg.headers["x-card-digits"]  # each call a new one-time code
    assert (await service.verify_code(body["digits"], signer, time.time())).member_id == member


async def test_my_static_code_svg_is_the_printed_card_s_code(client, frozen, tmp_path, signer):
    member = await logged_in_owner(client, tmp_path)

    response = await client.get("/api/v1/me/card/static-code.svg")

    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["x-card-code"] == qr_text((await client.get(IMAGE)).content)
    verified = await service.verify_code(response.headers["x-card-code"], signer, time.time())
    assert (verified.member_id, verified.kind) == (member, "static")
