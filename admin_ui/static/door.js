// The door scanner (event staff): camera (qr-camera.js: BarcodeDetector, or the bundled jsQR), a hardware
// scanner typing into the code field, or typing by hand; an answer read at arm's length (full-screen
// colour, one big word, a tone, a buzz); and a door that keeps working offline (door-offline.js)
// and syncs its scans when the network returns. Uses staff.js's `$`, `api`, `problemOf`, `titleOf`.
"use strict";

const DEVICE_KEY = "owner-club.door-device";
const SYNC_EVERY_MS = 15000;
// What each answer looks like and sounds like: colour, tone (Hz, ms, wave) and buzz (ms).
const LOOK = {
  checked_in: { colour: "green", tones: [[880, 110], [1320, 160]], buzz: [80] },
  already_checked_in: { colour: "amber", tones: [[440, 160], [440, 160]], buzz: [200, 100, 200] },
  not_open_yet: { colour: "blue", tones: [[660, 400]], buzz: [300] },
  wrong_event: { colour: "red", tones: [[220, 450, "square"]], buzz: [400, 100, 400] },
  invalid_code: { colour: "red", tones: [[180, 550, "square"]], buzz: [400, 100, 400, 100, 400] },
  not_signed_up: { colour: "red", tones: [[220, 450, "square"]], buzz: [400, 100, 400] },
  cancelled: { colour: "red", tones: [[220, 450, "square"]], buzz: [400, 100, 400] },
};

const door = { saved: null, timer: null, camera: null, syncing: false, audio: null, flashTimer: null };

function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) { id = `door-${crypto.randomUUID ? crypto.randomUUID().slice(0, 8) : Math.random().toString(36).slice(2, 10)}`; localStorage.setItem(DEVICE_KEY, id); }
  return id;
}
const newNonce = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);
const eventId = () => Number($("scan-event").value) || 0;

// A phone opened from a set-up QR (/staff#door-setup=<one-time code>): a session that may only
// scan at that event's door, and its gate, without a password typed at the door.
async function openDoorFromAddress() {
  const match = location.hash.match(/^#door-setup=([\w-]+)$/);
  if (!match) return;
  history.replaceState(null, "", "#scanner");  // the code is spent either way: not left in the address
  const response = await fetch("/api/v1/auth/door-device-sessions", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: match[1] }),
  });
  if (!response.ok) { $("login-error").textContent = await problemText(response); return; }
  const opened = await response.json();
  localStorage.setItem(GATE_KEY, opened.gate);
  $("scan-gate").value = opened.gate;
}

// Event staff make the QR that sets another phone up for this event and gate.
async function newDoorDevice() {
  const gate = $("scan-gate").value.trim();
  if (!gate) { $("scan-error").textContent = _("Type the gate you are at first: each check-in records it"); $("scan-gate").focus(); return; }
  const response = await api("/api/v1/staff/door-devices", { method: "POST", body: JSON.stringify({ event_id: eventId(), gate }) });
  if (!response.ok) { $("scan-error").textContent = await problemText(response); return; }
  const setup = await response.json();
  $("door-device-qr").src = `data:image/png;base64,${setup.qr_png_base64}`;
  $("door-device-qr").dataset.url = setup.url;
  $("door-device-words").textContent = _("Scan this with the phone to set up, for the gate “{gate}”: it works once, until {time}", { gate, time: I18n.timeOfDay(setup.expires_at) });
  $("door-device").hidden = false;
}

async function loadScanner() {
  const select = $("scan-event");
  const chosen = select.value;
  let events = [];
  try {
    const response = await api("/api/v1/staff/events");
    $("scan-error").textContent = response.ok ? "" : await problemText(response);  // never an empty screen
    events = response.ok ? await response.json() : [];
    localStorage.setItem("owner-club.door-events", JSON.stringify(events));
  } catch (error) {
    if (!offlineError(error)) throw error;
    events = JSON.parse(localStorage.getItem("owner-club.door-events") || "[]");  // offline: the events seen last
  }
  if (state.me.door_event_id) events = events.filter((e) => e.id === state.me.door_event_id);  // a door phone: its event
  select.innerHTML = events.map((e) => `<option value="${e.id}">${esc(titleOf(e))} · ${esc(I18n.dateTime(e.starts_at))}</option>`).join("");
  if (chosen) select.value = chosen;
  // The gate's name is data, stored with each scan as typed: never a default in the page's
  // language, but the gate this browser's staff member typed last.
  if (!$("scan-gate").value) $("scan-gate").value = localStorage.getItem(GATE_KEY) || state.me.door_gate || "";
  $("door-device-new").hidden = !!state.me.door_event_id;
  showNetwork();
  // Ready for a hardware scanner at once; the list below may take a while (and the person may
  // have moved on to another field by then: the focus is not taken back).
  $("scan-code").focus();
  await prepare();
  clearInterval(door.timer);
  door.timer = setInterval(() => { if (state.view === "scanner" && navigator.onLine) inBackground(prepare); }, SYNC_EVERY_MS);
}

