// Staff pages: the referral board (sales), the door scanner (event staff), the reward counter and the service desk
// (service), the rewards catalogue (admins: rewards-catalogue.js), messages to groups (admins: broadcasts.js) and the dashboards.
// Plain JavaScript against /api/v1/staff (session cookie); every word from i18n.js; charts are SVG drawn here.
"use strict";

const STAGES = ["registered", "visited", "subscribed", "signed", "cancelled"];
const NEXT = { registered: ["visited", "subscribed", "signed", "cancelled"], visited: ["subscribed", "signed", "cancelled"], subscribed: ["signed", "cancelled"], signed: [], cancelled: [] };
const TIERS = ["platinum", "gold", "silver", "blue"];

// Which roles may use each view (admins every one), as the API's guards allow them: a view a role
// may not use is not offered, rather than opened empty.
// Each view's module registers itself with defineView (its name, the roles besides admin, its loader), so a
// new page is one script and one <section>, not an edit here.
const VIEWS = {};
function defineView(name, roles, load) { VIEWS[name] = { roles, load }; }
const PREFERRED = { sales: "referrals", event_staff: "scanner", service: "desk", admin: "dashboards" };
const GATE_KEY = "owner-club.gate";  // the gate this browser's staff member last typed (localStorage)

const state = { me: null, view: null, projects: null, leads: [] };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const english = () => I18n.locale === "en";
const titleOf = (item) => (english() && item.title_en ? item.title_en : item.title_zh);

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin", ...options,
    headers: { "content-type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
  return response;
}
// A refused request: the problem (title and detail, rendered by the server in this page's locale).
async function problemOf(response) {
  try {
    const p = await response.json();
    return { title: p.title || _("Something went wrong; please try again"), detail: p.detail || "" };
  } catch {
    return { title: _("Something went wrong; please try again"), detail: "" };
  }
}
async function problemText(response) { const p = await problemOf(response); return p.detail || p.title; }

function showSwitch() { $("lang").textContent = enumLabel("language", I18n.other); }
function showLogin() {
  state.me = null; state.view = null;
  $("nav").hidden = true; document.querySelectorAll(".view").forEach((v) => { v.hidden = true; }); $("login").hidden = false;
}
// A phone set up as a door scanner (from a QR, door.js) has the scanner only, whatever its issuer's role.
const mayUse = (view) => !!state.me && view in VIEWS && (state.me.door_event_id ? view === "scanner"
  : state.me.role === "admin" || VIEWS[view].roles.includes(state.me.role));

async function start() {
  await openDoorFromAddress();
  const response = await fetch("/api/v1/staff/me", { credentials: "same-origin" });
  if (!response.ok) { showLogin(); return; }
  state.me = await response.json();
  $("login").hidden = true; $("nav").hidden = false;
  document.querySelectorAll("#nav [data-view]").forEach((a) => { a.hidden = !mayUse(a.dataset.view); });
  $("nav").querySelector('a[href="/admin/"]').hidden = !!state.me.door_event_id;
  await show(location.hash.slice(1));
}

