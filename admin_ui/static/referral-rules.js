// The rewards catalogue page's referral rules panel (老带新, admins): for each stage and who gets
// it, the points, the days they stay pending, a gift from the catalogue, and whether the rule is
// on. A row is saved after a question that says what the stage will give. Loaded by
// rewards-catalogue.js's `load`; uses staff.js's `$`, `api`, `esc`, `english`, `problemText`.
"use strict";

const ReferralRules = (() => {
  const my = { rules: [], rewards: [] };

  const nameOf = (r) => (english() && r.name_en ? r.name_en : r.name_zh);
  const giftOf = (rule) => (rule.gift_reward_id === null ? null
    : english() && rule.gift_name_en ? rule.gift_name_en : rule.gift_name_zh);

  // What a rule gives, in a few words: "2,000 points + gift “…”", "gift “…”" or "nothing".
  function gives(points, gift) {
    if (points > 0 && gift) return _("{points} points + gift “{gift}”", { points: I18n.number(points), gift });
    if (points > 0) return _n("{count} point", "{count} points", points);
    if (gift) return _("gift “{gift}”", { gift });
    return _("nothing");
  }

  async function load() {
    const [rules, rewards] = await Promise.all([
      api("/api/v1/staff/referral-rules"), api("/api/v1/staff/rewards?limit=500"),
    ]);
    $("rr-error").textContent = ""; $("rr-notice").textContent = "";  // words said in the language before
    if (!rules.ok) { $("rr-error").textContent = await problemText(rules); return; }
    my.rules = await rules.json();
    my.rewards = rewards.ok ? await rewards.json() : [];
    render();
  }

  function giftChoices(rule) {
    // Withdrawn rewards cannot be chosen, but the one a rule already gives stays listed.
    const offered = my.rewards.filter((r) => r.status !== "withdrawn" || r.id === rule.gift_reward_id);
    if (rule.gift_reward_id !== null && !offered.some((r) => r.id === rule.gift_reward_id)) {
      offered.push({ id: rule.gift_reward_id, name_zh: rule.gift_name_zh, name_en: rule.gift_name_en });
    }
    return `<option value="">${esc(_("None"))}</option>` + offered.map((r) =>
      `<option value="${r.id}"${r.id === rule.gift_reward_id ? " selected" : ""}>${esc(nameOf(r))}</option>`).join("");
  }

  function render() {
    const head = `<tr><th>${esc(_("Stage"))}</th><th>${esc(_("Who is rewarded"))}</th><th>${esc(_("Points"))}</th>
      <th>${esc(_("Days pending"))}</th><th>${esc(_("Gift"))}</th><th>${esc(_("On"))}</th><th></th></tr>`;
    const row = (rule) => `<tr data-rule="${rule.id}" data-stage="${esc(rule.stage)}" data-beneficiary="${esc(rule.beneficiary)}">
      <td data-label="${esc(_("Stage"))}">${esc(enumLabel("referral_stage", rule.stage))}</td>
      <td data-label="${esc(_("Who is rewarded"))}">${esc(enumLabel("referral_beneficiary", rule.beneficiary))}</td>
      <td data-label="${esc(_("Points"))}"><input type="number" min="0" max="1000000" step="1" inputmode="numeric" data-field="points"
        value="${rule.points}" aria-label="${esc(_("Points"))}"><p class="field-error" data-error="points"></p></td>
      <td data-label="${esc(_("Days pending"))}"><input type="number" min="0" max="365" step="1" inputmode="numeric" data-field="vesting_days"
        value="${rule.vesting_days}" aria-label="${esc(_("Days pending"))}"><p class="field-error" data-error="vesting_days"></p></td>
      <td data-label="${esc(_("Gift"))}"><select data-field="gift_reward_id" aria-label="${esc(_("Gift"))}">${giftChoices(rule)}</select>
        <p class="field-error" data-error="gift_reward_id"></p></td>
      <td data-label="${esc(_("On"))}"><input type="checkbox" data-field="active"${rule.active ? " checked" : ""} aria-label="${esc(_("On"))}"></td>
      <td class="rr-save"><button type="button" data-save="${rule.id}" disabled>${esc(_("Save"))}</button></td></tr>`;
    $("rr-list").innerHTML = my.rules.length
      ? `<table class="rr-table"><thead>${head}</thead><tbody>${my.rules.map(row).join("")}</tbody></table>`
      : `<p class="muted">${esc(_("No referral reward rules"))}</p>`;
  }

  // The row as edited: the fields that differ from the rule as saved.
  function edited(tr) {
    const rule = my.rules.find((r) => String(r.id) === tr.dataset.rule);
    const value = (field) => tr.querySelector(`[data-field="${field}"]`);
    const now = {
      points: value("points").value === "" ? NaN : Number(value("points").value),
      vesting_days: value("vesting_days").value === "" ? NaN : Number(value("vesting_days").value),
      gift_reward_id: value("gift_reward_id").value ? Number(value("gift_reward_id").value) : null,
      active: value("active").checked,
    };
    const changes = Object.fromEntries(Object.entries(now).filter(([k, v]) => !Object.is(v, rule[k]) && v !== rule[k]));
    return { rule, now, changes };
  }

  function changed(e) {
    const tr = e.target.closest("tr[data-rule]");
    if (!tr) return;
    tr.querySelector("[data-save]").disabled = !Object.keys(edited(tr).changes).length;
  }

  async function save(tr) {
    const { rule, now, changes } = edited(tr);
    tr.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
    $("rr-error").textContent = "";
    $("rr-notice").textContent = "";
    const chosen = my.rewards.find((r) => r.id === now.gift_reward_id);
    const gift = now.gift_reward_id === null ? null : chosen ? nameOf(chosen) : giftOf(rule);
    const stage = enumLabel("referral_stage", rule.stage);
    const who = enumLabel("referral_beneficiary", rule.beneficiary);
    const lines = [];
    if (now.active && now.vesting_days > 0 && now.points > 0) {
      lines.push(_n("The points stay pending for {count} day.", "The points stay pending for {count} days.", now.vesting_days));
    }
    lines.push(_("It counts for leads that reach the stage from now on; rewards already given stay."));
    const answer = await Confirm.ask({
      title: now.active
        ? _("At “{stage}”: {who} gets {what}", { stage, who, what: gives(now.points, gift) })
        : _("At “{stage}”: {who} gets nothing, the rule is switched off", { stage, who }),
      lines, yes: _("Save"), no: _("Go back"),
    });
    if (!answer) return;
    const response = await api(`/api/v1/staff/referral-rules/${rule.id}`, { method: "PATCH", body: JSON.stringify(changes) });
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch { /* not a problem document */ }
      let placed = 0;
      for (const err of problem.errors || []) {
        const slot = tr.querySelector(`[data-error="${CSS.escape(String(err.field || ""))}"]`);
        if (slot) { slot.textContent = err.reason || problem.detail || problem.title; placed += 1; }
      }
      if (!placed) $("rr-error").textContent = problem.detail || problem.title || _("Something went wrong; please try again");
      return;
    }
    const saved = await response.json();
    my.rules = my.rules.map((r) => (r.id === saved.id ? saved : r));
    render();
    $("rr-notice").textContent = _("Saved. At “{stage}”: {who} gets {what}", {
      stage, who, what: saved.active ? gives(saved.points, giftOf(saved)) : _("nothing (switched off)"),
    });
  }

  $("rr-list").addEventListener("input", changed);
  $("rr-list").addEventListener("change", changed);
  $("rr-list").addEventListener("click", (e) => { const b = e.target.closest("[data-save]"); if (b) save(b.closest("tr")); });

  return { load, render };
})();
