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

// --- dashboards: dashboards.js -----------------------------------------------------------

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
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
document.addEventListener("click", (e) => { if (e.target.dataset.move) moveLead(e.target.dataset.move, e.target.dataset.to); });
// After every script of the page has run (door.js comes after this one).
defineView("referrals", ["sales"], loadBoard);

document.addEventListener("DOMContentLoaded", () => I18n.load().then(() => { showSwitch(); return start(); }));
