// Tier rules (admins change them; service and sales read them): the rules in force, tier by tier, in
// words; a rule's form, whose "preview" asks the server how many owners of each tier the rule as
// written would move up, down or leave (POST /staff/tier-rules/preview: the save's own evaluation,
// writing nothing), and only then lets the rule be saved — after a question that states those counts.
// Uses staff.js's `$`, `api`, `esc`, `problemOf`, `state`, `TIERS`.
"use strict";

const TierRules = (() => {
  const KINDS = ["units_owned", "delivered_units", "contract_value_fen", "stage", "signed_referrals"];
  const OWNER_STAGES = ["prospect", "pre_owner", "settling", "stable", "veteran"];
  const my = { rules: [], editing: null, preview: null, previewed: "", notice: null, busy: false };
  const isAdmin = () => !!state.me && state.me.role === "admin";

  async function load() {
    $("tiers-add").hidden = !isAdmin();
    $("tiers-error").textContent = "";
    $("tiers-notice").textContent = my.notice ? my.notice() : "";
    const response = await api("/api/v1/staff/tier-rules");
    if (!response.ok) { $("tiers-list").innerHTML = ""; $("tiers-error").textContent = await problemText(response); return; }
    my.rules = await response.json();
    $("tiers-list").innerHTML = TIERS.map(tierBlock).join("");
    if (!$("tiers-form").hidden) relabelForm();
  }

  // One tier: its rules in the order they are tried ("any one of these"), switched-off ones greyed.
  function tierBlock(tier) {
    const rules = my.rules.filter((r) => r.tier === tier);
    const items = rules.map((r) => `<li class="tm-rule${r.active ? "" : " off"}" data-rule="${r.id}">
        <span class="tm-rule-text">${esc(r.text)}</span>
        ${r.active ? "" : `<span class="status">${esc(_("Switched off"))}</span>`}
        ${isAdmin() ? `<button type="button" class="secondary" data-edit-rule="${r.id}">${esc(_("Change"))}</button>` : ""}
      </li>`).join("");
    return `<div class="tm-tier" data-tier="${tier}"><h3><span class="tm-badge tier-${tier}">${esc(enumLabel("tier", tier))}</span></h3>
      ${rules.length ? `<p class="muted">${esc(tier === "blue" ? _("Every owner with a card holds at least this tier; it is given when:") : _("Given when any one of these holds:"))}</p><ul class="tm-rules">${items}</ul>`
        : `<p class="muted">${esc(_("No rule gives this tier"))}</p>`}</div>`;
  }

  // --- the form -----------------------------------------------------------------------------

  const option = (value, words, chosen) => `<option value="${esc(value)}"${String(value) === String(chosen) ? " selected" : ""}>${esc(words)}</option>`;

  function openForm(rule) {
    my.editing = rule;
    const r = rule || { tier: "gold", kind: "units_owned", threshold: 1, window_months: null, position: 0, active: true };
    fillChoices(r.tier, r.kind);
    setThreshold(r.kind, r.threshold);
    $("tiers-window").value = r.window_months || 24;
    $("tiers-position").value = r.position;
    $("tiers-active").checked = r.active;
    $("tiers-form").hidden = false;
    clearForm();
    relabelForm();
    $("tiers-form").scrollIntoView({ block: "start" });
  }

  function fillChoices(tier, kind) {
    $("tiers-tier").innerHTML = TIERS.map((t) => option(t, enumLabel("tier", t), tier)).join("");
    $("tiers-kind").innerHTML = KINDS.map((k) => option(k, enumLabel("tier_rule_kind", k), kind)).join("");
  }

  // The threshold as a person writes it: money in 元 (sent in fen), a stage by its name, else a count.
  function setThreshold(kind, threshold) {
    const stage = kind === "stage";
    $("tiers-stage").innerHTML = OWNER_STAGES.map((s, i) => option(i, enumLabel("owner_stage", s), stage ? threshold : 4)).join("");
    $("tiers-stage").hidden = !stage;
    $("tiers-threshold").hidden = stage;
    $("tiers-threshold").value = kind === "contract_value_fen" ? String(threshold / 100) : String(threshold);
    $("tiers-window-field").hidden = kind !== "signed_referrals";
  }

  function relabelForm() {
    const kind = $("tiers-kind").value;
    $("tiers-form-title").textContent = my.editing ? _("Change a rule of {tier}", { tier: enumLabel("tier", my.editing.tier) }) : _("A new rule");
    fillChoices($("tiers-tier").value, kind);
    const keep = $("tiers-stage").value;
    $("tiers-stage").innerHTML = OWNER_STAGES.map((s, i) => option(i, enumLabel("owner_stage", s), keep)).join("");
    $("tiers-threshold-label").textContent = kind === "contract_value_fen" ? _("At least (yuan)")
      : kind === "stage" ? _("Stage reached") : _("At least (number)");
    $("tiers-stage").setAttribute("aria-label", _("Stage reached"));
    invalidate();
  }

  function body() {
    const kind = $("tiers-kind").value;
    const raw = $("tiers-threshold").value.trim();
    const threshold = kind === "stage" ? Number($("tiers-stage").value)
      : kind === "contract_value_fen" ? Math.round(Number(raw) * 100) : Number(raw);
    return {
      tier: $("tiers-tier").value, kind, threshold: raw === "" && kind !== "stage" ? null : threshold,
      window_months: kind === "signed_referrals" ? Number($("tiers-window").value) : null,
      position: Number($("tiers-position").value || 0), active: $("tiers-active").checked,
    };
  }

  function clearForm() {
    $("tiers-form").querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
    $("tiers-form-error").textContent = "";
  }

  // Any change to the rule as written: the counts shown were for another rule, so saving waits for a new preview.
  function invalidate() {
    my.preview = null;
    $("tiers-preview-result").innerHTML = "";
    $("tiers-save").disabled = true;
    const b = body();
    $("tiers-words").textContent = b.threshold === null || Number.isNaN(b.threshold) ? "" : _("Owners who meet it get {tier}.", { tier: enumLabel("tier", b.tier) });
  }

  // What the page can tell before asking: an empty or broken number.
  function obvious(b) {
    const say = (field, words) => { $("tiers-form").querySelector(`[data-error="${field}"]`).textContent = words; return 1; };
    let found = 0;
    if (b.threshold === null || !Number.isFinite(b.threshold)) found += say("threshold", _("Write a number"));
    if (b.kind === "signed_referrals" && !Number.isInteger(b.window_months)) found += say("window_months", _("Write a whole number"));
    return found;
  }

  async function refusal(response) {
    const problem = await response.clone().json().catch(() => ({}));
    let placed = 0;
    for (const e of problem.errors || []) {
      const slot = $("tiers-form").querySelector(`[data-error="${CSS.escape(String(e.field || ""))}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $("tiers-form-error").textContent = (await problemOf(response)).detail || problem.title || _("Something went wrong; please try again");
  }

  async function preview() {
    clearForm();
    const b = body();
    if (obvious(b)) return;
    const response = await api("/api/v1/staff/tier-rules/preview", {
      method: "POST", body: JSON.stringify({ ...b, rule_id: my.editing ? my.editing.id : null }),
    });
    if (!response.ok) { await refusal(response); return; }
    my.preview = await response.json();
    my.previewed = JSON.stringify(b);
    $("tiers-preview-result").innerHTML = previewTable(my.preview);
    $("tiers-save").disabled = false;
  }

  const total = (rows, key) => rows.reduce((sum, r) => sum + r[key], 0);

  function previewTable(p) {
    const row = (r) => `<tr data-tier="${r.tier}"><th scope="row">${esc(enumLabel("tier", r.tier))}</th>
      <td>${esc(I18n.number(r.members))}</td><td class="up${r.up ? " some" : ""}">${esc(I18n.number(r.up))}</td><td class="down${r.down ? " some" : ""}">${esc(I18n.number(r.down))}</td>
      <td>${esc(I18n.number(r.stay))}</td><td>${esc(I18n.number(r.after))}</td></tr>`;
    const up = total(p.on_save, "up"), downNow = total(p.on_save, "down"), down = total(p.at_review, "down"), reviewUp = total(p.at_review, "up");
    return `<h3>${esc(_("If this rule is saved: “{rule}”", { rule: p.rule_text }))}</h3>
      <p class="tm-summary" id="tiers-summary">${esc(_n("{count} owner moves up at once.", "{count} owners move up at once.", up))}
        ${esc(downNow ? _n("{count} owner moves down at once.", "{count} owners move down at once.", downNow) : _("Nobody moves down now."))}</p>
      <div class="tm-table-wrap"><table class="tm-table" id="tiers-moves">
        <thead><tr><th scope="col">${esc(_("Tier now"))}</th><th scope="col">${esc(_("Owners"))}</th><th scope="col">${esc(_("Move up"))}</th>
          <th scope="col">${esc(_("Move down"))}</th><th scope="col">${esc(_("Stay"))}</th><th scope="col">${esc(_("After saving"))}</th></tr></thead>
        <tbody>${p.on_save.map(row).join("")}</tbody></table></div>
      <p class="muted" id="tiers-review">${esc(_("At the yearly review on 1 January, with these rules: {down} would move down and {up} up.", {
        down: _n("{count} owner", "{count} owners", down), up: I18n.number(reviewUp) }))}</p>`;
  }

  async function save() {
    if (!my.preview || my.busy) return;
    const b = body();
    if (JSON.stringify(b) !== my.previewed) { invalidate(); return; }
    const up = total(my.preview.on_save, "up");
    const down = total(my.preview.at_review, "down");
    const lines = [
      up ? _n("{count} owner moves up to a higher tier at once.", "{count} owners move up to a higher tier at once.", up)
        : _("Nobody changes tier now."),
      ...my.preview.on_save.filter((r) => r.up).map((r) => _("{tier}: {count} up", { tier: enumLabel("tier", r.tier), count: I18n.number(r.up) })),
      down ? _n("At the yearly review {count} owner would move down.", "At the yearly review {count} owners would move down.", down) : "",
      _("The change is recorded with your reason."),
    ];
    const answer = await Confirm.ask({
      title: my.editing ? _("Save the changed rule?") : _("Add this rule?"), lines,
      reason: { label: _("Why? (at least 2 characters)"), minLength: 2 },
      yes: _("Save the rule"), no: _("Go back"),
    });
    if (!answer) return;
    my.busy = true;
    let response;
    try {
      const sent = { ...b, reason: answer.reason };
      response = my.editing
        ? await api(`/api/v1/staff/tier-rules/${my.editing.id}`, { method: "PUT", body: JSON.stringify(sent) })
        : await api("/api/v1/staff/tier-rules", { method: "POST", body: JSON.stringify(sent) });
    } finally {
      my.busy = false;
    }
    if (!response.ok) { await refusal(response); return; }
    $("tiers-form").hidden = true;
    my.editing = null;
    my.notice = () => _n("The rule is saved: {count} owner moved up.", "The rule is saved: {count} owners moved up.", up);
    await load();
  }

  $("tiers-list").addEventListener("click", (e) => {
    const button = e.target.closest("[data-edit-rule]");
    if (button) openForm(my.rules.find((r) => String(r.id) === button.dataset.editRule));
  });
  $("tiers-add").addEventListener("click", () => openForm(null));
  $("tiers-cancel").addEventListener("click", () => { $("tiers-form").hidden = true; my.editing = null; });
  $("tiers-preview").addEventListener("click", preview);
  $("tiers-save").addEventListener("click", save);
  $("tiers-kind").addEventListener("change", () => { setThreshold($("tiers-kind").value, $("tiers-kind").value === "stage" ? 4 : 1); relabelForm(); });
  ["tiers-tier", "tiers-threshold", "tiers-stage", "tiers-window", "tiers-position", "tiers-active"].forEach((id) => {
    $(id).addEventListener("input", invalidate);
    $(id).addEventListener("change", invalidate);
  });
  $("tiers-form").addEventListener("submit", (e) => { e.preventDefault(); preview(); });

  return { load };
})();

defineView("tiers", ["service", "sales"], TierRules.load);
