// The owner page's card tab: the card, why the owner has its tier, and the rotating code a till
// scans, or its 18 digits a cashier types. Till-grade: full screen with the screen kept on, and
// honest offline: a code that may be stale greys out and the printed card's code (which only
// identifies) is offered instead.
"use strict";

// `fixedSvg`: the printed card's code, fetched while online and kept for when the connection goes.
const till = { fixedSvg: null, offline: false, wakeLock: null };

async function loadCard() {
  let me, card;
  const locale = I18n.locale;  // the card's words (why this tier, what the next needs) are the server's
  try {
    [me, card] = await Promise.all([api("/api/v1/me").then((r) => r.json()), api("/api/v1/me/card").then((r) => r.json())]);
  } catch (error) {
    if (error.message !== "not logged in") showOffline();  // the code on screen may be stale
    throw error;
  }
  // Asked before a language switch: the switch loads the card again, in the new language.
  if (I18n.locale !== locale) return;
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
  await Promise.all([keepFixedCode(), refreshCode()]);
}

// Fetched again with each visit to the tab (a reissued card has a new code); a failed fetch keeps the last.
async function keepFixedCode() {
  try {
    const response = await api("/api/v1/me/card/static-code.svg");
    if (response.ok) { till.fixedSvg = await response.text(); $("fixed-qr").innerHTML = till.fixedSvg; }
  } catch { /* offline already: the one kept, if any, is shown */ }
}

// 18 digits as three groups of six: what a cashier reads out and types.
const grouped = (digits) => digits.replace(/(\d{6})(?=\d)/g, "$1 ");

async function refreshCode() {
  clearTimeout(state.qrTimer); clearInterval(state.tickTimer);
  let response, svg;
  try {
    response = await api("/api/v1/me/card/code.svg");
    if (response.ok) svg = await response.text();
  } catch (error) {
    if (error.message !== "not logged in") showOffline();
    return;
  }
  // A gateway or a server that is down: the code on screen may be stale all the same.
  if (response.status >= 500) { showOffline(); return; }
  if (!response.ok) { $("qr").textContent = await problemText(response); $("digits").textContent = ""; return; }
  showOnline();
  $("qr").innerHTML = svg;
  $("qr").dataset.code = response.headers.get("x-card-code");
  const digits = response.headers.get("x-card-digits") || "";
  $("digits").textContent = grouped(digits);
  $("digits").dataset.digits = digits;
  let left = Number(response.headers.get("x-refresh-after")) || 60;
  const tick = () => { $("countdown").textContent = _n("A new code in {count} second", "A new code in {count} seconds", left); left -= 1; };
  tick();
  state.tickTimer = setInterval(tick, 1000);
  // A little before the code's minute ends, so the till never sees an expired code.
  state.qrTimer = setTimeout(refreshCode, Math.max(left - 1, 1) * 1000);
}

function showOffline() {
  till.offline = true;
  clearTimeout(state.qrTimer); clearInterval(state.tickTimer);
  $("code-block").classList.add("offline");
  $("code-lost").hidden = false;
  // The digits typed at a till would be refused once stale: not shown, so nobody reads them out.
  $("digits").textContent = ""; delete $("digits").dataset.digits;
  $("countdown").textContent = _("A new code comes as soon as you are back online");
  $("fixed-code").hidden = !till.fixedSvg;
  // The browser may still think it is online (a server that does not answer): try again soon.
  if (navigator.onLine) state.qrTimer = setTimeout(refreshCode, 5000);
}

function showOnline() {
  till.offline = false;
  $("code-block").classList.remove("offline");
  $("code-lost").hidden = true;
  $("fixed-code").hidden = true;
}

const cardShown = () => !$("app").hidden && state.tab === "card";

window.addEventListener("offline", () => { if (cardShown()) showOffline(); });

// --- full screen, for the till ---------------------------------------------------------------

async function keepScreenOn() {
  if (!("wakeLock" in navigator) || document.visibilityState !== "visible" || $("code-full").hidden) return;
  try {
    till.wakeLock = await navigator.wakeLock.request("screen");
    $("code-full").dataset.wakeLock = "held";
    till.wakeLock.addEventListener("release", () => { $("code-full").dataset.wakeLock = "released"; });
  } catch { /* refused (battery saver, a browser policy): the code shows all the same */ }
}

async function openFull() {
  // The one code block moves into the full-screen view and back: it keeps refreshing as it is.
  $("code-full-body").append($("code-block"));
  $("code-full").hidden = false;
  document.body.classList.add("full-open");
  try { await $("code-full").requestFullscreen?.({ navigationUI: "hide" }); } catch { /* the fixed overlay covers the page */ }
  await keepScreenOn();
  if (till.offline) await refreshCode();
}

async function closeFull() {
  if ($("code-full").hidden) return;
  $("code-full").hidden = true;
  document.body.classList.remove("full-open");
  $("card-code-slot").append($("code-block"));
  const lock = till.wakeLock;
  till.wakeLock = null;
  if (lock) await lock.release().catch(() => {});
  if (document.fullscreenElement) await document.exitFullscreen().catch(() => {});
}

$("open-full").addEventListener("click", openFull);
$("close-full").addEventListener("click", closeFull);
// Leaving full screen with the phone's back gesture or Esc closes the view too.
document.addEventListener("fullscreenchange", () => { if (!document.fullscreenElement) closeFull(); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  keepScreenOn();  // the browser lets go of the lock whenever the page is hidden
  if (cardShown()) refreshCode();  // timers sleep in a hidden page: the code shown may be old
});

TABS.card = loadCard;
