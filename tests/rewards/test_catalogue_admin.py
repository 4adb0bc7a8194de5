"""The catalogue's staff pages behind the API, on both engines: an admin edits a reward (the
checks of a new one, audited before and after, a price counting from now on, a withdrawn
reward staying withdrawn), sets its picture (re-encoded, refused whole when bad), previews a
grant (the count the grant then makes), reads the report for some days, pages through the
lists; a pick-up is audited. Other roles may not write, an owner's cookie is no staff login."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from PIL import Image

from loyalty.audit.tables import AuditEntry
from loyalty.cards import service as cards
from loyalty.members.tables import Project
from loyalty.rewards import service
from loyalty.rewards.tables import Redemption, Reward, RewardPicture
from tests.rewards.builders import NOW, TODAY, give_points, member_client, owners, phone, reward, staff, staff_client


def _picture(fmt: str = "PNG", size: tuple[int, int] = (1600, 900), *, exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0112] = 6  # Orientation: turned 90°
        image.save(out, fmt, exif=data)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _bomb() -> bytes:
    """A small PNG whose header claims 100,000 × 100,000 pixels (a few hundred bytes)."""
    out = io.BytesIO()
    Image.new("1", (10, 10)).save(out, "PNG")
    data = bytearray(out.getvalue())
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


async def _audit(action: str) -> list[dict]:
    return await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)


def _data(entry: dict) -> dict:
    return entry["data"] if isinstance(entry["data"], dict) else json.loads(entry["data"])


async def test_an_edit_changes_the_fields_sent_is_audited_and_keeps_stock_and_status(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    reward_id = await reward()
    await service.redeem(me, reward_id, "before-the-new-price")
    await service.set_status(reward_id, "withdrawn", await staff("boss0", "admin"))
    async with staff_client(database, settings, "boss", "admin") as admin:
        edited = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={
            "name_en": "Mooncakes", "pickup_place_en": "Yunhuli sales office",
            "prices": {"platinum": 0, "gold": 150, "blue": 350}, "eligible_tiers": ["gold", "blue", "gold"],
        })
        assert edited.status_code == 200, edited.text
        view = edited.json()
        assert (view["name_en"], view["pickup_place_en"], view["name_zh"]) == ("Mooncakes", "Yunhuli sales office", "中秋月饼礼盒")
        assert view["prices"] == {"platinum": 0, "gold": 150, "silver": None, "blue": 350}
        assert view["eligible_tiers"] == ["gold", "blue"]
        assert (view["status"], view["stock_total"], view["stock_remaining"]) == ("withdrawn", 10, 9)

        wrong_days = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"ends_on": (TODAY - timedelta(days=5)).isoformat()})
        no_stock_here = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"stock": 99})
        no_project = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"eligible_project_ids": [999]})
        blank_name = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"name_zh": "  "})
        missing = await admin.patch("/api/v1/staff/rewards/999999", json={"name_en": "x"})

    assert wrong_days.status_code == 422 and wrong_days.json()["errors"][0]["field"] == "ends_on", wrong_days.text
    assert no_stock_here.status_code == 400, no_stock_here.text  # not a field of an edit
    assert no_project.status_code == 422 and no_project.json()["errors"][0]["field"] == "eligible_project_ids"
    assert blank_name.status_code == 422 and blank_name.json()["errors"][0]["field"] == "name_zh"
    assert missing.status_code == 404
    [entry] = await _audit("reward.update")
    assert entry["subject_id"] == reward_id
    assert _data(entry)["before"]["prices"] == {"platinum": 100, "gold": 200, "silver": 300, "blue": 400}
    assert _data(entry)["after"]["prices"] == {"platinum": 0, "gold": 150, "silver": None, "blue": 350}
    assert _data(entry)["after"]["name_en"] == "Mooncakes" and "kind" not in _data(entry)["after"]
    # The redemption made before the new price keeps the points it was made with.
    assert (await Redemption.select(Redemption.points).first())["points"] == 400


async def test_only_admins_write_the_catalogue_and_an_owner_cookie_is_no_staff_login(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    reward_id = await reward()
    for role in ("sales", "event_staff", "service"):
        async with staff_client(database, settings, f"user-{role}", role) as other:
            edit = await other.patch(f"/api/v1/staff/rewards/{reward_id}", json={"name_en": "x"})
            picture = await other.put(f"/api/v1/staff/rewards/{reward_id}/picture", content=_picture())
            preview = await other.post(f"/api/v1/staff/rewards/{reward_id}/grants/preview", json={"occasion": "生日礼"})
            assert (edit.status_code, picture.status_code, preview.status_code) == (403, 403, 403), role
    async with member_client(database, settings, phone(0)) as owner:
        edit = await owner.patch(f"/api/v1/staff/rewards/{reward_id}", json={"name_en": "x"})
        picture = await owner.put(f"/api/v1/staff/rewards/{reward_id}/picture", content=_picture())
    assert (edit.status_code, picture.status_code) == (401, 401)
    assert (await Reward.select(Reward.name_en).first())["name_en"] == "Mooncake box"
    assert await RewardPicture.count() == 0


async def test_a_picture_is_re_encoded_small_without_exif_and_served_with_an_etag(database, settings, frozen, tmp_path):
    me, other = await owners(tmp_path, 2)
    offered = await reward()
    hidden = await reward(status="draft")
    async with staff_client(database, settings, "boss", "admin") as admin:
        put = await admin.put(f"/api/v1/staff/rewards/{offered}/picture", content=_picture("JPEG", (2400, 1200), exif=True))
        assert put.status_code == 200, put.text
        url = put.json()["picture_url"]
        await admin.put(f"/api/v1/staff/rewards/{hidden}/picture", content=_picture("WEBP", (300, 300)))
        staff_sees = await admin.get(url)
        listed = await admin.get("/api/v1/staff/rewards")
    assert staff_sees.status_code == 200 and staff_sees.headers["content-type"] == "image/jpeg"
    served = Image.open(io.BytesIO(staff_sees.content))
    assert served.format == "JPEG" and max(served.size) == 1200
    assert served.size == (600, 1200)  # turned upright by its orientation, then made smaller
    assert not served.getexif() and b"SecretCam" not in staff_sees.content
    assert {r["id"]: bool(r["picture_url"]) for r in listed.json()} == {offered: True, hidden: True}
    etag = staff_sees.headers["etag"]
    assert "max-age" in staff_sees.headers["cache-control"]

    async with member_client(database, settings, phone(0)) as owner:
        catalogue = await owner.get("/api/v1/me/rewards")
        sees = await owner.get(url)
        again = await owner.get(url, headers={"If-None-Match": etag})
        not_offered = await owner.get(f"/api/v1/rewards/{hidden}/picture.jpg")
    assert [o["picture_url"] for o in catalogue.json()] == [url]
    assert sees.status_code == 200 and sees.content == staff_sees.content
    assert again.status_code == 304 and not again.content
    assert not_offered.status_code == 404
    assert [e["subject_id"] for e in await _audit("reward.picture")] == [offered, hidden]


@pytest.mark.parametrize("body, status", [
    pytest.param(b"", 422, id="empty"),
    pytest.param(b"%PDF-1.4 not a picture at all" * 10, 422, id="not-an-image"),
    pytest.param(b"GIF89a" + b"\0" * 100, 422, id="a-gif"),
    pytest.param(b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024), 422, id="over-2-mb"),
    pytest.param("bomb", 422, id="huge-dimensions"),
    pytest.param("cut", 422, id="cut-short"),
])
async def test_a_bad_picture_is_refused_naming_the_field_and_nothing_is_written(database, settings, frozen, tmp_path, body, status):
    reward_id = await reward()
    if body == "bomb":
        body = _bomb()
    elif body == "cut":
        body = _picture("JPEG", (800, 800))[:2000]
    async with staff_client(database, settings, "boss", "admin") as admin:
        first = await admin.put(f"/api/v1/staff/rewards/{reward_id}/picture", content=_picture("PNG", (50, 50)))
        refused = await admin.put(f"/api/v1/staff/rewards/{reward_id}/picture", content=body)
        unknown = await admin.put("/api/v1/staff/rewards/999999/picture", content=_picture())
    assert refused.status_code == status, refused.text
    assert refused.json()["errors"][0]["field"] == "picture", refused.json()
    assert unknown.status_code == 404
    [kept] = await RewardPicture.select(RewardPicture.etag)
    assert first.json()["picture_url"].endswith(kept["etag"][:12])  # the first picture, untouched
    assert len(await _audit("reward.picture")) == 1


async def test_the_grant_preview_counts_what_the_grant_then_gives(database, frozen, tmp_path):
    gold_here = await owners(tmp_path, 3, units=2, project="HZ-YH")
    await owners(tmp_path, 2, start=10, project="HZ-YH")
    await owners(tmp_path, 2, units=2, start=20, project="SH-BJ")
    admin = await staff("admin1", "admin")
    here = (await Project.select(Project.id).where(Project.code == "HZ-YH").first())["id"]
    gift = await reward(admin, prices={}, status="draft", stock=10)
    await service.grant(gift, staff_id=admin, occasion="生日礼", tiers=["gold"], project_ids=[here])

    preview = await service.grant_preview(gift, occasion="2027 春节", project_ids=[here])
    _grant, made = await service.grant(gift, staff_id=admin, occasion="2027 春节", project_ids=[here])
    again = await service.grant_preview(gift, occasion="2027春节", project_ids=[here])
    gold = await service.grant_preview(gift, occasion="国庆", tiers=["gold"])

    assert (preview.owners, preview.stock_left) == (5, 7)
    assert made == preview.owners
    assert again.owners == 0  # all of them have it for this occasion
    assert gold.owners == len(gold_here) + 2
    with pytest.raises(service.InvalidField):
        await service.grant_preview(gift, occasion="x")


async def test_the_preview_answers_over_http_with_the_stock_it_needs(database, settings, frozen, tmp_path):
    await owners(tmp_path, 3)
    gift = await reward(stock=2)
    async with staff_client(database, settings, "boss", "admin") as admin:
        preview = await admin.post(f"/api/v1/staff/rewards/{gift}/grants/preview", json={"occasion": "2027 春节"})
        bad = await admin.post(f"/api/v1/staff/rewards/{gift}/grants/preview", json={"occasion": "x"})
    assert preview.json() == {"owners": 3, "stock_left": 2, "enough_stock": False}, preview.text
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "occasion"
    assert await Redemption.count() == 0


async def test_the_report_counts_the_redemptions_of_the_days_asked_and_refuses_bad_days(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 5000)
    reward_id = await reward(starts_on=TODAY - timedelta(days=5), per_owner_limit=5, collect_days=30)
    await service.redeem(me, reward_id, "a", now=NOW - timedelta(days=3))
    await service.redeem(me, reward_id, "b", now=NOW)
    # 23:30 Beijing on the day before TODAY is still that day (15:30 UTC)
    await service.redeem(me, reward_id, "c", now=NOW - timedelta(hours=12, minutes=30))
    async with staff_client(database, settings, "boss", "admin") as admin:
        everything = await admin.get("/api/v1/staff/rewards/report")
        today = await admin.get(f"/api/v1/staff/rewards/report?start={TODAY}&end={TODAY}")
        yesterday = await admin.get(f"/api/v1/staff/rewards/report?end={TODAY - timedelta(days=1)}&start={TODAY - timedelta(days=1)}")
        backwards = await admin.get(f"/api/v1/staff/rewards/report?start={TODAY}&end={TODAY - timedelta(days=1)}")
        not_a_day = await admin.get("/api/v1/staff/rewards/report?start=2026-02-30")
    assert everything.json()[0]["reserved"] == 3 and everything.json()[0]["points_held"] == 1200
    assert everything.json()[0]["points_held_fen"] == 1200  # 100 points = 1 CNY = 100 fen
    assert (today.json()[0]["reserved"], today.json()[0]["points_held"]) == (1, 400), today.text
    assert yesterday.json()[0]["reserved"] == 1
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "start", backwards.text
    assert not_a_day.status_code == 400, not_a_day.text


async def test_the_lists_come_a_page_at_a_time(database, settings, frozen, tmp_path):
    members = await owners(tmp_path, 3)
    ids = [await reward(name_zh=f"礼品{n}") for n in range(5)]
    withdrawn = ids[1]
    await service.set_status(withdrawn, "withdrawn", await staff("boss0", "admin"))
    for member in members:
        await give_points(member, 1000)
        await service.redeem(member, ids[0], f"k{member}")
    async with staff_client(database, settings, "boss", "admin") as admin:
        first = await admin.get("/api/v1/staff/rewards?limit=2")
        second = await admin.get("/api/v1/staff/rewards?limit=2&offset=2")
        last = await admin.get("/api/v1/staff/rewards?limit=2&offset=4")
        only_withdrawn = await admin.get("/api/v1/staff/rewards?status=withdrawn")
        everything = await admin.get("/api/v1/staff/rewards")
        too_many = await admin.get("/api/v1/staff/rewards?limit=501")
        negative = await admin.get("/api/v1/staff/rewards?offset=-1")
        counter_first = await admin.get("/api/v1/staff/rewards/redemptions?limit=2")
        counter_rest = await admin.get("/api/v1/staff/rewards/redemptions?limit=2&offset=2")
        counter_too_many = await admin.get("/api/v1/staff/rewards/redemptions?limit=0")
    pages = [r["id"] for page in (first, second, last) for r in page.json()]
    assert pages == sorted(ids, reverse=True)
    assert [len(p.json()) for p in (first, second, last)] == [2, 2, 1]
    assert [r["id"] for r in only_withdrawn.json()] == [withdrawn]
    assert len(everything.json()) == 5
    assert too_many.status_code == 400 and negative.status_code == 400 and counter_too_many.status_code == 400
    assert len(counter_first.json()) == 2 and len(counter_rest.json()) == 1
    assert {r["id"] for r in counter_first.json()}.isdisjoint(r["id"] for r in counter_rest.json())


async def test_a_pick_up_is_audited_with_the_clerk(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    made = await service.redeem(me, await reward(), "k")
    clerk = await staff("counter1", "service")
    signer = cards.signer_for(settings)
    row = await Redemption.select().where(Redemption.id == made.redemption_id).first()

    await service.pick_up(service.pickup_code(signer, row), clerk, signer)
    with pytest.raises(service.AlreadyPickedUp):
        await service.pick_up(service.pickup_code(signer, row), clerk, signer)

    [entry] = await _audit("reward.pickup")
    assert (entry["subject_kind"], entry["subject_id"], entry["actor_id"]) == ("redemption", made.redemption_id, clerk)


async def test_the_english_pick_up_place_is_given_to_owners(database, settings, frozen, tmp_path):
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    reward_id = await reward(pickup_place_en="Yunhuli sales office", per_owner_limit=2)
    await service.redeem(me, reward_id, "k")
    async with member_client(database, settings, phone(0)) as owner:
        offers = (await owner.get("/api/v1/me/rewards")).json()
        mine = (await owner.get("/api/v1/me/redemptions")).json()
    assert [(o["pickup_place"], o["pickup_place_en"]) for o in offers] == [("云湖里售楼处", "Yunhuli sales office")]
    assert mine[0]["pickup_place_en"] == "Yunhuli sales office"


async def test_a_rewards_kind_cannot_change_for_the_redemptions_made_are_of_their_kind(database, settings, frozen, tmp_path):
    # The outside review turned a published gift into a voucher with no merchant (owners then paid
    # for a voucher no till takes) and into a seat with no event (a held pick-up code lost its QR).
    me, = await owners(tmp_path, 1)
    await give_points(me, 1000)
    reward_id = await reward()
    await service.redeem(me, reward_id, "a-gift")
    async with staff_client(database, settings, "boss", "admin") as admin:
        same = await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"kind": "gift", "name_en": "Mooncakes"})
        answers = [await admin.patch(f"/api/v1/staff/rewards/{reward_id}", json={"kind": kind}) for kind in ("voucher", "event_seat", "service")]

    assert same.status_code == 200, same.text
    for refused in answers:
        assert (refused.status_code, refused.json()["type"]) == (422, "/problems/invalid-field"), refused.text
        assert refused.json()["errors"][0]["field"] == "kind"
    assert (await Reward.select(Reward.kind).first())["kind"] == "gift"
