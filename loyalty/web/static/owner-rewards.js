// The owner page's rewards (opened from the points tab): what the owner may take now at their
// tier's price, redeeming it after a question that says the points and where to collect it, and
// "my rewards": each pick-up code as a big QR until it is collected, cancelling (the points come
// back), and gifts staff granted for a holiday or a birthday, to collect like any other.
"use strict";

const Rewards = (() => {
  // While a code waits at the counter, the page asks again now and then: the clerk's scan shows here.
  const POLL_MS = () => window.REWARDS_POLL_MS || 10000;
  const OPEN = ["reserved", "ready"];
  let offers = [];
  let mine = [];
  let balance = 0;
  let notice = null;  // a function, so a change of language says it again in the new one
  let pollTimer = null;
  let asking = 0;
  let lastHtml = null;  // what drawMine last wrote (only #redemptions' own draw writes there)
  // One key per redemption the owner confirmed: a retry after a lost answer (or a second tap)
  // is the same redemption on the server, never a second one. Forgotten once answered.
  const keys = {};

  const local = (item, field) => (english() && item[`${field}_en`] ? item[`${field}_en`] : item[`${field}_zh`]);
  const rewardName = (r) => (english() && r.reward_name_en ? r.reward_name_en : r.reward_name_zh);
  // The pick-up place in English when staff wrote one, else the Chinese one.
  const placeOf = (item) => (english() && item.pickup_place_en ? item.pickup_place_en : item.pickup_place);
  const price = (points) => (points ? _n("{count} point", "{count} points", points) : _("Free"));
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  function offerItem(o) {
    const short = o.points > balance ? o.points - balance : 0;
    const left = _n("{count} left", "{count} left", o.stock_left);
    const picture = o.picture_url ? `<img class="offer-picture" src="${esc(o.picture_url)}" alt="" loading="lazy">` : "";
    return `<div class="event offer${picture ? " with-picture" : ""}" data-reward="${o.id}">
      ${picture}
      <div class="row"><strong>${esc(local(o, "name"))}</strong><span class="price${o.points ? "" : " free"}">${esc(price(o.points))}</span></div>
      ${local(o, "description") ? `<p class="desc">${esc(local(o, "description"))}</p>` : ""}
      <div class="muted">${placeOf(o) ? `${esc(_("Collect at {place}", { place: placeOf(o) }))} · ` : ""}${esc(left)}</div>
      ${short ? `<div class="why">${esc(_n("You need {count} more point", "You need {count} more points", short))}</div>` : ""}
      <div class="row join"><button type="button" data-redeem="${o.id}" ${short ? "disabled" : ""}>${esc(o.points ? _("Redeem") : _("Take it"))}</button></div>
    </div>`;
  }

  // The status in words; a free one that ended had no points to return, so it says only that.
  function statusLabel(r) {
    if (!r.points && r.status === "cancelled") return _("Cancelled");
    if (!r.points && r.status === "expired") return _("Not collected in time");
    // A voucher is used at a till and a seat taken at the door: not picked up at a counter.
    if (r.reward_kind === "voucher" && r.status === "ready") return _("Ready to use");
    if (r.reward_kind === "voucher" && r.status === "picked_up") return _("Used");
    if (r.reward_kind === "event_seat" && r.status === "ready") return _("Seat booked");
    if (r.reward_kind === "event_seat" && r.status === "picked_up") return _("Attended");
    return enumLabel("redemption_status", r.status);
  }

  function redemptionItem(r) {
    const open = OPEN.includes(r.status);
    // A gift was given, not redeemed: it says the occasion; a redemption its points and when.
    const what = r.gift_occasion ? _("A gift for you: {occasion}", { occasion: r.gift_occasion })
      : `${price(r.points)} · ${_("redeemed {time}", { time: I18n.dateTime(r.reserved_at) })}`;
    const lines = [];
    if (open && r.reward_kind === "event_seat") {
      // The seat is the owner's signup: the event's ticket lets them in, not a pick-up code.
      lines.push(`<p class="pickup-where">${esc(_("Admission with the event ticket"))} · <a href="#event/${r.event_id}">${esc(_("Details"))}</a></p>`);
      lines.push(`<button class="secondary" type="button" data-cancel-redemption="${r.id}">${esc(_("Cancel the redemption"))}</button>`);
    } else if (open && r.reward_kind === "voucher") {
      lines.push(`<img class="pickup-qr" src="/api/v1/me/redemptions/${r.id}/code.svg" alt="${esc(_("Voucher code"))}">`);
      if (r.voucher_code) lines.push(`<p class="voucher-code"><strong>${esc(r.voucher_code)}</strong></p>`);
      lines.push(`<p class="pickup-where">${esc(_("Show this voucher code at {merchant}", { merchant: r.merchant_name || "" }))}</p>`);
      lines.push(`<p class="muted">${esc(_("Valid until {time}", { time: I18n.dateTime(r.expires_at) }))}</p>`);
      lines.push(`<button class="secondary" type="button" data-cancel-redemption="${r.id}">${esc(_("Cancel the redemption"))}</button>`);
    } else if (open) {
      lines.push(`<img class="pickup-qr" src="/api/v1/me/redemptions/${r.id}/code.svg" alt="${esc(_("Pick-up code"))}">`);
      lines.push(`<p class="pickup-where">${esc(placeOf(r) ? _("Show this code at {place}", { place: placeOf(r) }) : _("Show this code at the counter"))}</p>`);
      lines.push(`<p class="muted">${esc(_("Collect by {time}", { time: I18n.dateTime(r.expires_at) }))}</p>`);
      lines.push(`<button class="secondary" type="button" data-cancel-redemption="${r.id}">${esc(_("Cancel the redemption"))}</button>`);
    } else if (r.status === "picked_up") {
      const when = { time: I18n.dateTime(r.picked_up_at) };
      const said = { voucher: _("Used {time}", when), event_seat: _("Checked in {time}", when) }[r.reward_kind] || _("Picked up {time}", when);
      lines.push(`<p class="picked-up">${esc(said)}</p>`);
    }
    return `<div class="event redemption" data-redemption="${r.id}" data-status="${esc(r.status)}">
      <div class="row"><strong>${esc(rewardName(r))}</strong><span class="status" data-status="${esc(r.status)}">${esc(statusLabel(r))}</span></div>
      <div class="muted">${esc(what)}</div>
      ${lines.join("")}
    </div>`;
  }

  function drawMine() {
    // Unchanged since the last draw (most polls): the codes stay as they are, no flicker, no new request.
    const html = mine.length ? mine.map(redemptionItem).join("") : `<p class="muted">${esc(_("Nothing redeemed yet"))}</p>`;
    if (html !== lastHtml) { $("redemptions").innerHTML = html; lastHtml = html; }
    clearTimeout(pollTimer);
    if (mine.some((r) => OPEN.includes(r.status))) pollTimer = setTimeout(poll, POLL_MS());
  }

  // The latest ask wins: a poll answered after a redemption was made must not draw the list without it.
  async function loadMine() {
    const asked = ++asking;
    const rows = await api("/api/v1/me/redemptions").then((r) => r.json());
    if (asked !== asking) return false;
    mine = rows;
    return true;
  }

  // Only while the rewards are on screen; a failed poll waits for the next one quietly.
  async function poll() {
    if (state.tab !== "rewards" || document.hidden) return;
    const before = new Map(mine.map((r) => [r.id, r.status]));
    try {
      if (!(await loadMine())) return;  // a newer load draws, and polls on
    } catch { pollTimer = setTimeout(poll, POLL_MS()); return; }
    drawMine();
    // One moved at the counter (made ready, picked up): what the page said after redeeming is old
    // news. Only those moves: a poll that started before the owner's own cancel sees that cancel
    // as a change, and must not wipe the "cancelled: points returned" the page has just said.
    const moved = (r) => before.has(r.id) && before.get(r.id) !== r.status && ["ready", "picked_up"].includes(r.status);
    if (mine.some(moved)) { notice = null; $("rewards-notice").textContent = ""; }
  }

  async function load() {
    const [catalogue, statement] = await Promise.all([
      api("/api/v1/me/rewards").then((r) => r.json()), api("/api/v1/me/points?limit=1").then((r) => r.json()), loadMine(),
    ]);
    offers = catalogue;
    balance = statement.balance.available;
    $("rewards-balance").textContent = _("You have {points}", { points: _n("{count} point", "{count} points", balance) });
    $("rewards").innerHTML = offers.length ? offers.map(offerItem).join("") : `<p class="muted">${esc(_("No rewards for you right now"))}</p>`;
    $("rewards-notice").textContent = notice ? notice() : "";
    drawMine();
  }

  // What redeeming does, said before: the points, where to collect it and for how long.
  function redeemQuestion(o) {
    const name = local(o, "name");
    const where = placeOf(o)
      ? _n("Collect it at {place} within {count} day, showing the pick-up code this page gives you.",
        "Collect it at {place} within {count} days, showing the pick-up code this page gives you.", o.collect_days, { place: placeOf(o) })
      : _n("Collect it within {count} day, showing the pick-up code this page gives you.",
        "Collect it within {count} days, showing the pick-up code this page gives you.", o.collect_days);
    return {
      title: o.points ? _("Spend {points} on “{name}”?", { points: price(o.points), name }) : _("Take “{name}” for free?", { name }),
      lines: [where, o.points ? _("If you cancel, or do not collect it in time, the points come back.") : ""],
      yes: o.points ? _("Spend {points}", { points: price(o.points) }) : _("Take it"), no: _("Go back"),
    };
  }

  async function redeem(rewardId, button) {
    const offer = offers.find((o) => String(o.id) === String(rewardId));
    if (!offer || !(await Confirm.ask(redeemQuestion(offer)))) return;
    keys[rewardId] = keys[rewardId] || newKey();
    $("rewards-error").textContent = ""; notice = null;
    button.disabled = true;
    let response;
    try {
      response = await api(`/api/v1/me/rewards/${rewardId}/redemptions`, { method: "POST", headers: { "Idempotency-Key": keys[rewardId] } });
    } catch (error) {
      // No answer (the network): the key is kept, so trying again cannot redeem it twice.
      if (error.message !== "not logged in") $("rewards-error").textContent = _("Connection lost; please go online and try again");
      button.disabled = false;
      return;
    }
    delete keys[rewardId];  // answered (yes or no): the next confirmation is a new redemption
    if (response.ok) {
      const made = await response.json();
      notice = () => _("Redeemed: show the pick-up code under “My rewards” at the counter");
      await load();
      document.querySelector(`[data-redemption="${made.id}"]`)?.scrollIntoView({ block: "start" });
    } else {
      $("rewards-error").textContent = await problemText(response);
      await load().catch(() => {});
      $("rewards-error").scrollIntoView({ block: "center" });
    }
  }

  async function cancel(redemptionId) {
    const r = mine.find((x) => String(x.id) === String(redemptionId));
    if (!r) return;
    const asked = await Confirm.ask({
      title: _("Cancel “{name}”?", { name: rewardName(r) }),
      lines: [r.points ? _n("Your {count} point comes back at once.", "Your {count} points come back at once.", r.points)
        : _("It goes back for other owners to take."), _("Its pick-up code stops working.")],
      yes: _("Cancel the redemption"), no: _("Keep it"),
    });
    if (!asked) return;
    $("rewards-error").textContent = ""; notice = null;
    const response = await api(`/api/v1/me/redemptions/${redemptionId}/cancel`, { method: "POST" });
    if (response.ok) notice = () => (r.points ? _n("Cancelled: {count} point returned", "Cancelled: {count} points returned", r.points) : _("Cancelled"));
    else $("rewards-error").textContent = await problemText(response);
    await load();
    window.scrollTo(0, 0);
  }

  // On the points tab: gifts granted to the owner that wait to be collected.
  async function showWaiting() {
    await loadMine();
    const gifts = mine.filter((r) => r.gift_occasion && OPEN.includes(r.status)).length;
    $("gifts-waiting").hidden = !gifts;
    $("gifts-waiting").textContent = _n("{count} gift waits for you to collect", "{count} gifts wait for you to collect", gifts);
  }

  document.addEventListener("click", (event) => {
    const el = event.target;
    if (el.dataset.redeem) redeem(el.dataset.redeem, el);
    if (el.dataset.cancelRedemption) cancel(el.dataset.cancelRedemption);
  });
  $("rewards-back").addEventListener("click", (event) => { event.preventDefault(); notice = null; selectTab("points"); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && state.tab === "rewards") poll(); });

  return { load, showWaiting };
})();

TABS.rewards = Rewards.load;
// An address naming the rewards opens them (after the login, if it is needed first).
if (location.hash === "#rewards") state.tab = "rewards";
window.addEventListener("hashchange", () => {
  if (location.hash === "#rewards" && !$("app").hidden) { window.scrollTo(0, 0); selectTab("rewards"); }
});
