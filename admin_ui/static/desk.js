// The service desk (service staff): the queue of owners' cases by the deadline that comes next —
// overdue ones first, in red with how late they are, due-soon ones in amber — filtered by kind,
// project, assignee and state; and a case's page (#desk/<id>): the owner's context, the thread,
// a reply to the owner (sent in the owner's language by the outbox), assignment, severity, the
// result and the follow-up call. What cannot be undone is asked first (Confirm.ask).
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `loadProjectList`, `projectName`.
"use strict";

const DESK_PAGE = 50;
const DUE_SOON_MS = 24 * 3600 * 1000;  // amber: the clock runs out within a day
const CASE_KINDS = ["complaint", "repair", "suggestion", "inquiry", "special_need"];
const DESK_STATES = ["active", "overdue", "open", "in_progress", "resolved", "followed_up", "all"];
const desk = { rows: [], offset: 0, handlers: null, current: null, busy: false };

const deskUrl = (path = "") => `/api/v1/staff/cases${path}`;
const STATE_WORDS = {  // the filter's own words; a single status is the status's label
  active: () => _("Still to handle"), overdue: () => _("Overdue"), all: () => _("All states"),
};
const ASSIGNEE_WORDS = { anyone: () => _("Anyone"), me: () => _("Me"), unassigned: () => _("Nobody yet") };

// How long, in words: minutes under an hour, hours under two days, then days (and hours).
function deskSpan(ms) {
  const minutes = Math.max(1, Math.round(Math.abs(ms) / 60000));
  if (minutes < 60) return _n("{count} minute", "{count} minutes", minutes);
  const hours = Math.round(minutes / 60);
  if (hours < 48) return _n("{count} hour", "{count} hours", hours);
  return _n("{count} day", "{count} days", Math.floor(hours / 24));
}

// The clock a case waits on: how it reads in the queue and on its page.
function deskDeadline(c) {
  if (!c.next_clock || !c.next_due) return { tone: "", words: enumLabel("case_status", c.status), at: "" };
  const left = new Date(c.next_due).getTime() - Date.now();
  const tone = left < 0 ? "overdue" : left < DUE_SOON_MS ? "soon" : "";
  const words = left < 0 ? _("Overdue by {time}", { time: deskSpan(left) }) : _("Due in {time}", { time: deskSpan(left) });
  return { tone, words, at: `${enumLabel("case_clock", c.next_clock)} ${I18n.dateTime(c.next_due)}` };
}

function deskOption(value, words, chosen) {
  return `<option value="${esc(value)}"${String(value) === String(chosen) ? " selected" : ""}>${esc(words)}</option>`;
}

async function fillDeskFilters() {
  const projects = await loadProjectList();
  const keep = (id, fallback) => $(id).value || fallback;
  const kind = keep("desk-kind", ""), project = keep("desk-project", ""), who = keep("desk-assignee", "anyone"), st = keep("desk-state", "active");
  $("desk-kind").innerHTML = deskOption("", _("All kinds"), kind) + CASE_KINDS.map((k) => deskOption(k, enumLabel("case_kind", k), kind)).join("");
  $("desk-project").innerHTML = deskOption("", _("All projects"), project) + projects.map((p) => deskOption(p.id, projectName(p.id), project)).join("");
  $("desk-assignee").innerHTML = Object.keys(ASSIGNEE_WORDS).map((a) => deskOption(a, ASSIGNEE_WORDS[a](), who)).join("");
  $("desk-state").innerHTML = DESK_STATES.map((s) => deskOption(s, STATE_WORDS[s] ? STATE_WORDS[s]() : enumLabel("case_status", s), st)).join("");
}

async function loadDesk(detail) {
  await fillDeskFilters();
  if (!desk.handlers) {
    const response = await api(deskUrl("/handlers"));
    desk.handlers = response.ok ? await response.json() : [];
  }
  const caseId = /^\d+$/.test(detail || "") ? Number(detail) : null;
  $("desk-queue").hidden = caseId !== null;
  $("desk-case").hidden = caseId === null;
  if (caseId === null) {
    desk.current = null;
    // The group-complaint warnings above the queue (repairs.js; absent, the queue alone).
    await Promise.all([loadQueue(), typeof showGroupWarnings === "function" ? showGroupWarnings($("desk-warnings")) : null]);
  } else await loadCase(caseId);
}