async function show(address) {
  if (!state.me) return;
  let [view, detail] = String(address).split("/");  // a view's own page: #desk/<case id>
  // An address naming a view this role may not use (or none) opens the role's own view.
  if (!mayUse(view)) {
    view = PREFERRED[state.me.role] || "dashboards"; detail = undefined;
    history.replaceState(null, "", `#${view}`);
  }
  state.view = view;
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${view}`; });
  document.querySelectorAll("[data-view]").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  try {
    await VIEWS[view].load(detail);
  } catch (error) {
    // Logged out while the view was loading (another tab, the session's end): api() has shown the login.
    if (error.message !== "not logged in") throw error;
  }
}

// --- projects, by name in the reader's language ----------------------------------------------

async function loadProjectList() {
  if (!state.projects) state.projects = await api("/api/v1/projects").then((r) => (r.ok ? r.json() : []));
  return state.projects;
}
function projectName(id, fallback = "") {
  const p = (state.projects || []).find((x) => x.id === id);
  return p ? (english() && p.name_en ? p.name_en : p.name) : fallback;
}

// --- the referral board --------------------------------------------------------------------

const MOVE_WORDS = {  // the button that moves a lead on to a stage: short, the board has five columns
  visited: () => _p("lead action", "Visited"), subscribed: () => _p("lead action", "Subscribed"),
  signed: () => _p("lead action", "Signed"), cancelled: () => _p("lead action", "Cancel"),
};

// A sentence with a person's name in it, the name kept on one line (a name split across two
// lines reads as two names): the sentence is filled with a mark, escaped, then the mark replaced.
const NAME_MARK = "\u0001";
const withName = (text, name) => esc(text).replace(NAME_MARK, `<span class="name">${esc(name)}</span>`);

async function loadBoard() {
  const select = $("ref-project");
  const chosen = select.value;
  select.innerHTML = `<option value="">${esc(_("All projects"))}</option>` +
    (await loadProjectList()).map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("");
  select.value = chosen;
  const project = select.value;
  const response = await api(`/api/v1/staff/referrals?limit=200${project ? `&project_id=${project}` : ""}`);
  if (!response.ok) { $("board").innerHTML = ""; $("board-error").textContent = await problemText(response); return; }
  const leads = await response.json();
  state.leads = leads;
  $("board").innerHTML = STAGES.map((stage) => {
    const here = leads.filter((l) => l.stage === stage);
    return `<div class="column" data-stage="${stage}"><h3><span>${esc(enumLabel("referral_stage", stage))}</span><span>${here.length}</span></h3>${here.map((l) => `
      <div class="lead" data-lead="${l.id}"><strong class="name">${esc(l.name)}</strong> <span class="phone">${esc(l.phone)}</span>
      <div class="muted"><span class="project">${esc(projectName(l.project_id, l.project))}</span> · <span class="by">${withName(_("referred by {name}", { name: NAME_MARK }), l.referrer_name)}</span></div>
      <div class="actions">${NEXT[stage].map((to) => `<button class="${to === "cancelled" ? "secondary" : ""}" data-move="${l.id}" data-to="${to}">${esc(MOVE_WORDS[to]())}</button>`).join("")}</div></div>`).join("")}</div>`;
  }).join("");
}

// Every move is for good (a lead never goes back a stage, and rewards are paid or taken back at
// once): the board asks first, naming the lead and the stage; a cancellation asks why too (the
// API keeps the reason, at least 2 characters).
function moveQuestion(lead, stage) {
  const name = lead.name;
  if (stage === "cancelled") {
    return {
      title: _("Cancel the referral of {name}?", { name }),
      lines: [_("Rewards paid for its subscription and signing are taken back. A cancelled lead stays cancelled.")],
      reason: { label: _("Why is it cancelled? (at least 2 characters)"), minLength: 2 },
      yes: _("Cancel the referral"), no: _("Go back"),
    };
  }
  const stageName = enumLabel("referral_stage", stage);
  return {
    title: _("Move {name} to “{stage}”?", { name, stage: stageName }),
    lines: [_("Rewards up to this stage are paid at once, and a lead never goes back to an earlier stage.")],
    yes: _("Move to “{stage}”", { stage: stageName }), no: _("Go back"),
  };
}

async function moveLead(id, stage) {
  const lead = state.leads.find((l) => String(l.id) === String(id));
  if (!lead) return;
  const answer = await Confirm.ask(moveQuestion(lead, stage));
  if (!answer) return;
  $("board-error").textContent = "";
  const body = stage === "cancelled" ? { stage, note: answer.reason } : { stage };
  const response = await api(`/api/v1/staff/referrals/${id}/stage`, { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) $("board-error").textContent = await problemText(response);
  await loadBoard();
}

// --- the door scanner: door.js ------------------------------------------------------------

// --- dashboards ----------------------------------------------------------------------------

// Column kinds: how a value is written.
const count = (v) => (v === null || v === undefined ? "" : I18n.number(v));
const rate = (v) => I18n.percent(v);
// A money column shows full amounts on every row (¥552,500.00), never ¥55.25万 beside ¥48,082.00.
const fen = (v) => (v === null || v === undefined ? "" : I18n.money(v, { compact: false }));
const yesNo = (v) => (v === true ? _("Yes") : v === false ? _("No") : "—");
const signed = (v) => (v === null || v === undefined ? "—" : new Intl.NumberFormat(I18n.locale, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(v));
const col = (key, head, show = count) => ({ key, head, show, text: ![count, rate, fen, signed, yesNo].includes(show) });
// The totals row names itself in its first column (its project/merchant/title is empty).
const projectCell = (v, r) => (r.project_id === null || r.project_id === undefined ? _("All projects") : projectName(r.project_id, r.project));
const monthCell = (v, length = "long") => (v === "all" ? _("All months") : v ? I18n.month(v, length) : "");

// What each dashboard shows: its columns (header words, how a value is written), the chart's
// row label and value, and the business target if there is one.
// Column headers say what the CSV export's headers say (the same context and words, in
// pages.po as in messages.po; tests/browser/test_dashboards_page.py compares them).
const DASHBOARDS = {
  tiers: {
    title: () => _("Members by tier"), roles: ["admin"], value: "members", label: (r) => enumLabel("tier", r.tier),
    chartRows: (d) => TIERS.map((tier) => ({ tier, members: d.totals[tier] })),
    columns: () => [
      col("project", _p("dashboard_column", "Project"), projectCell), ...TIERS.map((t) => col(t, enumLabel("tier", t))),
      col("members", _p("dashboard_column", "Members")),
    ],
  },
  referrals: {
    title: () => _("Referrals: share of new buyers who were referred"), roles: ["admin", "sales"], target: 0.3, percent: true,
    value: "referral_share", label: (r) => `${projectName(r.project_id, r.project)} ${monthCell(r.month, "short")}`,
    columns: () => [
      col("project", _p("dashboard_column", "Project"), projectCell), col("month", _p("dashboard_column", "Month"), (v) => monthCell(v)),
      col("registered", _p("dashboard_column", "Leads registered")), col("visited", _p("dashboard_column", "Leads visited")),
      col("subscribed", _p("dashboard_column", "Leads subscribed")), col("signed", _p("dashboard_column", "Leads signed")),
      col("new_buyers", _p("dashboard_column", "New buyers")), col("referred_buyers", _p("dashboard_column", "Referred buyers")),
      col("conversion", _p("dashboard_column", "Conversion"), rate),
      col("referral_share", _p("dashboard_column", "Referral share of new buyers"), rate),
      col("meets_target", _p("dashboard_column", "Meets the target"), yesNo),
    ],
  },
  events: {
    title: () => _("Event attendance and no-shows"), roles: ["admin", "event_staff"], value: "no_show_rate", percent: true,
    label: (r) => titleOf(r),
    columns: () => [
      // One title, in the reader's language (the CSV has a column for each language).
      col("title_zh", _("Event"), (v, r) => (r.event_id === null ? _("All events") : titleOf(r))),
      col("starts_at", _p("dashboard_column", "Starts at (Beijing time)"), (v) => I18n.dateTime(v)),
      col("status", _p("dashboard_column", "Status"), (v) => (v ? enumLabel("event_status", v) : "")),
      col("seats", _p("dashboard_column", "Seats")), col("signups", _p("dashboard_column", "Signups")),
      col("people", _p("dashboard_column", "People signed up")), col("attended", _p("dashboard_column", "Signups attended")),
      col("attended_people", _p("dashboard_column", "People attended")), col("no_show", _p("dashboard_column", "No-show signups")),
      col("no_show_people", _p("dashboard_column", "No-show people")),
      col("no_show_rate", _p("dashboard_column", "No-show rate"), rate), col("attendance_rate", _p("dashboard_column", "Attendance rate"), rate),
    ],
  },
  merchants: {
    title: () => _("Alliance merchants: sales and points spent"), roles: ["admin"], value: "points_redeemed", label: (r) => r.merchant,
    columns: () => [
      col("merchant", _p("dashboard_column", "Merchant"), (v, r) => (r.merchant_id === null ? _("All merchants") : v)),
      col("sales", _p("dashboard_column", "Sales")), col("gross_fen", _p("dashboard_column", "Gross"), fen),
      col("discount_fen", _p("dashboard_column", "Discounts"), fen),
      col("points_redeemed", _p("dashboard_column", "Points redeemed")),
      col("points_value_fen", _p("dashboard_column", "Value of the points"), fen),
      col("reversed_fen", _p("dashboard_column", "Reversed"), fen),
    ],
  },
  liability: {
    title: () => _("Points owed to members"), roles: ["admin"], value: "points", label: (r) => enumLabel("liability_kind", r.kind),
    columns: () => [
      col("kind", _p("dashboard_column", "Kind"), (v) => enumLabel("liability_kind", v)), col("points", _p("dashboard_column", "Points")),
      col("value_fen", _p("dashboard_column", "Value"), fen),
    ],
  },
  kpis: {
    title: () => _("Satisfaction and service"), roles: ["admin", "sales", "service"], target: 0.85, percent: true,
    value: "satisfaction_rate",
    label: (r) => (r.month === "all" ? _("Overall") : `${projectCell(null, r)} ${monthCell(r.month, "short")}`),
    columns: () => [
      // The project by name (the CSV gives its number).
      col("project", _p("dashboard_column", "Project"), projectCell), col("month", _p("dashboard_column", "Month"), (v) => monthCell(v)),
      col("satisfaction_rate", _p("dashboard_column", "Satisfied (4 or 5 of 5)"), rate),
      col("satisfaction_scores", _p("dashboard_column", "Scores given")),
      col("nps", _p("dashboard_column", "Net promoter score"), signed),
      col("recommend_answers", _p("dashboard_column", "Recommendation answers")),
      col("reply_on_time_rate", _p("dashboard_column", "Replied on time"), rate),
      col("follow_up_rate", _p("dashboard_column", "Followed up on time"), rate),
      col("referral_share", _p("dashboard_column", "Referral share of new buyers"), rate),
      col("new_buyers", _p("dashboard_column", "New buyers")), col("referred_buyers", _p("dashboard_column", "Referred buyers")),
      col("referral_signed", _p("dashboard_column", "Referral leads signed")),
    ],
  },
};

function rowsOf(data) { return Array.isArray(data) ? data : Array.isArray(data.rows) ? data.rows : [data]; }

// Bars with their labels below them, slanted when they would not fit side by side (a month of
// two projects makes two dozen bars); each bar's label and value in its tooltip.
const labelWidth = (text) => [...text].reduce((sum, c) => sum + (c.charCodeAt(0) > 0x2e80 ? 10 : 5.5), 0);  // at 10px
function fitted(text, width) {
  if (labelWidth(text) <= width) return text;
  let cut = [...text];
  while (cut.length && labelWidth(`${cut.join("")}…`) > width) cut = cut.slice(0, -1);
  return `${cut.join("")}…`;
}

function chart(rows, config) {
  const values = rows.map((r) => Number(r[config.value]) || 0);
  const top = Math.max(config.target || 0, ...values, config.percent ? 0.01 : 1);
  const width = 600, base = 150, bar = Math.max(8, Math.min(60, (width - 40) / Math.max(rows.length, 1) - 8));
  const labels = rows.map((r) => fitted(String(config.label(r) ?? ""), 185));
  const slanted = labels.some((l) => labelWidth(l) > bar + 6);
  const reach = Math.max(0, ...labels.map(labelWidth));  // a slanted label's depth is its length × sin 35°
  const height = base + (slanted ? Math.ceil(reach * 0.58) + 25 : 20);
  const y = (value) => base - (value / top) * (base - 10);
  const bars = rows.map((r, i) => {
    const x = 30 + i * (bar + 8), middle = x + bar / 2;
    const shown = config.percent ? I18n.percent(values[i]) : I18n.number(values[i]);
    const place = slanted ? `transform="translate(${middle + 3} ${base + 12}) rotate(-35)" text-anchor="end"` : `x="${middle}" y="${base + 14}" text-anchor="middle"`;
    return `<rect x="${x}" y="${y(values[i])}" width="${bar}" height="${base - y(values[i])}" fill="#1e3a8a"><title>${esc(String(config.label(r) ?? ""))}: ${esc(shown)}</title></rect>
      <text ${place} font-size="10">${esc(labels[i])}</text>`;
  }).join("");
  const target = config.target ? `<line x1="20" x2="${width}" y1="${y(config.target)}" y2="${y(config.target)}" stroke="#b91c1c" stroke-dasharray="6 4"/>` : "";
  // Slanted labels reach left of the first bar: the chart may draw into its margin.
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" height="${height}" role="img">${bars}${target}</svg>`;
}

