// The KPI board (service staff, admins): each KPI with its formula in words, its target, its value for the
// chosen month, a small trend chart by month or by quarter, and a drill-down to the records it was counted
// from; for admins, the care plans with their next run. The KPIs themselves are declared on the server
// (loyalty/care/kpi_board.py): this page draws whatever it is sent. Uses staff.js's `$`, `api`, `esc`,
// `english`, `problemText`, `loadProjectList`, `projectName`.
"use strict";

const kpiBoard = { rows: [], trend: "months", month: "", project: "" };

const KPI_SCORE_WORDS = {
  satisfaction: () => _("Overall score"),
  planning_design: () => _("Planning and design"),
  sales_service: () => _("Sales service"),
  construction_quality: () => _("Construction quality"),
  customer_service: () => _("Customer service"),
  property_management: () => _("Property management"),
};
const KPI_FILE_WORDS = {
  name: () => _("Name"), phone: () => _("Phone"), birthday: () => _("Birthday"), gender: () => _("Gender"),
  contract_date: () => _("Contract date"),
};

const kpiName = (k) => (english() ? k.name_en : k.name_zh);
const kpiFormula = (k) => (english() ? k.formula_en : k.formula_zh);
function periodName(period, length = "long") {
  const q = /^(\d{4})-Q([1-4])$/.exec(period);
  if (q) return length === "short" ? _("Q{quarter}", { quarter: q[2] }) : _("{year} Q{quarter}", { year: q[1], quarter: q[2] });
  if (length === "short") {  // a bar's label: the month alone (十二月 → 12月, Dec), the year is in its title
    const [year, month] = period.split("-").map(Number);
    return new Intl.DateTimeFormat(I18n.locale, { month: "short", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, 1)));
  }
  return I18n.month(period, length);
}
// The months the board offers: this one and the 23 before it (Beijing).
function monthChoices() {
  const [year, month] = thisMonth().split("-").map(Number);
  return Array.from({ length: 24 }, (_unused, n) => {
    const d = new Date(Date.UTC(year, month - 1 - n, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  });
}
const thisMonth = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date()).slice(0, 7);
const figure = (v) => I18n.number(Math.round(Number(v) * 100) / 100);
function targetWords(k) {
  return k.lower_is_better ? _("target at most {rate}", { rate: I18n.percent(k.target, 0) })
    : _("target at least {rate}", { rate: I18n.percent(k.target, 0) });
}

async function loadKpis() {
  const monthInput = $("kpis-month");
  const month = monthInput.value || thisMonth();
  monthInput.innerHTML = monthChoices().map((m) => `<option value="${m}">${esc(I18n.month(m))}</option>`).join("");
  monthInput.value = month;
  const select = $("kpis-project");
  const chosen = select.value;
  select.innerHTML = `<option value="">${esc(_("All projects"))}</option>` +
    (await loadProjectList()).map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("");
  select.value = chosen;
  document.querySelectorAll("[data-kpi-trend]").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.kpiTrend === kpiBoard.trend));
  });
  $("kpis-error").textContent = "";
  $("kpis-drill").hidden = true;
  kpiBoard.month = monthInput.value || thisMonth();
  kpiBoard.project = select.value;
  const query = `month=${encodeURIComponent(kpiBoard.month)}${kpiBoard.project ? `&project_id=${kpiBoard.project}` : ""}`;
  const response = await api(`/api/v1/staff/kpi-board?${query}`);
  if (!response.ok) { $("kpis-list").innerHTML = ""; $("kpis-error").textContent = await problemText(response); return; }
  kpiBoard.rows = await response.json();
  drawKpis();
  await loadCarePlans();
}