// --- the queue --------------------------------------------------------------------------------

function queueQuery(offset) {
  const query = new URLSearchParams({ sort: "deadline", limit: String(DESK_PAGE), offset: String(offset), assignee: $("desk-assignee").value || "anyone" });
  if ($("desk-kind").value) query.set("kind", $("desk-kind").value);
  if ($("desk-project").value) query.set("project_id", $("desk-project").value);
  const st = $("desk-state").value;
  if (st && st !== "all") query.set("state", st);
  return query;
}

async function loadQueue(more = false) {
  const offset = more ? desk.offset + DESK_PAGE : 0;
  $("desk-error").textContent = "";
  const response = await api(deskUrl(`?${queueQuery(offset)}`));
  if (!response.ok) { $("desk-list").innerHTML = ""; $("desk-more").hidden = true; $("desk-error").textContent = await problemText(response); return; }
  const page = await response.json();
  desk.offset = offset;
  desk.rows = more ? [...desk.rows, ...page] : page;
  $("desk-list").innerHTML = desk.rows.length ? desk.rows.map(queueRow).join("")
    : `<p class="panel muted">${esc(_("No case matches these filters"))}</p>`;
  $("desk-more").hidden = page.length < DESK_PAGE;
}

const deskKindOf = (c) => enumLabel("case_kind", c.kind);
const deskOwnerOf = (c) => (c.owner ? `${c.owner.name} ${c.owner.phone}` : "");
const severityBadge = (c) => (c.severity === "major" ? `<span class="status severity-major">${esc(enumLabel("case_severity", "major"))}</span>` : "");

function queueRow(c) {
  const due = deskDeadline(c);
  const assignee = c.assignee_name || _("Nobody yet");
  return `<a class="panel desk-row ${due.tone}" href="#desk/${c.id}" data-case="${c.id}" data-tone="${due.tone}">
    <div class="row"><strong class="desk-title">${esc(c.title)}</strong>${severityBadge(c)}<span class="due">${esc(due.words)}</span></div>
    <div class="muted desk-meta"><span>${esc(deskKindOf(c))}</span><span class="name">${esc(c.owner ? c.owner.name : "")}</span><span class="phone">${esc(c.owner ? c.owner.phone : "")}</span>${
      c.project_id ? `<span>${esc(projectName(c.project_id))}</span>` : ""}</div>
    <div class="muted desk-meta">${due.at ? `<span class="at">${esc(due.at)}</span>` : ""}<span>${esc(_("Assignee: {name}", { name: assignee }))}</span><span>${esc(enumLabel("case_status", c.status))}</span></div>
  </a>`;
}

// --- a case's page ------------------------------------------------------------------------------

async function loadCase(caseId) {
  const response = await api(deskUrl(`/${caseId}`));
  if (!response.ok) {
    $("desk-case").innerHTML = `<p><a href="#desk">${esc(_("Back to the queue"))}</a></p><p class="error" role="alert">${esc(await problemText(response))}</p>`;
    return;
  }
  const c = await response.json();
  desk.current = c;
  $("desk-case").innerHTML = casePage(c);
  // The owner's context after the case itself: three requests that may each be refused alone.
  const member = c.member_id;
  const [profile, card, points, others] = await Promise.all([
    api(`/api/v1/staff/members/${member}`), api(`/api/v1/staff/members/${member}/card`),
    api(`/api/v1/staff/members/${member}/points?limit=5`), api(deskUrl(`?member_id=${member}&limit=10`)),
  ].map((p) => p.then(async (r) => (r.ok ? r.json() : null)).catch(() => null)));
  if (desk.current !== c) return;  // another case was opened meanwhile
  $("desk-owner").innerHTML = ownerPanel(c, profile, card, points, others);
}

