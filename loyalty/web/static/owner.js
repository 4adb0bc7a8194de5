// The owner's page: phone login, the card with its rotating QR, points, referrals and events.
// Plain JavaScript against /api/v1 (the session is a cookie); texts in zh-CN and en.
"use strict";

const TEXT = {
  "zh-CN": {
    title: "业主俱乐部", logout: "退出", login_title: "手机号登录", phone: "手机号", send_code: "获取验证码",
    code: "验证码", sign_in: "登录", tab_card: "会员卡", tab_points: "积分", tab_referrals: "推荐", tab_events: "活动",
    card_image: "下载会员卡图片", available: "可用积分", pending: "待生效", expiring: "30 天内到期",
    refer_title: "推荐好友购房", friend_name: "好友姓名", friend_phone: "好友手机号", project: "意向项目", refer: "提交推荐",
    my_referrals: "我的推荐", events: "可报名的活动", my_signups: "我的报名与电子票", code_sent: "验证码已发送",
    refresh_in: (s) => `${s} 秒后刷新`, next_tier: (t) => `升级到${t}还需要：`, sign_up: "报名", party: "人数",
    cancel: "取消报名", seats_left: (n) => `剩余 ${n} 个名额`, free: "免费", fee: (y) => `¥${y}/人`,
    waitlist: "加入候补", nothing: "暂无", referred: "推荐成功", signed_up: "报名成功", pay: "待支付",
  },
  en: {
    title: "Owner Club", logout: "Log out", login_title: "Log in with your phone", phone: "Phone", send_code: "Send code",
    code: "Code", sign_in: "Log in", tab_card: "Card", tab_points: "Points", tab_referrals: "Refer", tab_events: "Events",
    card_image: "Download the card image", available: "Available points", pending: "Pending", expiring: "Expiring within 30 days",
    refer_title: "Refer a friend", friend_name: "Friend's name", friend_phone: "Friend's phone", project: "Project", refer: "Refer",
    my_referrals: "My referrals", events: "Events", my_signups: "My signups and tickets", code_sent: "Code sent",
    refresh_in: (s) => `refreshes in ${s} s`, next_tier: (t) => `To reach ${t}:`, sign_up: "Sign up", party: "People",
    cancel: "Cancel", seats_left: (n) => `${n} seats left`, free: "Free", fee: (y) => `¥${y} per person`,
    waitlist: "Join the waitlist", nothing: "Nothing yet", referred: "Referred", signed_up: "Signed up", pay: "Awaiting payment",
  },
};

