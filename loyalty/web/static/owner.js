// The owner's page: phone login, the card with its rotating QR, points, referrals and events.
// Plain JavaScript against /api/v1 (the session is a cookie); every word from i18n.js.
"use strict";

// `chosen`: a language picked with the switch before logging in, saved for the owner once they are in.
// `events`, `signups`: what the events tab shows, for the words of a cancellation's question.
const state = { tab: "card", qrTimer: null, tickTimer: null, projects: null, chosen: null, events: [], signups: [] };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
// Each tab's script (owner-<tab>.js) registers how to show its tab: TABS[name] = async () => {...}.
const TABS = {};
const english = () => I18n.locale === "en";

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin", ...options,
    headers: { "content-type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
  return response;
}

// A refused request in words: the problem's detail (rendered by the server in this page's
// locale), else its title; a body that is no problem at all gets a sentence of our own.
async function problemText(response) {
  try { const p = await response.json(); return p.detail || p.title || _("Something went wrong; please try again"); } catch {
    return _("Something went wrong; please try again");
  }
}

function showSwitch() { $("lang").textContent = enumLabel("language", I18n.other); }

function showLogin() {
  $("app").hidden = true; $("logout").hidden = true; $("login").hidden = false;
  clearTimeout(state.qrTimer); clearInterval(state.tickTimer);
}

async function showApp() {
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  await selectTab(state.tab);
  prefetch();
}

// Quietly, while there is signal: the points and the tickets (their QR images too) are then on
// the page for an owner who opens them later without it, at the door of an event say.
function prefetch() {
  ["points", "events"].filter((name) => name !== state.tab).forEach((name) => loadTab(name, { quiet: true }));
}

// Tabs whose content came at least once: without signal, the page says it shows that.
const loaded = new Set();

// Says the connection is gone above the tab (null: it is back). The tab keeps what it showed.
function showLost(name) {
  state.lost = name;
  $("lost-banner").hidden = name === null;
  if (name !== null) {
    $("lost-banner").textContent = loaded.has(name)
      ? _("Connection lost; this is what was last loaded") : _("Connection lost; please go online and try again");
  }
}

// One load of a tab at a time, in order: a load started later (in a new language, say) draws last.
const loading = {};
function loadTab(name, options) {
  const run = () => loadTabNow(name, options);
  loading[name] = (loading[name] || Promise.resolve()).then(run, run);
  return loading[name];
}

async function loadTabNow(name, { quiet = false } = {}) {
  try {
    await TABS[name]();
    loaded.add(name);
    if (!quiet && state.tab === name) showLost(null);
  } catch (error) {
    if (error.message !== "not logged in" && !quiet && state.tab === name) showLost(name);
  }
}

// A view opened from a tab (rewards, from points) keeps that tab's button lit: the bar has no room for it.
const PARENT_TAB = { rewards: "points" };

async function selectTab(name) {
  state.tab = name;
  const lit = PARENT_TAB[name] || name;
  document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === lit)));
  document.querySelectorAll(".tab").forEach((el) => { el.hidden = el.id !== `tab-${name}`; });
  // The rewards view has an address (/#rewards: a refresh or a pick-up message opens it); leaving it clears it.
  if (name === "rewards" && location.hash !== "#rewards") history.replaceState(null, "", "#rewards");
  else if (name !== "rewards" && location.hash === "#rewards") history.replaceState(null, "", location.pathname + location.search);
  if (name !== "card") { clearTimeout(state.qrTimer); clearInterval(state.tickTimer); }
  await loadTab(name);
}

// --- shared by the tabs -------------------------------------------------------------------

async function projects() {
  state.projects = state.projects || await api("/api/v1/projects").then((r) => r.json());
  return state.projects;
}
// A project's name as this reader reads it (the English name where the project has one).
function projectName(id, fallback = "") {
  const p = (state.projects || []).find((x) => x.id === id);
  return p ? (english() && p.name_en ? p.name_en : p.name) : fallback;
}

// --- wiring --------------------------------------------------------------------------------

$("lang").addEventListener("click", async () => {
  if ($("app").hidden) state.chosen = I18n.other;
  await I18n.choose(I18n.other);
  showSwitch();
  // Said in the other language: gone until the page says them again (the countdown at its next tick).
  ["login-error", "refer-error", "event-error", "rewards-error", "countdown"].forEach((id) => { $(id).textContent = ""; });
  if (!$("app").hidden) { await selectTab(state.tab); prefetch(); }  // the tabs loaded quietly, in the new language too
});
$("send-code").addEventListener("click", async () => {
  $("login-error").textContent = "";
  const response = await api("/api/v1/auth/login-codes", { method: "POST", body: JSON.stringify({ phone: $("phone").value.trim() }) });
  $("login-error").textContent = response.ok ? _("Code sent") : await problemText(response);
});
$("sign-in").addEventListener("click", async () => {
  const body = { phone: $("phone").value.trim(), code: $("code").value.trim() };
  const response = await fetch("/api/v1/auth/sessions", {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body), headers: { "content-type": "application/json" },
  });
  if (!response.ok) { $("login-error").textContent = await problemText(response); return; }
  $("login-error").textContent = "";
  // Logged in, the owner's saved language comes first (the login set the cookie to it), unless they just picked one on this page.
  if (state.chosen) await I18n.choose(state.chosen); else await I18n.load();
  showSwitch();
  await showApp();
});
$("logout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/sessions/current", { method: "DELETE", credentials: "same-origin" });
  state.chosen = null;
  await I18n.load();  // the language stays this browser's (the `lang` cookie) after logging out
  showSwitch();
  showLogin();
});
document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));
window.addEventListener("offline", () => { if (!$("app").hidden) showLost(state.tab); });
window.addEventListener("online", () => { if (!$("app").hidden) selectTab(state.tab); });

// The tab scripts (owner-*.js) load after this one and register their loaders in TABS.
window.addEventListener("DOMContentLoaded", () => I18n.load().then(() => {
  showSwitch();
  return api("/api/v1/me").then((r) => (r.ok ? showApp() : showLogin()));
}).catch(() => showLogin()));
