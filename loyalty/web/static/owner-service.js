// The owner page's service tab (我的服务): file feedback or a complaint with photos, follow each
// case's clock, thread and outcome, answer the surveys waiting for the owner.
"use strict";

(() => {
  // The photo endpoint's limits (loyalty/care/cases.py: PHOTO_TYPES, MAX_PHOTO_BYTES, MAX_PHOTOS),
  // checked here first so a wrong file is named before anything is filed; the server checks again.
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
  const MAX_PHOTOS = 5;
  const HOUR = 3600 * 1000;

  // `open`: the cases whose thread is unfolded (kept when the list is drawn again);
  // `thanked`: surveys answered since the tab was opened, thanked in place of their form.
  const svc = { cases: [], surveys: [], open: new Set(), thanked: [], previews: [] };

  // --- words ------------------------------------------------------------------------------

  const QUESTIONS = {
    satisfaction: () => _("Overall, how satisfied are you?"),
    planning_design: () => _("Planning and design"),
    sales_service: () => _("Sales service"),
    construction_quality: () => _("Construction quality"),
    customer_service: () => _p("survey", "Customer service"),
    property_management: () => _("Property management"),
    recommend: () => _("How likely are you to recommend us to friends and family?"),
    comment: () => _("Anything else you would like to tell us? (optional)"),
  };

  function surveyTitle(s) {
    const title = english() && s.subject_title_en ? s.subject_title_en : s.subject_title;
    if (s.kind === "yearly") return _("Our {year} satisfaction survey", { year: s.subject_id });
    if (s.kind === "case") return _("Are you satisfied with how we handled “{title}”?", { title });
    return _("How was “{title}”?", { title });
  }

  function hoursLeft(due) {
    const left = new Date(due).getTime() - Date.now();
    return left < HOUR ? _("less than an hour left") : _n("{count} hour left", "{count} hours left", Math.floor(left / HOUR));
  }

  // The 48-hour reply clock and the result, as the owner follows them.
  function clockLines(c) {
    const clock = (name) => c.clocks.find((k) => k.name === name) || {};
    const reply = clock("reply"), result = clock("result");
    const lines = [];
    if (reply.state === "running") {
      lines.push(`<div class="clock running">${esc(_("We reply by {due}", { due: I18n.dateTime(reply.due) }))} · <strong>${esc(hoursLeft(reply.due))}</strong></div>`);
    } else if (reply.state === "overdue") {
      lines.push(`<div class="clock overdue">${esc(_("We should have replied by {due}; sorry, we are on it", { due: I18n.dateTime(reply.due) }))}</div>`);
    } else if (reply.done) {
      lines.push(`<div class="clock done">${esc(_("Replied {done}", { done: I18n.dateTime(reply.done) }))}</div>`);
    }
    if (result.done) {
      lines.push(`<div class="clock done">${esc(_("Resolved {done}", { done: I18n.dateTime(result.done) }))}</div>`);
    } else if (reply.done && result.due) {
      lines.push(`<div class="clock">${esc(_("Result expected by {due}", { due: I18n.dateTime(result.due) }))}</div>`);
    }
    return lines.join("");
  }

  // --- my cases ---------------------------------------------------------------------------

  const photoUrl = (caseId, photoId) => `/api/v1/me/cases/${caseId}/photos/${photoId}`;

  function message(who, when, text, mine) {
    return `<div class="msg ${mine ? "mine" : "theirs"}"><div class="who">${esc(who)} · ${esc(I18n.dateTime(when))}</div>
      <div class="text">${esc(text)}</div></div>`;
  }

  function caseThread(c) {
    // The server takes messages and photos only while a case is handled (care/cases.py TAKES_ADDITIONS).
    const closed = c.status === "resolved" || c.status === "followed_up";
    const opener = c.opened_by === "staff" ? _("Written down for you by customer service") : _("Me");
    const photos = c.photo_ids.map((id) => `<a href="${photoUrl(c.id, id)}" target="_blank" rel="noopener">
      <img src="${photoUrl(c.id, id)}" alt="${esc(_("Photo {number}", { number: c.photo_ids.indexOf(id) + 1 }))}" data-photo="${id}"></a>`);
    const thread = [
      message(opener, c.opened_at, c.text, c.opened_by !== "staff"),
      photos.length ? `<div class="thumbs">${photos.join("")}</div>` : "",
      ...c.messages.map((m) => message(m.author_kind === "staff" ? _("Customer service") : _("Me"), m.created_at, m.text, m.author_kind === "member")),
    ];
    const outcome = c.result ? `<div class="outcome"><strong>${esc(_("The outcome"))}</strong><div>${esc(c.result)}</div></div>` : "";
    const more = closed ? `<p class="muted">${esc(_("This case is closed. To raise something new, use the form above."))}</p>`
      : `<label for="svc-reply-${c.id}">${esc(_("Add a message"))}</label>
        <textarea id="svc-reply-${c.id}" rows="2" maxlength="5000"></textarea>
        <p class="error" id="svc-reply-error-${c.id}"></p>
        <div class="row"><button type="button" data-svc-reply="${c.id}">${esc(_("Send the message"))}</button>
        ${c.photo_ids.length < MAX_PHOTOS ? `<label class="button secondary add-photo">${esc(_("Add a photo"))}
          <input type="file" accept="${PHOTO_TYPES.join(",")}" data-svc-photo="${c.id}" hidden></label>` : ""}</div>
        <p class="error" id="svc-photo-error-${c.id}"></p>`;
    return `<div class="thread">${thread.join("")}</div>${outcome}${more}`;
  }

  function caseItem(c) {
    const kind = enumLabel("case_kind", c.kind);
    return `<details class="case" data-case-id="${c.id}" ${svc.open.has(c.id) ? "open" : ""}>
      <summary><div class="row"><strong>${esc(c.title)}</strong>
        <span class="status" data-status="${esc(c.status)}">${esc(enumLabel("case_status", c.status))}</span></div>
        <div class="muted">${esc(kind)} · ${esc(_("filed {when}", { when: I18n.dateTime(c.opened_at) }))}</div>
        ${clockLines(c)}</summary>
      ${caseThread(c)}</details>`;
  }

  async function loadCases() {
    svc.cases = await api("/api/v1/me/cases").then((r) => r.json());
    $("svc-cases").innerHTML = svc.cases.length ? svc.cases.map(caseItem).join("")
      : `<p class="muted">${esc(_("Nothing yet. What you send us is followed here."))}</p>`;
  }

  async function reply(caseId) {
    const box = $(`svc-reply-${caseId}`), error = $(`svc-reply-error-${caseId}`);
    error.textContent = "";
    const text = box.value.trim();
    if (!text) { error.textContent = _("Write your message first"); return; }
    const response = await api(`/api/v1/me/cases/${caseId}/messages`, { method: "POST", body: JSON.stringify({ text }) });
    if (!response.ok) { error.textContent = await problemText(response); return; }
    await loadCases();
  }

  async function addPhoto(caseId, input) {
    const [file] = input.files;
    const error = $(`svc-photo-error-${caseId}`);
    error.textContent = (file && photoProblem(file)) || "";
    if (!file || error.textContent) return;
    const problem = await upload(caseId, file);
    if (problem) { error.textContent = problem; return; }
    await loadCases();
  }

  // --- filing -----------------------------------------------------------------------------

  const formErrors = ["svc-title-error", "svc-text-error", "svc-photo-error", "svc-error"];

  // What is wrong with a chosen file, in words, before it is sent; "" when nothing.
  function photoProblem(file) {
    if (!PHOTO_TYPES.includes(file.type)) return _("“{name}” is not a JPEG, PNG or WebP picture", { name: file.name });
    if (file.size > MAX_PHOTO_BYTES) {
      return _("“{name}” is larger than {megabytes} MB", { name: file.name, megabytes: MAX_PHOTO_BYTES / 1024 / 1024 });
    }
    if (!file.size) return _("“{name}” is empty", { name: file.name });
    return "";
  }

  function chosenPhotos() { return Array.from($("svc-photos").files || []); }

  function showPreviews() {
    svc.previews.forEach((url) => URL.revokeObjectURL(url));
    const files = chosenPhotos();
    svc.previews = files.filter((f) => PHOTO_TYPES.includes(f.type)).map((f) => URL.createObjectURL(f));
    $("svc-previews").innerHTML = svc.previews.map((url, i) => `<img src="${url}" alt="${esc(_("Photo {number}", { number: i + 1 }))}">`).join("");
    const problems = files.map(photoProblem).filter(Boolean);
    if (files.length > MAX_PHOTOS) problems.unshift(_n("At most {count} photo", "At most {count} photos", MAX_PHOTOS));
    $("svc-photo-error").textContent = problems.join(" ");
    return problems.length === 0;
  }

  // Sends one photo; the server's problem in words, or "" once it is stored.
  async function upload(caseId, file) {
    const response = await api(`/api/v1/me/cases/${caseId}/photos`, {
      method: "POST", body: file, headers: { "content-type": file.type || "application/octet-stream" },
    });
    return response.ok ? "" : _("“{name}”: {problem}", { name: file.name, problem: await problemText(response) });
  }

  // The server's refusal next to the field it names (errors[].field), else under the form.
  async function showRefusal(response) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not a problem document */ }
    const slots = { title: "svc-title-error", text: "svc-text-error", kind: "svc-error" };
    const placed = (problem.errors || []).filter((e) => slots[e.field]);
    placed.forEach((e) => { $(slots[e.field]).textContent = e.reason; });
    if (!placed.length) $("svc-error").textContent = problem.detail || problem.title || _("Something went wrong; please try again");
  }

  async function file(event) {
    event.preventDefault();
    formErrors.forEach((id) => { $(id).textContent = ""; });
    $("svc-done").textContent = "";
    const body = { kind: $("svc-kind").value, title: $("svc-title").value.trim(), text: $("svc-text").value.trim() };
    if (!body.title) $("svc-title-error").textContent = _("Say in a few words what it is about");
    if (!body.text) $("svc-text-error").textContent = _("Tell us what happened");
    const photosFine = showPreviews();
    if (!body.title || !body.text || !photosFine) return;
    $("svc-send").disabled = true;
    try {
      const response = await api("/api/v1/me/cases", { method: "POST", body: JSON.stringify(body) });
      if (!response.ok) { await showRefusal(response); return; }
      const filed = await response.json();
      const failed = [];
      for (const photo of chosenPhotos()) {
        const problem = await upload(filed.id, photo);
        if (problem) failed.push(problem);
      }
      const reply = filed.clocks.find((k) => k.name === "reply");
      $("svc-done").textContent = _("Sent. We will reply by {due}; follow it below.", { due: I18n.dateTime(reply.due) });
      $("svc-form").reset();
      showPreviews();
      if (failed.length) $("svc-photo-error").textContent = [_("Your case was filed, but these photos were not added; you can add them below."), ...failed].join(" ");
      svc.open.add(filed.id);
      await loadCases();
    } finally {
      $("svc-send").disabled = false;
    }
  }

  // --- surveys ----------------------------------------------------------------------------

  function scale(survey, question) {
    const [low, high] = question === "recommend" ? [0, 10] : [1, 5];
    const name = `svc-s${survey.id}-${question}`;
    const choices = [];
    for (let n = low; n <= high; n += 1) {
      choices.push(`<label class="score"><input type="radio" name="${name}" value="${n}"><span>${esc(I18n.number(n))}</span></label>`);
    }
    const ends = question === "recommend" ? _("0 not at all · 10 certainly") : _("1 very dissatisfied · 5 very satisfied");
    return `<fieldset class="question" data-question="${question}"><legend>${esc(QUESTIONS[question] ? QUESTIONS[question]() : question)}</legend>
      <div class="scale">${choices.join("")}</div><div class="muted ends">${esc(ends)}</div>
      <p class="error" data-error="${question}"></p></fieldset>`;
  }

  function surveyForm(s) {
    const questions = s.questions.map((q) => (q === "comment"
      ? `<label for="svc-s${s.id}-comment">${esc(QUESTIONS.comment())}</label>
         <textarea id="svc-s${s.id}-comment" rows="2" maxlength="2000"></textarea><p class="error" data-error="comment"></p>`
      : scale(s, q)));
    return `<div class="survey" data-survey-id="${s.id}"><strong>${esc(surveyTitle(s))}</strong>
      ${questions.join("")}
      <button type="button" data-svc-answer="${s.id}">${esc(_("Send my answers"))}</button>
      <p class="error" data-error="survey"></p></div>`;
  }

  function showSurveys() {
    const thanks = svc.thanked.map((t) => `<div class="survey"><p class="done" data-thanked="${t.id}">${esc(_("Thank you! We have your answers to “{title}”.", { title: t.title }))}</p></div>`);
    $("svc-surveys").innerHTML = [...thanks, ...svc.surveys.map(surveyForm)].join("");
    $("svc-surveys-panel").hidden = !svc.surveys.length && !svc.thanked.length;
  }

  async function loadSurveys() {
    svc.surveys = await api("/api/v1/me/surveys").then((r) => r.json());
    showSurveys();
  }

  async function answer(surveyId) {
    const survey = svc.surveys.find((s) => String(s.id) === String(surveyId));
    const box = document.querySelector(`[data-survey-id="${surveyId}"]`);
    if (!survey || !box) return;
    box.querySelectorAll(".error").forEach((el) => { el.textContent = ""; });
    const body = {};
    for (const q of survey.questions) {
      if (q === "comment") { body.comment = $(`svc-s${surveyId}-comment`).value.trim(); continue; }
      const picked = box.querySelector(`input[name="svc-s${surveyId}-${q}"]:checked`);
      if (picked) body[q] = Number(picked.value);
    }
    const response = await api(`/api/v1/me/surveys/${surveyId}/answers`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch { /* not a problem document */ }
      const placed = (problem.errors || []).filter((e) => box.querySelector(`[data-error="${e.field}"]`));
      placed.forEach((e) => { box.querySelector(`[data-error="${e.field}"]`).textContent = e.reason; });
      if (!placed.length) box.querySelector('[data-error="survey"]').textContent = problem.detail || problem.title || _("Something went wrong; please try again");
      return;
    }
    svc.thanked.push({ id: survey.id, title: surveyTitle(survey) });
    await loadSurveys();
  }

  // --- the tab ----------------------------------------------------------------------------

  async function loadService() {
    svc.thanked = [];
    formErrors.concat(["svc-done"]).forEach((id) => { $(id).textContent = ""; });
    const chosen = $("svc-kind").value || "complaint";
    $("svc-kind").innerHTML = ["complaint", "suggestion", "repair", "inquiry", "special_need"]
      .map((k) => `<option value="${k}">${esc(enumLabel("case_kind", k))}</option>`).join("");
    $("svc-kind").value = chosen;
    $("svc-photos-label").textContent = _("Photos (optional; up to {count}, JPEG, PNG or WebP, at most {megabytes} MB each)", {
      count: MAX_PHOTOS, megabytes: MAX_PHOTO_BYTES / 1024 / 1024,
    });
    await Promise.all([loadCases(), loadSurveys()]);
  }

  $("svc-form").addEventListener("submit", file);
  $("svc-photos").addEventListener("change", showPreviews);
  // A field's problem goes once the owner changes the field.
  ["title", "text"].forEach((name) => $(`svc-${name}`).addEventListener("input", () => { $(`svc-${name}-error`).textContent = ""; }));
  $("svc-cases").addEventListener("toggle", (event) => {
    const id = Number(event.target.dataset.caseId);
    if (event.target.open) svc.open.add(id); else svc.open.delete(id);
  }, true);
  $("svc-cases").addEventListener("click", (event) => {
    if (event.target.dataset.svcReply) reply(event.target.dataset.svcReply);
  });
  $("svc-cases").addEventListener("change", (event) => {
    if (event.target.dataset.svcPhoto) addPhoto(event.target.dataset.svcPhoto, event.target);
  });
  $("svc-surveys").addEventListener("click", (event) => {
    if (event.target.dataset.svcAnswer) answer(event.target.dataset.svcAnswer);
  });
  TABS.service = loadService;
})();