function clockLine(clock) {
  const words = { met: _("met"), missed: _("done late"), running: _("running"), overdue: _("overdue"), not_started: _("not started") }[clock.state];
  const when = clock.done ? I18n.dateTime(clock.done) : clock.due ? I18n.dateTime(clock.due) : "—";
  return `<li class="clock-${clock.state}" data-clock="${clock.name}"><span class="label">${esc(enumLabel("case_clock", clock.name))}</span>
    <span>${esc(clock.due ? I18n.dateTime(clock.due) : "—")}</span><span class="state">${esc(words)}${clock.done ? ` · ${esc(when)}` : ""}</span></li>`;
}

function casePage(c) {
  const due = deskDeadline(c);
  const open = c.status === "open" || c.status === "in_progress";
  const photoUrl = (id) => deskUrl(`/${c.id}/photos/${id}`);
  const photos = c.photo_ids.map((id, i) => `<a href="${photoUrl(id)}" target="_blank" rel="noopener"><img src="${photoUrl(id)}" alt="${esc(_("Photo {number}", { number: i + 1 }))}" data-photo="${id}"></a>`).join("");
  const opener = c.opened_by === "staff" ? _("Written down by customer service for the owner") : _("Owner");
  const message = (who, when, text, staff) => `<div class="desk-msg ${staff ? "staff" : "owner"}"><div class="who">${esc(who)} · ${esc(I18n.dateTime(when))}</div><div class="text">${esc(text)}</div></div>`;
  const thread = [
    message(opener, c.opened_at, c.text, c.opened_by === "staff"),
    photos ? `<div class="desk-thumbs">${photos}</div>` : "",
    ...c.messages.map((m) => message(m.author_kind === "staff" ? _("Customer service") : _("Owner"), m.created_at, m.text, m.author_kind === "staff")),
  ].join("");
  const me = state.me.staff_id;
  const handlers = desk.handlers || [];
  const assignable = handlers.some((h) => h.staff_id === c.assigned_to) || !c.assigned_to ? handlers
    : [...handlers, { staff_id: c.assigned_to, name: c.assignee_name || String(c.assigned_to) }];
  const rating = c.rating ? `<div class="desk-rating"><strong>${esc(_("The owner's rating"))}</strong>
      <div>${esc(_("Satisfaction {score} of 5", { score: I18n.number(c.rating.satisfaction) }))}${c.rating.recommend !== null ? ` · ${esc(_("Would recommend us: {score} of 10", { score: I18n.number(c.rating.recommend) }))}` : ""}</div>
      ${c.rating.comment ? `<div>${esc(c.rating.comment)}</div>` : ""}</div>`
    : c.status === "resolved" || c.status === "followed_up" ? `<p class="muted">${esc(_("The owner has not rated the handling yet"))}</p>` : "";
  return `<p class="desk-back"><a href="#desk">${esc(_("Back to the queue"))}</a></p>
    <div class="panel desk-head ${due.tone}" data-tone="${due.tone}">
      <div class="row"><h2>${esc(c.title)}</h2><span class="status" data-status="${esc(c.status)}">${esc(enumLabel("case_status", c.status))}</span></div>
      <div class="muted desk-meta"><span>${esc(deskKindOf(c))}</span><span>${esc(_("Severity: {severity}", { severity: enumLabel("case_severity", c.severity) }))}</span>${
        c.project_id ? `<span>${esc(projectName(c.project_id))}</span>` : ""}<span>${esc(_("Assignee: {name}", { name: c.assignee_name || _("Nobody yet") }))}</span></div>
      ${due.at ? `<div class="due">${esc(due.words)}</div>` : ""}
      <ul class="desk-clocks">${c.clocks.map(clockLine).join("")}</ul>
    </div>
    <div class="desk-grid">
      <div class="desk-main">
        <div class="panel"><h3>${esc(_("Conversation"))}</h3><div class="desk-thread">${thread}</div>
          ${open ? `<label for="desk-reply">${esc(_("Reply to the owner"))}</label><textarea id="desk-reply" rows="3" maxlength="5000"></textarea>
          <div class="row desk-actions"><span class="muted">${esc(_("Sent in the owner's language; the owner's app shows it"))}</span><button type="button" id="desk-send">${esc(_("Send the reply"))}</button></div>` : ""}
          <p class="error" id="desk-case-error" role="alert"></p>
        </div>
        ${c.result ? `<div class="panel"><h3>${esc(_("The result"))}</h3><p class="desk-text">${esc(c.result)}</p>${
          c.follow_up_note ? `<h3>${esc(_("Follow-up call"))}</h3><p class="desk-text">${esc(c.follow_up_note)}</p>` : ""}${rating}</div>` : ""}
        ${open ? `<div class="panel"><h3>${esc(_("Record the result"))}</h3><textarea id="desk-result" rows="3" maxlength="5000" aria-label="${esc(_("Record the result"))}"></textarea>
          <div class="row desk-actions"><span class="muted">${esc(_("The owner is told the result and asked to rate the handling"))}</span><button type="button" class="danger" id="desk-resolve">${esc(_("Resolve"))}</button></div></div>` : ""}
        ${c.status === "resolved" ? `<div class="panel"><h3>${esc(_("Follow-up call"))}</h3><textarea id="desk-follow-up" rows="2" maxlength="2000" aria-label="${esc(_("What the owner said on the call"))}" placeholder="${esc(_("What the owner said on the call"))}"></textarea>
          <div class="row desk-actions"><span class="muted">${esc(_("Recording the call closes the case"))}</span><button type="button" class="danger" id="desk-followed-up">${esc(_("Record the call"))}</button></div></div>` : ""}
      </div>
      <div class="desk-side">
        <div class="panel desk-handle"><h3>${esc(_("Handling"))}</h3>
          <label for="desk-assign-to">${esc(_("Assignee"))}</label>
          <div class="desk-inline"><select id="desk-assign-to">${c.assigned_to ? "" : deskOption("", _("Nobody yet"), "")}${assignable.map((h) => deskOption(h.staff_id, h.staff_id === me ? _("{name} (me)", { name: h.name }) : h.name, c.assigned_to || "")).join("")}</select>
            <button type="button" class="secondary" id="desk-assign">${esc(_("Assign"))}</button></div>
          ${c.assigned_to === me ? "" : `<button type="button" class="secondary" id="desk-take">${esc(_("Assign to me"))}</button>`}
          <label for="desk-severity">${esc(_("Severity"))}</label>
          <div class="desk-inline"><select id="desk-severity">${["normal", "major"].map((s) => deskOption(s, enumLabel("case_severity", s), c.severity)).join("")}</select>
            <button type="button" class="secondary" id="desk-set-severity">${esc(_("Save"))}</button></div>
        </div>
        <div class="panel" id="desk-owner"><h3>${esc(_("The owner"))}</h3><p class="muted">${esc(deskOwnerOf(c))}</p></div>
      </div>
    </div>`;
}

