// Events and seasonal programs (event staff and admins): every event from yesterday on, drafts
// included, with its status, Beijing times, seats taken of capacity and the fee of each tier in
// 元; a new event (made a draft); publish and cancel after a question that says what happens; a
// program and its sessions; a recurring series (a quarterly meetup, or gatherings on the
// festivals of a year, dated by the lunar calendar on the server) previewed, trimmed and created
// as drafts all at once. Refusals go next to the field the server names.
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `english`, `titleOf`, `loadProjectList`, `projectName`, `TIERS`.
"use strict";

const EventsPage = (() => {
  const KINDS = ["club_activity", "owner_meetup", "festival_gathering", "site_open_day", "decoration_seminar", "other"];
  const FESTIVALS = ["spring_festival", "lantern", "dragon_boat", "qixi", "mid_autumn", "double_ninth"];
  const my = { events: [], programs: [], sessions: [], notice: null, busy: false };

  const programTitle = (id) => { const p = my.programs.find((x) => x.id === id); return p ? titleOf(p) : ""; };
  const yuan = (fen) => I18n.money(fen, { compact: false });
  const beijingNow = () => new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16);  // for datetime-local
  const beijingIso = (local) => (local ? `${local}:00+08:00` : "");
  const option = (value, words, chosen) => `<option value="${esc(value)}"${String(value) === String(chosen ?? "") ? " selected" : ""}>${esc(words)}</option>`;

  // --- the list -----------------------------------------------------------------------------------

  async function load() {
    await loadProjectList();
    $("ev-notice").textContent = my.notice ? my.notice() : "";
    $("ev-error").textContent = "";
    const [events, programs] = await Promise.all([api("/api/v1/staff/events"), api("/api/v1/staff/programs")]);
    if (!events.ok) { $("ev-error").textContent = await problemText(events); return; }
    my.events = await events.json();
    my.programs = programs.ok ? await programs.json() : [];
    relabel();
    $("ev-list").innerHTML = my.events.length ? my.events.map(item).join("") : `<p class="panel muted">${esc(_("No events yet"))}</p>`;
    $("ev-programs").innerHTML = my.programs.length ? my.programs.map(programItem).join("") : `<p class="panel muted">${esc(_("No programs yet"))}</p>`;
  }

  function whoMay(e) {
    const said = [];
    const list = (words) => new Intl.ListFormat(I18n.locale, { type: "disjunction" }).format(words);
    if (e.eligible_tiers.length) said.push(list(e.eligible_tiers.map((t) => enumLabel("tier", t))));
    if (e.eligible_project_ids.length) said.push(list(e.eligible_project_ids.map((p) => projectName(p, String(p)))));
    return said.length ? said.join(" · ") : _("Every member");
  }

  function item(e) {
    const fees = TIERS.map((t) => {
      const fen = e[`fee_${t}_fen`];
      return `<span class="cat-price" data-fee="${t}"><span class="tier">${esc(enumLabel("tier", t))}</span> ${esc(fen ? yuan(fen) : _("free"))}</span>`;
    }).join("");
    const act = (what, words, cls = "secondary") => `<button class="${cls}" type="button" data-ev="${what}" data-id="${e.id}">${esc(words)}</button>`;
    const buttons = [
      e.status === "draft" ? act("publish", _("Publish"), "") : "",
      e.status !== "cancelled" ? act("cancel", _("Cancel the event"), "danger") : "",
    ].join("");
    const program = e.program_id ? ` · <span class="ev-program-name">${esc(_("Program: {title}", { title: programTitle(e.program_id) }))}</span>` : "";
    return `<div class="panel cat-item ev-item" data-event="${e.id}">
      <div class="cat-body">
        <div class="row"><strong class="cat-name ev-title">${esc(titleOf(e))}</strong><span class="status" data-status="${esc(e.status)}">${esc(enumLabel("event_status", e.status))}</span></div>
        <div class="muted"><span class="ev-kind">${esc(enumLabel("event_kind", e.kind))}</span>${program}</div>
        <div class="ev-when">${esc(_("{start} to {end}", { start: I18n.dateTime(e.starts_at), end: I18n.timeOfDay(e.ends_at) }))}${e.venue ? ` · ${esc(e.venue)}` : ""}</div>
        <div class="ev-seats">${esc(_("{taken} of {capacity} seats taken", { taken: I18n.number(e.seats_taken), capacity: I18n.number(e.capacity) }))}</div>
        <div class="cat-prices-line">${fees}</div>
        <div class="muted ev-who">${esc(_("Open to: {who}", { who: whoMay(e) }))}</div>
        <div class="row cat-actions">${buttons}</div>
      </div>
    </div>`;
  }

  function programItem(p) {
    const own = my.events.filter((e) => e.program_id === p.id);
    const when = p.starts_at ? _("{first} to {last}", { first: I18n.date(p.starts_at), last: I18n.date(p.ends_at) }) : _("No sessions yet");
    const sessions = own.map((e) => `<li>${esc(I18n.dateTime(e.starts_at))} ${esc(titleOf(e))} <span class="status" data-status="${esc(e.status)}">${esc(enumLabel("event_status", e.status))}</span></li>`).join("");
    return `<div class="panel ev-program" data-program="${p.id}">
      <div class="row"><strong>${esc(titleOf(p))}</strong><span class="muted">${esc(when)}</span></div>
      ${p.project_id ? `<div class="muted">${esc(projectName(p.project_id))}</div>` : ""}
      ${sessions ? `<ul class="ev-program-sessions">${sessions}</ul>` : ""}
      <div class="row cat-actions">
        <button class="secondary" type="button" data-ev="add-session" data-id="${p.id}">${esc(_("Add a session"))}</button>
        <button class="secondary" type="button" data-ev="add-series" data-id="${p.id}">${esc(_("Add a recurring series"))}</button>
      </div>
    </div>`;
  }

  // The choices of the open forms, in the reader's language, as they were chosen.
  function relabel() {
    const keep = (id) => $(id).value;
    const programs = (id) => { const v = keep(id); $(id).innerHTML = option("", _("No program"), v) + my.programs.map((p) => option(p.id, titleOf(p), v)).join(""); };
    for (const id of ["ev-kind", "se-kind"]) { const v = keep(id); $(id).innerHTML = KINDS.map((k) => option(k, enumLabel("event_kind", k), v)).join(""); }
    programs("ev-program"); programs("se-program");
    const project = keep("pr-project");
    $("pr-project").innerHTML = option("", _("All projects"), project) + (state.projects || []).map((p) => option(p.id, projectName(p.id), project)).join("");
    const pattern = keep("se-pattern") || "quarterly";
    $("se-pattern").innerHTML = option("quarterly", _("Every quarter (owner meetup)"), pattern) + option("festivals", _("On festivals (festival gathering)"), pattern);
    const month = keep("se-month") || "2";
    $("se-month").innerHTML = [1, 2, 3].map((m) => option(m, [_("First month"), _("Second month"), _("Third month")][m - 1], month)).join("");
    const week = keep("se-week") || "3";
    $("se-week").innerHTML = [1, 2, 3, 4, 5].map((w) => option(w, [_("The first"), _("The second"), _("The third"), _("The fourth"), _("The last")][w - 1], week)).join("");
    const weekday = keep("se-weekday") || "5";
    const dayName = (d) => new Intl.DateTimeFormat(I18n.locale, { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + d)));  // 2024-01-01 is a Monday
    $("se-weekday").innerHTML = [0, 1, 2, 3, 4, 5, 6].map((d) => option(d, dayName(d), weekday)).join("");
    for (const prefix of ["ev", "se"]) {
      picks(`${prefix}-tiers`, TIERS, (t) => enumLabel("tier", t), picked(`${prefix}-tiers`));
      picks(`${prefix}-projects`, (state.projects || []).map((p) => p.id), (id) => projectName(id), picked(`${prefix}-projects`));
      fees(`${prefix}-fees`);
    }
    picks("se-quarters", [1, 2, 3, 4], (q) => _("Quarter {n}", { n: q }), $("se-quarters").children.length ? picked("se-quarters") : ["1", "2", "3", "4"]);
    picks("se-festivals", FESTIVALS, (f) => enumLabel("festival", f), picked("se-festivals"));
    showPattern();
    if (!$("se-sessions").hidden) showSessions();
  }

  function picks(box, values, label, chosen = []) {
    $(box).innerHTML = values.map((v) => `<label class="pick"><input type="checkbox" value="${esc(v)}"${chosen.map(String).includes(String(v)) ? " checked" : ""}> ${esc(label(v))}</label>`).join("");
  }
  const picked = (box) => [...$(box).querySelectorAll("input:checked")].map((i) => i.value);

  function fees(box) {
    const was = Object.fromEntries([...$(box).querySelectorAll("input[data-fee]")].map((i) => [i.dataset.fee, i.value]));
    $(box).innerHTML = TIERS.map((t) => `<div class="ev-fee"><label for="${box}-${t}">${esc(enumLabel("tier", t))}</label>
      <input id="${box}-${t}" data-fee="${t}" type="number" min="0" step="0.01" inputmode="decimal" value="${esc(was[t] ?? "0")}">
      <p class="field-error" data-error="fee_${t}_fen"></p></div>`).join("");
  }
  // 元 typed, fen sent: NaN (not a number, below 0, more than 2 decimals) is said next to the field.
  function feesOf(box) {
    const out = {};
    for (const t of TIERS) {
      const text = $(box).querySelector(`[data-fee="${t}"]`).value.trim();
      out[`fee_${t}_fen`] = text === "" ? 0 : /^\d+(\.\d{1,2})?$/.test(text) ? Math.round(Number(text) * 100) : NaN;
    }
    return out;
  }

  function clearErrors(root) { root.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; }); }
  function say(root, field, words) { const slot = root.querySelector(`[data-error="${field}"]`); if (slot) slot.textContent = words; return 1; }

  // The server's refusal next to the field it names (errors[].field; `festivals[0]` goes under the festivals).
  async function placeRefusal(response, root, fallback) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not a problem document */ }
    let placed = 0;
    for (const e of problem.errors || []) {
      const field = String(e.field || "");
      const slot = root.querySelector(`[data-error="${CSS.escape(field)}"]`) || root.querySelector(`[data-error="${CSS.escape(field.split(/[.[]/)[0])}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $(fallback).textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  function showOnly(formId) {
    for (const id of ["ev-form", "ev-series", "ev-program-form"]) $(id).hidden = id !== formId;
    if (formId) {
      const form = $(formId);
      clearErrors(form);
      form.querySelectorAll(".error").forEach((el) => { el.textContent = ""; });
      form.scrollIntoView({ block: "start" });
    }
  }

  // --- a new event ---------------------------------------------------------------------------------

  function openEvent(programId = "") {
    showOnly("ev-form");
    for (const id of ["ev-title-zh", "ev-title-en", "ev-body-zh", "ev-body-en", "ev-venue", "ev-starts", "ev-ends"]) $(id).value = "";
    $("ev-kind").value = "club_activity";
    $("ev-program").value = String(programId);
    $("ev-starts").min = beijingNow();
    $("ev-title-zh").focus({ preventScroll: true });
  }

  function eventBody() {
    const starts = beijingIso($("ev-starts").value), ends = beijingIso($("ev-ends").value);
    const start = new Date(starts);
    return {
      kind: $("ev-kind").value, title_zh: $("ev-title-zh").value.trim(), title_en: $("ev-title-en").value.trim(),
      body_zh: $("ev-body-zh").value.trim(), body_en: $("ev-body-en").value.trim(), venue: $("ev-venue").value.trim(),
      starts_at: starts, ends_at: ends,
      signup_opens_at: new Date().toISOString(), signup_closes_at: starts,
      cancel_deadline: starts ? new Date(Math.max(start.getTime() - 24 * 3600 * 1000, Date.now())).toISOString() : "",
      capacity: Number($("ev-capacity").value), party_size_limit: Number($("ev-party").value), attendance_points: Number($("ev-points").value || 0),
      program_id: $("ev-program").value ? Number($("ev-program").value) : null,
      eligible_tiers: picked("ev-tiers"), eligible_project_ids: picked("ev-projects").map(Number),
      ...feesOf("ev-fees"), status: "draft",
    };
  }

  // What the page can tell before asking the server.
  function obvious(root, body, fields) {
    let found = 0;
    if (!body.title_zh) found += say(root, "title_zh", _("A Chinese title is required"));
    for (const [field, words] of fields) if (!body[field]) found += say(root, field, words);
    for (const t of TIERS) if (Number.isNaN(body[`fee_${t}_fen`])) found += say(root, `fee_${t}_fen`, _("Write the fee in yuan, e.g. 30 or 12.50"));
    for (const field of ["capacity", "party_size_limit", "attendance_points", "duration_minutes", "signup_opens_days_before", "year"]) {
      if (field in body && !Number.isInteger(body[field])) found += say(root, field, _("Write a whole number"));
    }
    return found;
  }

  async function saveEvent(submitted) {
    submitted.preventDefault();
    const form = $("ev-form");
    clearErrors(form); $("ev-form-error").textContent = "";
    const body = eventBody();
    if (obvious(form, body, [["starts_at", _("Choose when it starts")], ["ends_at", _("Choose when it ends")]])) return;
    $("ev-save").disabled = true;
    try {
      const response = await api("/api/v1/staff/events", { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) { await placeRefusal(response, form, "ev-form-error"); return; }
      form.hidden = true;
      const title = english() && body.title_en ? body.title_en : body.title_zh;
      my.notice = () => _("“{title}” is created as a draft: publish it when it is ready", { title });
      await load();
    } finally {
      $("ev-save").disabled = false;
    }
  }

  // --- a program ----------------------------------------------------------------------------------

  function openProgram() {
    showOnly("ev-program-form");
    for (const id of ["pr-title-zh", "pr-title-en", "pr-body-zh", "pr-body-en"]) $(id).value = "";
    $("pr-project").value = "";
    $("pr-title-zh").focus({ preventScroll: true });
  }

  async function saveProgram(submitted) {
    submitted.preventDefault();
    const form = $("ev-program-form");
    clearErrors(form); $("pr-form-error").textContent = "";
    const body = {
      title_zh: $("pr-title-zh").value.trim(), title_en: $("pr-title-en").value.trim(), body_zh: $("pr-body-zh").value.trim(),
      body_en: $("pr-body-en").value.trim(), project_id: $("pr-project").value ? Number($("pr-project").value) : null,
    };
    if (obvious(form, body, [])) return;
    const response = await api("/api/v1/staff/programs", { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, form, "pr-form-error"); return; }
    form.hidden = true;
    const title = english() && body.title_en ? body.title_en : body.title_zh;
    my.notice = () => _("Program “{title}” is created: add its sessions", { title });
    await load();
  }

  // --- a recurring series -------------------------------------------------------------------------

  function showPattern() {
    const festivals = $("se-pattern").value === "festivals";
    $("se-quarterly").hidden = festivals;
    $("se-festival-box").hidden = !festivals;
  }

  function openSeries(programId = "") {
    showOnly("ev-series");
    $("se-year").value = String(new Date().getFullYear() + 1);
    $("se-pattern").value = "quarterly"; $("se-kind").value = "owner_meetup";
    $("se-program").value = String(programId);
    for (const id of ["se-title-zh", "se-title-en", "se-body-zh", "se-body-en", "se-venue"]) $(id).value = "";
    $("se-sessions").hidden = true;
    showPattern();
    $("se-title-zh").focus({ preventScroll: true });
  }

  function seriesBody() {
    const festivals = $("se-pattern").value === "festivals";
    return {
      pattern: $("se-pattern").value, year: Number($("se-year").value), kind: $("se-kind").value,
      title_zh: $("se-title-zh").value.trim(), title_en: $("se-title-en").value.trim(),
      body_zh: $("se-body-zh").value.trim(), body_en: $("se-body-en").value.trim(), venue: $("se-venue").value.trim(),
      start_time: $("se-time").value, duration_minutes: Number($("se-duration").value), capacity: Number($("se-capacity").value),
      party_size_limit: Number($("se-party").value), signup_opens_days_before: Number($("se-opens").value),
      program_id: $("se-program").value ? Number($("se-program").value) : null,
      eligible_tiers: picked("se-tiers"), eligible_project_ids: picked("se-projects").map(Number), ...feesOf("se-fees"),
      ...(festivals ? { festivals: picked("se-festivals") } : {
        quarters: picked("se-quarters").map(Number), month_of_quarter: Number($("se-month").value),
        week: Number($("se-week").value), weekday: Number($("se-weekday").value),
      }),
    };
  }

  async function previewSeries(submitted) {
    submitted.preventDefault();
    const form = $("ev-series");
    clearErrors(form); $("se-form-error").textContent = "";
    $("se-sessions").hidden = true;
    const body = seriesBody();
    if (obvious(form, body, [["start_time", _("Choose the time it starts")]])) return;
    const response = await api("/api/v1/staff/events/series/preview", { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, form, "se-form-error"); return; }
    my.sessions = await response.json();
    my.seriesBody = body;
    showSessions(true);
  }

  function showSessions(fresh = false) {
    const kept = fresh ? my.sessions.map((s) => s.key) : picked("se-session-list");
    $("se-session-list").innerHTML = my.sessions.map((s) => {
      const title = english() && s.title_en ? s.title_en : s.title_zh;
      const what = s.festival ? enumLabel("festival", s.festival) : _("Quarter {n}", { n: s.quarter });
      return `<label class="pick ev-session" data-session="${esc(s.key)}"><input type="checkbox" value="${esc(s.key)}"${kept.includes(s.key) ? " checked" : ""}>
        <span><strong>${esc(what)}</strong> · ${esc(I18n.dateTime(s.starts_at))}–${esc(I18n.timeOfDay(s.ends_at))}<br><span class="muted">${esc(title)}</span></span></label>`;
    }).join("");
    $("se-sessions").hidden = false;
    countKept();
    if (fresh) $("se-sessions").scrollIntoView({ block: "nearest" });
  }

  function countKept() {
    const n = picked("se-session-list").length;
    $("se-create").textContent = _n("Create {count} draft event", "Create {count} draft events", n);
    $("se-create").disabled = n === 0;
  }

  // An edit after the preview makes it stale: the sessions go until they are previewed again, so
  // what is created is what was shown.
  function staleSeries(change) {
    if ($("se-session-list").contains(change.target)) return;
    $("se-sessions").hidden = true; my.seriesBody = null;
  }

  async function createSeries() {
    if (my.busy) return;
    const form = $("ev-series");
    clearErrors(form); $("se-form-error").textContent = "";
    if (!my.seriesBody || JSON.stringify(seriesBody()) !== JSON.stringify(my.seriesBody)) {
      $("se-sessions").hidden = true;
      $("se-form-error").textContent = _("The form has changed since the preview: preview the sessions again");
      return;
    }
    const keep = picked("se-session-list");
    my.busy = true; $("se-create").disabled = true;
    try {
      const response = await api("/api/v1/staff/events/series", { method: "POST", body: JSON.stringify({ ...my.seriesBody, keep }) });
      if (!response.ok) { await placeRefusal(response, form, "se-form-error"); return; }
      const { ids } = await response.json();
      form.hidden = true;
      my.notice = () => _n("{count} session is created as a draft: publish each when it is ready",
        "{count} sessions are created as drafts: publish each when it is ready", ids.length);
      await load();
    } finally {
      my.busy = false; countKept();
    }
  }

  // --- publish, cancel ------------------------------------------------------------------------------

  async function act(what, id) {
    if (what === "add-session") { openEvent(id); return; }
    if (what === "add-series") { openSeries(id); return; }
    const e = my.events.find((x) => String(x.id) === String(id));
    if (!e) return;
    const title = titleOf(e);
    let question;
    if (what === "publish") {
      question = {
        title: _("Publish “{title}”?", { title }),
        lines: [_("Owners it is open to see it in their events from now on and can sign up while sign-up is open."),
          _("It starts {start}.", { start: I18n.dateTime(e.starts_at) })],
        yes: _("Publish"), no: _("Go back"),
      };
    } else {
      question = {
        title: _("Cancel “{title}”?", { title }),
        lines: [
          e.live_signups ? _n("{count} signup is cancelled, and the owners' seats and waitlist places go.",
            "{count} signups are cancelled, and the owners' seats and waitlist places go.", e.live_signups) : _("Nobody has signed up yet."),
          e.paid_signups ? _n("{count} paid signup is refunded in full.", "{count} paid signups are refunded in full.", e.paid_signups) : "",
          _("A cancelled event cannot be published again."),
        ],
        reason: { label: _("Why is it cancelled? (at least 2 characters)"), minLength: 2 },
        yes: _("Cancel the event"), no: _("Go back"),
      };
    }
    const answer = await Confirm.ask(question);
    if (!answer) return;
    $("ev-error").textContent = "";
    const response = what === "publish"
      ? await api(`/api/v1/staff/events/${id}/publication`, { method: "POST" })
      : await api(`/api/v1/staff/events/${id}/cancellation`, { method: "POST", body: JSON.stringify({ reason: answer.reason }) });
    if (!response.ok) { $("ev-error").textContent = await problemText(response); return; }
    my.notice = what === "publish" ? () => _("“{title}” is published", { title }) : () => _("“{title}” is cancelled", { title });
    await load();
  }

  // --- wiring ---------------------------------------------------------------------------------------

  $("ev-new").addEventListener("click", () => openEvent());
  $("ev-new-series").addEventListener("click", () => openSeries());
  $("ev-new-program").addEventListener("click", openProgram);
  $("ev-reload").addEventListener("click", () => { my.notice = null; load(); });
  $("ev-form").addEventListener("submit", saveEvent);
  $("ev-form-back").addEventListener("click", () => { $("ev-form").hidden = true; });
  $("ev-program-form").addEventListener("submit", saveProgram);
  $("pr-back").addEventListener("click", () => { $("ev-program-form").hidden = true; });
  $("ev-series").addEventListener("submit", previewSeries);
  $("se-back").addEventListener("click", () => { $("ev-series").hidden = true; });
  $("se-create").addEventListener("click", createSeries);
  $("se-pattern").addEventListener("change", () => {
    showPattern();
    $("se-kind").value = $("se-pattern").value === "festivals" ? "festival_gathering" : "owner_meetup";
    $("se-sessions").hidden = true;
  });
  $("se-session-list").addEventListener("change", countKept);
  $("ev-series").addEventListener("input", staleSeries);
  $("ev-series").addEventListener("change", staleSeries);
  $("view-events").addEventListener("click", (click) => {
    const button = click.target.closest("[data-ev]");
    if (button) act(button.dataset.ev, button.dataset.id);
  });

  return { load };
})();

defineView("events", ["event_staff"], () => EventsPage.load());
