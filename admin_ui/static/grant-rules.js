// A reward's standing gifts (admins, from the #rewards page's "Give automatically"): its rules in
// words — the occasion (each owner's birthday, or a holiday with its next day from the server's
// calendar), the segment, active or paused, how many were given per occasion — paused and resumed
// after a question; a form to add one, whose question says what will happen every year. Each
// refusal goes next to the field the server names. Uses staff.js's `$`, `api`, `esc`, `problemText`,
// `english`, `loadProjectList`, `projectName`, `TIERS`; the catalogue calls `open` and `relabel`.
"use strict";

const GrantRules = (() => {
  const STAGE_LIST = ["prospect", "pre_owner", "settling", "stable", "veteran"];
  // care.calendar's holidays, in the year's order, named by the catalogue (never by their keys).
  const HOLIDAYS = {
    new_year: () => _p("holiday", "New Year's Day"), spring_festival: () => _p("holiday", "Spring Festival"),
    labour_day: () => _p("holiday", "Labour Day"), childrens_day: () => _p("holiday", "Children's Day"),
    mid_autumn: () => _p("holiday", "Mid-Autumn Festival"), national_day: () => _p("holiday", "National Day"),
    double_ninth: () => _p("holiday", "Double Ninth Festival"),
  };
  const my = { reward: null, rules: [], notice: null };

  const nameOf = (r) => (english() && r.name_en ? r.name_en : r.name_zh);
  const holidayName = (key) => (HOLIDAYS[key] ? HOLIDAYS[key]() : key);
  const day = (iso) => I18n.date(`${iso}T12:00:00+08:00`);  // a Beijing day, written in the reader's way
  const list = (words) => words.join(_p("list separator", ", "));

  function picks(box, values, label, chosen = []) {
    $(box).innerHTML = values.map((v) => `<label class="pick"><input type="checkbox" name="${box}" value="${esc(v)}"${chosen.map(String).includes(String(v)) ? " checked" : ""}> ${esc(label(v))}</label>`).join("");
  }
  const picked = (box) => [...$(box).querySelectorAll("input:checked")].map((i) => i.value);

  // --- the rules, in words ---------------------------------------------------------------------------

  function whenWords(rule) {
    const n = rule.days_before;
    if (rule.occasion_kind === "birthday") {
      return n ? _n("From {count} day before each owner's birthday", "From {count} days before each owner's birthday", n)
        : _("On each owner's birthday");
    }
    const holiday = holidayName(rule.holiday);
    const next = rule.next_on ? ` (${day(rule.next_on)})` : "";
    return (n ? _n("From {count} day before {holiday}", "From {count} days before {holiday}", n, { holiday })
      : _("On {holiday}", { holiday })) + next;
  }

  function whoWords(tiers, stages, projectIds) {
    const parts = [
      list(tiers.map((t) => enumLabel("tier", t))), list(stages.map((s) => enumLabel("owner_stage", s))),
      list(projectIds.map((p) => projectName(p))),
    ].filter(Boolean);
    return parts.length ? parts.join(" · ") : _("All owners");
  }

  // "birthday-2027" → "2027 birthdays", "mid_autumn-2027" → "2027 Mid-Autumn Festival".
  function occasionWords(key) {
    const [what, year] = [key.slice(0, key.lastIndexOf("-")), key.slice(key.lastIndexOf("-") + 1)];
    return what === "birthday" ? _("{year} birthdays", { year }) : _("{year} {holiday}", { year, holiday: holidayName(what) });
  }

  function ruleItem(rule) {
    const given = Object.entries(rule.granted);
    const counts = given.length
      ? given.map(([key, n]) => `<li data-occasion="${esc(key)}">${esc(_n("{occasion}: {count} given", "{occasion}: {count} given", n, { occasion: occasionWords(key) }))}</li>`).join("")
      : `<li class="muted">${esc(_("None given yet"))}</li>`;
    const active = rule.status === "active";
    return `<li class="gr-rule" data-rule="${rule.id}" data-state="${esc(rule.status)}">
      <div class="gr-words"><span class="gr-when">${esc(whenWords(rule))}</span> · <span class="gr-who">${esc(whoWords(rule.tiers, rule.stages, rule.project_ids))}</span></div>
      <div class="gr-line"><span class="status gr-state" data-status="${active ? "published" : "withdrawn"}">${esc(active ? _p("grant rule", "Active") : _p("grant rule", "Paused"))}</span>
        <button class="secondary" type="button" data-gr="${active ? "pause" : "resume"}" data-id="${rule.id}">${esc(active ? _("Pause") : _("Resume"))}</button></div>
      <ul class="gr-given">${counts}</ul>
    </li>`;
  }

  function showRules() {
    $("gr-title").textContent = _("Give “{name}” automatically", { name: nameOf(my.reward) });
    $("gr-list").innerHTML = my.rules.length ? `<ul class="gr-rules">${my.rules.map(ruleItem).join("")}</ul>`
      : `<p class="muted">${esc(_("No rules yet: add one below."))}</p>`;
    $("gr-notice").textContent = my.notice ? my.notice() : "";
  }

  async function loadRules() {
    $("gr-error").textContent = "";
    const response = await api(`/api/v1/staff/rewards/${my.reward.id}/grant-rules`);
    if (!response.ok) { $("gr-error").textContent = await problemText(response); return; }
    my.rules = await response.json();
    showRules();
  }

  // --- the form ----------------------------------------------------------------------------------------

  function formChoices(occasion = "birthday", tiers = [], stages = [], projects = []) {
    $("gr-occasion").innerHTML = `<option value="birthday">${esc(_("Each owner's birthday"))}</option>` +
      Object.keys(HOLIDAYS).map((k) => `<option value="${k}">${esc(holidayName(k))}</option>`).join("");
    $("gr-occasion").value = occasion;
    picks("gr-tiers", TIERS, (t) => enumLabel("tier", t), tiers);
    picks("gr-stages", STAGE_LIST, (s) => enumLabel("owner_stage", s), stages);
    picks("gr-projects", (state.projects || []).map((p) => p.id), (id) => projectName(id), projects);
  }

  function clearErrors() {
    $("grant-rules").querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
    $("gr-form-error").textContent = "";
  }

  async function open(reward) {
    my.reward = reward; my.rules = []; my.notice = null;
    $("cat-form").hidden = true;
    $("cat-grant").hidden = true;
    clearErrors();
    await loadProjectList();
    formChoices();
    $("gr-days").value = "7";
    $("gr-list").innerHTML = "";
    const box = $("grant-rules");
    box.hidden = false;
    await loadRules();
    box.scrollIntoView({ block: "start" });
  }

  // After a change of language: the rules and the choices in the new one, as they were chosen.
  function relabel() {
    if ($("grant-rules").hidden || !my.reward) return;
    formChoices($("gr-occasion").value, picked("gr-tiers"), picked("gr-stages"), picked("gr-projects"));
    showRules();
  }

  function draft() {
    const occasion = $("gr-occasion").value;
    const days = $("gr-days").value.trim();
    return {
      occasion_kind: occasion === "birthday" ? "birthday" : "holiday", ...(occasion === "birthday" ? {} : { holiday: occasion }),
      days_before: days === "" ? NaN : Number(days), tiers: picked("gr-tiers"), stages: picked("gr-stages"),
      project_ids: picked("gr-projects").map(Number),
    };
  }

  // The server's refusal next to the field it names ("project_ids.0" goes under the projects).
  async function placeRefusal(response) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not a problem document */ }
    let placed = 0;
    for (const e of problem.errors || []) {
      const field = String(e.field || "").split(".")[0];
      const slot = $("grant-rules").querySelector(`[data-error="${CSS.escape(field)}"]`);
      if (slot) { slot.textContent = e.reason || problem.detail || problem.title; placed += 1; }
    }
    if (!placed) $("gr-form-error").textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  async function add(event) {
    event.preventDefault();
    clearErrors();
    const body = draft();
    if (!(Number.isInteger(body.days_before) && body.days_before >= 0 && body.days_before <= 60)) {
      $("grant-rules").querySelector('[data-error="days_before"]').textContent = _("Write a whole number from 0 to 60");
      return;
    }
    const n = body.days_before;
    const holiday = body.holiday ? holidayName(body.holiday) : "";
    const every = body.occasion_kind === "birthday"
      ? (n ? _n("From now on, every year, the owners it is for get this gift {count} day before their birthday, one each a year.",
        "From now on, every year, the owners it is for get this gift {count} days before their birthday, one each a year.", n)
        : _("From now on, every year, the owners it is for get this gift on their birthday, one each a year."))
      : (n ? _n("From now on, every year, the owners it is for get this gift {count} day before {holiday}, one each a year.",
        "From now on, every year, the owners it is for get this gift {count} days before {holiday}, one each a year.", n, { holiday })
        : _("From now on, every year, the owners it is for get this gift on {holiday}, one each a year.", { holiday }));
    const answer = await Confirm.ask({
      title: _("Give “{name}” automatically?", { name: nameOf(my.reward) }),
      lines: [every, _("Who: {who}", { who: whoWords(body.tiers, body.stages, body.project_ids) }),
        _("Each gift takes one from the stock; owners it cannot cover get theirs once stock is added.")],
      yes: _("Add the rule"), no: _("Go back"),
    });
    if (!answer) return;
    $("gr-add").disabled = true;
    try {
      const response = await api(`/api/v1/staff/rewards/${my.reward.id}/grant-rules`, { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) { await placeRefusal(response); return; }
      my.notice = () => _("The rule is added: the daily run gives the gifts as each owner's day comes.");
      formChoices();
      $("gr-days").value = "7";
      await loadRules();
    } finally {
      $("gr-add").disabled = false;
    }
  }

  async function pauseOrResume(what, id) {
    const name = nameOf(my.reward);
    const question = what === "pause" ? {
      title: _("Pause this rule of “{name}”?", { name }),
      lines: [_("It gives no more gifts until it is resumed; the gifts it gave stay valid.")],
      yes: _("Pause the rule"), no: _("Go back"),
    } : {
      title: _("Resume this rule of “{name}”?", { name }),
      lines: [_("The daily run gives the owners due now theirs, one each per occasion as before.")],
      yes: _("Resume the rule"), no: _("Go back"),
    };
    if (!(await Confirm.ask(question))) return;
    $("gr-error").textContent = "";
    const response = await api(`/api/v1/staff/rewards/${my.reward.id}/grant-rules/${id}/${what}`, { method: "POST" });
    if (!response.ok) { $("gr-error").textContent = await problemText(response); return; }
    my.notice = what === "pause" ? () => _("The rule is paused") : () => _("The rule is resumed");
    await loadRules();
  }

  // --- wiring -----------------------------------------------------------------------------------------

  $("gr-form").addEventListener("submit", add);
  $("gr-back").addEventListener("click", () => { $("grant-rules").hidden = true; });
  $("gr-list").addEventListener("click", (e) => { const b = e.target.closest("[data-gr]"); if (b) pauseOrResume(b.dataset.gr, b.dataset.id); });
  // The catalogue's other panels take the place of this one.
  $("cat-new").addEventListener("click", () => { $("grant-rules").hidden = true; });
  $("cat-list").addEventListener("click", (e) => {
    const b = e.target.closest("[data-cat]");
    if (b && ["edit", "grant"].includes(b.dataset.cat)) $("grant-rules").hidden = true;
  });

  return { open, relabel };
})();