function table(rows, columns) {
  if (!rows.length) return `<p class="muted">${esc(_("Nothing in this period"))}</p>`;
  const kind = (c) => (c.text ? ' class="text"' : "");  // words read from the left, figures from the right
  const head = columns.map((c) => `<th data-column="${c.key}"${kind(c)}>${esc(c.head)}</th>`).join("");
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td data-column="${c.key}"${kind(c)}>${esc(c.show(r[c.key], r))}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

async function dashboard(name, config, query) {
  const response = await api(`/api/v1/staff/dashboards/${name}?${query}`);
  if (!response.ok) return `<div class="dash" data-dashboard="${name}"><h2>${esc(config.title())}</h2><p class="error">${esc(await problemText(response))}</p></div>`;
  const data = await response.json();
  const rows = rowsOf(data);
  const target = config.target ? `<span class="muted">${esc(_("target {rate}", { rate: I18n.percent(config.target, 0) }))}</span>` : "";
  const charted = (config.chartRows ? config.chartRows(data) : rows).filter((r) => r[config.value] !== undefined && r[config.value] !== null);
  return `<div class="dash" data-dashboard="${name}"><h2><span>${esc(config.title())} ${target}</span>
    <a class="button secondary" href="/api/v1/staff/dashboards/${name}.csv?${query}">${esc(_("Export CSV"))}</a></h2>
    ${chart(charted, config)}${table(data.totals ? [...rows, data.totals] : rows, config.columns())}</div>`;
}

async function loadDashboards() {
  if (!$("dash-start").value) {  // this year so far, in Beijing days (what the API's ranges are)
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());  // YYYY-MM-DD
    $("dash-start").value = `${today.slice(0, 4)}-01-01`;
    $("dash-end").value = today;
  }
  await loadProjectList();
  const query = `start=${$("dash-start").value}&end=${$("dash-end").value}`;
  const mine = Object.entries(DASHBOARDS).filter(([, c]) => c.roles.includes(state.me.role) || state.me.role === "admin");
  $("dashboards").innerHTML = (await Promise.all(mine.map(([name, config]) => dashboard(name, config, query)))).join("");
}

