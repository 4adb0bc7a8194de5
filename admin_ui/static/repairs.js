// Repairs (service staff, admins): the front desk fills in a repair form for an owner's report —
// within 10 minutes of it, or it is flagged late — then moves the repair on: in repair, awaiting
// acceptance, accepted (by the owner or staff) or sent back for rework, closed with the owner's
// rating. A contractor's month shows the rewards and penalties the ratings come to. Also the
// group-complaint warning banner on the service desk's queue (`showGroupWarnings`, called by desk.js).
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `loadProjectList`, `projectName`, `state`.
"use strict";

const REPAIRS_URL = "/api/v1/staff/repairs";
const REPAIR_ITEMS = ["water_leak", "wall_crack", "door_window", "electrical", "plumbing", "other"];
const REPAIR_FILTERS = ["active", "reported", "in_repair", "awaiting_acceptance", "rework", "accepted", "closed", "all"];
const repairDesk = { rows: [], owner: null, units: [], handlers: null, busy: false, open: null, score: {} };

const repairOption = (value, words, chosen) => `<option value="${esc(value)}"${String(value) === String(chosen) ? " selected" : ""}>${esc(words)}</option>`;
// Beijing time as a datetime-local input shows and reads it (the club's clock, whatever the browser's zone).
const beijingInput = (ms = Date.now()) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 16);

