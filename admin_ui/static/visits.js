// Return visits (service staff, admins): the calls to make, overdue first and in red; the outcome
// recorded in a small form after a confirmation (once: the API refuses a second time); the
// month's visit coverage against its target. Uses staff.js's `$`, `api`, `esc`, `problemText`.
"use strict";

const visitDesk = { rows: [], open: null, choice: {} };
const OUTCOMES = ["reached", "not_reached", "refused"];

const SCOPES = ["mine", "unassigned", "all"];

async function loadVisits() {
  const select = $("visits-scope");
  const chosen = select.value || "mine";
  select.innerHTML = SCOPES.map((s) => `<option value="${s}">${esc(enumLabel("visit_scope", s))}</option>`).join("");
  select.value = chosen;
  $("visits-error").textContent = "";
  $("visits-done").textContent = "";
  await Promise.all([loadVisitList(), loadCoverage()]);
}

async function loadCoverage() {
  const response = await api("/api/v1/staff/visits/coverage");
  if (!response.ok) { $("visits-coverage").innerHTML = ""; $("visits-error").textContent = await problemText(response); return; }
  const c = await response.json();
  const hit = c.rate !== null && c.rate >= c.target;
  const width = Math.min(100, Math.round((c.rate || 0) * 100));
  $("visits-coverage").innerHTML = `
    <div class="row"><h3>${esc(_("Visit coverage, {month}", { month: I18n.month(c.month) }))}</h3>
      <span class="${hit ? "target-hit" : "target-miss"}" id="visits-rate">${esc(I18n.percent(c.rate))}</span></div>
    <div class="coverage-bar${hit ? "" : " miss"}" role="img" aria-label="${esc(I18n.percent(c.rate))}"><span></span><i></i></div>
    <div class="muted">${esc(_("{reached} of {active} owners reached · target {target}",
      { reached: I18n.number(c.reached_owners), active: I18n.number(c.active_owners), target: I18n.percent(c.target, 0) }))}</div>`;
  // Through the CSSOM: the page's content security policy refuses inline style attributes.
  const bar = $("visits-coverage").querySelector(".coverage-bar");
  bar.querySelector("span").style.width = `${width}%`;
  bar.querySelector("i").style.left = `${Math.round(c.target * 100)}%`;
}

async function loadVisitList() {
  const scope = $("visits-scope").value || "mine";
  const response = await api(`/api/v1/staff/visits?scope=${encodeURIComponent(scope)}&limit=100`);
  if (!response.ok) { $("visits-list").innerHTML = ""; $("visits-error").textContent = await problemText(response); return; }
  visitDesk.rows = await response.json();
  $("visits-list").innerHTML = visitDesk.rows.length ? visitDesk.rows.map(visitCard).join("")
    : `<p class="muted">${esc(_("No return visits to make"))}</p>`;
}

const kindOf = (v) => (english() ? v.kind_label_en : v.kind_label_zh);

function visitCard(v) {
  const due = v.overdue ? _("overdue since {time}", { time: I18n.dateTime(v.due_at) }) : _("due {time}", { time: I18n.dateTime(v.due_at) });
  const take = v.assigned_to === null
    ? `<button class="secondary" type="button" data-visit-take="${v.id}">${esc(_("Take it"))}</button>` : "";
  return `<div class="visit${v.overdue ? " overdue" : ""}" data-visit="${v.id}">
    <div class="row"><strong class="name">${esc(v.name)}</strong><span class="kind">${esc(kindOf(v))}</span></div>
    <div class="muted"><a href="tel:${esc(v.phone)}">${esc(v.phone)}</a></div>
    <div class="due">${esc(due)}</div>
    ${visitDesk.open === v.id ? outcomeForm(v) : `<div class="row join">${take}
      <button type="button" data-visit-open="${v.id}">${esc(_("Record the outcome"))}</button></div>`}
  </div>`;
}

