"""The outbox: once per occasion, opt-outs, quiet hours, retries with a doubling wait, the
exclusive claim and the dispatcher. Time is frozen at NOW (noon, Beijing) unless moved."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from loyalty import clock, jobs
from loyalty.care import outbox
from loyalty.care.channels import Outcome
from loyalty.care.tables import OutboxMessage
from loyalty.errors import InvalidField
from loyalty.members.tables import Member
from loyalty.settings import Settings
from tests.events.builders import NOW, TODAY, member_client, owners, phone

BEIJING = clock.LOCAL_ZONE
ZH = {"zh-CN": ("生日快乐", "【业主俱乐部】祝您生日快乐！"), "en": ("Happy birthday", "[Owner Club] Happy birthday!")}


def at(day_offset: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Beijing wall-clock time `day_offset` days after TODAY."""
    return datetime.combine(TODAY + timedelta(days=day_offset), time(hour, minute, second), BEIJING)


@pytest.fixture
def use_settings(database) -> Iterator[Any]:
    """Configure the jobs (what deliver_message and dispatch_due read) with overrides of the
    test database's settings; put the plain ones back afterwards."""

    def configure(**overrides: Any) -> Settings:
        settings = database.settings(**overrides)
        jobs.configure(settings)
        return settings

    configure()
    yield configure
    jobs.configure(database.settings())