function ownerPanel(c, profile, card, points, others) {
  const lines = [`<h3>${esc(_("The owner"))}</h3>`,
    `<div class="row"><strong class="name">${esc(c.owner ? c.owner.name : "")}</strong><span class="phone">${esc(c.owner ? c.owner.phone : "")}</span></div>`];
  if (card && card.card) lines.push(`<div class="muted">${esc(_("{tier} card", { tier: card.card.tier_label }))}${profile ? ` · ${esc(profile.stage_label)}` : ""}</div>`);
  else if (profile) lines.push(`<div class="muted">${esc(profile.stage_label)}</div>`);
  if (profile && profile.units.length) {
    // Phase and building are written as the developer names them (3期, 9幢): in English the room alone.
    const unitName = (u) => (english() ? `${u.project_name_en || u.project_name} · ${u.room}` : `${u.project_name} ${[u.phase, u.building, u.room].filter(Boolean).join("-")}`);
    lines.push(`<h4>${esc(_("Units"))}</h4><ul class="desk-list">${profile.units.map((u) => `<li>${esc(unitName(u))}</li>`).join("")}</ul>`);
  }
  const rest = (others || []).filter((o) => o.id !== c.id);
  lines.push(`<h4>${esc(_("Other cases"))}</h4>`, rest.length
    ? `<ul class="desk-list">${rest.map((o) => `<li><a href="#desk/${o.id}">${esc(o.title)}</a> <span class="muted">${esc(enumLabel("case_status", o.status))} · ${esc(I18n.date(o.opened_at))}</span></li>`).join("")}</ul>`
    : `<p class="muted">${esc(_("None"))}</p>`);
  if (points) {
    const delta = (e) => e.available_delta + e.pending_delta;
    lines.push(`<h4>${esc(_("Points: {points} available", { points: I18n.number(points.balance.available) }))}</h4>`, points.entries.length
      ? `<ul class="desk-list">${points.entries.slice(0, 5).map((e) => `<li><span class="${delta(e) >= 0 ? "plus" : "minus"}">${esc(new Intl.NumberFormat(I18n.locale, { signDisplay: "exceptZero" }).format(delta(e)))}</span> ${esc(e.description || enumLabel("ledger_entry_kind", e.kind))} <span class="muted">${esc(I18n.date(e.created_at))}</span></li>`).join("")}</ul>`
      : `<p class="muted">${esc(_("No points entries yet"))}</p>`);
  }
  return lines.join("");
}