function drawKpis() {
  const main = kpiBoard.rows.filter((k) => k.group !== "department");
  const departments = kpiBoard.rows.filter((k) => k.group === "department");
  $("kpis-list").innerHTML = `<div class="kpi-grid">${main.map(kpiCard).join("")}</div>
    ${departments.length ? `<h2 class="kpi-heading">${esc(_("Satisfaction by department"))}</h2>
    <div class="kpi-grid">${departments.map(kpiCard).join("")}</div>` : ""}`;
}

function kpiCard(k) {
  const state = k.meets_target === null ? "none" : k.meets_target ? "hit" : "miss";
  const counted = k.denominator ? _("{numerator} of {denominator}", { numerator: figure(k.numerator), denominator: I18n.number(k.denominator) }) : "";
  return `<article class="kpi" data-kpi="${esc(k.key)}">
    <h3>${esc(kpiName(k))}</h3>
    <div class="kpi-figures"><span class="kpi-value ${state}" data-kpi-value>${esc(k.value === null ? "—" : I18n.percent(k.value))}</span>
      <span class="kpi-target">${esc(targetWords(k))}</span></div>
    <div class="muted kpi-counted">${esc(counted)}</div>
    <p class="kpi-formula"><span class="muted">${esc(_("Formula:"))}</span> ${esc(kpiFormula(k))}</p>
    ${kpiChart(k, kpiBoard.trend === "quarters" ? k.quarters : k.months)}
    <button class="secondary" type="button" data-kpi-drill="${esc(k.key)}" data-period="${esc(k.period)}">${esc(_("Show the records"))}</button>
  </article>`;
}

// Bars of the rate per period (0–100% on the y axis), the target as a dashed line, each bar's value above it;
// a bar opens that period's records. The text alternative lists every period's value.
function kpiChart(k, points) {
  if (!points.some((p) => p.value !== null)) return `<p class="muted kpi-empty">${esc(_("No data yet"))}</p>`;
  const width = 320, top = 16, base = 112, left = 30;
  const step = (width - left - 4) / points.length, bar = Math.max(6, step - 6);
  const y = (v) => base - Math.min(1, v) * (base - top);
  const short = points.length > 6;
  const axis = [0, 0.5, 1].map((v) => `<line x1="${left}" x2="${width}" y1="${y(v)}" y2="${y(v)}" class="grid"/>
    <text x="${left - 3}" y="${y(v) + 3}" text-anchor="end" class="axis">${esc(I18n.percent(v, 0))}</text>`).join("");
  const bars = points.map((p, i) => {
    const x = left + 3 + i * step, middle = x + bar / 2;
    const label = `<text x="${middle}" y="${base + 12}" text-anchor="middle" class="axis">${esc(periodName(p.period, "short"))}</text>`;
    if (p.value === null) return label;
    const hit = k.lower_is_better ? p.value <= k.target : p.value >= k.target;
    const shown = short ? I18n.percent(p.value, 0) : I18n.percent(p.value);
    return `<rect x="${x}" y="${y(p.value)}" width="${bar}" height="${Math.max(1, base - y(p.value))}" class="${hit ? "hit" : "miss"}"
        data-kpi-drill="${esc(k.key)}" data-period="${esc(p.period)}"><title>${esc(periodName(p.period))}: ${esc(I18n.percent(p.value))}</title></rect>
      <text x="${middle}" y="${y(p.value) - 3}" text-anchor="middle" class="value">${esc(shown)}</text>${label}`;
  }).join("");
  const target = `<line x1="${left}" x2="${width}" y1="${y(k.target)}" y2="${y(k.target)}" class="target"/>`;
  const words = points.map((p) => `${periodName(p.period)} ${p.value === null ? _("no data") : I18n.percent(p.value)}`).join(english() ? ", " : "，");
  const alt = _("{name}, {trend}: {values}; {target}", {
    name: kpiName(k), trend: kpiBoard.trend === "quarters" ? _("by quarter") : _("by month"), values: words, target: targetWords(k),
  });
  return `<svg class="kpi-chart" viewBox="0 0 ${width} ${base + 18}" role="img" aria-label="${esc(alt)}"><title>${esc(alt)}</title>${axis}${target}${bars}</svg>`;
}

