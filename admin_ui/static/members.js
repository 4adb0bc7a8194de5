// Members (service, sales, admins): search the owner database by name, phone, card number or unit
// (phones masked in the list, as the API gives them); a member's page (#members/<id>): the card and
// why it has its tier, the stage, the contracts with their co-owners, entering a signed contract and
// marking a unit as sold on (both asked first: neither can be taken back), and the owner's cases on
// the service desk for the roles that may open it.
// Uses staff.js's `$`, `api`, `esc`, `problemOf`, `problemText`, `state`, `english`, `loadProjectList`, `projectName`.
"use strict";

const Members = (() => {
  const PAGE = 20;
  const my = { rows: [], cursor: null, query: "", current: null, busy: false, notice: null };
  const role = () => (state.me ? state.me.role : "");
  const may = (...roles) => role() === "admin" || roles.includes(role());
  const tierWords = (tier) => (tier ? enumLabel("tier", tier) : _("No card yet"));
  // Phase and building are written as the developer names them (3期, 9幢): in English the room alone (as the desk does).
  const unitName = (u) => (english() ? `${u.project_name_en || u.project_name} · ${u.room}`
    : `${u.project_name} ${[u.phase, u.building, u.room].filter(Boolean).join("-")}`);

  async function load(detail) {
    const id = /^\d+$/.test(detail || "") ? Number(detail) : null;
    $("members-search-page").hidden = id !== null;
    $("members-page").hidden = id === null;
    if (id === null) {
      my.current = null;
      $("members-search").value = my.query;
      await search();
    } else await openMember(id);
  }

  // --- the search ---------------------------------------------------------------------------

  async function search(more = false) {
    $("members-error").textContent = "";
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (my.query) query.set("search", my.query);
    if (more && my.cursor) query.set("cursor", String(my.cursor));
    const response = await api(`/api/v1/staff/members?${query}`);
    if (!response.ok) { $("members-list").innerHTML = ""; $("members-more").hidden = true; $("members-error").textContent = await problemText(response); return; }
    const page = await response.json();
    my.rows = more ? [...my.rows, ...page.items] : page.items;
    my.cursor = page.next_cursor;
    $("members-list").innerHTML = my.rows.length ? my.rows.map(resultRow).join("")
      : `<p class="panel muted" id="members-none">${esc(_("No owner matches “{text}”", { text: my.query }))}</p>`;
    $("members-more").hidden = !page.next_cursor;
  }

  function resultRow(m) {
    return `<a class="panel tm-member" href="#members/${m.id}" data-member="${m.id}">
      <div class="row"><strong class="name">${esc(m.name)}</strong>${m.tier ? `<span class="tm-badge tier-${esc(m.tier)}">${esc(tierWords(m.tier))}</span>` : ""}</div>
      <div class="muted tm-meta"><span class="phone">${esc(m.phone)}</span><span>${esc(enumLabel("owner_stage", m.stage))}</span>
        <span>${esc(_n("{count} home", "{count} homes", m.units))}</span>${m.card_number ? `<span class="card-number">${esc(m.card_number)}</span>` : ""}</div>
    </a>`;
  }

  // --- a member's page ------------------------------------------------------------------------

  async function openMember(id) {
    const [profile, card, contracts, cases] = await Promise.all([
      api(`/api/v1/staff/members/${id}`), api(`/api/v1/staff/members/${id}/card`), api(`/api/v1/staff/members/${id}/ownerships`),
      may("service") ? api(`/api/v1/staff/cases?member_id=${id}&limit=20`) : Promise.resolve(null),
      loadProjectList(),
    ].map((p) => p.then(async (r) => (r && r.ok !== undefined ? { ok: r.ok, status: r.status, body: r.ok ? await r.json() : await problemOf(r) } : null))
      .catch(() => null)));
    if (!profile || !profile.ok) {
      $("members-page").innerHTML = `<p><a href="#members">${esc(_("Back to the search"))}</a></p><p class="error" role="alert">${esc(profile ? profile.body.detail || profile.body.title : _("Something went wrong; please try again"))}</p>`;
      return;
    }
    my.current = { id, profile: profile.body, contracts: contracts && contracts.ok ? contracts.body : [] };
    $("members-page").innerHTML = page(profile.body, card, my.current.contracts, cases);
    const notice = my.notice; my.notice = null;
    if (notice) $("members-notice").textContent = notice();
  }

  function page(p, card, contracts, cases) {
    return `<p class="tm-back"><a href="#members">${esc(_("Back to the search"))}</a></p>
      <div class="panel tm-head"><div class="row"><h2 class="name">${esc(p.name)}</h2><span class="phone">${esc(p.phone)}</span></div>
        <div class="muted tm-meta"><span>${esc(_("Stage: {stage}", { stage: enumLabel("owner_stage", p.stage) }))}</span>${
          p.birthday ? `<span>${esc(_("Birthday: {date}", { date: I18n.date(p.birthday) }))}</span>` : ""}<span>${esc(_("Messages in {language}", { language: enumLabel("language", p.language) }))}</span></div>
        <p class="ok" id="members-notice" role="status"></p></div>
      <div class="tm-grid">
        <div class="panel" id="members-card">${cardPanel(card)}</div>
        <div class="panel" id="members-contracts">${contractsPanel(contracts)}</div>
        ${cases ? `<div class="panel" id="members-cases">${casesPanel(cases)}</div>` : ""}
      </div>`;
  }

  function cardPanel(card) {
    const head = `<h3>${esc(_("Card"))}</h3>`;
    if (!card || !card.ok) return `${head}<p class="muted">${esc(card && card.status === 404 ? _("No card yet: a card comes with a signed contract") : _("The card could not be loaded"))}</p>`;
    const c = card.body.card;
    return `${head}<div class="row"><span class="tm-badge tier-${esc(c.tier)}" id="members-tier">${esc(enumLabel("tier", c.tier))}</span>
        <span class="status" data-status="${esc(c.status)}">${esc(enumLabel("card_status", c.status))}</span></div>
      <p class="card-number">${esc(c.number)}</p>
      <p>${esc(c.why)}</p>
      <p class="muted">${esc(_("Since {date}", { date: I18n.date(c.tier_since) }))}</p>
      ${c.next_tier ? `<h4>${esc(_("For {tier}", { tier: enumLabel("tier", c.next_tier.tier) }))}</h4><ul class="tm-list">${
        c.next_tier.criteria.map((k) => `<li class="${k.met ? "met" : ""}">${esc(k.text)}</li>`).join("")}</ul>` : ""}`;
  }

  function contractsPanel(contracts) {
    const line = (u) => `<li class="tm-contract" data-ownership="${u.ownership_id}">
        <div class="row"><strong>${esc(unitName(u))}</strong><span class="status" data-status="${esc(u.status)}">${esc(enumLabel("ownership_status", u.status))}</span></div>
        <div class="muted tm-meta">${u.contract_date ? `<span>${esc(_("Signed {date}", { date: I18n.date(u.contract_date) }))}</span>` : ""}
          <span>${esc(u.delivery_date ? _("Handed over {date}", { date: I18n.date(u.delivery_date) }) : _("Not handed over yet"))}</span>
          ${u.contract_price_fen !== null ? `<span>${esc(I18n.money(u.contract_price_fen, { compact: false }))}</span>` : ""}</div>
        <div class="tm-meta">${u.co_owners.length ? `<span>${esc(_("Co-owners:"))}</span>${u.co_owners.map((o) => `<a class="name" href="#members/${o.member_id}">${esc(o.name)}</a>`).join("")}`
          : `<span class="muted">${esc(_("No co-owner"))}</span>`}</div>
        ${u.status === "active" && may("service") ? `<button type="button" class="secondary" data-transfer="${u.ownership_id}">${esc(_("Mark as sold on"))}</button>` : ""}
      </li>`;
    return `<h3>${esc(_("Homes and contracts"))}</h3>
      ${contracts.length ? `<ul class="tm-contracts">${contracts.map(line).join("")}</ul>` : `<p class="muted">${esc(_("No contract yet"))}</p>`}
      <p class="error" id="members-contract-error" role="alert"></p>
      ${may("sales", "service") ? addForm() : ""}`;
  }

  function addForm() {
    const projects = state.projects || [];
    return `<details class="tm-add" id="members-add"><summary>${esc(_("Enter a signed contract"))}</summary>
      <p class="muted">${esc(_("A co-owner: enter the same home on each owner's page."))}</p>
      <div class="tm-fields">
        <div><label for="members-project">${esc(_("Project"))}</label><select id="members-project">${projects.map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("")}</select><div class="field-error" data-error="project_id"></div></div>
        <div><label for="members-phase">${esc(_("Phase"))}</label><input id="members-phase" maxlength="20"><div class="field-error" data-error="phase"></div></div>
        <div><label for="members-building">${esc(_("Building"))}</label><input id="members-building" maxlength="20"><div class="field-error" data-error="building"></div></div>
        <div><label for="members-room">${esc(_("Room"))}</label><input id="members-room" maxlength="20"><div class="field-error" data-error="room"></div></div>
        <div><label for="members-signed">${esc(_("Contract date"))}</label><input id="members-signed" type="date"><div class="field-error" data-error="contract_date"></div></div>
        <div><label for="members-delivered">${esc(_("Handover date (if handed over)"))}</label><input id="members-delivered" type="date"><div class="field-error" data-error="delivery_date"></div></div>
        <div><label for="members-price">${esc(_("Contract price (yuan)"))}</label><input id="members-price" type="number" min="0" step="0.01" inputmode="decimal"><div class="field-error" data-error="contract_price_fen"></div></div>
      </div>
      <button type="button" id="members-add-go">${esc(_("Enter the contract"))}</button></details>`;
  }

  function casesPanel(cases) {
    const head = `<h3>${esc(_("Cases on the service desk"))}</h3>`;
    if (!cases.ok) return `${head}<p class="muted">${esc(cases.body.detail || cases.body.title)}</p>`;
    return head + (cases.body.length ? `<ul class="tm-list">${cases.body.map((c) => `<li><a href="#desk/${c.id}">${esc(c.title)}</a>
        <span class="muted">${esc(enumLabel("case_status", c.status))} · ${esc(I18n.date(c.opened_at))}</span></li>`).join("")}</ul>`
      : `<p class="muted">${esc(_("No case"))}</p>`);
  }

  // --- what the page changes (each asked first: a contract entered or sold on is for good) ------

  async function placeRefusal(response) {
    const problem = await response.json().catch(() => ({}));
    let placed = 0;
    for (const e of problem.errors || []) {
      const slot = $("members-page").querySelector(`[data-error="${CSS.escape(String(e.field || ""))}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $("members-contract-error").textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  async function send(path, bodyOf, question, notice) {
    const m = my.current;
    if (!m || my.busy) return;
    const answer = await Confirm.ask(question);
    if (!answer) return;
    my.busy = true;
    let response;
    try {
      response = await api(path, { method: "POST", body: JSON.stringify(bodyOf(answer)) });
    } finally {
      my.busy = false;
    }
    if (!response.ok) { await placeRefusal(response); return; }
    my.notice = notice;
    if (my.current === m) await openMember(m.id);
  }

  async function transfer(ownershipId) {
    const m = my.current;
    const u = m && m.contracts.find((c) => String(c.ownership_id) === String(ownershipId));
    if (!u) return;
    const home = unitName(u);
    await send(`/api/v1/staff/ownerships/${u.ownership_id}/transfer`, (answer) => ({ reason: answer.reason }), {
      title: _("Mark {home} as sold on by {name}?", { home, name: m.profile.name }),
      lines: [_("The contract stays in the history as sold on and no longer counts as a home they own; this cannot be undone."),
        _("A tier it supported is kept until the yearly review.")],
      reason: { label: _("Why? (at least 2 characters)"), minLength: 2 },
      yes: _("Mark as sold on"), no: _("Go back"),
    }, () => _("{home} is marked as sold on", { home }));
  }

  async function addContract() {
    const m = my.current;
    if (!m) return;
    $("members-page").querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
    $("members-contract-error").textContent = "";
    const say = (field, words) => { $("members-page").querySelector(`[data-error="${field}"]`).textContent = words; return 1; };
    const price = $("members-price").value.trim();
    const body = {
      project_id: Number($("members-project").value), phase: $("members-phase").value.trim(), building: $("members-building").value.trim(),
      room: $("members-room").value.trim(), contract_date: $("members-signed").value, delivery_date: $("members-delivered").value || null,
      contract_price_fen: price === "" ? null : Math.round(Number(price) * 100),
    };
    let wrong = 0;
    if (!body.project_id) wrong += say("project_id", _("Choose the project"));
    if (!body.building) wrong += say("building", _("Write the building"));
    if (!body.room) wrong += say("room", _("Write the room"));
    if (!body.contract_date) wrong += say("contract_date", _("Choose the contract date"));
    if (price !== "" && !(Number(price) >= 0)) wrong += say("contract_price_fen", _("Write a number"));
    if (wrong) return;
    const home = unitName({ project_name: projectName(body.project_id), project_name_en: "", ...body });
    await send(`/api/v1/staff/members/${m.id}/ownerships`, () => body, {
      title: _("Enter the contract for {home} for {name}?", { home, name: m.profile.name }),
      lines: [_("Their stage, card and tier follow at once. A contract entered cannot be deleted, only marked as sold on later.")],
      yes: _("Enter the contract"), no: _("Go back"),
    }, () => _("The contract for {home} is entered", { home }));
  }

  $("members-search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    my.query = $("members-search").value.trim();
    if (location.hash !== "#members") { location.hash = "#members"; return; }
    search();
  });
  $("members-more").addEventListener("click", () => search(true));
  $("members-page").addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (!button) return;
    if (button.dataset.transfer) transfer(button.dataset.transfer);
    else if (button.id === "members-add-go") addContract();
  });

  return { load };
})();

defineView("members", ["service", "sales"], Members.load);
