// The owner page's card tab: the card, why the owner has its tier, and the rotating code.
"use strict";

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

TABS.card = loadCard;
