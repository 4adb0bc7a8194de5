// The owner page's events tab: events to join, signups and tickets (one event's page: owner-event-detail.js).
"use strict";

function title(item) { return english() && item.title_en ? item.title_en : item.title_zh; }

// The event as a calendar file (owner's calendar app); the same entry however often it is added.
function calendarLink(eventId) {
  return `<a class="button secondary calendar" href="/api/v1/events/${eventId}/event.ics" download data-calendar="${eventId}">${esc(_("Add to calendar"))}</a>`;
}

function signupStatus(s) {  // a promoted seat whose payment Stripe has not made yet reads as "preparing"
  return enumLabel("signup_status", s.payment && s.payment.status === "preparing" ? "payment_preparing" : s.status);
}

// The party: how many people come on this signup, the owner included (an event allows up to
// party_size_limit); said in full next to the choice, since "2" alone reads as "2 guests".
function partyChoice(e, id) {
  if (e.party_size_limit <= 1) return `<p class="muted party-one">${esc(_("Just you: one person per signup"))}</p>`;
  const options = Array.from({ length: e.party_size_limit }, (unused, i) => `<option value="${i + 1}">${esc(_n("{count} person", "{count} people", i + 1))}</option>`);
  return `<label class="party-label" for="${id}">${esc(_("People coming (including you)"))}</label>
    <select id="${id}" data-party="${e.id}">${options.join("")}</select>`;
}

// The owner's own signup for a listed event, as a status (never as a warning: being signed up is good news).
function mySignupBadge(e) {
  const status = e.my_signup.status;
  const words = ["confirmed", "attended"].includes(status) && e.why_not ? e.why_not.message : enumLabel("signup_status", status);
  return `<span class="status" data-status="${esc(status)}">${esc(words)}</span>`;
}

function eventItem(e) {
  const fee = e.fee_per_person_fen ? _("{fee} per person", { fee: I18n.money(e.fee_per_person_fen) }) : _("Free");
  const full = e.why_not && e.why_not.type === "/problems/event-full";
  const join = e.can_sign_up ? `<button data-signup="${e.id}">${esc(_("Sign up"))}</button>`
    : full && !e.my_signup ? `<button data-waitlist="${e.id}">${esc(_("Join the waitlist"))}</button>` : "";
  const seats = _n("{count} seat left", "{count} seats left", e.seats_left);
  const why = e.my_signup ? `<div>${mySignupBadge(e)}</div>`
    : e.why_not && !full ? `<div class="why">${esc(e.why_not.message)}</div>` : "";
  return `<div class="event" data-event="${e.id}">
    <a class="event-link" href="#event/${e.id}"><strong>${esc(title(e))}</strong><span class="more">${esc(_("Details"))}</span></a>
    <div class="muted">${esc(I18n.dateTime(e.starts_at))} · ${esc(e.venue)} · ${esc(fee)} · ${esc(seats)}</div>
    ${why}
    ${join ? `${partyChoice(e, `party-${e.id}`)}<div class="row join">${join}</div>` : ""}</div>`;
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
    ${cancellable ? calendarLink(s.event_id) : ""}
  </div>`;
}

// What the page says once a signup is made, by what it became; a function, so that a change of
// language says it again in the new one.
function signedUpNotice(made) {
  const s = made[0];
  if (!s) return null;
  if (s.status === "waitlisted") return () => _("You are on the waitlist: number {position}", { position: s.waitlist_position });
  if (s.status === "pending_payment") return () => _("Your seat is held: pay to confirm it");
  return () => _n("Signed up for {count} person", "Signed up for {count} people", s.party_size);
}

// Where a signup's words go: the event's page when it is open, else the list.
const eventMessages = () => (EventDetail.open() ? { notice: $("detail-notice"), error: $("detail-error") } : { notice: $("event-notice"), error: $("event-error") });
state.eventNotice = null;

async function loadEvents() {
  const [events, signups] = await Promise.all([
    api("/api/v1/events").then((r) => r.json()), api("/api/v1/me/signups").then((r) => r.json()),
  ]);
  state.events = events; state.signups = signups;
  if (await EventDetail.show()) return;
  $("events").innerHTML = events.length ? events.map(eventItem).join("") : `<p class="muted">${esc(_("No events to join right now"))}</p>`;
  $("signups").innerHTML = signups.length ? signups.map(signupItem).join("") : `<p class="muted">${esc(_("No signups yet"))}</p>`;
  $("event-notice").textContent = state.eventNotice ? state.eventNotice() : "";
}

async function signUp(eventId, waitlist, partySize) {
  const { error } = eventMessages();
  error.textContent = ""; state.eventNotice = null;
  const response = await api(`/api/v1/events/${eventId}/signups`, {
    method: "POST", body: JSON.stringify({ party_size: partySize, join_waitlist: waitlist }),
  });
  if (response.ok) state.eventNotice = signedUpNotice(await response.json());
  else error.textContent = await problemText(response);
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
  const { error } = eventMessages();
  error.textContent = ""; state.eventNotice = null;
  const response = await api(`/api/v1/me/signups/${signupId}/cancellation`, { method: "POST" });
  if (!response.ok) error.textContent = await problemText(response);
  await loadEvents();
}

// The party chosen next to the button (the event's own choice: the list and the event's page each have one).
function partyFor(button) {
  const choice = button.closest("[data-event]")?.querySelector("[data-party]");
  return Number(choice?.value || 1);
}

document.addEventListener("click", (event) => {
  const el = event.target;
  if (el.dataset.signup) signUp(el.dataset.signup, false, partyFor(el));
  if (el.dataset.waitlist) signUp(el.dataset.waitlist, true, partyFor(el));
  if (el.dataset.cancel) cancelSignup(el.dataset.cancel);
  // Tapping an event in the list opens its page (its buttons and choices keep their own job).
  const item = el.closest("#events .event[data-event]");
  if (item && !el.closest("a, button, select, label, input")) location.hash = `event/${item.dataset.event}`;
});
TABS.events = loadEvents;