// A refresh nobody clicked for: a logged-out session has shown the login already (api), anything
// else is said on the page rather than lost in the console.
function inBackground(work) {
  work().catch((error) => { if (state.me) $("scan-error").textContent = _("Something went wrong; please try again"); console.warn(error); });
}

// A request that failed for want of a network (not a refusal): the door carries on offline.
const offlineError = (error) => error instanceof TypeError || !navigator.onLine;

// Online: send what was scanned offline, then fetch the list and keys afresh (other doors'
// admissions come with it). Offline: what was kept.
async function prepare() {
  const id = eventId();
  if (!id) return;
  if (navigator.onLine) {
    await syncScans(id);
    try {
      const [list, keys] = await Promise.all([api(`/api/v1/staff/events/${id}/admission-list`), fetch("/api/v1/code-keys")]);
      if (list.ok && keys.ok) await DoorOffline.saveList(await list.json(), (await keys.json()).keys);
      const at = await api(`/api/v1/staff/events/${id}/door`);
      if (at.ok) showCount(await at.json());
    } catch (error) { if (!offlineError(error)) throw error; }
  }
  door.saved = (await DoorOffline.loadList(id)) || null;
  if (door.saved && door.saved.event_id === id) {
    await keepLocalAdmissions(id);
    if (!navigator.onLine) showCount(DoorOffline.count(door.saved.list));
  }
  showNetwork();
}

// Scans this door made offline and has not sent yet still count on the list it decides by.
async function keepLocalAdmissions(id) {
  for (const scan of await DoorOffline.unsynced(id)) {
    const row = door.saved.list.signups.find((s) => s.signup_id === scan.signup_id);
    if (row && scan.offline_result === "checked_in" && row.status !== "attended") {
      Object.assign(row, { status: "attended", checked_in_at: scan.scanned_at, checked_in_gate: scan.gate });
    }
  }
}

