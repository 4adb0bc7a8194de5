// The rewards catalogue (admins): every reward with its picture, kind, status, price per tier,
// stock and dates; a form to create or edit one (each refusal next to the field the server
// names); publish, withdraw and stock after a question that says what will happen; a gift
// granted to a segment after counting the owners it reaches; the report of redemptions and the
// points they hold (the club's liability) for chosen days. Uses staff.js's `$`, `api`, `esc`,
// `problemOf`, `english`, `loadProjectList`, `projectName`.
"use strict";

const Catalogue = (() => {
  const PAGE = window.CATALOGUE_PAGE_SIZE || 100;  // the API's default page (a test may make it small)
  const KINDS = ["gift", "voucher", "event_seat", "service"];
  const STATUSES = ["draft", "published", "withdrawn"];
  const STAGE_LIST = ["prospect", "pre_owner", "settling", "stable", "veteran"];
  const REPORT_COUNTS = ["reserved", "ready", "picked_up", "cancelled", "expired"];
  // The report's column heads: the statuses in a word each (the table has eight columns).
  const REPORT_HEADS = {
    reserved: () => _p("reward report", "Reserved"), ready: () => _p("reward report", "Ready"),
    picked_up: () => _p("reward report", "Picked up"), cancelled: () => _p("reward report", "Cancelled"),
    expired: () => _p("reward report", "Expired"),
  };
  const my = { rows: [], offset: 0, editing: null, granting: null, preview: null, notice: null, merchants: null, events: null };

  const local = (item, field) => (english() && item[`${field}_en`] ? item[`${field}_en`] : item[`${field}_zh`]);
  const nameOf = (r) => local(r, "name");
  const placeOf = (r) => (english() && r.pickup_place_en ? r.pickup_place_en : r.pickup_place);
  const beijingToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  const points = (n) => _n("{count} point", "{count} points", n);
  const priceWords = (p) => (p === null || p === undefined ? _("not offered") : p === 0 ? _("free") : points(p));
  const day = (iso) => I18n.date(`${iso}T12:00:00+08:00`);  // a Beijing day, written in the reader's way

  // --- the list ---------------------------------------------------------------------------------

  async function load() {
    const select = $("cat-status");
    const chosen = select.value;
    select.innerHTML = `<option value="">${esc(_("All statuses"))}</option>` +
      STATUSES.map((s) => `<option value="${s}">${esc(enumLabel("reward_status", s))}</option>`).join("");
    select.value = chosen;
    $("cat-notice").textContent = my.notice ? my.notice() : "";
    await loadProjectList();
    relabel();
    GrantRules.relabel();
    await Promise.all([refresh(), ReferralRules.load()]);
  }

  // After a change of language: the open form's and grant's choices in the new one, as they were chosen.
  function relabel() {
    if (!$("cat-form").hidden) {
      const kind = $("cat-kind").value;
      const prices = Object.fromEntries(TIERS.map((t) => {
        const how = $("cat-form").querySelector(`[data-price-how="${t}"]`).value;
        const value = $("cat-form").querySelector(`[data-price="${t}"]`).value;
        return [t, how === "none" ? null : how === "free" ? 0 : value];
      }));
      $("cat-form-title").textContent = my.editing ? _("Edit “{name}”", { name: nameOf(my.editing) }) : _("New reward");
      $("cat-save").textContent = my.editing ? _("Save the changes") : _("Create the reward");
      $("cat-kind").innerHTML = KINDS.map((k) => `<option value="${k}">${esc(enumLabel("reward_kind", k))}</option>`).join("");
      $("cat-kind").value = kind;
      fillTargets($("cat-merchant").value, $("cat-event").value);
      $("cat-prices").innerHTML = TIERS.map((t) => priceRow(t, prices[t])).join("");
      picks("cat-tiers", "tiers", TIERS, (t) => enumLabel("tier", t), picked("cat-tiers"));
      picks("cat-stages", "stages", STAGE_LIST, (v) => enumLabel("owner_stage", v), picked("cat-stages"));
      projectPicks("cat-projects", picked("cat-projects"));
    }
    if (!$("cat-grant").hidden && my.granting) {
      $("cat-grant-title").textContent = _("Grant “{name}” to owners", { name: nameOf(my.granting) });
      picks("cat-grant-tiers", "grant-tiers", TIERS, (t) => enumLabel("tier", t), picked("cat-grant-tiers"));
      picks("cat-grant-stages", "grant-stages", STAGE_LIST, (v) => enumLabel("owner_stage", v), picked("cat-grant-stages"));
      projectPicks("cat-grant-projects", picked("cat-grant-projects"));
      $("cat-reach").textContent = "";  // said again by counting again
      my.preview = null;
      $("cat-grant-send").disabled = true;
    }
  }
  // The list and the report, after anything that changes either (a new reward is a new row in both).
  const refresh = () => Promise.all([loadList(), loadReport()]);

  async function loadList(more = false) {
    my.offset = more ? my.offset + PAGE : 0;
    const status = $("cat-status").value;
    const response = await api(`/api/v1/staff/rewards?limit=${PAGE}&offset=${my.offset}${status ? `&status=${status}` : ""}`);
    if (!response.ok) { $("cat-error").textContent = await problemText(response); return; }
    const rows = await response.json();
    my.rows = more ? [...my.rows, ...rows] : rows;
    $("cat-more").hidden = rows.length < PAGE;
    $("cat-list").innerHTML = my.rows.length ? my.rows.map(item).join("")
      : `<p class="panel muted">${esc(_("No rewards yet"))}</p>`;
  }

  function item(r) {
    const prices = TIERS.map((t) => `<span class="cat-price"><span class="tier">${esc(enumLabel("tier", t))}</span> ${esc(priceWords(r.prices[t]))}</span>`).join("");
    const picture = r.picture_url ? `<img class="cat-thumb" src="${esc(r.picture_url)}" alt="" loading="lazy">`
      : `<div class="cat-thumb none">${esc(_("No picture"))}</div>`;
    const act = (what, words, cls = "secondary") => `<button class="${cls}" type="button" data-cat="${what}" data-id="${r.id}">${esc(words)}</button>`;
    const buttons = [
      act("edit", _("Edit")),
      r.status !== "published" ? act("publish", _("Publish"), "") : act("withdraw", _("Withdraw"), "danger"),
      act("stock", _("Stock")),
      r.status !== "withdrawn" && r.kind !== "event_seat" ? act("grant", _("Grant to owners")) : "",
      r.status !== "withdrawn" && r.kind !== "event_seat" ? act("grant-rules", _("Give automatically")) : "",  // grant-rules.js
    ].join("");
    return `<div class="panel cat-item" data-reward="${r.id}">
      ${picture}
      <div class="cat-body">
        <div class="row"><strong class="cat-name">${esc(nameOf(r))}</strong><span class="status" data-status="${esc(r.status)}">${esc(enumLabel("reward_status", r.status))}</span></div>
        <div class="muted">${esc(enumLabel("reward_kind", r.kind))} · <span class="cat-dates">${esc(_("{first} to {last}", { first: day(r.starts_on), last: day(r.ends_on) }))}</span></div>
        <div class="cat-prices-line">${prices}</div>
        <div class="muted cat-stock">${esc(_("{left} of {total} left", { left: I18n.number(r.stock_remaining), total: I18n.number(r.stock_total) }))}${placeOf(r) ? ` · ${esc(_("Collect at {place}", { place: placeOf(r) }))}` : ""}</div>
        <div class="cat-stock-box" data-stock-box="${r.id}" hidden>
          <label for="cat-add-${r.id}">${esc(_("How many arrived (or, negative, are fewer than counted)"))}</label>
          <div class="row"><input id="cat-add-${r.id}" type="number" step="1" inputmode="numeric">
          <button type="button" data-cat="stock-send" data-id="${r.id}">${esc(_("Change the stock"))}</button></div>
          <p class="field-error" data-error="added"></p>
        </div>
        <div class="row cat-actions">${buttons}</div>
      </div>
    </div>`;
  }

  // --- the form -----------------------------------------------------------------------------------

  function picks(box, name, values, label, chosen = []) {
    $(box).innerHTML = values.map((v) => `<label class="pick"><input type="checkbox" name="${name}" value="${esc(v)}"${chosen.map(String).includes(String(v)) ? " checked" : ""}> ${esc(label(v))}</label>`).join("");
  }
  const picked = (box) => [...$(box).querySelectorAll("input:checked")].map((i) => i.value);
  const projectPicks = (box, chosen) => picks(box, box, (state.projects || []).map((p) => p.id), (id) => projectName(id), chosen);

  function clearErrors(root) {
    root.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  }

  // The server's refusal next to the field it names (errors[].field: "prices.gold" goes under the prices).
  async function placeRefusal(response, root, fallback) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not a problem document */ }
    let placed = 0;
    for (const e of problem.errors || []) {
      const field = String(e.field || "");
      const slot = root.querySelector(`[data-error="${CSS.escape(field)}"]`) || root.querySelector(`[data-error="${CSS.escape(field.split(".")[0])}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $(fallback).textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  function priceRow(tier, value) {
    const how = value === null || value === undefined ? "none" : value === 0 ? "free" : "points";
    const choice = (v, words) => `<option value="${v}"${how === v ? " selected" : ""}>${esc(words)}</option>`;
    return `<div class="cat-price-row" data-tier="${tier}">
      <label for="cat-price-${tier}">${esc(enumLabel("tier", tier))}</label>
      <select id="cat-price-${tier}" data-price-how="${tier}">${choice("none", _("Not offered"))}${choice("free", _("Free"))}${choice("points", _("Points"))}</select>
      <input type="number" min="1" step="1" data-price="${tier}" value="${how === "points" ? value : ""}" ${how === "points" ? "" : "hidden"} aria-label="${esc(_("Points for {tier}", { tier: enumLabel("tier", tier) }))}">
      <p class="field-error" data-error="prices.${tier}"></p>
    </div>`;
  }

  // A voucher names its merchant, an event seat its event: chosen by name from the merchant list
  // and the staff event list, never typed as an id. Fetched when the form opens.
  async function loadTargets() {
    const [merchants, events] = await Promise.all([
      api("/api/v1/staff/merchants?limit=200").then((r) => (r.ok ? r.json() : [])),
      api("/api/v1/staff/events").then((r) => (r.ok ? r.json() : [])),
    ]);
    my.merchants = merchants;
    my.events = events;
  }

  const eventTitle = (e) => (english() && e.title_en ? e.title_en : e.title_zh);

  function fillTargets(merchantId, eventId) {
    const choose = (words) => `<option value="">${esc(words)}</option>`;
    const option = (value, words, chosen) => `<option value="${value}"${String(value) === String(chosen ?? "") ? " selected" : ""}>${esc(words)}</option>`;
    const merchants = [...(my.merchants || [])];
    if (merchantId && !merchants.some((m) => String(m.id) === String(merchantId))) merchants.push({ id: merchantId, name: _("Merchant {id}", { id: merchantId }), status: "active" });
    $("cat-merchant").innerHTML = choose(merchants.length ? _("Choose the merchant") : _("No merchants yet: add one on the Merchants page")) +
      merchants.map((m) => option(m.id, m.status === "active" ? m.name : `${m.name} (${enumLabel("merchant_status", m.status)})`, merchantId)).join("");
    const events = [...(my.events || [])];
    if (eventId && !events.some((e) => String(e.id) === String(eventId))) events.push({ id: eventId, title_zh: _("Event {id}", { id: eventId }), title_en: "" });
    $("cat-event").innerHTML = choose(events.length ? _("Choose the event") : _("No events ahead")) +
      events.map((e) => option(e.id, e.starts_at ? `${eventTitle(e)} · ${I18n.date(e.starts_at)}` : eventTitle(e), eventId)).join("");
    showTargets();
  }

  // Only the field the kind needs is shown.
  function showTargets() {
    const kind = $("cat-kind").value;
    $("cat-merchant-field").hidden = kind !== "voucher";
    $("cat-event-field").hidden = kind !== "event_seat";
  }

  async function openForm(reward = null) {
    await loadTargets();
    my.editing = reward;
    const form = $("cat-form");
    clearErrors(form);
    $("cat-form-error").textContent = "";
    $("cat-grant").hidden = true;
    $("cat-form-title").textContent = reward ? _("Edit “{name}”", { name: nameOf(reward) }) : _("New reward");
    $("cat-save").textContent = reward ? _("Save the changes") : _("Create the reward");
    $("cat-kind").innerHTML = KINDS.map((k) => `<option value="${k}">${esc(enumLabel("reward_kind", k))}</option>`).join("");
    const r = reward || {
      kind: "gift", name_zh: "", name_en: "", description_zh: "", description_en: "", pickup_place: "", pickup_place_en: "",
      per_owner_limit: 1, collect_days: 14, starts_on: beijingToday(), ends_on: beijingToday(), prices: {},
      eligible_tiers: [], eligible_stages: [], eligible_project_ids: [], stock_total: 0,
    };
    $("cat-kind").value = r.kind;
    $("cat-kind").disabled = !!reward;  // a kind is for good: its redemptions are of it (a new kind is a new reward)
    fillTargets(r.merchant_id, r.event_id);
    $("cat-merchant").disabled = !!reward;  // fixed with the kind: its vouchers and seats are of them
    $("cat-event").disabled = !!reward;
    $("cat-name-zh").value = r.name_zh; $("cat-name-en").value = r.name_en;
    $("cat-desc-zh").value = r.description_zh; $("cat-desc-en").value = r.description_en;
    $("cat-place-zh").value = r.pickup_place; $("cat-place-en").value = r.pickup_place_en;
    $("cat-limit").value = r.per_owner_limit; $("cat-collect").value = r.collect_days;
    $("cat-starts").value = r.starts_on; $("cat-ends").value = r.ends_on;
    $("cat-stock").value = reward ? "" : "0";
    $("cat-stock-field").hidden = !!reward;  // stock changes by its own button, counted
    $("cat-prices").innerHTML = TIERS.map((t) => priceRow(t, r.prices[t])).join("");
    picks("cat-tiers", "tiers", TIERS, (t) => enumLabel("tier", t), r.eligible_tiers);
    picks("cat-stages", "stages", STAGE_LIST, (s) => enumLabel("owner_stage", s), r.eligible_stages);
    projectPicks("cat-projects", r.eligible_project_ids);
    $("cat-picture").value = "";
    $("cat-picture-name").textContent = "";
    $("cat-picture-now").hidden = !r.picture_url;
    if (r.picture_url) $("cat-picture-now").src = r.picture_url;
    form.hidden = false;
    form.scrollIntoView({ block: "start" });
    $("cat-name-zh").focus({ preventScroll: true });
  }

  function formBody() {
    const prices = {};
    for (const tier of TIERS) {
      const how = $("cat-form").querySelector(`[data-price-how="${tier}"]`).value;
      const value = $("cat-form").querySelector(`[data-price="${tier}"]`).value;
      prices[tier] = how === "none" ? null : how === "free" ? 0 : value === "" ? -1 : Number(value);
    }
    const number = (id) => ($(id).value === "" ? NaN : Number($(id).value));
    const body = {
      kind: $("cat-kind").value, name_zh: $("cat-name-zh").value.trim(), name_en: $("cat-name-en").value.trim(),
      description_zh: $("cat-desc-zh").value.trim(), description_en: $("cat-desc-en").value.trim(),
      pickup_place: $("cat-place-zh").value.trim(), pickup_place_en: $("cat-place-en").value.trim(), prices,
      per_owner_limit: number("cat-limit"), collect_days: number("cat-collect"), starts_on: $("cat-starts").value,
      ends_on: $("cat-ends").value, eligible_tiers: picked("cat-tiers"), eligible_stages: picked("cat-stages"),
      eligible_project_ids: picked("cat-projects").map(Number),
    };
    if (!my.editing) {
      body.stock = number("cat-stock");
      if (body.kind === "voucher") body.merchant_id = $("cat-merchant").value ? Number($("cat-merchant").value) : null;
      if (body.kind === "event_seat") body.event_id = $("cat-event").value ? Number($("cat-event").value) : null;
    }
    return body;
  }

  // What the page can tell before asking the server: an empty field, a price with no points.
  function obviousErrors(body) {
    const say = (field, words) => { $("cat-form").querySelector(`[data-error="${field}"]`).textContent = words; return 1; };
    let found = 0;
    if (!body.name_zh) found += say("name_zh", _("A reward needs a Chinese name"));
    if (!body.starts_on) found += say("starts_on", _("Choose the first day"));
    if (!body.ends_on) found += say("ends_on", _("Choose the last day"));
    if (body.merchant_id === null) found += say("merchant_id", _("Choose the merchant whose tills accept it"));
    if (body.event_id === null) found += say("event_id", _("Choose the event it seats"));
    for (const tier of TIERS) {
      if (body.prices[tier] !== null && !(Number.isInteger(body.prices[tier]) && body.prices[tier] >= 0)) {
        found += say(`prices.${tier}`, _("Write the points (a whole number), or choose free"));
      }
    }
    for (const [field, value] of [["per_owner_limit", body.per_owner_limit], ["collect_days", body.collect_days], ["stock", body.stock]]) {
      if (value !== undefined && !Number.isInteger(value)) found += say(field, _("Write a whole number"));
    }
    return found;
  }

  async function save(event) {
    event.preventDefault();
    const form = $("cat-form");
    clearErrors(form);
    $("cat-form-error").textContent = "";
    const body = formBody();
    if (obviousErrors(body)) return;
    const file = $("cat-picture").files[0];
    if (file && file.size > 2 * 1024 * 1024) {
      form.querySelector('[data-error="picture"]').textContent = _("A picture is at most 2 MB");
      return;
    }
    $("cat-save").disabled = true;
    try {
      const editing = my.editing;
      const response = editing
        ? await api(`/api/v1/staff/rewards/${editing.id}`, { method: "PATCH", body: JSON.stringify(body) })
        : await api("/api/v1/staff/rewards", { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) { await placeRefusal(response, form, "cat-form-error"); return; }
      const id = editing ? editing.id : (await response.json()).id;
      const name = body.name_en && english() ? body.name_en : body.name_zh;
      if (file) {
        const sent = await api(`/api/v1/staff/rewards/${id}/picture`, { method: "PUT", body: file, headers: { "content-type": file.type || "application/octet-stream" } });
        if (!sent.ok) {
          // The reward is saved; the form stays open on it, to choose another picture.
          await placeRefusal(sent, form, "cat-form-error");
          await refresh();
          my.editing = my.rows.find((r) => r.id === id) || { id };
          $("cat-stock-field").hidden = true;
          $("cat-save").textContent = _("Save the changes");
          return;
        }
      }
      form.hidden = true;
      my.notice = editing ? () => _("“{name}” is saved", { name }) : () => _("“{name}” is created as a draft: publish it when it is ready", { name });
      $("cat-notice").textContent = my.notice();
      await refresh();
    } finally {
      $("cat-save").disabled = false;
    }
  }

  // --- publish, withdraw, stock -------------------------------------------------------------------

  const find = (id) => my.rows.find((r) => String(r.id) === String(id));

  async function act(what, id) {
    const r = find(id);
    if (!r) return;
    if (what === "edit") { openForm(r); return; }
    if (what === "grant") { openGrant(r); return; }
    if (what === "grant-rules") { GrantRules.open(r); return; }
    if (what === "stock") {
      const box = document.querySelector(`[data-stock-box="${id}"]`);
      box.hidden = !box.hidden;
      if (!box.hidden) box.querySelector("input").focus();
      return;
    }
    if (what === "stock-send") { await changeStock(r); return; }
    const name = nameOf(r);
    const question = what === "publish" ? {
      title: _("Publish “{name}”?", { name }),
      lines: [_("Owners it is for can redeem it from {first} to {last}, while stock lasts.", { first: day(r.starts_on), last: day(r.ends_on) })],
      yes: _("Publish"), no: _("Go back"),
    } : {
      title: _("Withdraw “{name}”?", { name }),
      lines: [_("Owners can no longer redeem it; reservations already made stay valid.")],
      yes: _("Withdraw"), no: _("Go back"),
    };
    if (!(await Confirm.ask(question))) return;
    $("cat-error").textContent = "";
    const response = await api(`/api/v1/staff/rewards/${id}/${what === "publish" ? "publication" : "withdrawal"}`, { method: "POST" });
    if (!response.ok) { $("cat-error").textContent = await problemText(response); return; }
    my.notice = what === "publish" ? () => _("“{name}” is published", { name }) : () => _("“{name}” is withdrawn", { name });
    $("cat-notice").textContent = my.notice();
    await refresh();
  }

  async function changeStock(r) {
    const box = document.querySelector(`[data-stock-box="${r.id}"]`);
    const slot = box.querySelector(".field-error");
    slot.textContent = "";
    const added = Number(box.querySelector("input").value);
    if (!Number.isInteger(added) || added === 0) { slot.textContent = _("Write how many, a whole number other than 0"); return; }
    const name = nameOf(r);
    const question = added > 0 ? {
      title: _n("Add {count} to the stock of “{name}”?", "Add {count} to the stock of “{name}”?", added, { name }),
      lines: [_("{left} will be left to redeem.", { left: I18n.number(r.stock_remaining + added) })],
      yes: _("Add to the stock"), no: _("Go back"),
    } : {
      title: _n("Take {count} away from the stock of “{name}”?", "Take {count} away from the stock of “{name}”?", -added, { name }),
      lines: [_("{left} will be left to redeem; reservations already made keep theirs.", { left: I18n.number(r.stock_remaining + added) })],
      yes: _("Take away"), no: _("Go back"),
    };
    if (!(await Confirm.ask(question))) return;
    const response = await api(`/api/v1/staff/rewards/${r.id}/stock`, { method: "POST", body: JSON.stringify({ added }) });
    if (!response.ok) { await placeRefusal(response, box, "cat-error"); return; }
    my.notice = () => _("The stock of “{name}” is changed", { name });
    $("cat-notice").textContent = my.notice();
    await refresh();
  }

  // --- a gift granted to a segment ----------------------------------------------------------------

  function openGrant(r) {
    my.granting = r; my.preview = null;
    $("cat-form").hidden = true;
    const box = $("cat-grant");
    clearErrors(box);
    $("cat-grant-error").textContent = ""; $("cat-reach").textContent = "";
    $("cat-grant-title").textContent = _("Grant “{name}” to owners", { name: nameOf(r) });
    $("cat-occasion").value = "";
    picks("cat-grant-tiers", "grant-tiers", TIERS, (t) => enumLabel("tier", t));
    picks("cat-grant-stages", "grant-stages", STAGE_LIST, (s) => enumLabel("owner_stage", s));
    projectPicks("cat-grant-projects", []);
    $("cat-grant-send").disabled = true;
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    $("cat-occasion").focus({ preventScroll: true });
  }

  const grantBody = () => ({
    occasion: $("cat-occasion").value.trim(), tiers: picked("cat-grant-tiers"), stages: picked("cat-grant-stages"),
    project_ids: picked("cat-grant-projects").map(Number),
  });

  // Any change of the choices asks for a new count before the gift can be sent.
  function choicesChanged() {
    my.preview = null;
    $("cat-grant-send").disabled = true;
    $("cat-reach").textContent = "";
  }

  async function countOwners() {
    const box = $("cat-grant");
    clearErrors(box);
    $("cat-grant-error").textContent = "";
    const body = grantBody();
    if (body.occasion.length < 2) { box.querySelector('[data-error="occasion"]').textContent = _("Name the occasion (2 to 100 characters)"); return; }
    const response = await api(`/api/v1/staff/rewards/${my.granting.id}/grants/preview`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) { await placeRefusal(response, box, "cat-grant-error"); return; }
    const preview = await response.json();
    my.preview = { ...preview, body };
    const left = { left: I18n.number(preview.stock_left) };
    $("cat-reach").textContent = preview.enough_stock
      ? _n("It reaches {count} owner and takes {count} from the stock ({left} left).",
        "It reaches {count} owners and takes {count} from the stock ({left} left).", preview.owners, left)
      : _n("It reaches {count} owner, but only {left} are in stock: add stock first.",
        "It reaches {count} owners, but only {left} are in stock: add stock first.", preview.owners, left);
    $("cat-reach").dataset.owners = preview.owners;
    $("cat-grant-send").disabled = !preview.owners || !preview.enough_stock;
  }

  async function sendGrant() {
    const preview = my.preview;
    if (!preview) return;
    const r = my.granting;
    const answer = await Confirm.ask({
      title: _n("Grant “{name}” to {count} owner for “{occasion}”?", "Grant “{name}” to {count} owners for “{occasion}”?", preview.owners,
        { name: nameOf(r), occasion: preview.body.occasion }),
      lines: [_("Each gets one free reservation to collect at the pick-up place, and is not given it again for this occasion."),
        _n("{count} is taken from the stock at once.", "{count} are taken from the stock at once.", preview.owners)],
      yes: _("Grant the gift"), no: _("Go back"),
    });
    if (!answer) return;
    const response = await api(`/api/v1/staff/rewards/${r.id}/grants`, { method: "POST", body: JSON.stringify(preview.body) });
    if (!response.ok) { await placeRefusal(response, $("cat-grant"), "cat-grant-error"); return; }
    const granted = (await response.json()).granted;
    $("cat-grant").hidden = true;
    my.notice = () => _n("Granted to {count} owner", "Granted to {count} owners", granted);
    $("cat-notice").textContent = my.notice();
    await refresh();
  }

  // --- the report -----------------------------------------------------------------------------------

  async function loadReport() {
    if (!$("cat-from").value) {  // this year so far, in Beijing days
      const today = beijingToday();
      $("cat-from").value = `${today.slice(0, 4)}-01-01`;
      $("cat-to").value = today;
    }
    $("cat-report-error").textContent = "";
    const query = new URLSearchParams();
    if ($("cat-from").value) query.set("start", $("cat-from").value);
    if ($("cat-to").value) query.set("end", $("cat-to").value);
    const response = await api(`/api/v1/staff/rewards/report?${query}`);
    if (!response.ok) { $("cat-report").innerHTML = ""; await placeRefusal(response, $("cat-report-box"), "cat-report-error"); return; }
    const rows = await response.json();
    if (!rows.length) { $("cat-report").innerHTML = `<p class="muted">${esc(_("Nothing in this period"))}</p>`; return; }
    const sum = (key) => rows.reduce((total, r) => total + r[key], 0);
    const totals = { name_zh: _("All rewards"), name_en: _("All rewards"), total: true };
    for (const key of [...REPORT_COUNTS, "points_collected", "points_held", "points_collected_fen", "points_held_fen"]) totals[key] = sum(key);
    const head = `<tr><th class="text">${esc(_("Reward"))}</th>${REPORT_COUNTS.map((s) => `<th>${esc(REPORT_HEADS[s]())}</th>`).join("")}
      <th>${esc(_("Points collected"))}</th><th>${esc(_("Points held"))}</th><th>${esc(_("Points held in yuan"))}</th></tr>`;
    const line = (r) => `<tr${r.total ? ' class="total"' : ""}><td class="text">${esc(nameOf(r))}</td>${REPORT_COUNTS.map((s) => `<td data-column="${s}">${esc(I18n.number(r[s]))}</td>`).join("")}
      <td data-column="points_collected">${esc(I18n.number(r.points_collected))}</td><td data-column="points_held">${esc(I18n.number(r.points_held))}</td>
      <td data-column="points_held_fen">${esc(I18n.money(r.points_held_fen, { compact: false }))}</td></tr>`;
    $("cat-report").innerHTML = `<table><thead>${head}</thead><tbody>${rows.map(line).join("")}${line(totals)}</tbody></table>`;
  }

  // --- wiring -----------------------------------------------------------------------------------------

  $("cat-status").addEventListener("change", () => loadList());
  $("cat-reload").addEventListener("click", () => { my.notice = null; $("cat-notice").textContent = ""; return load(); });
  $("cat-more").addEventListener("click", () => loadList(true));
  $("cat-new").addEventListener("click", () => openForm());
  $("cat-form").addEventListener("submit", save);
  $("cat-cancel").addEventListener("click", () => { $("cat-form").hidden = true; });
  // The browser's own file button speaks the browser's language, not the page's: ours says it, and the name chosen.
  $("cat-picture").addEventListener("change", () => { $("cat-picture-name").textContent = $("cat-picture").files[0]?.name || ""; });
  $("cat-form").addEventListener("change", (e) => {
    if (e.target.id === "cat-kind") showTargets();
    if (e.target.id === "cat-merchant" || e.target.id === "cat-event") {  // chosen: the "choose one" is answered
      e.target.parentElement.querySelector(".field-error").textContent = "";
    }
    if (e.target.dataset.priceHow) {
      const input = $("cat-form").querySelector(`[data-price="${e.target.dataset.priceHow}"]`);
      input.hidden = e.target.value !== "points";
      if (!input.hidden) input.focus();
    }
  });
  $("cat-list").addEventListener("click", (e) => { const b = e.target.closest("[data-cat]"); if (b) act(b.dataset.cat, b.dataset.id); });
  $("cat-grant").addEventListener("input", choicesChanged);
  $("cat-grant").addEventListener("change", choicesChanged);
  $("cat-grant-count").addEventListener("click", countOwners);
  $("cat-grant-send").addEventListener("click", sendGrant);
  $("cat-grant-back").addEventListener("click", () => { $("cat-grant").hidden = true; });
  $("cat-report-reload").addEventListener("click", loadReport);

  return { load };
})();

defineView("rewards", [], () => Catalogue.load());