// --- the drill-down ------------------------------------------------------------------------------

async function drillDown(key, period) {
  const query = `period=${encodeURIComponent(period)}${kpiBoard.project ? `&project_id=${kpiBoard.project}` : ""}`;
  const response = await api(`/api/v1/staff/kpi-board/${encodeURIComponent(key)}/records?${query}`);
  const panel = $("kpis-drill");
  panel.hidden = false;
  if (!response.ok) { panel.innerHTML = `<p class="error" role="alert">${esc(await problemText(response))}</p>`; return; }
  const d = await response.json();
  const counted = d.denominator ? _("{numerator} of {denominator}", { numerator: figure(d.numerator), denominator: I18n.number(d.denominator) }) : "";
  panel.innerHTML = `<div class="row kpi-drill-head"><h2>${esc(_("{name}, {period}", { name: kpiName(d), period: periodName(d.period) }))}</h2>
      <button class="secondary" type="button" data-kpi-close>${esc(_("Close"))}</button></div>
    <p><strong>${esc(d.value === null ? "—" : I18n.percent(d.value))}</strong> <span class="muted">${esc(counted)} · ${esc(targetWords(d))}</span></p>
    <p class="kpi-formula"><span class="muted">${esc(_("Formula:"))}</span> ${esc(kpiFormula(d))}</p>
    ${d.items.length ? `<ul class="kpi-records">${d.items.map(recordLine).join("")}</ul>`
      : `<p class="muted">${esc(_("No records in this period"))}</p>`}`;
  panel.scrollIntoView({ block: "start" });
}

function recordLine(r) {
  const share = `<span class="kpi-share">${esc(figure(r.numerator))}${r.denominator ? ` / ${esc(I18n.number(r.denominator))}` : ""}</span>`;
  const who = `<strong class="name">${esc(r.member_name)}</strong>`;
  const when = r.at ? `<span class="muted">${esc(I18n.dateTime(r.at))}</span>` : "";
  let what = "";
  if (r.kind === "survey") {
    const scores = Object.entries(r.scores || {}).map(([f, s]) => `${(KPI_SCORE_WORDS[f] || (() => f))()} ${s}/5`);
    if (r.recommend !== null && r.recommend !== undefined) scores.push(_("would recommend {score}/10", { score: r.recommend }));
    what = `${esc(enumLabel("survey_kind", r.survey_kind))} · ${esc(scores.join(english() ? ", " : "，"))}`;
  } else if (r.kind === "case") {
    what = `<a href="#desk/${r.id}">${esc(r.title)}</a> · ${esc(enumLabel("case_status", r.status))}`;
  } else if (r.kind === "visit") {
    what = esc(enumLabel("visit_kind", r.visit_kind));
  } else if (r.kind === "repair") {
    const rating = r.satisfaction ? ` · ${_("rated {score}/5", { score: r.satisfaction })}` : "";
    const rework = r.rework_count ? ` · ${_n("{count} rework", "{count} reworks", r.rework_count, { count: r.rework_count })}` : "";
    const again = r.second_repair_of ? ` · ${_("second repair")}` : "";
    what = `<a href="#repairs">${esc(enumLabel("repair_item", r.item))}</a> · ${esc(enumLabel("repair_state", r.state))}${esc(rating + rework + again)}`;
  } else if (r.kind === "warning") {
    const where = r.building ? _("building {building}", { building: r.building }) : "";
    const handled = r.acknowledged_at ? _("acknowledged {time}", { time: I18n.dateTime(r.acknowledged_at) }) : _("not acknowledged");
    what = esc([enumLabel("case_kind", r.case_kind), where, _n("{count} case", "{count} cases", r.cases, { count: r.cases }), handled].filter(Boolean).join(" · "));
  } else if (r.kind === "member") {
    what = r.missing && r.missing.length
      ? esc(_("missing: {fields}", { fields: r.missing.map((f) => (KPI_FILE_WORDS[f] || (() => f))()).join(english() ? ", " : "、") }))
      : esc(_("complete"));
  }
  return `<li data-record="${esc(r.kind)}:${r.id}">${share}<div>${who} ${when}<div>${what}</div></div></li>`;
}