async function syncScans(id) {
  if (door.syncing) return;
  door.syncing = true;
  try {
    let waiting = await DoorOffline.unsynced(id);
    while (waiting.length) {
      const batch = waiting.slice(0, 200);
      const body = { event_id: id, device: deviceId(), scans: batch.map(({ nonce, code, gate, scanned_at, offline_result }) => ({ nonce, code, gate, scanned_at, offline_result })) };
      const response = await api("/api/v1/staff/checkins/offline", { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) {
        // The whole body refused (a field wrong, the door switched off): nothing was applied, and
        // sending it again will not help until someone looks; the queue keeps it.
        $("scan-error").textContent = await problemText(response);
        break;
      }
      const answer = await response.json();
      const refusals = answer.scans.filter((s) => s.status === "refused");
      await DoorOffline.markSynced(answer.scans.filter((s) => s.status !== "refused").map((s) => s.nonce));
      await DoorOffline.markRefused(refusals);
      if (answer.scans.some((s) => s.conflict)) showConflicts();
      showCount(answer.count);
      waiting = waiting.slice(batch.length);
    }
  } catch (error) {
    if (!offlineError(error)) throw error;
    // Back "online" before the network really is (Wi-Fi still joining): try again shortly.
    if (navigator.onLine) setTimeout(() => { if (state.view === "scanner") inBackground(prepare); }, 2000);
  } finally {
    door.syncing = false;
    showNetwork();
    showUnsynced(id);
  }
}

// Scans the server would not take (the phone's clock far off, a nonce used twice): they left the
// queue so they block nothing, and stay here for the volunteer to tell staff.
async function showUnsynced(id) {
  const refused = await DoorOffline.refused(id);
  $("door-unsynced").hidden = !refused.length;
  $("door-unsynced-title").textContent = _n("{count} offline scan could not be synced: tell staff", "{count} offline scans could not be synced: tell staff", refused.length);
  $("door-unsynced-list").innerHTML = refused.map((s) => `<li>${esc(_("“{gate}” {time}: {reason}", {
    gate: s.gate, time: I18n.dateTime(s.scanned_at), reason: s.refused,
  }))}</li>`).join("");
}

async function showNetwork() {
  const online = navigator.onLine;
  const badge = $("door-net");
  badge.className = `net ${online ? "online" : "offline"}`;
  badge.textContent = online ? _("Online") : _("Offline");
  const waiting = eventId() ? (await DoorOffline.unsynced(eventId())).length : 0;
  $("door-queue").textContent = waiting ? _n("{count} scan to sync", "{count} scans to sync", waiting) : "";
  $("door-ready").textContent = door.saved
    ? _("List of {count} households kept for offline use", { count: door.saved.list.signups.length })
    : _("No list kept yet: go online once before the doors open");
}

function showCount(c) {
  $("door-people").textContent = `${I18n.number(c.people_in)} / ${I18n.number(c.people_expected)}`;
  $("door-count").textContent = `${I18n.number(c.checked_in)} / ${I18n.number(c.expected)}`;
  const conflicts = c.conflicts || 0;
  $("door-conflicts").hidden = !conflicts;
  $("door-conflicts").textContent = _n("{count} offline scan to check", "{count} offline scans to check", conflicts);
  if (conflicts && conflicts !== door.conflictsShown && navigator.onLine) showConflicts();
  door.conflictsShown = conflicts;
}

// What staff must follow up, in the order it happened: a ticket let in twice (first door, then
// the second), one let in that was not valid, and a valid ticket an offline door turned away.
function conflictWords(c) {
  const who = { name: c.member_name, people: _n("{count} person", "{count} people", c.party_size), gate: c.gate, time: I18n.timeOfDay(c.scanned_at) };
  if (!c.signup_id) {
    return _("A code that is no valid ticket or card: let in at “{gate}” {time} while offline", who);
  }
  if (c.kind === "turned_away") {
    return _("{name} ({people}): turned away at “{gate}” {time} while offline, but the ticket is valid: follow up", who);
  }
  if (c.first_checked_in_at) {
    return _("{name} ({people}): in at “{first_gate}” {first_time}, let in again at “{gate}” {time}",
      { ...who, first_gate: c.first_gate, first_time: I18n.timeOfDay(c.first_checked_in_at) });
  }
  return _("{name} ({people}): let in at “{gate}” {time} while offline, but: {why}", { ...who, why: enumLabel("checkin_result", c.result) });
}

async function showConflicts() {
  const response = await api(`/api/v1/staff/events/${eventId()}/door/conflicts`).catch(() => null);
  if (!response || !response.ok) return;
  $("door-conflict-list").innerHTML = (await response.json()).map((c) => `<li>${esc(conflictWords(c))}</li>`).join("");
}

// --- an answer, at arm's length ---------------------------------------------------------------

// The words for an answer: one big word, who (with the party size), and why.
function answerWords(answer) {
  const result = answer.result;
  let big = enumLabel("checkin_result", result);
  let detail = answer.detail || "";
  if (result === "already_checked_in" && answer.first_checked_in_at) {
    // The gate as it was typed (data): 已签到（东门 19:02）.
    big = _("Already in ({gate} {time})", { gate: answer.first_gate, time: I18n.timeOfDay(answer.first_checked_in_at) });
    detail = "";
  } else if (result === "checked_in" && answer.points_earned) {
    detail = _n("{count} point awarded", "{count} points awarded", answer.points_earned);
  } else if (result === "invalid_code") {
    big = _("Invalid code");
  } else if (result === "not_open_yet" && answer.opens_at) {
    detail = _("Check-in opens at {at}", { at: I18n.timeOfDay(answer.opens_at) });
  }
  const party = answer.party_size ? _n("{count} person", "{count} people", answer.party_size) : "";
  return { big, who: answer.member_name || "", party, detail };
}

function feedback(answer) {
  const look = LOOK[answer.result] || LOOK.invalid_code;
  const words = answerWords(answer);
  const box = $("scan-result");
  box.className = `result ${look.colour}`; box.dataset.result = answer.result;
  $("result-code").textContent = words.big;
  $("result-label").textContent = [words.who, words.party].filter(Boolean).join(" · ");
  $("result-detail").textContent = words.detail;
  const flash = $("door-flash");
  flash.className = `flash ${look.colour}`; flash.dataset.result = answer.result;
  $("flash-word").textContent = words.big;
  $("flash-party").textContent = words.party;
  $("flash-who").textContent = words.who;
  $("flash-detail").textContent = words.detail;
  flash.hidden = false;
  clearTimeout(door.flashTimer);
  door.flashTimer = setTimeout(() => { flash.hidden = true; }, window.DOOR_FLASH_MS || 1600);
  tone(look.tones);
  if (navigator.vibrate) navigator.vibrate(look.buzz);
}

function tone(tones) {
  const Audio = window.AudioContext || window.webkitAudioContext;
  if (!Audio) return;
  door.audio = door.audio || new Audio();
  const ctx = door.audio;
  if (ctx.state === "suspended") ctx.resume();
  let at = ctx.currentTime;
  for (const [hz, ms, wave] of tones) {
    const osc = ctx.createOscillator(); const gain = ctx.createGain();
    osc.type = wave || "sine"; osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.3, at); gain.gain.exponentialRampToValueAtTime(0.001, at + ms / 1000);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at); osc.stop(at + ms / 1000);
    at += ms / 1000 + 0.04;
  }
}

// --- a scan ------------------------------------------------------------------------------------

