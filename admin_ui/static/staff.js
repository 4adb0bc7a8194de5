// Staff pages: the referral board (sales), the door scanner (event staff) and the dashboards.
// Plain JavaScript against /api/v1/staff (session cookie); texts in zh-CN and en; charts are SVG drawn here.
"use strict";

const TEXT = {
  "zh-CN": {
    title: "业主俱乐部 · 工作台", nav_referrals: "推荐看板", nav_scanner: "扫码签到", nav_dashboards: "数据看板", nav_admin: "后台管理",
    logout: "退出", login_title: "员工登录", username: "用户名", password: "密码", sign_in: "登录", reload: "刷新",
    check_in: "签到", camera: "摄像头", door_count: "到场 / 应到", from: "从", to: "到", all_projects: "全部项目", csv: "导出 CSV",
    stage_registered: "已登记", stage_visited: "已到访", stage_subscribed: "已认购", stage_signed: "已签约", stage_cancelled: "已取消",
    move_visited: "到访", move_subscribed: "认购", move_signed: "签约", move_cancelled: "取消", target: "目标",
    dash_tiers: "会员等级分布", dash_referrals: "老带新：推荐成交占新客比例", dash_events: "活动出席与爽约率",
    dash_merchants: "联盟商家销售与积分抵扣", dash_liability: "积分负债", dash_kpis: "满意度与服务时效",
    no_camera: "此浏览器不支持摄像头识码，请手动输入票码",
  },
  en: {
    title: "Owner Club · Staff", nav_referrals: "Referral board", nav_scanner: "Door scanner", nav_dashboards: "Dashboards", nav_admin: "Admin",
    logout: "Log out", login_title: "Staff login", username: "Username", password: "Password", sign_in: "Log in", reload: "Reload",
    check_in: "Check in", camera: "Camera", door_count: "In / expected", from: "From", to: "To", all_projects: "All projects", csv: "Export CSV",
    stage_registered: "Registered", stage_visited: "Visited", stage_subscribed: "Subscribed", stage_signed: "Signed", stage_cancelled: "Cancelled",
    move_visited: "Visited", move_subscribed: "Subscribed", move_signed: "Signed", move_cancelled: "Cancel", target: "target",
    dash_tiers: "Tier distribution", dash_referrals: "Referral share of new buyers", dash_events: "Event attendance and no-shows",
    dash_merchants: "Merchant sales and points redeemed", dash_liability: "Points liability", dash_kpis: "Satisfaction and service times",
    no_camera: "This browser cannot read codes from the camera: type or paste the code",
  },
};
const STAGES = ["registered", "visited", "subscribed", "signed", "cancelled"];
const NEXT = { registered: ["visited", "subscribed", "signed", "cancelled"], visited: ["subscribed", "signed", "cancelled"], subscribed: ["signed", "cancelled"], signed: [], cancelled: [] };
const RESULT_COLOUR = { checked_in: "green", already_checked_in: "amber", not_open_yet: "amber" };
// What each dashboard charts: the row label, the value, and the business target if there is one.
const DASHBOARDS = {
  tiers: { title: "dash_tiers", roles: ["admin"], value: "members", label: (r) => r.tier,
           chartRows: (d) => ["platinum", "gold", "silver", "blue"].map((tier) => ({ tier, members: d.totals[tier] })) },
  referrals: { title: "dash_referrals", roles: ["admin", "sales"], label: (r) => `${r.project} ${r.month}`, value: "referral_share", target: 0.3, percent: true },
  events: { title: "dash_events", roles: ["admin", "event_staff"], label: (r) => r.title_zh, value: "no_show_rate", percent: true },
  merchants: { title: "dash_merchants", roles: ["admin"], label: (r) => r.merchant, value: "points_redeemed" },
  liability: { title: "dash_liability", roles: ["admin"], label: (r) => r.kind, value: "points" },
  kpis: { title: "dash_kpis", roles: ["admin", "sales", "service"], label: (r) => `${r.project_id ?? "all"} ${r.month}`, value: "satisfaction_rate", target: 0.85, percent: true },
};

const state = { lang: localStorage.getItem("lang") || "zh-CN", me: null, view: null };
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key] ?? key;
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin", ...options,
    headers: { "accept-language": state.lang, "content-type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
  return response;
}
async function problemText(response) {
  try { const p = await response.json(); return p.detail || p.title; } catch { return response.statusText; }
}
function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = state.lang === "zh-CN" ? "English" : "中文";
}
function showLogin() { $("nav").hidden = true; document.querySelectorAll(".view").forEach((v) => { v.hidden = true; }); $("login").hidden = false; }

async function start() {
  const response = await fetch("/api/v1/staff/me", { credentials: "same-origin" });
  if (!response.ok) { showLogin(); return; }
  state.me = await response.json();
  $("login").hidden = true; $("nav").hidden = false;
  const preferred = { sales: "referrals", event_staff: "scanner", service: "dashboards", admin: "dashboards" }[state.me.role];
  await show(location.hash.slice(1) || preferred);
}