// --- the care plans (admins) ---------------------------------------------------------------------

async function loadCarePlans() {
  const box = $("kpis-plans");
  if (state.me.role !== "admin") { box.hidden = true; return; }
  const response = await api("/api/v1/staff/care-plans");
  box.hidden = false;
  if (!response.ok) { box.innerHTML = `<p class="error" role="alert">${esc(await problemText(response))}</p>`; return; }
  const plans = await response.json();
  box.innerHTML = `<h2>${esc(_("Care plans"))}</h2><ul class="kpi-plans">${plans.map((p) => `<li data-plan="${esc(p.key)}">
      <strong>${esc(p.name)}</strong><div class="muted">${esc(p.segment)} · ${esc(p.cadence)}</div>
      <div>${esc(_("Next run {time}", { time: I18n.dateTime(p.next_run) }))} · ${esc(_n("{count} owner in the segment now", "{count} owners in the segment now", p.segment_owners, { count: I18n.number(p.segment_owners) }))}</div>
      <div>${esc(_n("{count} return visit made this period, {open} still open", "{count} return visits made this period, {open} still open", p.visits_made, { count: I18n.number(p.visits_made), open: I18n.number(p.visits_open) }))}</div>
    </li>`).join("")}</ul><div id="kpis-improvements"></div>`;
  await loadImprovements();
}

// The "315" plan's improvement actions: per handover batch (a project and the month it was handed over),
// "n of 5 recorded, m done", a form to add one and a result to mark one done (asked first).
const improve = { batches: [], handlers: null, adding: null, finishing: null };
const batchKey = (b) => `${b.project_id}:${b.batch_month}`;

async function loadImprovements() {
  const box = $("kpis-improvements");
  if (!box) return;
  if (!improve.handlers) {
    const response = await api("/api/v1/staff/cases/handlers");
    improve.handlers = response.ok ? await response.json() : [];
  }
  const response = await api("/api/v1/staff/improvement-actions");
  if (!response.ok) { box.innerHTML = `<p class="error" role="alert">${esc(await problemText(response))}</p>`; return; }
  improve.batches = await response.json();
  drawImprovements();
}

function drawImprovements(message = "") {
  const box = $("kpis-improvements");
  box.innerHTML = `<h3>${esc(_("“315” improvement actions"))}</h3>
    <p class="muted">${esc(_("Five improvement actions per handover batch, after the basic-care calls and the in-depth interview."))}</p>
    <p class="ok" id="improve-done" role="status">${esc(message)}</p>
    ${improve.batches.length ? `<ul class="imp-batches">${improve.batches.map(batchLine).join("")}</ul>`
      : `<p class="muted">${esc(_("No homes handed over in the last three months"))}</p>`}`;
}

function batchLine(b) {
  const key = batchKey(b);
  const project = (english() && b.project_name_en) || b.project_name || projectName(b.project_id, String(b.project_id));
  return `<li data-batch="${esc(key)}">
    <strong>${esc(_("{project}, handed over {month}", { project, month: I18n.month(b.batch_month) }))}</strong>
    <div class="muted">${esc(_n("{count} owner", "{count} owners", b.owners, { count: I18n.number(b.owners) }))}</div>
    <div data-imp-count>${esc(_("{recorded} of {target} improvement actions recorded, {done} done", {
      recorded: I18n.number(b.recorded), target: I18n.number(b.target), done: I18n.number(b.done) }))}</div>
    ${b.actions.length ? `<ol class="imp-actions">${b.actions.map(actionLine).join("")}</ol>` : ""}
    ${improve.adding === key ? addForm(b) : `<button class="secondary" type="button" data-imp-add="${esc(key)}">${esc(_("Add an improvement action"))}</button>`}
  </li>`;
}

