// The owner import (admins): an owner file (.csv or .xlsx) is checked first — how many rows, which
// projects — and the admin is asked before the import starts; then its progress (rows checked of the
// total) until it is done or has failed, and, when it failed, every row error as row, column and reason
// in the reader's language: all or nothing, so a failed import imported nobody. Below, the recent
// imports with who started them, when, and how they ended; one of them opens like the current one.
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `showLogin`, `state`.
"use strict";

const Imports = (() => {
  const URL = "/api/v1/staff/owner-imports";
  const POLL_MS = 700;
  const RECENT = 20;
  const shown = { current: null, timer: null, busy: false };

  const finished = (view) => view.status === "done" || view.status === "failed";

  // A file goes up as a form (the browser writes its boundary): not through api(), which sends JSON.
  async function sendFile(path, file) {
    const form = new FormData();
    form.append("data", file, file.name);
    const response = await fetch(path, { method: "POST", body: form, credentials: "same-origin" });
    if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
    return response;
  }

  function projectWords(p) {
    const name = (english() && p.name_en) || p.name;
    if (p.known) return name ? _("{name} ({code})", { name, code: p.code }) : p.code;
    if (name) return _("{name} ({code}, new project)", { name, code: p.code });
    return _("{code}, which the club does not know and the file does not name", { code: p.code });
  }

  function question(preview) {
    const lines = [];
    if (!preview.projects.length) lines.push(_("The file names no project."));
    else if (preview.projects.length === 1) lines.push(_("Project: {project}", { project: projectWords(preview.projects[0]) }));
    else {
      const list = new Intl.ListFormat(I18n.locale, { type: "conjunction" }).format(preview.projects.map(projectWords));
      lines.push(_n("{count} project: {projects}", "{count} projects: {projects}", preview.projects.length, { projects: list }));
    }
    lines.push(_("All or nothing: if any row is wrong, nothing is imported and the rows to fix are listed."));
    lines.push(_("Owners already in the club are updated, not added twice."));
    return {
      title: _n("Import {count} row from “{file}”?", "Import {count} rows from “{file}”?", preview.rows, { file: preview.file_name }),
      lines, yes: _("Import"), no: _("Go back"),
    };
  }

  async function start() {
    const file = $("imp-file").files[0];
    if (!file || shown.busy) return;
    $("imp-error").textContent = "";
    shown.busy = true;
    try {
      const checked = await sendFile(`${URL}/previews`, file);
      if (!checked.ok) { $("imp-error").textContent = await problemText(checked); return; }
      const preview = await checked.json();
      if (!preview.rows) { $("imp-error").textContent = _("The file has no rows below its header: nothing to import."); return; }
      if (!(await Confirm.ask(question(preview)))) return;
      const started = await sendFile(URL, file);
      if (!started.ok) { $("imp-error").textContent = await problemText(started); return; }
      $("imp-file").value = ""; $("imp-file-name").textContent = ""; $("imp-start").disabled = true;
      showCurrent(await started.json());
      await loadList();
    } finally {
      shown.busy = false;
    }
  }

  // --- the import being watched -------------------------------------------------------------------

  function progressWords(v) {
    if (v.status === "queued") return _("Waiting for its turn…");
    if (v.status === "running") {
      return v.rows_total === null ? _n("{count} row checked", "{count} rows checked", v.rows_processed)
        : _("{done} of {total} rows checked", { done: I18n.number(v.rows_processed), total: I18n.number(v.rows_total) });
    }
    const total = v.rows_total ?? v.rows_processed;
    return _("{done} of {total} rows checked", { done: I18n.number(v.rows_processed), total: I18n.number(total) });
  }

  const SUMMARY = {
    members_created: (n) => _n("{count} new owner", "{count} new owners", n),
    members_updated: (n) => _n("{count} owner updated", "{count} owners updated", n),
    projects_created: (n) => _n("{count} new project", "{count} new projects", n),
    units_created: (n) => _n("{count} new unit", "{count} new units", n),
    ownerships_created: (n) => _n("{count} new home ownership", "{count} new home ownerships", n),
  };

  function outcome(v) {
    if (v.status === "done") {
      const parts = Object.entries(SUMMARY).filter(([key]) => v.summary[key]).map(([key, words]) => words(v.summary[key]));
      const head = _n("Imported: {count} row.", "Imported: {count} rows.", v.rows_imported);
      const gap = english() ? " " : "";
      return `<strong>${esc(head)}</strong>${gap}${esc(parts.length ? parts.join(english() ? ", " : "，") : _("Nothing had changed since the last import."))}`;
    }
    if (v.status === "failed") {
      const gap = english() ? " " : "";  // Chinese sentences follow each other without a space
      return `<strong>${esc(_("Nothing was imported."))}</strong>${gap}${esc(v.detail)}`
        + (v.error_count ? `${gap}${esc(_("Fix the rows below in the file and upload it again."))}` : "");
    }
    return "";
  }

  function errorTable(v) {
    if (!v.errors || !v.errors.length) return "";
    const more = v.error_count > v.errors.length
      ? `<p class="muted">${esc(_("The first {shown} of {count} problems:", { shown: I18n.number(v.errors.length), count: I18n.number(v.error_count) }))}</p>` : "";
    const rows = v.errors.map((e) => `<tr data-row="${e.row}" data-column="${esc(e.column)}"><td class="imp-row">${esc(I18n.number(e.row))}</td>
      <td class="imp-col">${esc(enumLabel("owner_file_column", e.column))}</td><td>${esc(e.reason)}</td></tr>`).join("");
    return `${more}<table class="imp-errors"><thead><tr><th class="imp-row">${esc(_("Row"))}</th><th class="imp-col">${esc(_("Column"))}</th>
      <th>${esc(_("Problem"))}</th></tr></thead><tbody>${rows}</tbody></table>`;
  }

  function showCurrent(v) {
    shown.current = v;
    $("imp-current").hidden = false;
    $("imp-current").dataset.status = v.status;
    $("imp-current-title").textContent = v.file_name;
    $("imp-current-status").textContent = enumLabel("import_status", v.status);
    $("imp-current-status").dataset.status = v.status;
    const bar = $("imp-progress");
    const total = v.rows_total ?? 0;
    bar.hidden = finished(v) && v.status === "failed" && !v.rows_processed;
    if (v.status === "queued" || !total) bar.removeAttribute("value");
    else { bar.max = total; bar.value = Math.min(v.rows_processed, total); }
    $("imp-progress-words").textContent = progressWords(v);
    $("imp-outcome").innerHTML = outcome(v);
    $("imp-outcome").dataset.status = v.status;
    $("imp-errors").innerHTML = errorTable(v);
    clearTimeout(shown.timer);
    if (!finished(v)) shown.timer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    const v = shown.current;
    if (!v || state.view !== "imports") return;  // another view: picked up again when this one opens
    const response = await api(`${URL}/${v.id}`);
    if (shown.current !== v) return;
    if (!response.ok) { $("imp-error").textContent = await problemText(response); return; }
    const now = await response.json();
    showCurrent(now);
    if (finished(now)) await loadList();
  }

  async function open(id) {
    const response = await api(`${URL}/${id}`);
    if (!response.ok) { $("imp-error").textContent = await problemText(response); return; }
    showCurrent(await response.json());
    $("imp-current").scrollIntoView({ block: "nearest" });
  }

  // --- recent imports ---------------------------------------------------------------------------

  function result(v) {
    if (v.status === "done") return _n("{count} row imported", "{count} rows imported", v.rows_imported);
    if (v.status === "failed") {
      return v.error_count ? _n("{count} problem; nothing imported", "{count} problems; nothing imported", v.error_count) : v.detail;
    }
    return progressWords(v);
  }

  function item(v) {
    const who = v.started_by_name || _("Someone no longer on the staff");
    return `<button type="button" class="imp-item" data-import="${v.id}" data-status="${v.status}">
      <span class="row"><strong class="imp-name">${esc(v.file_name)}</strong><span class="status" data-status="${v.status}">${esc(enumLabel("import_status", v.status))}</span></span>
      <span class="muted imp-meta"><span>${esc(who)}</span><span>${esc(I18n.dateTime(v.created_at))}</span></span>
      <span class="imp-result">${esc(result(v))}</span></button>`;
  }

  async function loadList() {
    const response = await api(`${URL}?limit=${RECENT}`);
    if (!response.ok) { $("imp-list").innerHTML = ""; $("imp-list-error").textContent = await problemText(response); return; }
    $("imp-list-error").textContent = "";
    const list = await response.json();
    $("imp-list").innerHTML = list.length ? list.map(item).join("") : `<p class="muted">${esc(_("No owner file has been imported yet."))}</p>`;
  }

  async function load() {
    $("imp-error").textContent = "";
    await loadList();
    if (shown.current) await open(shown.current.id);  // in this language, and polled again if still under way
  }

  $("imp-file").addEventListener("change", () => {
    const file = $("imp-file").files[0];
    $("imp-file-name").textContent = file ? file.name : "";
    $("imp-start").disabled = !file;
    $("imp-error").textContent = "";
  });
  $("imp-start").addEventListener("click", () => start().catch((error) => { if (error.message !== "not logged in") throw error; }));
  $("imp-reload").addEventListener("click", () => loadList());
  $("imp-list").addEventListener("click", (e) => { const b = e.target.closest("[data-import]"); if (b) open(Number(b.dataset.import)); });

  return { load };
})();

defineView("imports", [], () => Imports.load());