async function show(view) {
  state.view = view;
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${view}`; });
  document.querySelectorAll("[data-view]").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  await { referrals: loadBoard, scanner: loadScanner, dashboards: loadDashboards }[view]?.();
}

// --- the referral board --------------------------------------------------------------------

async function loadProjects(select) {
  if (select.options.length) return;
  const projects = await api("/api/v1/projects").then((r) => (r.ok ? r.json() : []));
  select.innerHTML = `<option value="">${t("all_projects")}</option>` + projects.map((p) => `<option value="${p.id}">${esc(p.name)}</option>`).join("");
}

async function loadBoard() {
  await loadProjects($("ref-project"));
  const project = $("ref-project").value;
  const response = await api(`/api/v1/staff/referrals?limit=200${project ? `&project_id=${project}` : ""}`);
  if (!response.ok) { $("board").innerHTML = ""; $("board-error").textContent = await problemText(response); return; }
  const leads = await response.json();
  $("board").innerHTML = STAGES.map((stage) => {
    const here = leads.filter((l) => l.stage === stage);
    return `<div class="column" data-stage="${stage}"><h3><span>${t(`stage_${stage}`)}</span><span>${here.length}</span></h3>${here.map((l) => `
      <div class="lead" data-lead="${l.id}"><strong>${esc(l.name)}</strong> · ${esc(l.phone)}<div class="muted">${esc(l.project)} · ${esc(l.referrer_name)}</div>
      <div class="actions">${NEXT[stage].map((to) => `<button class="${to === "cancelled" ? "secondary" : ""}" data-move="${l.id}" data-to="${to}">${t(`move_${to}`)}</button>`).join("")}</div></div>`).join("")}</div>`;
  }).join("");
}

async function moveLead(id, stage) {
  $("board-error").textContent = "";
  const response = await api(`/api/v1/staff/referrals/${id}/stage`, { method: "POST", body: JSON.stringify({ stage }) });
  if (!response.ok) $("board-error").textContent = await problemText(response);
  await loadBoard();
}

// --- the door scanner ----------------------------------------------------------------------

async function loadScanner() {
  if (!$("scan-event").options.length) {
    const events = await api("/api/v1/staff/events").then((r) => (r.ok ? r.json() : []));
    $("scan-event").innerHTML = events.map((e) => `<option value="${e.id}">${esc(e.title_zh)} · ${esc(new Date(e.starts_at).toLocaleString(state.lang, { timeZone: "Asia/Shanghai" }))}</option>`).join("");
  }
  await refreshCount();
  $("scan-code").focus();
}

async function refreshCount() {
  const event = $("scan-event").value;
  if (!event) return;
  const response = await api(`/api/v1/staff/events/${event}/door`);
  if (response.ok) { const c = await response.json(); $("door-count").textContent = `${c.checked_in} / ${c.expected}`; }
}

async function scan(code) {
  code = code.trim();
  if (!code) return;
  const body = { event_id: Number($("scan-event").value), code, gate: $("scan-gate").value.trim() || "-", nonce: (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`) };
  const response = await api("/api/v1/staff/checkins", { method: "POST", body: JSON.stringify(body) });
  const box = $("scan-result");
  if (!response.ok) {
    box.className = "result red"; $("result-code").textContent = response.status; $("result-label").textContent = await problemText(response);
    $("result-detail").textContent = "";
  } else {
    const answer = await response.json();
    box.className = `result ${RESULT_COLOUR[answer.result] || "red"}`;
    $("result-code").textContent = answer.result;
    $("result-label").textContent = `${state.lang === "en" ? answer.result_label_en : answer.result_label_zh} ${answer.member_name || ""}${answer.party_size ? ` ×${answer.party_size}` : ""}`;
    $("result-detail").textContent = answer.result === "already_checked_in"
      ? `${new Date(answer.first_checked_in_at).toLocaleTimeString(state.lang, { timeZone: "Asia/Shanghai" })} · ${answer.first_gate}` : answer.detail;
    $("door-count").textContent = `${answer.count.checked_in} / ${answer.count.expected}`;
  }
  $("scan-code").value = "";
  $("scan-code").focus();
}

async function startCamera() {
  if (!("BarcodeDetector" in window)) { $("result-detail").textContent = t("no_camera"); return; }
  const detector = new BarcodeDetector({ formats: ["qr_code"] });
  const video = $("camera");
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.hidden = false;
  await video.play();
  let last = "";
  const tick = async () => {
    if (video.hidden) return;
    const codes = await detector.detect(video).catch(() => []);
    if (codes.length && codes[0].rawValue !== last) { last = codes[0].rawValue; await scan(last); setTimeout(() => { last = ""; }, 3000); }
    requestAnimationFrame(tick);
  };
  tick();
}