function outcomeForm(v) {
  const chosen = visitDesk.choice;
  const outcome = OUTCOMES.map((o) => `<label class="choice"><input type="radio" name="visit-outcome" value="${o}"
    ${chosen.outcome === o ? "checked" : ""}> ${esc(enumLabel("visit_outcome", o))}</label>`).join("");
  const stars = [1, 2, 3, 4, 5].map((n) => `<button type="button" class="star${chosen.score >= n ? " on" : ""}" data-visit-score="${n}"
    aria-pressed="${chosen.score === n}" aria-label="${esc(_("{count} of 5", { count: n }))}">★</button>`).join("");
  return `<form class="visit-form" data-visit-form="${v.id}">
    <fieldset><legend>${esc(_("What came of the call?"))}</legend><div class="choices">${outcome}</div></fieldset>
    <fieldset class="score" ${chosen.outcome === "reached" ? "" : "hidden"}><legend>${esc(_("Satisfaction (optional)"))}</legend>
      <div class="stars">${stars}</div></fieldset>
    <label for="visit-notes">${esc(_("Notes"))}</label>
    <textarea id="visit-notes" rows="3" maxlength="2000">${esc(chosen.notes || "")}</textarea>
    <p class="error" id="visit-form-error" role="alert"></p>
    <div class="row join"><button class="secondary" type="button" data-visit-cancel>${esc(_("Go back"))}</button>
      <button type="submit">${esc(_("Save the outcome"))}</button></div>
  </form>`;
}

function redraw() {
  const notes = $("visit-notes");
  if (notes) visitDesk.choice.notes = notes.value;
  $("visits-list").innerHTML = visitDesk.rows.map(visitCard).join("");
}

async function saveOutcome(id) {
  const v = visitDesk.rows.find((x) => x.id === id);
  const chosen = visitDesk.choice;
  chosen.notes = $("visit-notes").value.trim();
  if (!chosen.outcome) { $("visit-form-error").textContent = _("Choose what came of the call"); return; }
  const score = chosen.outcome === "reached" ? chosen.score || null : null;
  const asked = await Confirm.ask({
    title: _("Record the call to {name}?", { name: v.name }),
    lines: [
      score ? _("{outcome}, satisfaction {score} of 5", { outcome: enumLabel("visit_outcome", chosen.outcome), score })
        : enumLabel("visit_outcome", chosen.outcome),
      _("An outcome is recorded once and cannot be changed afterwards."),
    ],
    yes: _("Record it"), no: _("Go back"),
  });
  if (!asked) return;
  const response = await api(`/api/v1/staff/visits/${id}/outcome`, {
    method: "POST", body: JSON.stringify({ outcome: chosen.outcome, notes: chosen.notes, satisfaction: score }),
  });
  if (!response.ok) { $("visit-form-error").textContent = await problemText(response); return; }
  visitDesk.open = null; visitDesk.choice = {};
  await loadVisits();
  $("visits-done").textContent = _("Recorded: {name}", { name: v.name });
}

async function takeVisit(id) {
  const response = await api(`/api/v1/staff/visits/${id}/assignment`, {
    method: "POST", body: JSON.stringify({ staff_id: state.me.staff_id }),
  });
  if (!response.ok) { $("visits-error").textContent = await problemText(response); return; }
  await loadVisitList();
}

document.addEventListener("click", (e) => {
  const t = e.target.closest("[data-visit-open],[data-visit-cancel],[data-visit-score],[data-visit-take]");
  if (!t || !$("view-visits").contains(t)) return;
  if (t.dataset.visitOpen) { visitDesk.open = Number(t.dataset.visitOpen); visitDesk.choice = {}; redraw(); }
  else if (t.dataset.visitTake) takeVisit(Number(t.dataset.visitTake));
  else if (t.dataset.visitScore) {
    const n = Number(t.dataset.visitScore);
    visitDesk.choice.score = visitDesk.choice.score === n ? null : n;  // a second tap takes the score back
    redraw();
  } else { visitDesk.open = null; visitDesk.choice = {}; redraw(); }
});
document.addEventListener("change", (e) => {
  if (e.target.name !== "visit-outcome") return;
  visitDesk.choice.outcome = e.target.value;
  if (e.target.value !== "reached") visitDesk.choice.score = null;
  redraw();
});
document.addEventListener("submit", (e) => {
  const form = e.target.closest("[data-visit-form]");
  if (!form) return;
  e.preventDefault();
  saveOutcome(Number(form.dataset.visitForm));
});
$("visits-scope").addEventListener("change", () => { visitDesk.open = null; loadVisitList(); });
$("visits-reload").addEventListener("click", loadVisits);

defineView("visits", ["service"], loadVisits);