class RecordingChannel:
    """A channel that records what it sends; fails the first `failures` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.failures = failures
        self.calls = 0

    async def send(self, recipient: str, subject: str, body: str, *, kind: str = "") -> None:
        self.calls += 1
        await asyncio.sleep(0)  # let a concurrent delivery run in between
        if self.calls <= self.failures:
            raise ConnectionError(f"provider down (call {self.calls})")
        self.sent.append((recipient, subject, body))

    def can_send(self, kind: str) -> bool:
        return True

    async def deliver(self, envelope: Any) -> Outcome:
        await self.send(envelope.recipient, envelope.subject, envelope.body, kind=envelope.kind)
        return Outcome("sent")


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingChannel:
    channel = RecordingChannel()
    monkeypatch.setattr(outbox, "channel", lambda name, settings: channel)
    return channel


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def row(message_id: int) -> dict[str, Any]:
    found = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    assert found is not None
    return found


async def queue(member_id: int | None = None, kind: str = "case_update", **overrides: Any) -> int | None:
    fields: dict[str, Any] = {
        "kind": kind, "channel_name": "sms", "recipient": f"+86{phone(0)}", "template": f"test_{kind}", "language": "zh-CN",
        "subject": "您的反馈有新进展", "body": "【业主俱乐部】您的反馈有了新的回复。", "member_id": member_id,
    }
    fields.update(overrides)
    return await outbox.queue_message(**fields)


# --- once per occasion ---------------------------------------------------------------------


async def test_a_dedupe_key_queues_one_row_however_often_it_is_queued(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)

    first = await queue(member, kind="birthday", dedupe_key="birthday:2026:x")
    second = await queue(member, kind="birthday", dedupe_key="birthday:2026:x", body="another body")
    other = await queue(member, kind="birthday", dedupe_key="birthday:2027:x")

    assert first is not None and other is not None and second is None
    rows = await OutboxMessage.select(OutboxMessage.dedupe_key, OutboxMessage.body).order_by(OutboxMessage.id)
    assert [(r["dedupe_key"], r["body"]) for r in rows] == [
        ("birthday:2026:x", "【业主俱乐部】您的反馈有了新的回复。"), ("birthday:2027:x", "【业主俱乐部】您的反馈有了新的回复。"),
    ]


async def test_messages_without_a_dedupe_key_are_all_kept(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)

    ids = [await queue(member), await queue(member)]

    assert None not in ids and ids[0] != ids[1]
    assert await OutboxMessage.count() == 2


async def test_an_unknown_kind_is_refused(database, frozen, use_settings):
    with pytest.raises(ValueError, match="unknown message kind"):
        await queue(kind="spam")
    assert await OutboxMessage.count() == 0


# --- opt-outs --------------------------------------------------------------------------------


async def test_an_opted_out_kind_is_kept_as_skipped_and_never_sent(database, frozen, use_settings, recorder, tmp_path):
    (member,) = await owners(tmp_path, 1)
    assert await outbox.set_opt_outs(member, ["holiday", "birthday", "holiday"]) == ["birthday", "holiday"]

    refused = await outbox.message_member(member, kind="birthday", template="birthday", texts=ZH, dedupe_key="b:1")
    wanted = await outbox.message_member(member, kind="warranty", template="warranty_ending", texts=ZH)
    service = await outbox.message_member(member, kind="case_update", template="case_reply", texts=ZH)

    assert refused is None and wanted is not None and service is not None
    rows = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status).order_by(OutboxMessage.id)
    assert [(r["kind"], r["status"]) for r in rows] == [("birthday", "skipped"), ("warranty", "queued"), ("case_update", "queued")]
    assert await outbox.deliver_message(rows[0]["id"]) == "skipped"
    assert await outbox.dispatch_due() == 2
    assert len(recorder.sent) == 2
    assert (await row(rows[0]["id"]))["status"] == "skipped"


async def test_opting_in_again_replaces_the_opt_outs(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)
    await outbox.set_opt_outs(member, ["birthday"])

    assert await outbox.set_opt_outs(member, []) == []
    queued = await outbox.message_member(member, kind="birthday", template="birthday", texts=ZH)

    assert queued is not None and (await row(queued))["status"] == "queued"


@pytest.mark.parametrize("kind", ["login_code", "case_update", "event_update", "spam"])
async def test_transactional_or_unknown_kinds_cannot_be_refused_by_the_service(database, use_settings, tmp_path, kind):
    (member,) = await owners(tmp_path, 1)

    with pytest.raises(InvalidField) as refused:
        await outbox.set_opt_outs(member, ["birthday", kind])

    assert refused.value.field == "opt_outs"
    assert await outbox.opt_outs(member) == []


async def test_an_owner_sets_opt_outs_through_the_api_and_cannot_refuse_service_messages(database, settings, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1)

    async with member_client(database, settings, phone(0)) as me:
        before = await me.get("/api/v1/me/message-preferences")
        saved = await me.put("/api/v1/me/message-preferences", json={"opt_outs": ["survey", "holiday"]})
        after = await me.get("/api/v1/me/message-preferences")
        login_code = await me.put("/api/v1/me/message-preferences", json={"opt_outs": ["holiday", "login_code"]})
        case_update = await me.put("/api/v1/me/message-preferences", json={"opt_outs": ["case_update"]})
        unchanged = await me.get("/api/v1/me/message-preferences")

    default = ["wechat", "sms", "email"]  # LOYALTY_CHANNEL_ORDER until the owner chooses
    assert before.status_code == 200 and before.json() == {"opt_outs": [], "channels": default}
    assert saved.status_code == 200, saved.text
    assert saved.json() == after.json() == {"opt_outs": ["holiday", "survey"], "channels": default}
    # The schema lists only the kinds that can be refused, so a service kind is refused as a
    # validation error (400) naming the entry, before the service's own check (422) is reached.
    for refused, field in ((login_code, "opt_outs[1]"), (case_update, "opt_outs[0]")):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in refused.json()["errors"]] == [field]
    assert unchanged.json() == {"opt_outs": ["holiday", "survey"], "channels": default}
    jobs.configure(settings)
    assert await outbox.message_member(member, kind="holiday", template="holiday_x", texts=ZH) is None
    assert await outbox.message_member(member, kind="login_code", template="login_code", texts=ZH) is not None


async def test_an_owner_chooses_their_channels_in_order_through_the_api(database, settings, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1)

    async with member_client(database, settings, phone(0)) as me:
        chosen = await me.put("/api/v1/me/message-preferences", json={"opt_outs": [], "channels": ["sms", "email"]})
        kept = await me.put("/api/v1/me/message-preferences", json={"opt_outs": ["survey"]})
        none = await me.put("/api/v1/me/message-preferences", json={"opt_outs": [], "channels": []})
        unknown = await me.put("/api/v1/me/message-preferences", json={"opt_outs": [], "channels": ["pigeon"]})

    assert chosen.json() == {"opt_outs": [], "channels": ["sms", "email"]}
    assert kept.json() == {"opt_outs": ["survey"], "channels": ["sms", "email"]}  # left out: kept as it was
    assert none.status_code == unknown.status_code == 400
    assert [error["field"] for error in unknown.json()["errors"]] == ["channels[0]"]
    assert await outbox.channel_choice(member) == ["sms", "email"]


# --- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(0, 20, 59, 59), at(0, 20, 59, 59)),
        (at(0, 21, 0), at(1, 8, 0)),
        (at(0, 22, 30), at(1, 8, 0)),
        (at(1, 0, 0), at(1, 8, 0)),
        (at(1, 7, 59, 59), at(1, 8, 0)),
        (at(1, 8, 0), at(1, 8, 0)),
        (at(0, 12, 0), at(0, 12, 0)),
    ],
    ids=["20:59:59", "21:00", "22:30", "midnight", "07:59:59", "08:00", "noon"],
)
def test_quiet_hours_wrap_midnight_in_beijing_time(moment, expected):
    # The same instant given in UTC must land at the same end of the quiet hours.
    assert outbox.after_quiet_hours(moment.astimezone(clock.now().tzinfo), "21:00-08:00") == expected


def test_quiet_hours_within_one_day_and_none():
    assert outbox.after_quiet_hours(at(0, 12, 30), "12:00-14:00") == at(0, 14, 0)
    assert outbox.after_quiet_hours(at(0, 11, 59), "12:00-14:00") == at(0, 11, 59)
    assert outbox.after_quiet_hours(at(0, 14, 0), "12:00-14:00") == at(0, 14, 0)
    assert outbox.after_quiet_hours(at(0, 22, 30), "") == at(0, 22, 30)


async def test_a_greeting_queued_at_night_waits_for_eight_in_the_morning(database, frozen, use_settings, recorder, tmp_path):
    (member,) = await owners(tmp_path, 1)
    frozen.move_to(at(0, 22, 30))

    message_id = await outbox.message_member(member, kind="birthday", template="birthday", texts=ZH)
    assert message_id is not None
    queued = await row(message_id)
    assert queued["scheduled_at"] == at(1, 8, 0) == queued["next_attempt_at"]

    assert await outbox.deliver_message(message_id) == "queued"
    assert await outbox.dispatch_due() == 0
    frozen.move_to(at(1, 7, 59))
    assert await outbox.deliver_message(message_id) == "queued"
    assert await outbox.dispatch_due() == 0
    still = await row(message_id)
    assert (still["status"], still["attempts"], recorder.sent) == ("queued", 0, [])

    frozen.move_to(at(1, 8, 0))
    assert await outbox.dispatch_due() == 1
    sent = await row(message_id)
    assert (sent["status"], sent["attempts"], sent["sent_at"]) == ("sent", 1, at(1, 8, 0))
    assert recorder.sent == [(f"+86{phone(0)}", "生日快乐", "【业主俱乐部】祝您生日快乐！")]


async def test_a_later_not_before_inside_quiet_hours_also_waits(database, frozen, use_settings, tmp_path):
    (member,) = await owners(tmp_path, 1)

    message_id = await outbox.message_member(member, kind="event_reminder", template="r", texts=ZH, not_before=at(1, 6, 0))

    assert message_id is not None
    assert (await row(message_id))["scheduled_at"] == at(1, 8, 0)


@pytest.mark.parametrize("kind", ["login_code", "case_update", "event_update"])
async def test_transactional_messages_ignore_quiet_hours(database, frozen, use_settings, recorder, tmp_path, kind):
    (member,) = await owners(tmp_path, 1)
    frozen.move_to(at(0, 23, 15))

    message_id = await outbox.message_member(member, kind=kind, template=kind, texts=ZH)

    assert message_id is not None
    assert (await row(message_id))["scheduled_at"] == at(0, 23, 15)
    assert await outbox.deliver_message(message_id) == "sent"
    assert len(recorder.sent) == 1


async def test_without_quiet_hours_a_greeting_goes_at_night(database, frozen, use_settings, tmp_path):
    use_settings(quiet_hours="")
    (member,) = await owners(tmp_path, 1)
    frozen.move_to(at(0, 23, 15))

    message_id = await outbox.message_member(member, kind="holiday", template="holiday_x", texts=ZH)

    assert message_id is not None
    assert (await row(message_id))["scheduled_at"] == at(0, 23, 15)


# --- failures, retries, giving up --------------------------------------------------------------


async def test_a_failing_email_channel_retries_with_a_doubling_wait_then_fails_keeping_the_error(database, frozen, use_settings, tmp_path):
    settings = use_settings(smtp_host="127.0.0.1", smtp_port=closed_port(), outbox_max_attempts=4)
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == member)
    message_id = await outbox.message_member(member, kind="case_update", template="case_reply", texts=ZH, settings=settings)
    assert message_id is not None
    assert ((await row(message_id))["channel"], (await row(message_id))["recipient"]) == ("email", "owner0@example.com")

    now = NOW
    for attempt, wait in ((1, 60), (2, 120), (3, 240)):
        assert await outbox.deliver_message(message_id) == "queued"
        retrying = await row(message_id)
        assert (retrying["status"], retrying["attempts"]) == ("queued", attempt)
        assert retrying["next_attempt_at"] == now + timedelta(seconds=wait)
        assert "ConnectionRefused" in retrying["error"], retrying["error"]
        # Not due yet: neither a direct delivery nor the dispatcher tries it again early.
        frozen.move_to(now + timedelta(seconds=wait - 1))
        assert await outbox.deliver_message(message_id) == "queued"
        assert await outbox.dispatch_due() == 0
        assert (await row(message_id))["attempts"] == attempt
        now = now + timedelta(seconds=wait)
        frozen.move_to(now)

    assert await outbox.deliver_message(message_id) == "failed"
    failed = await row(message_id)
    assert (failed["status"], failed["attempts"], failed["sent_at"]) == ("failed", 4, None)
    assert "ConnectionRefused" in failed["error"]
    frozen.move_to(now + timedelta(days=1))
    assert await outbox.dispatch_due() == 0
    assert await outbox.deliver_message(message_id) == "failed"
    assert (await row(message_id))["attempts"] == 4


async def test_email_without_smtp_configured_fails_with_the_reason(database, frozen, use_settings, tmp_path):
    use_settings(outbox_max_attempts=1)
    message_id = await queue(channel_name="email", recipient="someone@example.com")
    assert message_id is not None

    assert await outbox.deliver_message(message_id) == "failed"

    assert "LOYALTY_SMTP_HOST" in (await row(message_id))["error"]


async def test_an_unknown_channel_fails_instead_of_crashing(database, frozen, use_settings):
    use_settings(outbox_max_attempts=1)
    message_id = await queue(channel_name="pigeon")
    assert message_id is not None

    assert await outbox.deliver_message(message_id) == "failed"

    assert "pigeon" in (await row(message_id))["error"]


async def test_a_message_failing_once_is_sent_on_the_retry_and_the_error_cleared(database, frozen, use_settings, monkeypatch):
    flaky = RecordingChannel(failures=1)
    monkeypatch.setattr(outbox, "channel", lambda name, settings: flaky)
    message_id = await queue()
    assert message_id is not None

    assert await outbox.deliver_message(message_id) == "queued"
    assert "provider down" in (await row(message_id))["error"]
    frozen.move_to(NOW + timedelta(seconds=60))
    assert await outbox.dispatch_due() == 1

    sent = await row(message_id)
    assert (sent["status"], sent["attempts"], sent["error"]) == ("sent", 2, "")
    assert len(flaky.sent) == 1


@pytest.mark.parametrize(("kind", "retry_at"), [("birthday", at(1, 8, 0)), ("case_update", at(0, 21, 0, 30))])
async def test_a_greeting_failing_just_before_quiet_hours_retries_after_them(database, frozen, use_settings, monkeypatch, kind, retry_at):
    flaky = RecordingChannel(failures=1)
    monkeypatch.setattr(outbox, "channel", lambda name, settings: flaky)
    frozen.move_to(at(0, 20, 59, 30))
    message_id = await queue(kind=kind)
    assert message_id is not None

    assert await outbox.deliver_message(message_id) == "queued"

    assert (await row(message_id))["next_attempt_at"] == retry_at
    frozen.move_to(at(0, 21, 0, 30))
    assert await outbox.dispatch_due() == (0 if kind == "birthday" else 1)
    frozen.move_to(at(1, 8, 0))
    await outbox.dispatch_due()
    assert (await row(message_id))["status"] == "sent"


async def test_dispatch_due_hands_out_only_due_queued_rows(database, frozen, use_settings, recorder, monkeypatch, tmp_path):
    handed: list[tuple[str, tuple[Any, ...]]] = []
    real_enqueue = jobs.enqueue

    async def recording_enqueue(name: str, *args: Any) -> bool:
        handed.append((name, args))
        return await real_enqueue(name, *args)

    monkeypatch.setattr(jobs, "enqueue", recording_enqueue)
    (member,) = await owners(tmp_path, 1)
    due = await queue(member)
    later = await queue(member, not_before=NOW + timedelta(hours=1))
    skipped_kind = "survey"
    await outbox.set_opt_outs(member, [skipped_kind])
    await queue(member, kind=skipped_kind)
    sent_already = await queue(member)
    assert due and later and sent_already
    assert await outbox.deliver_message(sent_already) == "sent"
    recorder.sent.clear()

    assert await outbox.dispatch_due() == 1
    assert handed == [("loyalty.care.deliver_message", (due,))]
    assert [r["status"] for r in await OutboxMessage.select(OutboxMessage.status).order_by(OutboxMessage.id)] == [
        "sent", "queued", "skipped", "sent",
    ]
    assert await outbox.dispatch_due() == 0

    frozen.move_to(NOW + timedelta(hours=1))
    assert await outbox.dispatch_due() == 1
    assert handed[-1] == ("loyalty.care.deliver_message", (later,))
    assert len(recorder.sent) == 2


# --- the exclusive claim and workers that died ---------------------------------------------------


async def test_a_sent_message_is_not_sent_again(database, frozen, use_settings, recorder):
    message_id = await queue()
    assert message_id is not None

    assert [await outbox.deliver_message(message_id) for _ in range(3)] == ["sent", "sent", "sent"]

    assert len(recorder.sent) == 1
    assert (await row(message_id))["attempts"] == 1
    assert await outbox.deliver_message(10_000) == "missing"


@pytest.mark.postgres_only
async def test_concurrent_deliveries_of_one_message_send_it_once(database, frozen, use_settings, recorder):
    ids = [await queue(body=f"消息{n}") for n in range(10)]

    results = await asyncio.gather(*[outbox.deliver_message(message_id) for message_id in ids for _ in range(4)])  # type: ignore[arg-type]

    # The one delivery that claimed a message sends it; the others report its state as they
    # found it (still being sent, or sent).
    assert set(results) <= {"sent", "sending"} and results.count("sent") >= 10
    assert {r["status"] for r in await OutboxMessage.select(OutboxMessage.status)} == {"sent"}
    assert sorted(body for _, _, body in recorder.sent) == sorted(f"消息{n}" for n in range(10))
    assert {r["attempts"] for r in await OutboxMessage.select(OutboxMessage.attempts)} == {1}


async def test_a_row_stuck_in_sending_for_over_ten_minutes_is_requeued(database, frozen, use_settings, recorder, monkeypatch):
    class DyingChannel:
        async def deliver(self, envelope: Any) -> Outcome:
            raise asyncio.CancelledError()  # the worker dies mid-send: not an error the outbox catches

    monkeypatch.setattr(outbox, "channel", lambda name, settings: DyingChannel())
    message_id = await queue()
    assert message_id is not None
    with pytest.raises(asyncio.CancelledError):
        await outbox.deliver_message(message_id)
    stuck = await row(message_id)
    assert (stuck["status"], stuck["attempts"], stuck["claimed_at"]) == ("sending", 1, NOW)
    monkeypatch.setattr(outbox, "channel", lambda name, settings: recorder)

    frozen.move_to(NOW + timedelta(minutes=10))
    assert await outbox.dispatch_due() == 0
    assert await outbox.deliver_message(message_id) == "sending"
    assert (await row(message_id))["status"] == "sending"

    frozen.move_to(NOW + timedelta(minutes=10, seconds=1))
    assert await outbox.dispatch_due() == 1
    sent = await row(message_id)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert len(recorder.sent) == 1


async def test_a_message_whose_worker_dies_on_every_attempt_ends_failed(database, frozen, use_settings, monkeypatch):
    settings = use_settings(outbox_max_attempts=2)

    class DyingChannel:
        async def deliver(self, envelope: Any) -> Outcome:
            raise asyncio.CancelledError()

    monkeypatch.setattr(outbox, "channel", lambda name, settings: DyingChannel())
    message_id = await queue()
    with pytest.raises(asyncio.CancelledError):
        await outbox.deliver_message(message_id)  # attempt 1: the worker dies
    frozen.shift(timedelta(minutes=11))
    with pytest.raises(asyncio.CancelledError):
        await outbox.dispatch_due()  # re-queued and handed out again (inline): attempt 2 dies too
    frozen.shift(timedelta(minutes=11))
    assert await outbox.dispatch_due() == 0  # out of attempts: failed, not handed out a third time

    final = await row(message_id)
    assert (final["status"], final["attempts"]) == ("failed", 2)
    assert "stopped while sending" in final["error"]
    assert settings.outbox_max_attempts == 2