// --- dashboards ----------------------------------------------------------------------------

function rowsOf(data) { return Array.isArray(data) ? data : Array.isArray(data.rows) ? data.rows : [data]; }

function chart(rows, config) {
  const values = rows.map((r) => Number(r[config.value]) || 0);
  const top = Math.max(config.target || 0, ...values, config.percent ? 0.01 : 1);
  const width = 600, height = 180, bar = Math.max(8, Math.min(60, (width - 40) / Math.max(rows.length, 1) - 8));
  const bars = rows.map((r, i) => {
    const h = (values[i] / top) * (height - 40), x = 30 + i * (bar + 8), y = height - 20 - h;
    const shown = config.percent ? `${(values[i] * 100).toFixed(1)}%` : values[i].toLocaleString();
    return `<rect x="${x}" y="${y}" width="${bar}" height="${h}" fill="#1e3a8a"><title>${esc(config.label(r))}: ${shown}</title></rect>
      <text x="${x + bar / 2}" y="${height - 6}" font-size="10" text-anchor="middle">${esc(String(config.label(r) ?? "").slice(0, 12))}</text>`;
  }).join("");
  const target = config.target ? `<line x1="20" x2="${width}" y1="${height - 20 - (config.target / top) * (height - 40)}" y2="${height - 20 - (config.target / top) * (height - 40)}" stroke="#b91c1c" stroke-dasharray="6 4"/>` : "";
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img">${bars}${target}</svg>`;
}

function table(rows) {
  if (!rows.length) return "";
  const columns = Object.keys(rows[0]).filter((c) => typeof rows[0][c] !== "object" || rows[0][c] === null);
  return `<table><thead><tr>${columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${columns.map((c) => `<td data-column="${esc(c)}">${esc(r[c])}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

async function loadDashboards() {
  if (!$("dash-start").value) {  // this year so far, in Beijing days (what the API's ranges are)
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());  // YYYY-MM-DD
    $("dash-start").value = `${today.slice(0, 4)}-01-01`;
    $("dash-end").value = today;
  }
  const query = `start=${$("dash-start").value}&end=${$("dash-end").value}`;
  const mine = Object.entries(DASHBOARDS).filter(([, c]) => c.roles.includes(state.me.role) || state.me.role === "admin");
  const parts = await Promise.all(mine.map(async ([name, config]) => {
    const response = await api(`/api/v1/staff/dashboards/${name}?${query}`);
    if (!response.ok) return `<div class="dash" data-dashboard="${name}"><h2>${t(config.title)}</h2><p class="error">${esc(await problemText(response))}</p></div>`;
    const data = await response.json();
    const rows = rowsOf(data);
    const target = config.target ? `<span class="muted">${t("target")} ${(config.target * 100).toFixed(0)}%</span>` : "";
    return `<div class="dash" data-dashboard="${name}"><h2><span>${t(config.title)} ${target}</span>
      <a class="button secondary" href="/api/v1/staff/dashboards/${name}.csv?${query}">${t("csv")}</a></h2>
      ${chart((config.chartRows ? config.chartRows(data) : rows).filter((r) => r[config.value] !== undefined && r[config.value] !== null), config)}${table(data.totals ? [...rows, data.totals] : rows)}</div>`;
  }));
  $("dashboards").innerHTML = parts.join("");
}

// --- wiring --------------------------------------------------------------------------------

$("sign-in").addEventListener("click", async () => {
  const response = await fetch("/api/v1/auth/staff-sessions", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json", "accept-language": state.lang },
    body: JSON.stringify({ username: $("username").value.trim(), password: $("password").value }),
  });
  if (!response.ok) { $("login-error").textContent = await problemText(response); return; }
  // /admin sends a visitor here to log in (?next=/admin/): one staff login serves both.
  if (new URLSearchParams(location.search).get("next") === "/admin/") { location.assign("/admin/"); return; }
  await start();
});
$("logout").addEventListener("click", async () => { await fetch("/api/v1/auth/staff-sessions/current", { method: "DELETE", credentials: "same-origin" }); showLogin(); });
$("lang").addEventListener("click", async () => { state.lang = state.lang === "zh-CN" ? "en" : "zh-CN"; localStorage.setItem("lang", state.lang); translate(); if (state.view) await show(state.view); });
$("ref-reload").addEventListener("click", loadBoard);
$("ref-project").addEventListener("change", loadBoard);
$("scan-submit").addEventListener("click", () => scan($("scan-code").value));
$("scan-code").addEventListener("keydown", (e) => { if (e.key === "Enter") scan($("scan-code").value); });
$("scan-event").addEventListener("change", refreshCount);
$("scan-camera").addEventListener("click", startCamera);
$("dash-reload").addEventListener("click", loadDashboards);
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
document.addEventListener("click", (e) => { if (e.target.dataset.move) moveLead(e.target.dataset.move, e.target.dataset.to); });
translate();
start();
