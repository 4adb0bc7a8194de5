// The door without a network: the event's admission list and the public code keys kept in
// IndexedDB, ticket and card signatures checked here (Ed25519), each offline scan kept with its
// nonce until the server has it. The decisions mirror loyalty/events/checkin.py `_decide`.
"use strict";

const DoorOffline = (() => {
  const DB_NAME = "owner-club-door";
  const NOBLE = "/static/staff/vendor/noble-ed25519-3.2.0.min.js";
  let opened = null;

  function open() {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("lists", { keyPath: "event_id" });
        const scans = db.createObjectStore("scans", { keyPath: "nonce" });
        scans.createIndex("event", "event_id");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }
  async function run(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const result = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }

  // --- what the door keeps ---------------------------------------------------------------
  const saveList = (list, keys) => run("lists", "readwrite", (s) => s.put({ event_id: list.event_id, list, keys, saved_at: Date.now() }));
  const loadList = (eventId) => run("lists", "readonly", (s) => s.get(eventId));
  const addScan = (scan) => run("scans", "readwrite", (s) => s.put({ ...scan, synced: 0 }));
  const scansOf = (eventId) => run("scans", "readonly", (s) => s.index("event").getAll(eventId));
  async function unsynced(eventId) { return (await scansOf(eventId)).filter((s) => !s.synced).sort((a, b) => a.scanned_at.localeCompare(b.scanned_at)); }
  async function markSynced(nonces) {
    await run("scans", "readwrite", (s) => {
      nonces.forEach((nonce) => { const get = s.get(nonce); get.onsuccess = () => { if (get.result) s.put({ ...get.result, synced: 1 }); }; });
    });
  }
  // A scan the server refused leaves the queue (it would be refused again) but stays on the
  // phone, listed for the volunteer as not synced, with the server's reason.
  async function markRefused(refusals) {
    await run("scans", "readwrite", (s) => {
      refusals.forEach(({ nonce, reason }) => { const get = s.get(nonce); get.onsuccess = () => { if (get.result) s.put({ ...get.result, synced: 1, refused: reason || "-" }); }; });
    });
  }
  async function refused(eventId) { return (await scansOf(eventId)).filter((s) => s.refused).sort((a, b) => a.scanned_at.localeCompare(b.scanned_at)); }

  // --- signatures --------------------------------------------------------------------------
  const unb64 = (text) => {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
    const raw = atob(b64);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  let noble = null;
  async function verify(publicRaw, signature, message) {
    try {
      const key = await crypto.subtle.importKey("raw", publicRaw, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    } catch (error) {
      if (error && error.name !== "NotSupportedError" && error.name !== "TypeError") throw error;
      // A browser without WebCrypto Ed25519 (older Safari and Firefox): the bundled library.
      noble = noble || (await import(NOBLE));
      return noble.verifyAsync(signature, message, publicRaw);
    }
  }

  const KINDS = { S: "static", D: "dynamic", T: "ticket" };
  // OC1.<key id>.<payload>.<signature> (loyalty/cards/codes.py) → { kind, subject }, or a
  // reason it is no code of ours ("malformed") or not genuine ("forged").
  async function open_code(text, keys) {
    const parts = String(text).trim().split(".");
    if (parts.length !== 4 || parts[0] !== "OC1") return { invalid: "malformed" };
    let payload, signature;
    try { payload = unb64(parts[2]); signature = unb64(parts[3]); } catch { return { invalid: "malformed" }; }
    if ((payload.length !== 13 && payload.length !== 17) || signature.length !== 64) return { invalid: "malformed" };
    if (!keys[parts[1]]) return { invalid: "unknown_key" };
    const genuine = await verify(unb64(keys[parts[1]]), signature, new TextEncoder().encode(`OC1.${parts[1]}.${parts[2]}`));
    if (!genuine) return { invalid: "forged" };
    const view = new DataView(payload.buffer);
    const kind = KINDS[String.fromCharCode(payload[0])];
    if (!kind || (payload.length === 17 && kind !== "dynamic")) return { invalid: "malformed" };
    const subject = Number(view.getBigUint64(1));
    const step = view.getUint32(9);
    if (kind === "dynamic") {
      const late = Math.floor(Date.now() / 60000) - step;
      if (late < 0 || late > 1) return { invalid: "expired" };
    }
    return { kind, subject };
  }

  // --- the decision --------------------------------------------------------------------------
  // → { result, signup?, first_checked_in_at?, first_gate?, invalid? }; `signups` is the list's.
  async function decide(code, saved, now) {
    const opened_code = await open_code(code, saved.keys);
    if (opened_code.invalid) return { result: "invalid_code", invalid: opened_code.invalid };
    const signups = saved.list.signups;
    let signup;
    if (opened_code.kind === "ticket") {
      signup = signups.find((s) => s.signup_id === opened_code.subject);
      // A genuine ticket not on this event's list names another event's signup.
      if (!signup) return { result: "wrong_event" };
    } else {
      const theirs = signups.filter((s) => s.member_id === opened_code.subject);
      signup = theirs.find((s) => s.status !== "cancelled") || theirs[theirs.length - 1];
      if (!signup) return { result: "not_signed_up" };
    }
    if (signup.status === "cancelled") return { result: "cancelled", signup };
    if (signup.status === "waitlisted" || signup.status === "pending_payment") return { result: "not_signed_up", signup };
    if (signup.status === "attended") {
      return { result: "already_checked_in", signup, first_checked_in_at: signup.checked_in_at, first_gate: signup.checked_in_gate };
    }
    if (now < new Date(saved.list.opens_at)) return { result: "not_open_yet", signup, opens_at: saved.list.opens_at };
    return { result: "checked_in", signup };
  }

  // Counts as the server counts them (checkin.door_count), from the list as this door knows it.
  function count(list) {
    const seated = list.signups.filter((s) => ["confirmed", "attended", "no_show"].includes(s.status));
    const inside = seated.filter((s) => s.status === "attended");
    const people = (rows) => rows.reduce((n, s) => n + s.party_size, 0);
    return { checked_in: inside.length, expected: seated.length, people_in: people(inside), people_expected: people(seated) };
  }

  return { saveList, loadList, addScan, unsynced, markSynced, markRefused, refused, decide, count, open_code };
})();
