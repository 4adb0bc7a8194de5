// One event's page on the owner's phone, at #event/<id>: when and where, what it costs, who may
// join, seats and waitlist, the party to bring, signing up, the owner's own signup and ticket,
// the calendar file, and the other sessions of its program. The address is the page: Back
// returns to the list, a shared link opens the event. Drawn by loadEvents (owner-events.js)
// whenever the address names an event, so a signup or a cancellation redraws it.
"use strict";

const EventDetail = (() => {
  let drawing = 0;  // the latest draw: an older answer arriving late draws nothing
  // How many event pages deep this history entry is (kept in history.state, so Back and
  // Forward know it): "all events" goes back that many steps to the list, or opens it fresh.
  let depth = 0;

  const routed = () => {
    const found = /^#event\/(\d+)$/.exec(location.hash);
    return found ? Number(found[1]) : null;
  };
  const open = () => routed() !== null;
  const local = (item, field) => (english() && item[`${field}_en`] ? item[`${field}_en`] : item[`${field}_zh`]);

  function when(e) {
    const sameDay = I18n.date(e.starts_at) === I18n.date(e.ends_at);
    const end = sameDay ? I18n.timeOfDay(e.ends_at) : I18n.dateTime(e.ends_at);
    return `${I18n.dateTime(e.starts_at)}–${end}`;
  }

  const fact = (label, value, extra = "") => `<div class="fact"><span class="label">${esc(label)}</span><span class="value">${value}${extra}</span></div>`;

  function seatsText(e) {
    const seats = e.seats_left ? esc(_n("{count} seat left", "{count} seats left", e.seats_left)) : esc(_("Full"));
    const of = esc(_n("(of {count} seat)", "(of {count} seats)", e.capacity));
    const waiting = e.waitlist_length ? `<div class="muted">${esc(_n("{count} household on the waitlist", "{count} households on the waitlist", e.waitlist_length))}</div>` : "";
    return `${seats} <span class="muted">${of}</span>${waiting}`;
  }

  function facts(e) {
    const fee = e.fee_per_person_fen ? esc(_("{fee} per person", { fee: I18n.money(e.fee_per_person_fen) })) : esc(_("Free"));
    const who = e.open_to.length ? e.open_to.map((line) => `<div>${esc(line)}</div>`).join("") : esc(_("Every member"));
    const rows = [
      fact(_("When"), esc(when(e)), `<div class="muted">${esc(_("Beijing time"))}</div>`),
      e.venue ? fact(_("Where"), esc(e.venue)) : "",
      fact(_("Fee"), fee),
      fact(_("Seats"), seatsText(e)),
      fact(_("Who may join"), who),
      fact(_("Sign-up closes"), esc(I18n.dateTime(e.signup_closes_at))),
      fact(_("Cancel by"), esc(I18n.dateTime(e.cancel_deadline))),
      e.attendance_points ? fact(_("Check-in points"), esc(_n("{count} point", "{count} points", e.attendance_points))) : "",
    ];
    return rows.join("");
  }

  function drawEvent(e) {
    const body = local(e, "body");
    const cancelled = e.status === "cancelled";
    $("detail-event").innerHTML = `
      <div class="kind">${esc(enumLabel("event_kind", e.kind))}</div>
      <h2 id="detail-title">${esc(local(e, "title"))}</h2>
      ${cancelled ? `<p class="why">${esc(e.why_not ? e.why_not.message : "")}</p>` : ""}
      <div class="facts">${facts(e)}</div>
      ${body ? `<p class="body">${esc(body)}</p>` : ""}
      ${cancelled ? "" : `<div class="calendar-row">${calendarLink(e.id)}</div>`}`;
  }

  // Sign up or join the waitlist, with the party chosen and the total it costs; or why not.
  function drawAction(e) {
    const full = e.why_not && e.why_not.type === "/problems/event-full";
    let html = "";
    if (e.can_sign_up || (full && !e.my_signup)) {
      const button = e.can_sign_up ? `<button data-signup="${e.id}">${esc(_("Sign up"))}</button>`
        : `<button data-waitlist="${e.id}">${esc(_("Join the waitlist"))}</button>`;
      const total = e.fee_per_person_fen && e.party_size_limit > 1 ? `<p class="muted" id="detail-total"></p>` : "";
      html = `<div data-event="${e.id}">
        ${full ? `<p class="info">${esc(e.why_not.message)}</p>` : ""}
        ${partyChoice(e, "detail-party")}${total}<div class="join">${button}</div></div>`;
    } else if (e.why_not && !e.my_signup && e.status !== "cancelled") {
      html = `<p class="why">${esc(e.why_not.message)}</p>`;
    }
    // A redraw (a refresh coming back) keeps the party the owner already chose for this event:
    // silently putting it back to 1 would sign up fewer people than they asked for.
    const chosen = $("detail-party");
    const kept = chosen && chosen.dataset.party === String(e.id) ? chosen.value : null;
    $("detail-action").innerHTML = html;
    const party = $("detail-party");
    if (party && kept && [...party.options].some((option) => option.value === kept)) party.value = kept;
    showTotal(e);
  }

  function showTotal(e) {
    const total = $("detail-total");
    if (!total) return;
    const party = Number($("detail-party")?.value || 1);
    total.textContent = _n("Total {total} for {count} person", "Total {total} for {count} people", party, { total: I18n.money(e.fee_per_person_fen * party) });
  }

  // The owner's own signups for this event (a ticket, a waitlist place, a payment to make).
  function drawMine(e) {
    const mine = state.signups.filter((s) => s.event_id === e.id && s.status !== "cancelled");
    $("detail-mine").innerHTML = mine.length ? `<h3>${esc(_("My signup"))}</h3>${mine.map(signupItem).join("")}` : "";
  }

  function sessionLine(s, current) {
    const over = new Date(s.ends_at) < new Date();
    const seats = over ? _("Over") : s.seats_left ? _n("{count} seat left", "{count} seats left", s.seats_left) : _("Full");
    const mine = s.my_signup_status ? `<span class="status" data-status="${esc(s.my_signup_status)}">${esc(enumLabel("signup_status", s.my_signup_status))}</span>` : "";
    const inner = `<span class="session-title">${esc(local(s, "title"))}</span>
      <span class="session-when">${esc(I18n.dateTime(s.starts_at))} · ${esc(seats)}</span>
      <span class="session-state">${mine}${current ? `<span class="status this">${esc(_("This session"))}</span>` : ""}</span>`;
    return current ? `<div class="session current" aria-current="page" data-session="${s.id}">${inner}</div>`
      : `<a class="session" href="#event/${s.id}" data-session="${s.id}">${inner}</a>`;
  }

  function drawProgram(e) {
    const box = $("detail-program");
    box.hidden = !e.program;
    if (!e.program) { box.innerHTML = ""; return; }
    const p = e.program;
    const place = p.sessions.findIndex((s) => s.id === e.id) + 1;
    const count = p.sessions.length;
    const where = place ? _("Session {number} of {count}", { number: I18n.number(place), count: I18n.number(count) })
      : _n("{count} session", "{count} sessions", count);
    box.innerHTML = `<h3>${esc(_("Sessions of {program}", { program: local(p, "title") }))}</h3>
      <p class="muted">${esc(where)}${local(p, "body") ? ` · ${esc(local(p, "body"))}` : ""}</p>
      <div class="sessions">${p.sessions.map((s) => sessionLine(s, s.id === e.id)).join("")}</div>`;
  }

  // Draws the page the address names; false (and the lists shown) when it names none.
  async function show() {
    const id = routed();
    $("event-lists").hidden = id !== null;
    $("event-detail").hidden = id === null;
    if (id === null) return false;
    // One copy of each ticket on the page: the hidden lists give theirs up.
    $("events").innerHTML = ""; $("signups").innerHTML = "";
    const mine = ++drawing;
    const response = await api(`/api/v1/events/${id}`);
    if (mine !== drawing) return true;
    if (!response.ok) {
      $("detail-event").innerHTML = `<p class="error">${esc(response.status === 404 ? _("This event is not available") : await problemText(response))}</p>`;
      ["detail-action", "detail-mine"].forEach((part) => { $(part).innerHTML = ""; });
      $("detail-program").hidden = true;
      return true;
    }
    const e = await response.json();
    state.detailEvent = e;
    drawEvent(e); drawAction(e); drawMine(e); drawProgram(e);
    $("detail-notice").textContent = state.eventNotice ? state.eventNotice() : "";
    return true;
  }

  function arrived() {
    if (!open()) depth = 0;
    else if (history.state && Number.isInteger(history.state.eventDepth)) depth = history.state.eventDepth;
    else { depth += 1; history.replaceState({ eventDepth: depth }, ""); }
  }

  // An address naming an event opens the events tab (after the login, if it is needed first).
  if (open()) { state.tab = "events"; history.replaceState({ eventDepth: 0 }, ""); }

  window.addEventListener("hashchange", () => {
    if (location.hash === "#rewards") return;  // not an event's address: owner-rewards.js opens it
    arrived();
    state.eventNotice = null;
    ["detail-error", "event-error"].forEach((part) => { $(part).textContent = ""; });
    if ($("app").hidden) { if (open()) state.tab = "events"; return; }
    window.scrollTo(0, 0);
    selectTab("events");  // a failed load keeps the page and says so
  });
  $("event-back").addEventListener("click", (event) => {
    event.preventDefault();
    if (depth > 0) { history.go(-depth); return; }
    history.pushState(null, "", location.pathname + location.search);
    arrived();
    state.eventNotice = null;
    loadEvents();
  });
  // A tab chosen while an event is open leaves its page: the events tab then shows the list.
  document.addEventListener("click", (event) => {
    if (event.target.closest("[role=tab]") && open()) {
      history.replaceState(null, "", location.pathname + location.search);
      depth = 0;
    }
  }, true);
  $("lang").addEventListener("click", () => { $("detail-error").textContent = ""; });
  document.addEventListener("change", (event) => {
    if (event.target.id === "detail-party" && state.detailEvent) showTotal(state.detailEvent);
  });

  return { open, show };
})();
