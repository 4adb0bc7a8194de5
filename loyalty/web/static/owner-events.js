// The owner page's events tab: events to join, signups and tickets.
"use strict";

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
    ${Pay.item(s)}
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

document.addEventListener("click", (event) => {
  const el = event.target;
  if (el.dataset.signup) signUp(el.dataset.signup, false);
  if (el.dataset.waitlist) signUp(el.dataset.waitlist, true);
  if (el.dataset.cancel) cancelSignup(el.dataset.cancel);
});
TABS.events = loadEvents;