const state = { lang: localStorage.getItem("lang") || "zh-CN", tab: "card", qrTimer: null, tickTimer: null };
const $ = (id) => document.getElementById(id);
const t = (key, ...args) => { const v = TEXT[state.lang][key]; return typeof v === "function" ? v(...args) : v; };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const local = (iso) => new Date(iso).toLocaleString(state.lang, { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" });

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin", ...options,
    headers: { "accept-language": state.lang, "content-type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
  return response;
}

async function problemText(response) {
  try { const p = await response.json(); return p.detail || p.title || response.statusText; } catch { return response.statusText; }
}

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = state.lang === "zh-CN" ? "English" : "中文";
}

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
  $("tier").textContent = card.tier_label;
  $("member-name").textContent = me.name;
  $("card-number").textContent = card.number;
  $("why").textContent = card.why;
  const next = card.next_tier;
  $("next").innerHTML = next
    ? `<p>${esc(t("next_tier", next.tier_label))}</p><ul class="progress">${next.criteria
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
  const tick = () => { $("countdown").textContent = t("refresh_in", left); left -= 1; };
  tick();
  state.tickTimer = setInterval(tick, 1000);
  // A little before the code's minute ends, so the till never sees an expired code.
  state.qrTimer = setTimeout(refreshCode, Math.max(left - 1, 1) * 1000);
}

// --- points, referrals, events -------------------------------------------------------------

async function loadPoints() {
  const points = (await api("/api/v1/me/points").then((r) => r.json())).balance;  // the statement: { balance, entries }
  $("points-available").textContent = points.available.toLocaleString();
  $("points-pending").textContent = points.pending.toLocaleString();
  $("points-expiring").textContent = points.expiring_soon.toLocaleString() + (points.expiring_on ? ` (${points.expiring_on})` : "");
}

async function loadReferrals() {
  const [projects, leads] = await Promise.all([
    api("/api/v1/projects").then((r) => r.json()), api("/api/v1/me/referrals").then((r) => r.json()),
  ]);
  $("ref-project").innerHTML = projects
    .map((p) => `<option value="${p.id}">${esc(state.lang === "en" && p.name_en ? p.name_en : p.name)}</option>`).join("");
  $("referrals").innerHTML = leads.length
    ? leads.map((l) => `<div class="row event"><span>${esc(l.name)} · ${esc(l.project)}</span><span class="status">${esc(l.stage)}</span></div>`).join("")
    : `<p class="muted">${t("nothing")}</p>`;
}

async function refer() {
  $("refer-error").textContent = "";
  const body = { name: $("ref-name").value.trim(), phone: $("ref-phone").value.trim(), project_id: Number($("ref-project").value) };
  const response = await api("/api/v1/referrals", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { $("refer-error").textContent = await problemText(response); return; }
  $("ref-name").value = ""; $("ref-phone").value = "";
  await loadReferrals();
}

function title(item) { return state.lang === "en" && item.title_en ? item.title_en : item.title_zh; }

async function loadEvents() {
  const [events, signups] = await Promise.all([
    api("/api/v1/events").then((r) => r.json()), api("/api/v1/me/signups").then((r) => r.json()),
  ]);
  $("events").innerHTML = events.length ? events.map((e) => {
    const fee = e.fee_per_person_fen ? t("fee", (e.fee_per_person_fen / 100).toFixed(2)) : t("free");
    const party = `<select data-party="${e.id}" aria-label="${t("party")}">${Array.from({ length: e.party_size_limit }, (_, i) => `<option>${i + 1}</option>`).join("")}</select>`;
    const full = e.why_not && e.why_not.type === "/problems/event-full";
    const action = e.can_sign_up ? `${party}<button data-signup="${e.id}">${t("sign_up")}</button>`
      : full ? `${party}<button data-waitlist="${e.id}">${t("waitlist")}</button>` : "";
    return `<div class="event" data-event="${e.id}"><strong>${esc(title(e))}</strong>
      <div class="muted">${esc(local(e.starts_at))} · ${esc(e.venue)} · ${esc(fee)} · ${esc(t("seats_left", e.seats_left))}</div>
      ${e.why_not && !full ? `<div class="why">${esc(e.why_not.message)}</div>` : ""}
      <div class="row">${action}</div></div>`;
  }).join("") : `<p class="muted">${t("nothing")}</p>`;
  $("signups").innerHTML = signups.length ? signups.map((s) => `<div class="event ticket" data-signup-id="${s.id}">
      <div class="row"><strong>${esc(state.lang === "en" && s.event_title_en ? s.event_title_en : s.event_title_zh)}</strong>
      <span class="status">${esc(state.lang === "en" ? s.status_label_en : s.status_label_zh)}</span></div>
      <div class="muted">${esc(local(s.starts_at))} · ${esc(s.venue)}${s.waitlist_position ? ` · #${s.waitlist_position}` : ""}</div>
      ${s.ticket_code ? `<img alt="ticket" src="/api/v1/me/signups/${s.id}/ticket.png" data-ticket="${esc(s.ticket_code)}">` : ""}
      ${["confirmed", "waitlisted", "pending_payment"].includes(s.status) ? `<button class="secondary" data-cancel="${s.id}">${t("cancel")}</button>` : ""}
    </div>`).join("") : `<p class="muted">${t("nothing")}</p>`;
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

async function cancelSignup(signupId) {
  const response = await api(`/api/v1/me/signups/${signupId}/cancellation`, { method: "POST" });
  if (!response.ok) $("event-error").textContent = await problemText(response);
  await loadEvents();
}

// --- wiring --------------------------------------------------------------------------------

$("lang").addEventListener("click", async () => {
  state.lang = state.lang === "zh-CN" ? "en" : "zh-CN";
  localStorage.setItem("lang", state.lang);
  translate();
  if (!$("app").hidden) await selectTab(state.tab);
});
$("send-code").addEventListener("click", async () => {
  $("login-error").textContent = "";
  const response = await api("/api/v1/auth/login-codes", { method: "POST", body: JSON.stringify({ phone: $("phone").value.trim() }) });
  $("login-error").textContent = response.ok ? t("code_sent") : await problemText(response);
});
$("sign-in").addEventListener("click", async () => {
  const body = { phone: $("phone").value.trim(), code: $("code").value.trim() };
  const response = await fetch("/api/v1/auth/sessions", {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "content-type": "application/json", "accept-language": state.lang },
  });
  if (!response.ok) { $("login-error").textContent = await problemText(response); return; }
  await showApp();
});
$("logout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/sessions/current", { method: "DELETE", credentials: "same-origin" });
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

translate();
api("/api/v1/me").then((r) => (r.ok ? showApp() : showLogin())).catch(() => showLogin());
