"""Group-complaint early warning (群诉预警, issue 20): open cases of one kind in one project and
building within the window warn the service staff once per cluster — at the threshold, not below
it, not twice — through the outbox; acknowledging is audited; the KPI function counts them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from loyalty import jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases, group_warnings
from loyalty.care.tables import Case, GroupWarning, OutboxMessage
from loyalty.clock import LOCAL_ZONE
from loyalty.members.tables import Ownership, Unit
from tests.events.builders import owners, staff

START = datetime(2026, 6, 15, 9, 0, tzinfo=LOCAL_ZONE)


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


async def complaint(member: int, at: datetime, kind: str = "complaint") -> int:
    unit = (await Ownership.select(Ownership.unit).where(Ownership.member == member).first())["unit"]
    return await cases.open_case(member, kind, "电梯又坏了", "第三次了", unit_id=unit, now=at)


async def warnings_sent() -> list[dict]:
    return await OutboxMessage.select().where(OutboxMessage.template == "group_warning").order_by(OutboxMessage.id)


async def test_fires_once_at_the_threshold_not_below_and_not_twice(database, tmp_path):
    members = await owners(tmp_path, 5)
    await Unit.update({Unit.building: "9幢"}).where(Unit.id > 0)  # one building
    await staff("lead1", "service")
    await staff("sales1", "sales")

    first = await complaint(members[0], START)
    second = await complaint(members[1], START + timedelta(hours=5))
    assert await group_warnings.detect(START + timedelta(hours=6)) == 0  # two: below the threshold
    third = await complaint(members[2], START + timedelta(hours=20))
    assert await group_warnings.detect(START + timedelta(hours=20, minutes=5)) == 1
    assert await group_warnings.detect(START + timedelta(hours=20, minutes=10)) == 0  # the same cluster: not twice
    fourth = await complaint(members[3], START + timedelta(hours=22))
    assert await group_warnings.detect(START + timedelta(hours=22, minutes=5)) == 0  # joins the cluster

    (warning,) = await GroupWarning.select().output(load_json=True)
    assert (warning["kind"], warning["building"]) == ("complaint", "9幢")
    assert warning["case_ids"] == [first, second, third, fourth]
    sent = await warnings_sent()
    assert [m["recipient"] for m in sent] == ["staff:lead1"]  # service staff, not sales; once
    assert "9幢" in sent[0]["subject"] or "9幢" in sent[0]["body"]
    audit = await AuditEntry.select().where(AuditEntry.action == "group_warning.raise")
    assert [a["subject_id"] for a in audit] == [warning["id"]]


async def test_outside_the_window_other_kinds_and_closed_cases_do_not_count(database, tmp_path):
    members = await owners(tmp_path, 5)
    await staff("lead1", "service")
    await complaint(members[0], START)
    await complaint(members[1], START + timedelta(hours=25))  # the first is now older than 24 h
    await complaint(members[2], START + timedelta(hours=26), kind="repair")
    resolved = await complaint(members[3], START + timedelta(hours=26))
    await Case.update({Case.status: "resolved"}).where(Case.id == resolved)
    assert await group_warnings.detect(START + timedelta(hours=26, minutes=1)) == 0
    assert await GroupWarning.count() == 0 and await warnings_sent() == []


async def test_the_thresholds_are_settings(database, tmp_path, settings):
    members = await owners(tmp_path, 2)
    await staff("lead1", "service")
    await complaint(members[0], START)
    await complaint(members[1], START + timedelta(hours=30))
    tight = replace(settings, group_warning_cases=2, group_warning_hours=48)
    assert await group_warnings.detect(START + timedelta(hours=31), tight) == 1


async def test_a_new_cluster_after_the_old_one_died_down_warns_again(database, tmp_path):
    members = await owners(tmp_path, 6)
    await staff("lead1", "service")
    for n in range(3):
        await complaint(members[n], START + timedelta(hours=n))
    assert await group_warnings.detect(START + timedelta(hours=3)) == 1
    later = START + timedelta(days=3)
    for n in range(3, 6):
        await complaint(members[n], later + timedelta(hours=n))
    assert await group_warnings.detect(later + timedelta(hours=6)) == 1
    assert await GroupWarning.count() == 2


async def test_acknowledging_is_audited_once_and_the_kpi_counts(database, tmp_path):
    members = await owners(tmp_path, 3)
    lead = await staff("lead1", "service")
    for n in range(3):
        await complaint(members[n], START + timedelta(hours=n))
    await group_warnings.detect(START + timedelta(hours=3))
    (warning,) = await group_warnings.open_warnings()

    done = await group_warnings.acknowledge(warning["id"], lead)
    assert done["acknowledged_by"] == lead and await group_warnings.open_warnings() == []
    with pytest.raises(group_warnings.WarningAcknowledged):
        await group_warnings.acknowledge(warning["id"], lead)
    audit = await AuditEntry.select().where(AuditEntry.action == "group_warning.acknowledge")
    assert [(a["subject_id"], a["actor_id"]) for a in audit] == [(warning["id"], lead)]

    report = await group_warnings.group_warnings(date(2026, 6, 1), date(2026, 6, 30))
    assert (report.warnings, report.cases) == (1, 3) and report.records[0]["id"] == warning["id"]
    assert (await group_warnings.group_warnings(date(2026, 6, 1), date(2026, 6, 30), project_id=999_999)).warnings == 0
