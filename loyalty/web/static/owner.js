// The owner's page: phone login, the card with its rotating QR, points, referrals and events.
// Plain JavaScript against /api/v1 (the session is a cookie); every word from i18n.js.
"use strict";

// `chosen`: a language picked with the switch before logging in, saved for the owner once they are in.
// `events`, `signups`: what the events tab shows, for the words of a cancellation's question.
const state = { tab: "card", qrTimer: null, tickTimer: null, projects: null, chosen: null, events: [], signups: [] };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
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
}

async function selectTab(name) {
  state.tab = name;
  document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  document.querySelectorAll(".tab").forEach((el) => { el.hidden = el.id !== `tab-${name}`; });
  if (name !== "card") { clearTimeout(state.qrTimer); clearInterval(state.tickTimer); }
  await { card: loadCard, points: loadPoints, referrals: loadReferrals, events: loadEvents }[name]();
}

// --- the card and its rotating code ----------------------------------------------------------

async function loadCard() {
  const [me, card] = await Promise.all([api("/api/v1/me").then((r) => r.json()), api("/api/v1/me/card").then((r) => r.json())]);
  $("card").className = `card ${card.tier}`;
  $("tier").textContent = enumLabel("tier", card.tier);
  $("member-name").textContent = me.name;
  $("card-number").textContent = card.number;
  $("why").textContent = card.why;
  const next = card.next_tier;
  $("next").innerHTML = next
    ? `<p>${esc(_("To reach {tier}:", { tier: enumLabel("tier", next.tier) }))}</p><ul class="progress">${next.criteria
        .map((c) => `<li class="${c.met ? "met" : ""}">${esc(c.text)}</li>`).join("")}</ul>`
    : "";
  await refreshCode();
}

async function refreshCode() {
  clearTimeout(state.qrTimer); clearInterval(state.tickTimer);
  const response = await api("/api/v1/me/card/code.svg");
  if (!response.ok) { $("qr").textContent = await problemText(response); return; }
  $("qr").innerHTML = await response.text();
  $("qr").dataset.code = response.headers.get("x-card-code");
  let left = Number(response.headers.get("x-refresh-after")) || 60;
  const tick = () => { $("countdown").textContent = _n("A new code in {count} second", "A new code in {count} seconds", left); left -= 1; };
  tick();
  state.tickTimer = setInterval(tick, 1000);
  // A little before the code's minute ends, so the till never sees an expired code.
  state.qrTimer = setTimeout(refreshCode, Math.max(left - 1, 1) * 1000);
}

// --- points, referrals, events -------------------------------------------------------------

async function loadPoints() {
  const points = (await api("/api/v1/me/points").then((r) => r.json())).balance;  // the statement: { balance, entries }
  $("points-available").textContent = I18n.number(points.available);
  $("points-pending").textContent = I18n.number(points.pending);
  $("points-expiring").textContent = points.expiring_on && points.expiring_soon
    ? _("{points} (by {date})", { points: I18n.number(points.expiring_soon), date: I18n.date(points.expiring_on) })
    : I18n.number(points.expiring_soon);
}

async function projects() {
  state.projects = state.projects || await api("/api/v1/projects").then((r) => r.json());
  return state.projects;
}
// A project's name as this reader reads it (the English name where the project has one).
function projectName(id, fallback = "") {
  const p = (state.projects || []).find((x) => x.id === id);
  return p ? (english() && p.name_en ? p.name_en : p.name) : fallback;
}

async function loadReferrals() {
  const [all, leads] = await Promise.all([projects(), api("/api/v1/me/referrals").then((r) => r.json())]);
  const chosen = $("ref-project").value;
  $("ref-project").innerHTML = all.map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("");
  if (chosen) $("ref-project").value = chosen;
  $("referrals").innerHTML = leads.length
    ? leads.map((l) => `<div class="row event"><span>${esc(l.name)} · ${esc(projectName(l.project_id, l.project))}</span>
        <span class="status" data-stage="${esc(l.stage)}">${esc(enumLabel("referral_stage", l.stage))}</span></div>`).join("")
    : `<p class="muted">${esc(_("No referrals yet"))}</p>`;
}

