// The reward counter (service staff): the owner's pick-up code scanned with the camera
// (qr-camera.js, as at the door) or typed or pasted; the answer read at arm's length (full-screen
// colour, one big word, the reward and who it is for); and the list of reservations waiting, each
// marked ready when it is at the counter (the owner is told). Uses staff.js's `$`, `api`, `esc`, `problemText`.
"use strict";

const counter = { camera: null, flashTimer: null, rows: [], busy: false, pages: 1 };
const COUNTER_PAGE = window.COUNTER_PAGE_SIZE || 100;  // a page of the list (the API's default; a test may make it small)
const rewardOf = (r) => (english() && r.reward_name_en ? r.reward_name_en : r.reward_name_zh);
// A refusal by its problem type (the slug at the end of the type's path).
const problemIs = (problem, slug) => String(problem.type || "").endsWith(`/${slug}`) || problem.type === slug;

async function loadCounter() {
  $("counter-code").focus();  // ready for a hardware scanner or a paste at once
  await loadCounterList();
}

// A page at a time: `more` adds the next page; a reload (after a hand-over) asks again for as
// many pages as are shown, so the row just marked stays in sight.
async function loadCounterList(more = false) {
  const pages = more ? counter.pages + 1 : counter.pages;
  let rows = [];
  let last = [];
  for (let page = 0; page < pages; page += 1) {
    const response = await api(`/api/v1/staff/rewards/redemptions?limit=${COUNTER_PAGE}&offset=${page * COUNTER_PAGE}`);
    if (!response.ok) { $("counter-error").textContent = await problemText(response); return; }
    last = await response.json();
    rows = [...rows, ...last];
    if (last.length < COUNTER_PAGE) break;
  }
  counter.pages = pages;
  counter.rows = rows;
  $("counter-list").innerHTML = counter.rows.length ? counter.rows.map(counterRow).join("")
    : `<p class="muted">${esc(_("Nothing waits to be collected"))}</p>`;
  $("counter-more").hidden = last.length < COUNTER_PAGE;
}

function counterRow(r) {
  const ready = r.status === "reserved"
    ? `<button class="secondary" type="button" data-ready="${r.id}">${esc(_("Mark as ready"))}</button>` : "";
  return `<div class="event counter-row" data-redemption="${r.id}">
    <div class="row"><strong>${esc(rewardOf(r))}</strong><span class="status" data-status="${esc(r.status)}">${esc(enumLabel("redemption_status", r.status))}</span></div>
    <div class="muted">${esc(r.member_name)} · ${esc(r.member_phone)}${r.gift ? ` · ${esc(_("gift"))}` : ""} · ${esc(_("collect by {time}", { time: I18n.dateTime(r.expires_at) }))}</div>
    ${ready ? `<div class="row join">${ready}</div>` : ""}
  </div>`;
}

async function markReady(id) {
  const r = counter.rows.find((x) => String(x.id) === String(id));
  if (!r) return;
  const asked = await Confirm.ask({
    title: _("Is “{reward}” for {name} at the counter?", { reward: rewardOf(r), name: r.member_name }),
    lines: [_("The owner is told at once that it is ready to collect.")],
    yes: _("Mark as ready"), no: _("Go back"),
  });
  if (!asked) return;
  $("counter-error").textContent = "";
  const response = await api(`/api/v1/staff/rewards/redemptions/${id}/ready`, { method: "POST" });
  if (!response.ok) $("counter-error").textContent = await problemText(response);
  await loadCounterList();
}

// --- a pick-up --------------------------------------------------------------------------------

async function handOver(code) {
  code = code.trim();
  if (!code || counter.busy) return;
  counter.busy = true;
  $("counter-error").textContent = "";
  try {
    const response = await api("/api/v1/staff/rewards/pickups", { method: "POST", body: JSON.stringify({ code }) });
    if (response.ok) {
      const done = await response.json();
      answer("green", "picked_up", { word: _("Handed over"), reward: rewardOf(done), who: `${done.member_name} · ${done.member_phone}` });
      loadCounterList().catch(() => {});  // the list catches up; the answer is what matters now
    } else {
      const problem = await response.json().catch(() => ({}));  // its type and extras (when) as well as its words
      answer(...refusal({ title: _("Something went wrong; please try again"), ...problem }, response.status));
    }
  } catch (error) {
    // No answer (the network): as far as the page knows nothing was handed over; the code stays
    // in the field to send again (a code is handed over once, however often it is sent).
    counter.busy = false;
    $("counter-code").value = code;
    if (error.message !== "not logged in") $("counter-error").textContent = _("Connection lost; please go online and try again");
    return;
  }
  counter.busy = false;
  $("counter-code").value = "";
  $("counter-code").focus();
}