function actionLine(a) {
  const head = `<strong>${esc(a.title)}</strong>
    <div class="muted">${esc(_("Owners said: {text}", { text: a.owners_said }))}${a.source_kind ? ` · ${esc(enumLabel("improvement_source", a.source_kind))} #${a.source_id}` : ""}</div>
    <div class="muted">${esc(_("{name}, due {date}", { name: a.owner_staff_name || String(a.owner_staff_id), date: I18n.date(`${a.due_on}T12:00:00+08:00`) }))}</div>`;
  let tail;
  if (a.done_at) {
    tail = `<div data-imp-state="done">${esc(_("Done {time}: {result}", { time: I18n.dateTime(a.done_at), result: a.result }))}</div>`;
  } else if (improve.finishing === a.id) {
    tail = `<form class="imp-form" data-imp-finish-form="${a.id}" novalidate>
      <label for="imp-result">${esc(_("What came of it"))}</label><textarea id="imp-result" rows="2" maxlength="4000"></textarea>
      <p class="field-error" id="imp-result-error" role="alert"></p>
      <div class="row"><button type="submit">${esc(_("Mark done"))}</button>
        <button class="secondary" type="button" data-imp-cancel>${esc(_("Cancel"))}</button></div></form>`;
  } else {
    tail = `<div data-imp-state="open"><button class="secondary" type="button" data-imp-finish="${a.id}">${esc(_("Mark done"))}</button></div>`;
  }
  return `<li data-action="${a.id}">${head}${tail}</li>`;
}

function addForm(b) {
  const staff = improve.handlers.map((h) => `<option value="${h.staff_id}"${h.staff_id === state.me.staff_id ? " selected" : ""}>${esc(h.name)}</option>`).join("");
  const sources = ["", "survey", "case", "visit"].map((k) => `<option value="${k}">${esc(k ? enumLabel("improvement_source", k) : _("None"))}</option>`).join("");
  const field = (name, label, input) => `<label for="imp-${name}">${esc(label)}</label>${input}<p class="field-error" id="imp-${name}-error" role="alert"></p>`;
  return `<form class="imp-form" data-imp-add-form="${esc(batchKey(b))}" novalidate>
    ${field("title", _("Improvement action"), `<input id="imp-title" maxlength="200" autocomplete="off">`)}
    ${field("owners_said", _("What the owners said"), `<textarea id="imp-owners_said" rows="2" maxlength="4000"></textarea>`)}
    ${field("source_kind", _("Where they said it (optional)"), `<select id="imp-source_kind">${sources}</select>`)}
    ${field("source_id", _("Its number"), `<input id="imp-source_id" inputmode="numeric" autocomplete="off">`)}
    ${field("owner_staff_id", _("Who carries it out"), `<select id="imp-owner_staff_id">${staff}</select>`)}
    ${field("due_on", _("Due date"), `<input id="imp-due_on" type="date">`)}
    <p class="error" id="imp-form-error" role="alert"></p>
    <div class="row"><button type="submit">${esc(_("Save the action"))}</button>
      <button class="secondary" type="button" data-imp-cancel>${esc(_("Cancel"))}</button></div>
  </form>`;
}

async function showProblem(response, fields, fallback) {
  const text = await problemText(response.clone());
  let field = null;
  try {
    const body = await response.json();
    field = (body.errors && body.errors[0] && body.errors[0].field) || null;
  } catch { /* not JSON */ }
  const where = field && fields.includes(field) ? $(`imp-${field}-error`) : $(fallback);
  if (where) where.textContent = text;
}

async function addAction(form) {
  const [projectId, month] = form.dataset.impAddForm.split(":");
  form.querySelectorAll(".field-error, .error").forEach((el) => { el.textContent = ""; });
  const sourceKind = $("imp-source_kind").value || null;
  const sourceId = $("imp-source_id").value.trim();
  const body = {
    project_id: Number(projectId), batch_month: month, title: $("imp-title").value, owners_said: $("imp-owners_said").value,
    owner_staff_id: Number($("imp-owner_staff_id").value), due_on: $("imp-due_on").value || null,
    source_kind: sourceKind, source_id: sourceId ? Number(sourceId) : null,
  };
  if (!body.title.trim()) { $("imp-title-error").textContent = _("Give the action a title"); return; }
  if (!body.due_on) { $("imp-due_on-error").textContent = _("Choose a due date"); return; }
  const response = await api("/api/v1/staff/improvement-actions", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) {
    await showProblem(response, ["title", "owners_said", "source_kind", "source_id", "owner_staff_id", "due_on"], "imp-form-error");
    return;
  }
  improve.adding = null;
  await loadImprovements();
  drawImprovements(_("Recorded: {title}", { title: body.title.trim() }));
}

async function finishAction(form) {
  const id = Number(form.dataset.impFinishForm);
  const action = improve.batches.flatMap((b) => b.actions).find((a) => a.id === id);
  const result = $("imp-result").value.trim();
  $("imp-result-error").textContent = "";
  if (!result) { $("imp-result-error").textContent = _("Say what came of it"); return; }
  const asked = await Confirm.ask({
    title: _("Mark “{title}” done?", { title: action.title }),
    lines: [_("The result is kept with the action and counts for the batch."), _("An action is marked done once and cannot be reopened.")],
    yes: _("Mark it done"), no: _("Go back"),
  });
  if (!asked) return;
  const response = await api(`/api/v1/staff/improvement-actions/${id}/completion`, { method: "POST", body: JSON.stringify({ result }) });
  if (!response.ok) { await showProblem(response, ["result"], "imp-result-error"); return; }
  improve.finishing = null;
  await loadImprovements();
  drawImprovements(_("Done: {title}", { title: action.title }));
}

document.addEventListener("click", (e) => {
  const t = e.target.closest("[data-imp-add],[data-imp-finish],[data-imp-cancel]");
  if (!t || !$("view-kpis").contains(t)) return;
  if (t.dataset.impAdd) { improve.adding = t.dataset.impAdd; improve.finishing = null; }
  else if (t.dataset.impFinish) { improve.finishing = Number(t.dataset.impFinish); improve.adding = null; }
  else { improve.adding = null; improve.finishing = null; }
  drawImprovements();
  const focus = $("imp-title") || $("imp-result");
  if (focus) focus.focus();
});
document.addEventListener("submit", (e) => {
  const form = e.target;
  if (!$("view-kpis").contains(form)) return;
  if (form.dataset.impAddForm) { e.preventDefault(); addAction(form); }
  else if (form.dataset.impFinishForm) { e.preventDefault(); finishAction(form); }
});

document.addEventListener("click", (e) => {
  const t = e.target.closest("[data-kpi-drill],[data-kpi-close],[data-kpi-trend]");
  if (!t || !$("view-kpis").contains(t)) return;
  if (t.dataset.kpiDrill) drillDown(t.dataset.kpiDrill, t.dataset.period);
  else if (t.dataset.kpiTrend) {
    kpiBoard.trend = t.dataset.kpiTrend;
    document.querySelectorAll("[data-kpi-trend]").forEach((b) => b.setAttribute("aria-pressed", String(b === t)));
    drawKpis();
  } else { $("kpis-drill").hidden = true; }
});
$("kpis-reload").addEventListener("click", loadKpis);
$("kpis-month").addEventListener("change", loadKpis);
$("kpis-project").addEventListener("change", loadKpis);

defineView("kpis", ["service"], loadKpis);