async function refer() {
  $("refer-error").textContent = "";
  const body = { name: $("ref-name").value.trim(), phone: $("ref-phone").value.trim(), project_id: Number($("ref-project").value) };
  const response = await api("/api/v1/referrals", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { $("refer-error").textContent = await problemText(response); return; }
  $("ref-name").value = ""; $("ref-phone").value = "";
  await loadReferrals();
}

function title(item) { return english() && item.title_en ? item.title_en : item.title_zh; }

function signupStatus(s) {  // a promoted seat whose payment Stripe has not made yet reads as "preparing"
  return enumLabel("signup_status", s.payment && s.payment.status === "preparing" ? "payment_preparing" : s.status);
}

function eventItem(e) {
  const fee = e.fee_per_person_fen ? _("{fee} per person", { fee: I18n.money(e.fee_per_person_fen) }) : _("Free");
  const options = Array.from({ length: e.party_size_limit }, (unused, i) => `<option value="${i + 1}">${esc(_n("{count} person", "{count} people", i + 1))}</option>`);
  const party = `<select data-party="${e.id}" aria-label="${esc(_("How many people"))}">${options.join("")}</select>`;
  const full = e.why_not && e.why_not.type === "/problems/event-full";
  const action = e.can_sign_up ? `${party}<button data-signup="${e.id}">${esc(_("Sign up"))}</button>`
    : full ? `${party}<button data-waitlist="${e.id}">${esc(_("Join the waitlist"))}</button>` : "";
  const seats = _n("{count} seat left", "{count} seats left", e.seats_left);
  return `<div class="event" data-event="${e.id}"><strong>${esc(title(e))}</strong>
    <div class="muted">${esc(I18n.dateTime(e.starts_at))} · ${esc(e.venue)} · ${esc(fee)} · ${esc(seats)}</div>
    ${e.why_not && !full ? `<div class="why">${esc(e.why_not.message)}</div>` : ""}
    <div class="row">${action}</div></div>`;
}

const signupTitle = (s) => (english() && s.event_title_en ? s.event_title_en : s.event_title_zh);

function signupItem(s) {
  const place = s.waitlist_position ? ` · ${esc(_("number {position} on the waitlist", { position: s.waitlist_position }))}` : "";
  const cancellable = ["confirmed", "waitlisted", "pending_payment"].includes(s.status);
  return `<div class="event ticket" data-signup-id="${s.id}">
    <div class="row"><strong>${esc(signupTitle(s))}</strong>
    <span class="status" data-status="${esc(s.status)}">${esc(signupStatus(s))}</span></div>
    <div class="muted">${esc(I18n.dateTime(s.starts_at))} · ${esc(s.venue)}${place}</div>
    ${s.ticket_code ? `<img alt="${esc(_("Ticket code"))}" src="/api/v1/me/signups/${s.id}/ticket.png" data-ticket="${esc(s.ticket_code)}">` : ""}
    ${cancellable ? `<button class="secondary" data-cancel="${s.id}">${esc(_("Cancel the signup"))}</button>` : ""}
  </div>`;
}

async function loadEvents() {
  const [events, signups] = await Promise.all([
    api("/api/v1/events").then((r) => r.json()), api("/api/v1/me/signups").then((r) => r.json()),
  ]);
  state.events = events; state.signups = signups;
  $("events").innerHTML = events.length ? events.map(eventItem).join("") : `<p class="muted">${esc(_("No events to join right now"))}</p>`;
  $("signups").innerHTML = signups.length ? signups.map(signupItem).join("") : `<p class="muted">${esc(_("No signups yet"))}</p>`;
}

async function signUp(eventId, waitlist) {
  $("event-error").textContent = "";
  const partySize = Number(document.querySelector(`[data-party="${eventId}"]`)?.value || 1);
  const response = await api(`/api/v1/events/${eventId}/signups`, {
    method: "POST", body: JSON.stringify({ party_size: partySize, join_waitlist: waitlist }),
  });
  if (!response.ok) $("event-error").textContent = await problemText(response);
  await loadEvents();
}

// What cancelling gives up, said before it is done: a waitlist place, or a seat that goes to the
// waitlist (the next household takes it) and a fee that is paid back.
function cancelQuestion(s) {
  const event = signupTitle(s);
  if (s.status === "waitlisted") {
    return {
      title: _("Leave the waitlist for “{event}”?", { event }),
      lines: [s.waitlist_position ? _("You give up your place (number {position}); joining again puts you at the end.", { position: s.waitlist_position }) : ""],
      yes: _("Leave the waitlist"), no: _("Stay on the waitlist"),
    };
  }
  const listed = state.events.find((e) => e.id === s.event_id);
  const seat = !listed ? _("If anyone is on the waitlist, your seat goes to them.")
    : listed.seats_left === 0 ? _("The event is full: your seat goes to the next person on the waitlist, and you may not get it back.")
    : _("You can sign up again while seats are left.");
  const paid = s.payment && s.payment.status === "succeeded" ? _("The {fee} you paid is refunded.", { fee: I18n.money(s.payment.amount_fen) }) : "";
  return {
    title: _("Cancel your signup for “{event}”?", { event }),
    lines: [seat, paid], yes: _("Cancel the signup"), no: _("Keep my signup"),
  };
}

async function cancelSignup(signupId) {
  const signup = state.signups.find((s) => String(s.id) === String(signupId));
  if (!signup || !(await Confirm.ask(cancelQuestion(signup)))) return;
  $("event-error").textContent = "";
  const response = await api(`/api/v1/me/signups/${signupId}/cancellation`, { method: "POST" });
  if (!response.ok) $("event-error").textContent = await problemText(response);
  await loadEvents();
}

// --- wiring --------------------------------------------------------------------------------

$("lang").addEventListener("click", async () => {
  if ($("app").hidden) state.chosen = I18n.other;
  await I18n.choose(I18n.other);
  showSwitch();
  // Said in the other language: gone until the page says them again (the countdown at its next tick).
  ["login-error", "refer-error", "event-error", "countdown"].forEach((id) => { $(id).textContent = ""; });
  if (!$("app").hidden) await selectTab(state.tab);
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
  // Logged in, the owner's saved language comes first, unless they just picked one on this page.
  if (state.chosen) await I18n.choose(state.chosen); else await I18n.load();
  showSwitch();
  await showApp();
});
$("logout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/sessions/current", { method: "DELETE", credentials: "same-origin" });
  state.chosen = null;
  await I18n.load();  // the saved language went with the session: the cookie or the browser's now
  showSwitch();
  showLogin();
});
$("refer").addEventListener("click", refer);
document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));
document.addEventListener("click", (event) => {
  const el = event.target;
  if (el.dataset.signup) signUp(el.dataset.signup, false);
  if (el.dataset.waitlist) signUp(el.dataset.waitlist, true);
  if (el.dataset.cancel) cancelSignup(el.dataset.cancel);
});

I18n.load().then(() => {
  showSwitch();
  return api("/api/v1/me").then((r) => (r.ok ? showApp() : showLogin()));
}).catch(() => showLogin());