// A refused code in one big word (the problem's detail under it): used before (when), expired,
// cancelled, or no pick-up code of ours at all.
function refusal(problem, status) {
  if (problemIs(problem, "redemption-already-picked-up")) {
    // One short word at arm's length; when, under it (the time alone if it was today).
    const at = problem.picked_up_at;
    const time = at && I18n.date(at) === I18n.date(new Date()) ? I18n.timeOfDay(at) : I18n.dateTime(at);
    return ["amber", "already_picked_up", { word: _("Already picked up"), detail: at ? _("Picked up {time}", { time }) : "" }];
  }
  if (problemIs(problem, "redemption-expired")) return ["red", "expired", { word: _("Expired"), detail: problem.detail || problem.title }];
  if (problemIs(problem, "redemption-closed")) return ["red", "cancelled", { word: _("Cancelled"), detail: problem.detail || problem.title }];
  if (status === 422 || String(problem.type || "").includes("code-")) {
    return ["red", "invalid_code", { word: _p("pick-up code", "Invalid code"), detail: problem.detail || problem.title }];
  }
  return ["red", "refused", { word: problem.title, detail: problem.detail }];
}

function answer(colour, result, { word, reward = "", who = "", detail = "" }) {
  const box = $("counter-result");
  box.className = `result ${colour}`; box.dataset.result = result;
  $("counter-word").textContent = word;
  $("counter-reward").textContent = reward;
  $("counter-who").textContent = who;
  $("counter-detail").textContent = detail;
  const flash = $("counter-flash");
  flash.className = `flash ${colour}`; flash.dataset.result = result;
  $("counter-flash-word").textContent = word;
  $("counter-flash-reward").textContent = reward;
  $("counter-flash-who").textContent = who;
  $("counter-flash-detail").textContent = detail;
  flash.hidden = false;
  clearTimeout(counter.flashTimer);
  // Longer than the door's: the clerk reads the reward's name before handing it over.
  counter.flashTimer = setTimeout(() => { flash.hidden = true; }, window.COUNTER_FLASH_MS || 2500);
  if (navigator.vibrate) navigator.vibrate(colour === "green" ? [80] : [400, 100, 400]);
}

// --- the camera (qr-camera.js) ------------------------------------------------------------------

function counterCameraProblem(words) {
  $("counter-error").textContent = words;
  stopCounterCamera();
}

async function toggleCounterCamera() {
  if (counter.camera) { stopCounterCamera(); return; }
  if (!QrCamera.available()) { counterCameraProblem(_("This device offers no camera to the page: type or paste the code")); return; }
  $("counter-camera-box").hidden = false;
  $("counter-camera-toggle").textContent = _("Stop camera");
  try {
    counter.camera = await QrCamera.open($("counter-camera"), handOver);
  } catch (error) {
    counterCameraProblem(error && error.name === "NotAllowedError"
      ? _("The camera was not allowed: allow it in the browser's site settings, or type or paste the code")
      : _("No camera could be opened: type or paste the code"));
  }
}

function stopCounterCamera() {
  if (counter.camera) counter.camera.stop();
  counter.camera = null;
  $("counter-camera-box").hidden = true;
  $("counter-camera-toggle").textContent = _("Camera");
}

$("counter-submit").addEventListener("click", () => handOver($("counter-code").value));
$("counter-code").addEventListener("keydown", (e) => { if (e.key === "Enter") handOver($("counter-code").value); });
$("counter-camera-toggle").addEventListener("click", toggleCounterCamera);
$("counter-reload").addEventListener("click", () => loadCounterList());
$("counter-more").addEventListener("click", () => loadCounterList(true));
$("counter-list").addEventListener("click", (e) => { if (e.target.dataset.ready) markReady(e.target.dataset.ready); });
window.addEventListener("hashchange", () => { if (location.hash !== "#counter") stopCounterCamera(); });

defineView("counter", ["service"], loadCounter);
