// Messages to a group of owners (admins): the segment (projects by name, buildings, tiers and stages
// in words, birthday month, no message from us for N months, came to club events or not) with its
// live count, the title and text in Chinese and English with what owners will read in each, now or
// later (Beijing time), and a confirmation naming the count before anything goes out; then the
// list of messages with their status and delivery stats, a scheduled one cancelled after a
// confirmation. Uses staff.js's `$`, `api`, `esc`, `problemText`, `loadProjectList`, `projectName`.
"use strict";

const BC_KINDS = ["bulletin", "activity_news", "greeting"];
const BC_STAGES = ["pre_owner", "settling", "stable", "veteran", "prospect"];
const bc = { rows: [], counted: null, countTimer: null, counting: 0, busy: false, pollTimer: null };
// A month's name alone (六月 / June): birthdays have no year.
const monthName = (m) => new Intl.DateTimeFormat(I18n.locale, { month: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2026, m - 1, 15)));

async function loadMessages() {
  if (!$("bc-kind").options.length) await buildMessageForm();
  await Promise.all([countSegment(), loadBroadcasts()]);
}

function choices(name, values, label) {
  return values.map((v) => `<label class="bc-check"><input type="checkbox" name="${name}" value="${esc(v)}"> <span>${esc(label(v))}</span></label>`).join("");
}

async function buildMessageForm() {
  $("bc-kind").innerHTML = BC_KINDS.map((k) => `<option value="${k}">${esc(enumLabel("broadcast_kind", k))}</option>`).join("");
  const projects = await loadProjectList();
  $("bc-projects").innerHTML = projects.length ? choices("bc-project", projects.map((p) => p.id), (id) => projectName(id))
    : `<span class="muted">${esc(_("No projects yet"))}</span>`;
  $("bc-tiers").innerHTML = choices("bc-tier", TIERS, (t) => enumLabel("tier", t));
  $("bc-stages").innerHTML = choices("bc-stage", BC_STAGES, (s) => enumLabel("owner_stage", s));
  $("bc-birthday").innerHTML = `<option value="">${esc(_("Any month"))}</option>` +
    Array.from({ length: 12 }, (_unused, i) => `<option value="${i + 1}">${esc(monthName(i + 1))}</option>`).join("");
  $("bc-attended").innerHTML = [["", _("Whether or not they came")], ["yes", _("Came to an event")], ["no", _("Came to none")]]
    .map(([v, words]) => `<option value="${v}">${esc(words)}</option>`).join("");
  previewMessage();
}