async function loadRepairs() {
  const filter = $("repairs-state").value || "all";
  $("repairs-state").innerHTML = REPAIR_FILTERS.map((s) => repairOption(s, s === "active" ? _("Not closed yet") : s === "all" ? _("All states")
    : enumLabel("repair_state", s), filter)).join("");
  $("repairs-item").innerHTML = REPAIR_ITEMS.map((i) => repairOption(i, enumLabel("repair_item", i), $("repairs-item").value || "water_leak")).join("");
  // The last twelve months by name (a native month input would speak the browser's language, not the page's).
  const current = beijingInput().slice(0, 7);
  const month = $("repairs-month").value || current;
  const [year, number] = current.split("-").map(Number);
  const months = Array.from({ length: 12 }, (_unused, i) => {
    const d = new Date(Date.UTC(year, number - 1 - i, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  });
  $("repairs-month").innerHTML = months.map((m) => repairOption(m, I18n.month(m), month)).join("");
  if (!repairDesk.handlers) {
    const response = await api("/api/v1/staff/cases/handlers");
    repairDesk.handlers = response.ok ? await response.json() : [];
  }
  const chosen = $("repairs-ambassador").value || String(state.me.staff_id);
  $("repairs-ambassador").innerHTML = repairOption("", _("Nobody yet"), chosen) + repairDesk.handlers.map((h) => repairOption(h.staff_id,
    h.staff_id === state.me.staff_id ? _("{name} (me)", { name: h.name }) : h.name, chosen)).join("");
  if (!$("repairs-reported").value) $("repairs-reported").value = beijingInput();
  const names = await api(`${REPAIRS_URL}/contractors`);
  $("repairs-contractors").innerHTML = names.ok ? (await names.json()).map((n) => `<option value="${esc(n)}">`).join("") : "";
  await Promise.all([loadRepairList(), loadContractorMonth()]);
}

async function loadRepairList() {
  const filter = $("repairs-state").value || "all";
  const query = new URLSearchParams({ limit: "100" });
  if (filter !== "all") query.set("state", filter);
  $("repairs-error").textContent = "";
  const response = await api(`${REPAIRS_URL}?${query}`);
  if (!response.ok) { $("repairs-list").innerHTML = ""; $("repairs-error").textContent = await problemText(response); return; }
  repairDesk.rows = await response.json();
  $("repairs-list").innerHTML = repairDesk.rows.length ? repairDesk.rows.map(repairCard).join("")
    : `<p class="panel muted">${esc(_("No repair matches this filter"))}</p>`;
}

function repairCard(r) {
  const flags = [
    r.intake_late ? `<span class="status repair-flag late" data-flag="late">${esc(_("Form filled in late"))}</span>` : "",
    r.second_repair_of ? `<span class="status repair-flag second" data-flag="second">${esc(_("Second repair"))}</span>` : "",
    r.major_works ? `<span class="status repair-flag major" data-flag="major">${esc(_("Major works"))}</span>` : "",
    r.rework_count ? `<span class="status repair-flag rework" data-flag="rework">${esc(_n("Reworked {count} time", "Reworked {count} times", r.rework_count))}</span>` : "",
  ].join("");
  const lines = [
    _("Reported {time}", { time: I18n.dateTime(r.reported_at) }),
    _("Contractor: {name}", { name: r.contractor }),
    r.supervisor ? _("Supervisor: {name}", { name: r.supervisor }) : "",
    _("Client ambassador: {name}", { name: r.ambassador_name || _("Nobody yet") }),
    r.contract_sum_fen ? _("Contract sum: {amount}", { amount: I18n.money(r.contract_sum_fen, { compact: false }) }) : "",
    r.accepted_by ? _("Accepted by: {who}", { who: enumLabel("repair_acceptor", r.accepted_by) }) : "",
  ].filter(Boolean);
  const rated = r.satisfaction ? `<div class="repair-rated" data-rated="${r.satisfaction}">${esc(_("The owner's rating: {score} of 5", { score: I18n.number(r.satisfaction) }))}${
    r.contractor_amount_fen !== null ? ` · ${esc(r.contractor_amount_fen >= 0 ? _("contractor's reward {amount}", { amount: I18n.money(r.contractor_amount_fen, { compact: false }) })
      : _("contractor's penalty {amount}", { amount: I18n.money(-r.contractor_amount_fen, { compact: false }) }))}` : ""}</div>` : "";
  return `<div class="panel repair" data-repair="${r.id}" data-state="${esc(r.state)}">
    <div class="row"><strong class="repair-item">${esc(enumLabel("repair_item", r.item))}</strong><span class="status repair-state">${esc(enumLabel("repair_state", r.state))}</span></div>
    <div class="repair-flags">${flags}</div>
    <div class="muted repair-owner"><span class="name">${esc(r.owner_name)}</span> <span class="phone">${esc(r.owner_phone)}</span> · <span>${esc(r.unit_name)}</span></div>
    ${r.description ? `<p class="repair-text">${esc(r.description)}</p>` : ""}
    <ul class="repair-lines muted">${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>
    ${rated}
    ${repairActions(r)}
    <p class="error" data-repair-error="${r.id}" role="alert"></p>
  </div>`;
}

function repairStars(r) {
  const chosen = repairDesk.score[r.id] || 0;
  return [1, 2, 3, 4, 5].map((n) => `<button type="button" class="star${chosen >= n ? " on" : ""}" data-repair-score="${n}" data-for="${r.id}"
    aria-pressed="${chosen === n}" aria-label="${esc(_("{count} of 5", { count: n }))}">★</button>`).join("");
}

function repairActions(r) {
  const buttons = [];
  for (const to of r.next_states) {
    if (to === "in_repair") buttons.push(`<button type="button" data-repair-step="in_repair">${esc(_("Start the repair"))}</button>`);
    if (to === "awaiting_acceptance") buttons.push(`<button type="button" data-repair-step="awaiting_acceptance">${esc(_("Works done: ask for acceptance"))}</button>`);
    if (to === "rework") buttons.push(`<button type="button" class="secondary" data-repair-step="rework">${esc(_("Not accepted: rework"))}</button>`);
    if (to === "accepted") {
      buttons.push(`<label class="repair-inline"><span>${esc(_("Accepted by"))}</span><select data-repair-acceptor="${r.id}">${
        ["owner", "staff"].map((a) => repairOption(a, enumLabel("repair_acceptor", a), "owner")).join("")}</select></label>
        <button type="button" data-repair-step="accepted">${esc(_("Accepted"))}</button>`);
    }
    if (to === "closed") {
      buttons.push(`<fieldset class="score"><legend>${esc(_("The owner's satisfaction (optional)"))}</legend><div class="stars">${repairStars(r)}</div></fieldset>
        <button type="button" class="danger" data-repair-step="closed">${esc(_("Close the repair"))}</button>`);
    }
  }
  if (r.state === "closed" && !r.satisfaction) {
    buttons.push(`<fieldset class="score"><legend>${esc(_("The owner's satisfaction"))}</legend><div class="stars">${repairStars(r)}</div></fieldset>
      <button type="button" data-repair-rate>${esc(_("Save the rating"))}</button>`);
  }
  if (!buttons.length) return "";
  const note = r.next_states.includes("rework")
    ? `<label for="repair-note-${r.id}">${esc(_("What is still wrong (for rework)"))}</label><textarea id="repair-note-${r.id}" rows="2" maxlength="2000"></textarea>` : "";
  return `<div class="repair-actions">${note}<div class="row join wrap">${buttons.join("")}</div></div>`;
}

// --- the form ------------------------------------------------------------------------------------

async function findRepairOwner() {
  const words = $("repairs-owner-search").value.trim();
  $("repairs-form-error").textContent = "";
  if (!words) { $("repairs-form-error").textContent = _("Please write part of a name or phone first"); return; }
  const response = await api(`/api/v1/staff/members?search=${encodeURIComponent(words)}&limit=20`);
  if (!response.ok) { $("repairs-form-error").textContent = await problemText(response); return; }
  const found = (await response.json()).items.filter((m) => m.units > 0);
  $("repairs-owner").innerHTML = found.length ? found.map((m) => repairOption(m.id, `${m.name} ${m.phone}`, found[0].id)).join("")
    : repairOption("", _("No owner found"), "");
  await chooseRepairOwner();
}

async function chooseRepairOwner() {
  const memberId = $("repairs-owner").value;
  repairDesk.units = [];
  if (memberId) {
    const response = await api(`/api/v1/staff/members/${memberId}`);
    if (response.ok) repairDesk.units = (await response.json()).units.filter((u) => u.status === "active");
  }
  const unitName = (u) => (english() ? `${u.project_name_en || u.project_name} · ${u.room}` : `${u.project_name} ${[u.phase, u.building, u.room].filter(Boolean).join("-")}`);
  $("repairs-unit").innerHTML = repairDesk.units.map((u) => repairOption(u.unit_id, unitName(u), repairDesk.units[0].unit_id)).join("");
}

async function saveRepair(event) {
  event.preventDefault();
  if (repairDesk.busy) return;
  $("repairs-form-error").textContent = "";
  $("repairs-saved").textContent = "";
  const yuan = $("repairs-sum").value.trim();
  if (yuan && !/^\d+(\.\d{1,2})?$/.test(yuan)) {
    $("repairs-form-error").textContent = _("The contract sum is an amount in yuan, e.g. 1200.50"); $("repairs-sum").focus(); return;
  }
  if (!$("repairs-owner").value || !$("repairs-unit").value) {
    $("repairs-form-error").textContent = _("Find the owner and choose the unit first"); $("repairs-owner-search").focus(); return;
  }
  const [whole, part = ""] = (yuan || "0").split(".");
  const body = {
    member_id: Number($("repairs-owner").value), unit_id: Number($("repairs-unit").value), item: $("repairs-item").value,
    contractor: $("repairs-contractor").value, supervisor: $("repairs-supervisor").value, description: $("repairs-description").value,
    major_works: $("repairs-major").checked, contract_sum_fen: Number(whole) * 100 + Number(part.padEnd(2, "0")),
    ambassador_id: $("repairs-ambassador").value ? Number($("repairs-ambassador").value) : null,
    reported_at: $("repairs-reported").value ? `${$("repairs-reported").value}:00+08:00` : null,
  };
  repairDesk.busy = true;
  let response;
  try {
    response = await api(REPAIRS_URL, { method: "POST", body: JSON.stringify(body) });
  } finally {
    repairDesk.busy = false;
  }
  if (!response.ok) { $("repairs-form-error").textContent = await problemText(response); return; }
  const made = await response.json();
  $("repairs-saved").textContent = [_("Repair recorded."), made.intake_late ? _("It was filled in more than 10 minutes after the report and is flagged late.") : "",
    made.second_repair_of ? _("The same item of this unit was repaired recently: this is a second repair.") : ""].filter(Boolean).join(" ");
  ["repairs-contractor", "repairs-supervisor", "repairs-description", "repairs-sum"].forEach((id) => { $(id).value = ""; });
  $("repairs-major").checked = false;
  $("repairs-reported").value = beijingInput();
  showRepairForm(false);
  await loadRepairList();
}

// --- moving a repair on ----------------------------------------------------------------------------

async function repairStep(card, to) {
  const r = repairDesk.rows.find((x) => x.id === Number(card.dataset.repair));
  if (!r || repairDesk.busy) return;
  const errorLine = card.querySelector("[data-repair-error]");
  errorLine.textContent = "";
  $("repairs-saved").textContent = "";
  const body = { to };
  if (to === "accepted") body.accepted_by = card.querySelector("[data-repair-acceptor]").value;
  if (to === "rework") body.note = (card.querySelector("textarea") || { value: "" }).value.trim();
  if (to === "closed" && repairDesk.score[r.id]) body.satisfaction = repairDesk.score[r.id];
  if (to === "accepted") {
    const who = enumLabel("repair_acceptor", body.accepted_by);
    if (!(await Confirm.ask({ title: _("Record the repair for {name} as accepted by: {who}?", { name: r.owner_name, who }),
      lines: [_("This cannot be undone: after acceptance the repair can only be closed.")],
      yes: _("Record the acceptance"), no: _("Go back") }))) return;
  }
  if (to === "rework") {
    if (!(await Confirm.ask({ title: _("Send the repair for {name} back for rework?", { name: r.owner_name }),
      lines: [_("It counts as a rework for good: the repair no longer passes at its first acceptance.")],
      yes: _("Send back for rework"), no: _("Go back") }))) return;
  }
  if (to === "closed") {
    const lines = [r.major_works ? _("Return visits are set up: a call 24 hours from now, and for major works another in two months.")
      : _("A return visit is set up: a call 24 hours from now.")];
    if (body.satisfaction) lines.push(_("The owner's rating {score} of 5 is saved with it and sets the contractor's reward or penalty.", { score: body.satisfaction }));
    else lines.push(_("No rating yet: it can be added after closing."));
    if (!(await Confirm.ask({ title: _("Close the repair for {name}?", { name: r.owner_name }), lines, yes: _("Close the repair"), no: _("Go back") }))) return;
  }
  await repairSend(`${REPAIRS_URL}/${r.id}/steps`, body, errorLine);
}

async function repairRate(card) {
  const r = repairDesk.rows.find((x) => x.id === Number(card.dataset.repair));
  const errorLine = card.querySelector("[data-repair-error]");
  if (!repairDesk.score[r.id]) { errorLine.textContent = _("Choose a score from 1 to 5 first"); return; }
  if (!(await Confirm.ask({ title: _("Save the rating {score} of 5?", { score: repairDesk.score[r.id] }),
    lines: [_("A repair is rated once; the rating sets the contractor's reward or penalty.")], yes: _("Save the rating"), no: _("Go back") }))) return;
  await repairSend(`${REPAIRS_URL}/${r.id}/rating`, { satisfaction: repairDesk.score[r.id] }, errorLine);
}

async function repairSend(url, body, errorLine) {
  repairDesk.busy = true;
  let response;
  try {
    response = await api(url, { method: "POST", body: JSON.stringify(body) });
  } finally {
    repairDesk.busy = false;
  }
  if (!response.ok) { errorLine.textContent = await problemText(response); return; }
  await Promise.all([loadRepairList(), loadContractorMonth()]);
}

// --- the contractors' month ----------------------------------------------------------------------------

async function loadContractorMonth() {
  const month = $("repairs-month").value;
  if (!month) return;
  const response = await api(`${REPAIRS_URL}/contractors/summary?month=${encodeURIComponent(month)}`);
  if (!response.ok) { $("repairs-contractor-month").innerHTML = `<p class="error">${esc(await problemText(response))}</p>`; return; }
  const lines = await response.json();
  const money = (fen) => I18n.money(fen, { compact: false });
  $("repairs-contractor-month").innerHTML = lines.length ? `<ul class="repair-contractors">${lines.map((l) => `<li data-contractor="${esc(l.contractor)}">
      <div class="row"><strong>${esc(l.contractor)}</strong><span class="${l.net_fen >= 0 ? "plus" : "minus"}">${esc(_("Net {amount}", { amount: money(l.net_fen) }))}</span></div>
      <div class="muted">${esc(_("{count} closed, {rated} rated, average {average}", { count: I18n.number(l.repairs), rated: I18n.number(l.rated),
        average: l.average_rating === null ? "—" : I18n.number(l.average_rating) }))}</div>
      <div class="muted">${esc(_("Rewards {reward} · penalties {penalty}", { reward: money(l.reward_fen), penalty: money(l.penalty_fen) }))}</div></li>`).join("")}</ul>`
    : `<p class="muted">${esc(_("No repair closed this month"))}</p>`;
}

function showRepairForm(open) {
  $("repairs-form").hidden = !open;
  $("repairs-new").setAttribute("aria-expanded", String(open));
  $("repairs-new").hidden = open;
  if (open) { $("repairs-saved").textContent = ""; $("repairs-reported").value = beijingInput(); $("repairs-owner-search").focus(); }
}

$("repairs-new").addEventListener("click", () => showRepairForm(true));
$("repairs-cancel").addEventListener("click", () => showRepairForm(false));
$("repairs-find").addEventListener("click", () => findRepairOwner());
$("repairs-owner").addEventListener("change", () => chooseRepairOwner());
$("repairs-form").addEventListener("submit", saveRepair);
$("repairs-state").addEventListener("change", () => loadRepairList());
$("repairs-reload").addEventListener("click", () => loadRepairs());
$("repairs-month").addEventListener("change", () => loadContractorMonth());
$("repairs-list").addEventListener("click", (e) => {
  const card = e.target.closest("[data-repair]");
  if (!card) return;
  const star = e.target.closest("[data-repair-score]");
  if (star) {
    repairDesk.score[Number(card.dataset.repair)] = Number(star.dataset.repairScore);
    card.querySelectorAll("[data-repair-score]").forEach((b) => {
      const n = Number(b.dataset.repairScore);
      b.classList.toggle("on", n <= repairDesk.score[Number(card.dataset.repair)]);
      b.setAttribute("aria-pressed", String(n === repairDesk.score[Number(card.dataset.repair)]));
    });
    return;
  }
  const step = e.target.closest("[data-repair-step]");
  if (step) repairStep(card, step.dataset.repairStep);
  else if (e.target.closest("[data-repair-rate]")) repairRate(card);
});

// --- the group-complaint warning banner on the service desk ---------------------------------------------

async function showGroupWarnings(box) {
  if (!box) return;
  const response = await api(`${REPAIRS_URL}/warnings`);
  const warnings = response.ok ? await response.json() : [];
  const where = (w) => [w.project_id ? projectName(w.project_id) : "", w.building].filter(Boolean).join(" ");
  box.innerHTML = warnings.map((w) => `<div class="panel group-warning" role="alert" data-warning="${w.id}">
      <strong>${esc(_("Group complaint warning"))}</strong>
      <p>${esc(_n("{count} open case of the kind “{kind}” at {where} since {time}", "{count} open cases of the kind “{kind}” at {where} since {time}",
        w.case_ids.length, { kind: enumLabel("case_kind", w.kind), where: where(w), time: I18n.dateTime(w.first_case_at) }))}</p>
      <div class="row join wrap">${w.case_ids.map((id) => `<a href="#desk/${id}">${esc(_("Case {number}", { number: id }))}</a>`).join("")}
        <button type="button" class="secondary" data-warning-ack="${w.id}">${esc(_("Acknowledge"))}</button></div>
    </div>`).join("");
}

async function acknowledgeWarning(box, button) {
  const id = Number(button.dataset.warningAck);
  if (!(await Confirm.ask({ title: _("Acknowledge this group complaint warning?"),
    lines: [_("It leaves the banner for everyone, and your name is recorded as having seen it.")], yes: _("Acknowledge"), no: _("Go back") }))) return;
  const response = await api(`${REPAIRS_URL}/warnings/${id}/acknowledgement`, { method: "POST" });
  if (!response.ok && response.status !== 409) { box.insertAdjacentHTML("beforeend", `<p class="error" role="alert">${esc(await problemText(response))}</p>`); return; }
  await showGroupWarnings(box);
}

$("desk-warnings").addEventListener("click", (e) => {
  const button = e.target.closest("[data-warning-ack]");
  if (button) acknowledgeWarning($("desk-warnings"), button);
});

defineView("repairs", ["service"], loadRepairs);
