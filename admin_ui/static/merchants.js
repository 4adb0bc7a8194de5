// Alliance merchants (admins): the list (category, status, stores, keys in force), a new merchant;
// a merchant's page (#merchants/<id>) with its stores, its tier discounts (percent, cap in yuan,
// Beijing days) and its API keys: a new key is shown once, with a copy button, and never again;
// rotating makes a new one while the old keeps working for the service's grace; revoking stops
// the tills using a key at once. Anything that cannot be undone is asked first (Confirm.ask).
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `TIERS`.
"use strict";

const Merchants = (() => {
  const PAGE = window.MERCHANTS_PAGE_SIZE || 50;
  const CATEGORIES = ["decoration", "dining", "education", "health", "retail", "services", "other"];
  const my = { rows: [], offset: 0, merchant: null, notice: null, pageNotice: null };

  const beijingToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  const day = (iso) => I18n.date(iso);  // a Beijing day, written the reader's way
  const percentOff = (bp) => new Intl.NumberFormat(I18n.locale, { style: "percent", maximumFractionDigits: 2 }).format(bp / 10000);
  const yuan = (fen) => I18n.money(fen, { compact: false });
  const option = (value, words, chosen) => `<option value="${esc(value)}"${String(value) === String(chosen ?? "") ? " selected" : ""}>${esc(words)}</option>`;

  function clearErrors(root) { root.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; }); }

  // The server's refusal next to the field it names, else in `fallback`.
  async function placeRefusal(response, root, fallback) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not a problem document */ }
    let placed = 0;
    for (const e of problem.errors || []) {
      const slot = root.querySelector(`[data-error="${CSS.escape(String(e.field || ""))}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $(fallback).textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  // --- the list ------------------------------------------------------------------------------------

  async function load(detail) {
    const id = /^\d+$/.test(detail || "") ? Number(detail) : null;
    $("mer-index").hidden = id !== null;
    $("mer-page").hidden = id === null;
    if (id !== null) { await openMerchant(id); return; }
    my.merchant = null;
    my.pageNotice = null;
    $("mer-notice").textContent = my.notice ? my.notice() : "";
    $("mer-error").textContent = "";
    fillCategories();
    await loadList();
  }

  function fillCategories() {
    const chosen = $("mer-category").value || "other";
    $("mer-category").innerHTML = CATEGORIES.map((c) => option(c, enumLabel("merchant_category", c), chosen)).join("");
  }

  async function loadList(more = false) {
    my.offset = more ? my.offset + PAGE : 0;
    const response = await api(`/api/v1/staff/merchants?limit=${PAGE}&offset=${my.offset}`);
    if (!response.ok) { $("mer-list").innerHTML = ""; $("mer-error").textContent = await problemText(response); return; }
    const rows = await response.json();
    my.rows = more ? [...my.rows, ...rows] : rows;
    $("mer-more").hidden = rows.length < PAGE;
    $("mer-list").innerHTML = my.rows.length ? my.rows.map(line).join("") : `<p class="panel muted">${esc(_("No merchants yet"))}</p>`;
  }

  function line(m) {
    return `<a class="panel mer-item" href="#merchants/${m.id}" data-merchant="${m.id}">
      <div class="row"><strong class="mer-name">${esc(m.name)}</strong>
        <span class="mer-status" data-status="${esc(m.status)}">${esc(enumLabel("merchant_status", m.status))}</span></div>
      <div class="mer-line muted"><span>${esc(enumLabel("merchant_category", m.category))}</span>
        <span>${esc(_n("{count} store", "{count} stores", m.store_count))}</span>
        <span data-keys="${m.active_key_count}">${esc(_n("{count} key in force", "{count} keys in force", m.active_key_count))}</span></div>
    </a>`;
  }

  function openForm() {
    const form = $("mer-form");
    clearErrors(form);
    $("mer-form-error").textContent = "";
    form.reset();
    fillCategories();
    form.hidden = false;
    $("mer-name").focus();
  }

  async function createMerchant(event) {
    event.preventDefault();
    const form = $("mer-form");
    clearErrors(form);
    $("mer-form-error").textContent = "";
    const body = {
      name: $("mer-name").value.trim(), category: $("mer-category").value, contact_name: $("mer-contact").value.trim(),
      contact_phone: $("mer-phone").value.trim(), points_per_cny: $("mer-points").value === "" ? 0 : Number($("mer-points").value),
    };
    if (!body.name) { form.querySelector('[data-error="name"]').textContent = _("A merchant needs a name"); return; }
    if (!Number.isInteger(body.points_per_cny) || body.points_per_cny < 0 || body.points_per_cny > 100) {
      form.querySelector('[data-error="points_per_cny"]').textContent = _("Write a whole number from 0 to 100"); return;
    }
    $("mer-create").disabled = true;
    try {
      const response = await api("/api/v1/staff/merchants", { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) { await placeRefusal(response, form, "mer-form-error"); return; }
      const { id } = await response.json();
      form.hidden = true;
      my.pageNotice = () => _("“{name}” is added: now add its stores, its discounts and a key for its tills", { name: body.name });
      location.hash = `#merchants/${id}`;
    } finally {
      $("mer-create").disabled = false;
    }
  }

  // --- a merchant's page ---------------------------------------------------------------------------

  async function openMerchant(id, keep = false) {
    $("mer-page-error").textContent = "";
    if (!keep) $("mer-new-key").hidden = true;  // a key shown once is gone when the page is opened again
    $("mer-page-notice").textContent = my.pageNotice ? my.pageNotice() : "";
    const response = await api(`/api/v1/staff/merchants/${id}`);
    if (!response.ok) {
      $("mer-title").textContent = "";
      $("mer-facts").innerHTML = "";
      ["mer-keys", "mer-stores", "mer-discounts"].forEach((box) => { $(box).innerHTML = ""; });
      $("mer-page-error").textContent = await problemText(response);
      return;
    }
    if (!keep || !my.merchant || my.merchant.id !== id) {
      ["mer-key-form", "mer-store-form", "mer-discount-form"].forEach((f) => { $(f).reset(); clearErrors($(f)); });
    }
    my.merchant = await response.json();
    draw();
  }

  function draw() {
    const m = my.merchant;
    $("mer-title").textContent = m.name;
    const contact = [m.contact_name, m.contact_phone].filter(Boolean).join(" · ");
    $("mer-facts").innerHTML = `<span class="mer-status" data-status="${esc(m.status)}">${esc(enumLabel("merchant_status", m.status))}</span>
      <span>${esc(enumLabel("merchant_category", m.category))}</span>
      ${contact ? `<span>${esc(_("Contact: {who}", { who: contact }))}</span>` : ""}
      <span>${esc(m.points_per_cny ? _n("{count} point per yuan paid", "{count} points per yuan paid", m.points_per_cny) : _("Earns no points"))}</span>`;
    drawKeys();
    drawStores();
    drawDiscounts();
  }

  const storeName = (id) => {
    const s = my.merchant.stores.find((x) => x.id === id);
    return s ? `${s.name} (${s.code})` : "";
  };

  // A key's state in words: in force, in its grace after a rotation (until when), expired, revoked.
  function keyState(k) {
    if (k.revoked_at) return { state: "revoked", words: _("Revoked {time}", { time: I18n.dateTime(k.revoked_at) }) };
    if (k.expires_at && new Date(k.expires_at) <= new Date()) return { state: "expired", words: _("Stopped {time}", { time: I18n.dateTime(k.expires_at) }) };
    if (k.expires_at) return { state: "grace", words: _("Replaced: works until {time}", { time: I18n.dateTime(k.expires_at) }) };
    return { state: "live", words: _("In force") };
  }

  function drawKeys() {
    const m = my.merchant;
    $("mer-key-store").innerHTML = option("", _("Every store"), $("mer-key-store").value) +
      m.stores.map((s) => option(s.id, storeName(s.id), $("mer-key-store").value)).join("");
    if (!m.keys.length) { $("mer-keys").innerHTML = `<p class="muted">${esc(_("No keys yet"))}</p>`; return; }
    $("mer-keys").innerHTML = `<ul class="mer-rows">${m.keys.map((k) => {
      const s = keyState(k);
      const live = s.state === "live" || s.state === "grace";
      const buttons = live ? `<div class="row mer-actions">
          ${s.state === "live" ? `<button class="secondary" type="button" data-key-rotate="${k.id}">${esc(_("Rotate"))}</button>` : ""}
          <button class="danger" type="button" data-key-revoke="${k.id}">${esc(_("Revoke"))}</button></div>` : "";
      return `<li class="mer-key" data-key="${k.id}" data-state="${s.state}">
        <div class="row"><code class="mer-prefix">${esc(k.prefix)}…</code><span class="mer-key-state" data-state="${s.state}">${esc(s.words)}</span></div>
        <div class="muted mer-line">${k.label ? `<span>${esc(k.label)}</span>` : ""}
          <span>${esc(k.store_id ? storeName(k.store_id) : _("Every store"))}</span>
          <span>${esc(_("Made {time}", { time: I18n.dateTime(k.created_at) }))}</span>
          <span>${esc(k.last_used_at ? _("Last used {time}", { time: I18n.dateTime(k.last_used_at) }) : _("Never used"))}</span></div>
        ${buttons}</li>`;
    }).join("")}</ul>`;
  }

  function drawStores() {
    const stores = my.merchant.stores;
    $("mer-stores").innerHTML = stores.length
      ? `<ul class="mer-rows">${stores.map((s) => `<li class="mer-store"><code>${esc(s.code)}</code> ${esc(s.name)}</li>`).join("")}</ul>`
      : `<p class="muted">${esc(_("No stores yet"))}</p>`;
  }

  function validity(d) {
    return d.valid_to ? _("{first} to {last}", { first: day(d.valid_from), last: day(d.valid_to) })
      : _("From {first}, no end", { first: day(d.valid_from) });
  }

  function drawDiscounts() {
    const chosen = $("mer-tier").value || "gold";
    $("mer-tier").innerHTML = TIERS.map((t) => option(t, enumLabel("tier", t), chosen)).join("");
    if (!$("mer-from").value) $("mer-from").value = beijingToday();
    const list = my.merchant.discounts;
    const today = beijingToday();
    $("mer-discounts").innerHTML = list.length ? `<ul class="mer-rows">${[...list].reverse().map((d) => {
      const past = d.valid_to && d.valid_to < today;
      const ahead = d.valid_from > today;
      const when = past ? _("Ended") : ahead ? _("Not yet") : _("In force");
      return `<li class="mer-discount" data-discount="${d.id}">
        <div class="row"><span><span class="tier">${esc(enumLabel("tier", d.tier))}</span> <strong>${esc(_("{percent} off", { percent: percentOff(d.percent_bp) }))}</strong></span>
          <span class="mer-key-state" data-state="${past ? "expired" : ahead ? "grace" : "live"}">${esc(when)}</span></div>
        <div class="muted mer-line"><span>${esc(validity(d))}</span>
          <span>${esc(d.cap_fen ? _("at most {amount} off a sale", { amount: yuan(d.cap_fen) }) : _("no cap"))}</span></div></li>`;
    }).join("")}</ul>` : `<p class="muted">${esc(_("No discounts yet"))}</p>`;
  }

  async function addStore(event) {
    event.preventDefault();
    const form = $("mer-store-form");
    clearErrors(form);
    $("mer-page-error").textContent = "";
    const body = { code: $("mer-store-code").value.trim(), name: $("mer-store-name").value.trim() };
    if (!body.code) { form.querySelector('[data-error="code"]').textContent = _("Write the store's code"); return; }
    if (!body.name) { form.querySelector('[data-error="name"]').textContent = _("Write the store's name"); return; }
    const response = await api(`/api/v1/staff/merchants/${my.merchant.id}/stores`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, form, "mer-page-error"); return; }
    form.reset();
    my.pageNotice = () => _("The store “{name}” is added", { name: body.name });
    await openMerchant(my.merchant.id, true);
  }

  async function setDiscount(event) {
    event.preventDefault();
    const form = $("mer-discount-form");
    clearErrors(form);
    $("mer-page-error").textContent = "";
    const say = (field, words) => { form.querySelector(`[data-error="${field}"]`).textContent = words; return 1; };
    const percent = Number($("mer-percent").value);
    const cap = $("mer-cap").value;
    const body = {
      tier: $("mer-tier").value, percent_bp: Math.round(percent * 100), valid_from: $("mer-from").value,
      valid_to: $("mer-to").value || null, cap_fen: cap === "" ? null : Math.round(Number(cap) * 100),
    };
    let wrong = 0;
    if ($("mer-percent").value === "" || !(percent > 0 && percent <= 100)) wrong += say("percent_bp", _("Write a percentage above 0 and at most 100"));
    if (!body.valid_from) wrong += say("valid_from", _("Choose the first day"));
    if (body.valid_to && body.valid_from && body.valid_to < body.valid_from) wrong += say("valid_to", _("The last day must not be before the first"));
    if (cap !== "" && !(body.cap_fen > 0)) wrong += say("cap_fen", _("Write an amount above 0, or leave it empty"));
    if (wrong) return;
    const tier = enumLabel("tier", body.tier);
    const answer = await Confirm.ask({
      title: _("Give {tier} owners {percent} off at “{name}”?", { tier, percent: percentOff(body.percent_bp), name: my.merchant.name }),
      lines: [
        body.valid_to ? _("The tills give it from {first} to {last} (Beijing days).", { first: day(body.valid_from), last: day(body.valid_to) })
          : _("The tills give it from {first} (a Beijing day), with no end.", { first: day(body.valid_from) }),
        body.cap_fen ? _("At most {amount} off one sale.", { amount: yuan(body.cap_fen) }) : _("With no cap on one sale."),
        _("It cannot be removed afterwards, only replaced by a newer discount."),
      ],
      yes: _("Set the discount"), no: _("Go back"),
    });
    if (!answer) return;
    const response = await api(`/api/v1/staff/merchants/${my.merchant.id}/discounts`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, form, "mer-page-error"); return; }
    form.reset();
    my.pageNotice = () => _("{tier} owners get {percent} off", { tier, percent: percentOff(body.percent_bp) });
    await openMerchant(my.merchant.id, true);
  }

  // --- keys ----------------------------------------------------------------------------------------

  // The new key, once: in the page only, never stored; gone when the page is opened again.
  function showKey(created, note) {
    $("mer-key-text").value = created.key;
    $("mer-key-copied").textContent = "";
    $("mer-key-note").textContent = note;
    $("mer-new-key").hidden = false;
    $("mer-new-key").scrollIntoView({ block: "center" });
    $("mer-key-text").select();
  }

  async function createKey(event) {
    event.preventDefault();
    const form = $("mer-key-form");
    clearErrors(form);
    $("mer-page-error").textContent = "";
    const store = $("mer-key-store").value;
    const body = { label: $("mer-key-label").value.trim(), store_id: store ? Number(store) : null };
    const response = await api(`/api/v1/staff/merchants/${my.merchant.id}/api-keys`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, form, "mer-page-error"); return; }
    const created = await response.json();
    form.reset();
    my.pageNotice = () => _("The key {prefix}… is made", { prefix: created.prefix });
    await openMerchant(my.merchant.id, true);
    showKey(created, _("Put it in the till's settings. Should it be lost, rotate or revoke it here."));
  }

  const keyOf = (id) => my.merchant.keys.find((k) => String(k.id) === String(id));

  async function rotateKey(id) {
    const k = keyOf(id);
    if (!k) return;
    const hours = my.merchant.key_grace_hours;
    const until = I18n.dateTime(new Date(Date.now() + hours * 3600 * 1000));
    const answer = await Confirm.ask({
      title: _("Rotate the key {prefix}…?", { prefix: k.prefix }),
      lines: [
        _("A new key is made and shown once."),
        _n("The old key keeps working for {count} hour more, until about {time}, so the tills can be changed over; then it stops.",
          "The old key keeps working for {count} hours more, until about {time}, so the tills can be changed over; then it stops.", hours, { time: until }),
      ],
      yes: _("Rotate the key"), no: _("Go back"),
    });
    if (!answer) return;
    $("mer-page-error").textContent = "";
    const response = await api(`/api/v1/staff/merchants/api-keys/${k.id}/rotation`, { method: "POST" });
    if (!response.ok) { $("mer-page-error").textContent = await problemText(response); return; }
    const created = await response.json();
    my.pageNotice = () => _("The key {prefix}… is replaced by {new}…", { prefix: k.prefix, new: created.prefix });
    await openMerchant(my.merchant.id, true);
    const old = keyOf(k.id);
    showKey(created, old && old.expires_at
      ? _("The old key {prefix}… works until {time}: change the tills over before then.", { prefix: k.prefix, time: I18n.dateTime(old.expires_at) })
      : _("Put it in the till's settings."));
  }

  async function revokeKey(id) {
    const k = keyOf(id);
    if (!k) return;
    const answer = await Confirm.ask({
      title: _("Revoke the key {prefix}…?", { prefix: k.prefix }),
      lines: [_("Tills using this key will stop working at once: their scans and sales are refused."), _("This cannot be undone; a till needs a new key.")],
      yes: _("Revoke the key"), no: _("Go back"),
    });
    if (!answer) return;
    $("mer-page-error").textContent = "";
    const response = await api(`/api/v1/staff/merchants/api-keys/${k.id}/revocation`, { method: "POST" });
    if (!response.ok) { $("mer-page-error").textContent = await problemText(response); return; }
    my.pageNotice = () => _("The key {prefix}… is revoked", { prefix: k.prefix });
    await openMerchant(my.merchant.id, true);
  }

  async function copyKey() {
    const text = $("mer-key-text").value;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {  // no clipboard permission: the selected text and the browser's own copy
      $("mer-key-text").select();
      copied = document.execCommand && document.execCommand("copy");
    }
    $("mer-key-copied").textContent = copied ? _("Copied") : _("Select the key and copy it");
  }

  // --- wiring ----------------------------------------------------------------------------------------

  $("mer-new").addEventListener("click", openForm);
  $("mer-reload").addEventListener("click", () => { my.notice = null; return load(); });
  $("mer-more").addEventListener("click", () => loadList(true));
  $("mer-form").addEventListener("submit", createMerchant);
  $("mer-cancel").addEventListener("click", () => { $("mer-form").hidden = true; });
  $("mer-back").addEventListener("click", () => { my.pageNotice = null; });
  $("mer-store-form").addEventListener("submit", addStore);
  $("mer-discount-form").addEventListener("submit", setDiscount);
  $("mer-key-form").addEventListener("submit", createKey);
  $("mer-key-copy").addEventListener("click", copyKey);
  $("mer-key-done").addEventListener("click", () => { $("mer-new-key").hidden = true; $("mer-key-text").value = ""; });
  $("mer-keys").addEventListener("click", (e) => {
    const rotate = e.target.closest("[data-key-rotate]");
    const revoke = e.target.closest("[data-key-revoke]");
    if (rotate) rotateKey(rotate.dataset.keyRotate);
    if (revoke) revokeKey(revoke.dataset.keyRevoke);
  });

  // The merchants, for another page's picker (the rewards catalogue's vouchers): every page of them.
  async function all() {
    const found = [];
    for (let offset = 0; ; offset += 200) {
      const response = await api(`/api/v1/staff/merchants?limit=200&offset=${offset}`);
      if (!response.ok) return found;
      const rows = await response.json();
      found.push(...rows);
      if (rows.length < 200) return found;
    }
  }

  return { load, all };
})();

defineView("merchants", [], (detail) => Merchants.load(detail));
