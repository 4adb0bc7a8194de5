// The owner page's referrals tab: refer a friend, what referring earns, and each referral's
// stages, protection and rewards.
"use strict";

const LEAD_STAGES = ["registered", "visited", "subscribed", "signed"];
const todayInBeijing = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());

// What the referrer gets at a stage, said as what the friend does.
function stageEarns(stage, points) {
  const n = I18n.number(points);
  switch (stage) {
    case "registered": return _("You register your friend: {points} points", { points: n });
    case "visited": return _("Your friend visits the sales office: {points} points", { points: n });
    case "subscribed": return _("Your friend subscribes to a home: {points} points", { points: n });
    default: return _("Your friend signs the purchase contract: {points} points", { points: n });
  }
}

// A gift-only rule: the stage gives the gift, not "0 points".
function stageGift(stage, gift) {
  switch (stage) {
    case "registered": return _("You register your friend: the gift “{gift}”", { gift });
    case "visited": return _("Your friend visits the sales office: the gift “{gift}”", { gift });
    case "subscribed": return _("Your friend subscribes to a home: the gift “{gift}”", { gift });
    default: return _("Your friend signs the purchase contract: the gift “{gift}”", { gift });
  }
}

const giftName = (r) => (r.gift_name_zh ? (english() && r.gift_name_en ? r.gift_name_en : r.gift_name_zh) : null);

function ruleLine(r) {
  const gift = giftName(r);
  // English puts a space before its bracket; Chinese brackets are full width and need none.
  const later = r.vesting_days && r.points > 0 ? (english() ? " " : "") + _n("(usable {count} day later)", "(usable {count} days later)", r.vesting_days) : "";
  const plusGift = gift ? " " + _("+ gift: {gift}", { gift }) : "";
  const stage = enumLabel("referral_stage", r.stage);
  if (r.points <= 0) {
    if (r.beneficiary === "referrer") return stageGift(r.stage, gift);
    if (r.stage === "signed") return _("Your friend gets the gift “{gift}” on signing", { gift });
    return _("Your friend gets the gift “{gift}” when they reach “{stage}”", { gift, stage });
  }
  if (r.beneficiary === "referrer") return stageEarns(r.stage, r.points) + later + plusGift;
  if (r.stage === "signed") return _("Your friend gets {points} welcome points on signing", { points: I18n.number(r.points) }) + later + plusGift;
  return _("Your friend gets {points} welcome points when they reach “{stage}”", { points: I18n.number(r.points), stage }) + later + plusGift;
}

function rulesHtml(rules) {
  // The owner's own rewards first, then what the friend gets.
  const ordered = rules.rewards.filter((r) => r.beneficiary === "referrer").concat(rules.rewards.filter((r) => r.beneficiary !== "referrer"));
  const lines = ordered.map(ruleLine);
  lines.push(_n(
    "For {count} day after you register a friend, the referral is yours alone.",
    "For {count} days after you register a friend, the referral is yours alone.", rules.protection_days,
  ));
  return `<ul class="plain">${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>`;
}

// A stage's day in a quarter of a phone's width: digits only (2026/12/7, 12/7/2026).
const shortDate = (value) => new Intl.DateTimeFormat(I18n.locale, { timeZone: "Asia/Shanghai", year: "numeric", month: "numeric", day: "numeric" }).format(new Date(value));

function timelineHtml(lead) {
  const steps = LEAD_STAGES.map((stage) => ({ stage, at: lead[`${stage}_at`] }));
  if (lead.stage === "cancelled") steps.push({ stage: "cancelled", at: lead.cancelled_at });
  return `<ol class="stages">${steps.map((s) => `<li class="${s.at ? "done" : "todo"}" data-stage="${s.stage}">
      <span>${esc(enumLabel("referral_stage", s.stage))}</span><span class="muted">${esc(s.at ? shortDate(s.at) : "—")}</span></li>`).join("")}</ol>`;
}

function rewardText(r) {
  const points = I18n.number(r.points);
  switch (r.status) {
    case "earned": return _("+{points} points, available", { points });
    case "pending": return r.vests_on ? _("+{points} points, available on {date}", { points, date: I18n.date(r.vests_on) }) : _("+{points} points, pending", { points });
    case "taken_back": return _("{points} points taken back: the deal was cancelled", { points });
    case "not_paid": return _("Not paid: the yearly limit of rewarded referrals was reached");
    default: return _("{points} points when reached", { points });
  }
}

function protectionText(lead) {
  if (lead.stage === "signed" || lead.stage === "cancelled") return "";
  return lead.protected_until >= todayInBeijing()
    ? _("Protected for you until {date}", { date: I18n.date(lead.protected_until) })
    : _("Protection ended on {date}", { date: I18n.date(lead.protected_until) });
}

function leadHtml(lead) {
  const rewards = (lead.rewards || []).map((r) => `<li data-reward="${esc(r.status)}"><span>${esc(enumLabel("referral_stage", r.stage))}</span>
      <span class="value">${esc(rewardText(r))}</span></li>`).join("");
  const protection = protectionText(lead);
  return `<div class="event lead" data-lead-id="${lead.id}">
      <div class="row"><span><strong>${esc(lead.name)}</strong> · ${esc(projectName(lead.project_id, lead.project))}</span>
        <span class="status" data-stage="${esc(lead.stage)}">${esc(enumLabel("referral_stage", lead.stage))}</span></div>
      ${timelineHtml(lead)}
      ${protection ? `<p class="muted protection">${esc(protection)}</p>` : ""}
      ${rewards ? `<ul class="rewards">${rewards}</ul>` : ""}</div>`;
}

async function loadReferrals() {
  const [all, leads, rules] = await Promise.all([
    projects(), api("/api/v1/me/referrals").then((r) => r.json()), api("/api/v1/me/referrals/rules").then((r) => r.json()),
  ]);
  const chosen = $("ref-project").value;
  $("ref-project").innerHTML = all.map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("");
  if (chosen) $("ref-project").value = chosen;
  $("referral-rules").innerHTML = rulesHtml(rules);
  // Newest first: the friend just referred is at the top.
  $("referrals").innerHTML = leads.length
    ? leads.slice().reverse().map(leadHtml).join("")
    : `<p class="muted">${esc(_("No referrals yet"))}</p>`;
}

async function refer() {
  $("refer-error").textContent = ""; $("refer-done").textContent = "";
  const body = { name: $("ref-name").value.trim(), phone: $("ref-phone").value.trim(), project_id: Number($("ref-project").value) };
  const response = await api("/api/v1/referrals", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { $("refer-error").textContent = await problemText(response); return; }
  const lead = await response.json();
  $("ref-name").value = ""; $("ref-phone").value = "";
  await loadReferrals();
  $("refer-done").textContent = _("{name} is now your referral, protected until {date}", { name: lead.name, date: I18n.date(lead.protected_until) });
}

$("refer").addEventListener("click", refer);
TABS.referrals = loadReferrals;