const checked = (name) => [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

function segmentOf() {
  const segment = {
    project_ids: checked("bc-project").map(Number), tiers: checked("bc-tier"), stages: checked("bc-stage"),
    buildings: $("bc-buildings").value.split(/[,，、\s]+/).map((b) => b.trim()).filter(Boolean),
  };
  if ($("bc-birthday").value) segment.birthday_month = Number($("bc-birthday").value);
  if ($("bc-no-contact").value !== "") segment.no_contact_months = Number($("bc-no-contact").value);
  const attended = $("bc-attended").value;
  if (attended) {
    segment.attended = attended === "yes";
    if ($("bc-attended-from").value) segment.attended_from = $("bc-attended-from").value;
    if ($("bc-attended-to").value) segment.attended_to = $("bc-attended-to").value;
  }
  return segment;
}

function countWords(c) {
  const values = { count: I18n.number(c.reachable), opted: I18n.number(c.opted_out) };
  return c.opted_out
    ? _n("Will be sent to {count} owner ({opted} more unsubscribed)", "Will be sent to {count} owners ({opted} more unsubscribed)", c.reachable, values)
    : _n("Will be sent to {count} owner", "Will be sent to {count} owners", c.reachable, values);
}

// The count follows every change, a moment after the last one (typing a number of months).
function countSoon() { clearTimeout(bc.countTimer); bc.countTimer = setTimeout(countSegment, 250); }

async function countSegment() {
  const mine = ++bc.counting;
  const response = await api("/api/v1/staff/broadcasts/count", {
    method: "POST", body: JSON.stringify({ kind: $("bc-kind").value, segment: segmentOf() }),
  });
  if (mine !== bc.counting) return;  // a later change is being counted
  const line = $("bc-count");
  if (!response.ok) { bc.counted = null; line.className = "bc-count error"; line.textContent = await problemText(response); return; }
  bc.counted = await response.json();
  line.className = "bc-count";
  line.textContent = countWords(bc.counted);
}

function previewMessage() {
  const zhTitle = $("bc-title-zh").value.trim(), zhBody = $("bc-body-zh").value.trim();
  const blank = _("(not written yet)");
  $("bc-preview-zh-title").textContent = zhTitle || blank;
  $("bc-preview-zh-body").textContent = zhBody || blank;
  $("bc-preview-en-title").textContent = $("bc-title-en").value.trim() || zhTitle || blank;
  $("bc-preview-en-body").textContent = $("bc-body-en").value.trim() || zhBody || blank;
}

// `2026-06-15T18:00` typed on the page is Beijing wall-clock time, wherever the browser is.
const beijing = (local) => `${local.length === 16 ? `${local}:00` : local}+08:00`;

async function sendMessage(event) {
  event.preventDefault();
  if (bc.busy) return;
  const later = document.querySelector('input[name="bc-when"]:checked').value === "later";
  const body = {
    kind: $("bc-kind").value, segment: segmentOf(), title_zh: $("bc-title-zh").value, body_zh: $("bc-body-zh").value,
    title_en: $("bc-title-en").value, body_en: $("bc-body-en").value,
  };
  $("bc-error").textContent = "";
  if (later) {
    if (!$("bc-send-at").value) { $("bc-error").textContent = _("Choose when to send it"); $("bc-send-at").focus(); return; }
    body.send_at = beijing($("bc-send-at").value);
  }
  bc.busy = true;
  try {
    // Written as a draft first (the server checks every field), then the question, then sent.
    const made = await api("/api/v1/staff/broadcasts", { method: "POST", body: JSON.stringify(body) });
    if (!made.ok) { $("bc-error").textContent = await problemText(made); return; }  // nothing was written
    const draft = await made.json();
    // The count of exactly what was written (the form may have moved on since the last count).
    const counted = await api("/api/v1/staff/broadcasts/count", {
      method: "POST", body: JSON.stringify({ kind: draft.kind, segment: draft.segment }),
    });
    if (!counted.ok) { $("bc-error").textContent = await problemText(counted); return; }
    const c = await counted.json();
    const title = english() && draft.title_en ? draft.title_en : draft.title_zh;
    const asked = await Confirm.ask({
      title: later
        ? _n("Schedule “{title}” for {count} owner?", "Schedule “{title}” for {count} owners?", c.reachable, { title, count: I18n.number(c.reachable) })
        : _n("Send “{title}” to {count} owner now?", "Send “{title}” to {count} owners now?", c.reachable, { title, count: I18n.number(c.reachable) }),
      lines: [
        countWords(c),
        later ? _("It goes out at {time} (Beijing time); until then it can be cancelled.", { time: I18n.dateTime(draft.send_at) })
          : _("It cannot be called back once sent. Messages that would arrive at night wait for the morning."),
      ],
      yes: later ? _("Schedule it") : _("Send now"), no: _("Go back"),
    });
    if (!asked) {  // nothing goes out: the draft is dropped (and kept out of the list)
      await api(`/api/v1/staff/broadcasts/${draft.id}/cancellation`, { method: "POST" });
      return;  // the list had no sign of it
    }
    const sent = await api(`/api/v1/staff/broadcasts/${draft.id}/sending`, { method: "POST" });
    if (!sent.ok) { $("bc-error").textContent = await problemText(sent); await loadBroadcasts(); return; }
    ["bc-title-zh", "bc-body-zh", "bc-title-en", "bc-body-en"].forEach((id) => { $(id).value = ""; });
    previewMessage();
    await loadBroadcasts();
    $("bc-list").scrollIntoView({ block: "nearest" });  // on a phone the list is below the form: show what was sent
  } finally {
    bc.busy = false;
  }
}

// --- the list ---------------------------------------------------------------------------------

async function loadBroadcasts() {
  const response = await api("/api/v1/staff/broadcasts");
  if (!response.ok) { $("bc-list-error").textContent = await problemText(response); return; }
  $("bc-list-error").textContent = "";
  // A draft dropped at the question was never a message anyone sent.
  bc.rows = (await response.json()).filter((b) => b.confirmed_at || b.status !== "cancelled");
  $("bc-list").innerHTML = bc.rows.length ? bc.rows.map(broadcastRow).join("")
    : `<p class="muted">${esc(_("No messages yet"))}</p>`;
  // While one is going out (or waiting to be delivered), its numbers move: look again shortly.
  clearTimeout(bc.pollTimer);
  const moving = bc.rows.some((b) => b.status === "sending" || (b.status === "sent" && b.stats.queued > 0));
  if (moving && location.hash === "#messages") bc.pollTimer = setTimeout(() => loadBroadcasts().catch(() => {}), window.MESSAGES_POLL_MS || 3000);
}

function segmentWords(s) {
  const parts = [];
  if (s.project_ids.length) parts.push(s.project_ids.map((id) => projectName(id, `#${id}`)).join("、"));
  if (s.buildings.length) parts.push(s.buildings.join("、"));
  if (s.tiers.length) parts.push(s.tiers.map((t) => enumLabel("tier", t)).join("、"));
  if (s.stages.length) parts.push(s.stages.map((t) => enumLabel("owner_stage", t)).join("、"));
  if (s.birthday_month) parts.push(_("birthday in {month}", { month: monthName(s.birthday_month) }));
  if (s.no_contact_months) parts.push(_n("no message for {count} month", "no message for {count} months", s.no_contact_months, { count: s.no_contact_months }));
  if (s.attended !== null && s.attended !== undefined) parts.push(s.attended ? _("came to an event") : _("came to no event"));
  return parts.length ? parts.join(" · ") : _("All owners");
}

function broadcastRow(b) {
  const title = english() && b.title_en ? b.title_en : b.title_zh;
  // The status says what happened; the time beside it says when (or, scheduled, when it will).
  const when = b.status === "scheduled" ? _("to go out {time}", { time: I18n.dateTime(b.send_at) })
    : I18n.dateTime(b.finished_at || b.cancelled_at || b.confirmed_at || b.created_at);
  const s = b.stats;
  const stats = b.status === "sent" || b.status === "sending" ? `<div class="bc-stats">
      <span>${esc(_("Delivered"))} <strong>${I18n.number(s.sent)}</strong></span>
      <span>${esc(_("Waiting"))} <strong>${I18n.number(s.queued)}</strong></span>
      <span>${esc(_("Failed"))} <strong>${I18n.number(s.failed)}</strong></span>
      <span>${esc(_("Unsubscribed"))} <strong>${I18n.number(s.opted_out)}</strong></span></div>` : "";
  const cancel = b.status === "scheduled" || b.status === "draft"
    ? `<div class="row join"><button class="secondary" type="button" data-cancel="${b.id}">${esc(_("Cancel sending"))}</button></div>` : "";
  return `<div class="event bc-row" data-broadcast="${b.id}">
    <div class="row"><strong>${esc(title)}</strong><span class="status" data-status="${esc(b.status)}">${esc(enumLabel("broadcast_status", b.status))}</span></div>
    <div class="muted">${esc(enumLabel("broadcast_kind", b.kind))}${when ? ` · ${esc(when)}` : ""}</div>
    <div class="muted">${esc(segmentWords(b.segment))}</div>
    ${stats}${cancel}
  </div>`;
}

async function cancelBroadcast(id) {
  const b = bc.rows.find((x) => String(x.id) === String(id));
  if (!b) return;
  const asked = await Confirm.ask({
    title: _("Cancel “{title}”?", { title: english() && b.title_en ? b.title_en : b.title_zh }),
    lines: [_("It will not be sent to anyone.")], yes: _("Cancel sending"), no: _("Keep it scheduled"),
  });
  if (!asked) return;
  const response = await api(`/api/v1/staff/broadcasts/${id}/cancellation`, { method: "POST" });
  if (!response.ok) $("bc-list-error").textContent = await problemText(response);
  await loadBroadcasts();
}

$("bc-form").addEventListener("submit", sendMessage);
$("bc-form").addEventListener("change", (e) => {
  if (e.target.name === "bc-when") $("bc-send-at").hidden = e.target.value !== "later";
  if (e.target.id === "bc-attended") $("bc-attended-dates").hidden = !e.target.value;
  if (e.target.closest(".bc-segment") || e.target.id === "bc-kind") countSoon();
});
$("bc-form").addEventListener("input", (e) => {
  if (e.target.closest(".bc-segment")) countSoon();
  if (/^bc-(title|body)-/.test(e.target.id)) previewMessage();
});
$("bc-reload").addEventListener("click", () => loadBroadcasts());
$("bc-list").addEventListener("click", (e) => { if (e.target.dataset.cancel) cancelBroadcast(e.target.dataset.cancel); });

defineView("messages", [], loadMessages);
