// The owner page's points tab: the balance, what expires when, and the history in words.
"use strict";

// A phone's screenful at a time; "More" asks for the next.
const pointsPage = { cursor: null, size: 20 };

// An entry's points as the owner reads them: what changed in spendable points, else in pending ones.
function entryPoints(e) {
  const pending = !e.available_delta && e.pending_delta;
  const delta = pending ? e.pending_delta : e.available_delta;
  return { delta, pending: Boolean(pending) };
}

// The small line under an amount: a pending earn says when it arrives (the server says whether it
// still waits); a vest only moves points already credited above, so it reads as arrival, not a gain.
// A vesting day is weeks away at most: month and day (12月21日, Dec 21) keep the tag short on a phone.
const monthDay = (day) => new Intl.DateTimeFormat(I18n.locale, { timeZone: "Asia/Shanghai", month: "short", day: "numeric" })
  .format(new Date(`${day}T12:00:00+08:00`));

function entryTag(e, pending) {
  if (e.kind === "vest") return { state: "vested", text: _("Arrived") };
  if (e.vesting === "pending") {
    return { state: "pending", text: e.vests_on ? _("Pending (available on {date})", { date: monthDay(e.vests_on) }) : _("Pending") };
  }
  if (e.vesting === "void") return { state: "void", text: _("Cancelled") };
  if (e.vesting === "vested") return null;
  return pending ? { state: "pending", text: _("Pending") } : null;
}

function historyRow(e) {
  const { delta, pending } = entryPoints(e);
  const moved = e.kind === "vest";  // counted once already, on the earn's row
  const sign = moved ? "" : delta > 0 ? "+" : delta < 0 ? "−" : "";
  const look = moved ? "moved" : delta < 0 ? "minus" : "plus";
  const tag = entryTag(e, pending);
  const tagHtml = tag ? `<span class="status" data-state="${tag.state}">${esc(tag.text)}</span>` : "";
  return `<div class="row event entry" data-entry-id="${e.id}" data-kind="${esc(e.kind)}">
      <div><div class="what">${esc(e.description)}</div><div class="muted">${esc(I18n.dateTime(e.created_at))}</div></div>
      <div class="amount ${look}">${sign}${esc(I18n.number(Math.abs(delta)))}${tagHtml}</div></div>`;
}

async function loadHistory(more = false) {
  const cursor = more && pointsPage.cursor !== null ? `&cursor=${pointsPage.cursor}` : "";
  const statement = await api(`/api/v1/me/points?limit=${pointsPage.size}${cursor}`).then((r) => r.json());
  pointsPage.cursor = statement.next_cursor;
  const rows = statement.entries.map(historyRow).join("");
  if (more) $("points-history").insertAdjacentHTML("beforeend", rows);
  else $("points-history").innerHTML = rows || `<p class="muted">${esc(_("No points yet"))}</p>`;
  $("points-more").hidden = statement.next_cursor === null;
  return statement;
}

function scheduleRows(schedule) {
  const rows = [
    ...schedule.expiring.map((d) => ({ on: d.date, text: _("{points} points expire", { points: I18n.number(d.points) }), kind: "expiring" })),
    ...schedule.vesting.map((d) => ({ on: d.date, text: _("{points} points become available", { points: I18n.number(d.points) }), kind: "vesting" })),
  ].sort((a, b) => a.on.localeCompare(b.on));
  return rows.length
    ? rows.map((r) => `<div class="row event" data-due="${esc(r.kind)}"><span class="label">${esc(I18n.date(r.on))}</span>
        <span class="value">${esc(r.text)}</span></div>`).join("")
    : `<p class="muted">${esc(_("No points are due to expire"))}</p>`;
}

async function loadPoints() {
  const [statement, schedule] = await Promise.all([loadHistory(), api("/api/v1/me/points/schedule").then((r) => r.json())]);
  const points = statement.balance;
  $("points-available").textContent = I18n.number(points.available);
  $("points-pending").textContent = I18n.number(points.pending);
  $("points-expiring").textContent = points.expiring_on && points.expiring_soon
    ? _("{points} (by {date})", { points: I18n.number(points.expiring_soon), date: I18n.date(points.expiring_on) })
    : I18n.number(points.expiring_soon);
  $("points-schedule").innerHTML = scheduleRows(schedule);
  // Gifts granted to collect, said where the owner looks at points: after the tab is drawn whole
  // (never a half-redrawn tab in two languages while it loads), and no reason to fail the tab.
  // Not in a quiet prefetch: one request fewer in flight (a request under way while the language
  // switch saves the choice answers with the session it started with, and may keep the old one).
  if (state.tab === "points") Rewards.showWaiting().catch(() => {});
}

$("points-more").addEventListener("click", () => loadHistory(true));
$("rewards-open").addEventListener("click", () => { window.scrollTo(0, 0); selectTab("rewards"); });
TABS.points = loadPoints;