async function scan(code) {
  code = code.trim();
  if (!code) return;
  const gate = $("scan-gate").value.trim();
  // No gate yet (a browser's first scan): ask for it, keeping the code for the scan after.
  if (!gate) { $("scan-error").textContent = _("Type the gate you are at first: each check-in records it"); $("scan-gate").focus(); return; }
  $("scan-error").textContent = "";
  localStorage.setItem(GATE_KEY, gate);
  const nonce = newNonce();
  let answered = false;
  if (navigator.onLine) answered = await scanOnline(code, gate, nonce);
  if (!answered) await scanOffline(code, gate, nonce);
  $("scan-code").value = "";
  $("scan-code").focus();
}

async function scanOnline(code, gate, nonce) {
  let response;
  try {
    response = await api("/api/v1/staff/checkins", { method: "POST", body: JSON.stringify({ event_id: eventId(), code, gate, nonce }) });
  } catch (error) {
    if (offlineError(error)) return false;
    throw error;
  }
  if (response.status >= 502) return false;  // the network behind us is down: decide here
  if (!response.ok) {
    const problem = await problemOf(response);
    feedback({ result: "invalid_code", detail: problem.detail || problem.title });
    if (response.status !== 422) { $("result-code").textContent = problem.title; $("flash-word").textContent = problem.title; }
    return true;
  }
  const answer = await response.json();
  feedback(answer);
  showCount(answer.count);
  if (door.saved) {  // what this door learnt online counts offline too
    const row = door.saved.list.signups.find((s) => s.signup_id === answer.signup_id);
    if (row && answer.first_checked_in_at) Object.assign(row, { status: "attended", checked_in_at: answer.first_checked_in_at, checked_in_gate: answer.first_gate });
  }
  return true;
}

async function scanOffline(code, gate, nonce) {
  showNetwork();
  if (!door.saved) {
    $("scan-error").textContent = _("Offline, and no list kept for this event: check-in needs the network now");
    return;
  }
  const now = new Date();
  const decided = await DoorOffline.decide(code, door.saved, now);
  const row = decided.signup;
  await DoorOffline.addScan({
    nonce, event_id: eventId(), code, gate, scanned_at: now.toISOString(), offline_result: decided.result,
    signup_id: row ? row.signup_id : null,
  });
  if (decided.result === "checked_in") Object.assign(row, { status: "attended", checked_in_at: now.toISOString(), checked_in_gate: gate });
  const detail = decided.invalid === "forged" ? _("This ticket or card is not genuine: its signature does not match; ask the owner to show it again")
    : decided.invalid === "expired" ? _("The code has expired; refresh it on the phone")
    : decided.invalid ? _("This is not an Owner Club ticket or member card: scan the QR code of the owner's ticket or card") : "";
  feedback({
    result: decided.result, member_name: row ? row.member_name : "", party_size: row ? row.party_size : 0,
    first_checked_in_at: decided.first_checked_in_at, first_gate: decided.first_gate, opens_at: decided.opens_at, detail,
  });
  showCount(DoorOffline.count(door.saved.list));
  showNetwork();
}

// --- the camera ----------------------------------------------------------------------------------

function cameraProblem(words) {
  $("scan-error").textContent = words;
  $("camera-box").hidden = true;
  $("scan-camera").textContent = _("Camera");
  $("scan-code").focus();
}

async function toggleCamera() {
  if (door.camera) { stopCamera(); return; }
  if (!QrCamera.available()) {
    cameraProblem(_("This device offers no camera to the page: type the code, or plug in a hardware scanner"));
    return;
  }
  $("camera-box").hidden = false;
  $("scan-camera").textContent = _("Stop camera");
  try {
    door.camera = await QrCamera.open($("camera"), scan);
  } catch (error) {
    cameraProblem(error && error.name === "NotAllowedError"
      ? _("The camera was not allowed: allow it in the browser's site settings, or type the code or use a hardware scanner")
      : _("No camera could be opened: type the code, or plug in a hardware scanner"));
  }
}

function stopCamera() {
  if (door.camera) door.camera.stop();
  door.camera = null;
  $("camera-box").hidden = true;
  $("scan-camera").textContent = _("Camera");
}

$("scan-submit").addEventListener("click", () => scan($("scan-code").value));
$("scan-code").addEventListener("keydown", (e) => { if (e.key === "Enter") scan($("scan-code").value); });
$("scan-event").addEventListener("change", () => { door.saved = null; inBackground(prepare); });
$("scan-camera").addEventListener("click", toggleCamera);
$("door-device-new").addEventListener("click", newDoorDevice);
window.addEventListener("online", () => { showNetwork(); if (state.view === "scanner") inBackground(prepare); });
window.addEventListener("offline", showNetwork);

defineView("scanner", ["event_staff"], loadScanner);