// --- wiring --------------------------------------------------------------------------------

$("sign-in").addEventListener("click", async () => {
  const response = await fetch("/api/v1/auth/staff-sessions", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: $("username").value.trim(), password: $("password").value }),
  });
  if (!response.ok) { $("login-error").textContent = await problemText(response); return; }
  $("login-error").textContent = "";
  // /admin sends a visitor here to log in (?next=/admin/): one staff login serves both.
  if (new URLSearchParams(location.search).get("next") === "/admin/") { location.assign("/admin/"); return; }
  await start();
});
$("logout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/staff-sessions/current", { method: "DELETE", credentials: "same-origin" });
  await I18n.load();  // the session's language went with it: the cookie or the browser's now
  showSwitch();
  showLogin();
});
$("lang").addEventListener("click", async () => {
  await I18n.choose(I18n.other);
  showSwitch();
  // Words a request left on the page were said in the other language: the scanner starts afresh.
  $("board-error").textContent = ""; $("scan-error").textContent = ""; $("scan-result").className = "result idle";
  $("result-code").textContent = "—"; $("result-label").textContent = ""; $("result-detail").textContent = ""; $("door-flash").hidden = true;
  if (state.view) await show(location.hash.slice(1) || state.view);
});
$("ref-reload").addEventListener("click", loadBoard);
$("ref-project").addEventListener("change", loadBoard);
$("dash-reload").addEventListener("click", loadDashboards);
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
document.addEventListener("click", (e) => { if (e.target.dataset.move) moveLead(e.target.dataset.move, e.target.dataset.to); });
// After every script of the page has run (door.js comes after this one).
defineView("referrals", ["sales"], loadBoard);
defineView("dashboards", ["sales", "event_staff", "service"], loadDashboards);

document.addEventListener("DOMContentLoaded", () => I18n.load().then(() => { showSwitch(); return start(); }));