// --- what the desk does to a case -----------------------------------------------------------------

// One action: ask first when `question` is given (what cannot be undone), send, then show the case afresh.
async function deskAct(path, body, question = null) {
  const c = desk.current;
  if (!c || desk.busy) return;
  if (question && !(await Confirm.ask(question))) return;
  desk.busy = true;  // one action at a time: a second tap while one is on its way does nothing
  let response;
  try {
    response = await api(deskUrl(`/${c.id}${path}`), { method: "POST", body: JSON.stringify(body) });
  } finally {
    desk.busy = false;
  }
  if (!response.ok) { $("desk-case-error").textContent = await problemText(response); return; }
  await loadCase(c.id);
}

function deskNeedsText(id) {
  const text = $(id).value.trim();
  if (!text) { $("desk-case-error").textContent = _("Please write something first"); $(id).focus(); }
  return text;
}

async function deskClick(target) {
  const c = desk.current;
  if (!c) return;
  const owner = c.owner ? c.owner.name : "";
  if (target.id === "desk-send") {
    const text = deskNeedsText("desk-reply");
    if (text) {
      await deskAct("/messages", { text }, {
        title: _("Send this reply to {name}?", { name: owner }),
        lines: [_("The owner is told at once, in their own language, and sees it in the app. A sent reply cannot be taken back.")],
        yes: _("Send the reply"), no: _("Go back"),
      });
    }
  } else if (target.id === "desk-resolve") {
    const result = deskNeedsText("desk-result");
    if (result) {
      await deskAct("/resolution", { result }, {
        title: _("Resolve “{title}”?", { title: c.title }),
        lines: [_("The owner is told the result and asked to rate the handling; the follow-up call is then due within 24 hours."),
          _("A resolved case takes no more messages.")],
        yes: _("Resolve"), no: _("Go back"),
      });
    }
  } else if (target.id === "desk-followed-up") {
    const note = deskNeedsText("desk-follow-up");
    if (note) {
      await deskAct("/follow-up", { note }, {
        title: _("Record the follow-up call with {name}?", { name: owner }),
        lines: [_("This closes the case for good.")],
        yes: _("Record the call"), no: _("Go back"),
      });
    }
  } else if (target.id === "desk-assign" && $("desk-assign-to").value) {
    await deskAct("/assignment", { staff_id: Number($("desk-assign-to").value) });
  } else if (target.id === "desk-take") {
    await deskAct("/assignment", { staff_id: state.me.staff_id });
  } else if (target.id === "desk-set-severity") {
    await deskAct("/severity", { severity: $("desk-severity").value });
  }
}

$("desk-case").addEventListener("click", (e) => { if (e.target.closest("button")) deskClick(e.target.closest("button")); });
["desk-kind", "desk-project", "desk-assignee", "desk-state"].forEach((id) => $(id).addEventListener("change", () => loadQueue()));
$("desk-reload").addEventListener("click", () => loadQueue());
$("desk-more").addEventListener("click", () => loadQueue(true));

defineView("desk", ["service"], loadDesk);
