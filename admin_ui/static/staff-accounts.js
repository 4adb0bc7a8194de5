// Staff accounts (admins): every staff member with their username, name, role in words, whether the
// account is active and when they last logged in; a form to add one (with a first password, or a
// one-time password the server makes and the page shows once); a role changed, a password reset (a
// one-time password, shown once; their sessions end), an account switched off (asked first: their
// sessions end at once). The server keeps one active administrator whatever is asked (409, shown).
// Uses staff.js's `$`, `api`, `esc`, `problemText`, `state`.
"use strict";

const StaffAccounts = (() => {
  const URL = "/api/v1/staff/accounts";
  const ROLE_ORDER = ["sales", "event_staff", "service", "admin"];
  const page = { accounts: [], busy: false };

  const nameOf = (a) => a.display_name || a.username;
  const roleOptions = (chosen) => ROLE_ORDER.map((r) => `<option value="${r}"${r === chosen ? " selected" : ""}>${esc(enumLabel("staff_role", r))}</option>`).join("");

  function card(a) {
    const me = state.me && a.id === state.me.staff_id;
    const last = a.last_login ? _("Last login {time}", { time: I18n.dateTime(a.last_login) }) : _("Never logged in");
    const actions = a.active ? `<div class="sa-actions">
        <select data-role-for="${a.id}" aria-label="${esc(_("Role of {name}", { name: nameOf(a) }))}">${roleOptions(a.role)}</select>
        <button type="button" class="secondary" data-act="role" data-account="${a.id}">${esc(_("Change role"))}</button>
        <button type="button" class="secondary" data-act="password" data-account="${a.id}">${esc(_("Reset password"))}</button>
        <button type="button" class="danger" data-act="deactivate" data-account="${a.id}">${esc(_("Deactivate"))}</button>
      </div>` : "";
    return `<div class="sa-item${a.active ? "" : " inactive"}" data-account="${a.id}" data-username="${esc(a.username)}">
      <div class="row"><span class="sa-who"><strong class="name">${esc(nameOf(a))}</strong>${me ? ` <span class="muted">${esc(_("(you)"))}</span>` : ""}</span>
        <span class="status" data-active="${a.active}">${esc(a.active ? _("Active") : _("Deactivated"))}</span></div>
      <div class="muted sa-meta"><span class="sa-user">${esc(a.username)}</span><span class="sa-role" data-role="${a.role}">${esc(enumLabel("staff_role", a.role))}</span><span>${esc(last)}</span></div>
      ${actions}</div>`;
  }

  async function loadList() {
    const response = await api(URL);
    if (!response.ok) { $("sa-list").innerHTML = ""; $("sa-error").textContent = await problemText(response); return; }
    page.accounts = await response.json();
    $("sa-list").innerHTML = page.accounts.map(card).join("");
  }

  async function load() {
    $("sa-error").textContent = "";
    $("sa-role").innerHTML = roleOptions($("sa-role").value || "sales");
    await loadList();
  }

  function showSecret(account, password, why) {
    $("sa-secret").hidden = false;
    $("sa-secret").innerHTML = `<p>${esc(why)}</p>
      <p class="sa-secret-line"><span>${esc(_("One-time password for {name} ({username}):", { name: nameOf(account), username: account.username }))}</span>
        <code id="sa-secret-code">${esc(password)}</code></p>
      <p class="muted">${esc(_("It is shown only this once: hand it over in person, not by chat. If it is lost, reset the password again."))}</p>
      <button type="button" class="secondary" id="sa-secret-done">${esc(_("Done"))}</button>`;
    $("sa-secret").scrollIntoView({ block: "nearest" });
  }

  // --- adding a staff member ----------------------------------------------------------------------

  const chosenPassword = () => document.querySelector('input[name="sa-password-kind"]:checked').value === "chosen";

  function clearFieldErrors() {
    document.querySelectorAll("#sa-form [data-error]").forEach((p) => { p.textContent = ""; });
    $("sa-form-error").textContent = "";
  }

  async function create(event) {
    event.preventDefault();
    if (page.busy) return;
    clearFieldErrors();
    const body = { username: $("sa-username").value.trim(), display_name: $("sa-name").value.trim(), role: $("sa-role").value };
    if (!body.username) { document.querySelector('#sa-form [data-error="username"]').textContent = _("Please write a username"); return; }
    if (chosenPassword()) {
      body.password = $("sa-password").value;
      if (body.password.length < 10) { document.querySelector('#sa-form [data-error="password"]').textContent = _("The password needs 10 characters or more"); return; }
    }
    page.busy = true;
    let response;
    try {
      response = await api(URL, { method: "POST", body: JSON.stringify(body) });
    } finally {
      page.busy = false;
    }
    if (!response.ok) {
      // A refused field is named in the problem's errors[]: its words go under that field.
      const problem = await response.json().catch(() => ({}));
      const errors = Array.isArray(problem.errors) ? problem.errors : [];
      const placed = errors.filter((e) => {
        const target = document.querySelector(`#sa-form [data-error="${e.field}"]`);
        if (target) target.textContent = e.reason;
        return !!target;
      });
      if (!placed.length) $("sa-form-error").textContent = problem.detail || problem.title || _("Something went wrong; please try again");
      return;
    }
    const account = await response.json();
    $("sa-username").value = ""; $("sa-name").value = ""; $("sa-password").value = "";
    if (account.one_time_password) showSecret(account, account.one_time_password, _("{name} can now log in.", { name: nameOf(account) }));
    else { $("sa-secret").hidden = true; $("sa-error").textContent = ""; }
    await loadList();
  }

  // --- what an admin does to an account -------------------------------------------------------------

  async function act(button) {
    const account = page.accounts.find((a) => String(a.id) === button.dataset.account);
    if (!account || page.busy) return;
    const name = nameOf(account);
    let path, body = {}, method = "POST", question;
    if (button.dataset.act === "role") {
      const role = document.querySelector(`[data-role-for="${account.id}"]`).value;
      if (role === account.role) return;
      path = `/${account.id}/role`; method = "PUT"; body = { role };
      question = {
        title: _("Make {name} {role}?", { name, role: enumLabel("staff_role", role) }),
        lines: [_("From their next click they can do what this role allows, and no more.")],
        yes: _("Change role"), no: _("Go back"),
      };
    } else if (button.dataset.act === "password") {
      path = `/${account.id}/password`;
      question = {
        title: _("Give {name} a new one-time password?", { name }),
        lines: [_("Their old password stops working and they are logged out everywhere at once. The new password is shown here once.")],
        yes: _("Reset password"), no: _("Go back"),
      };
    } else if (button.dataset.act === "deactivate") {
      path = `/${account.id}/deactivation`;
      question = {
        title: _("Deactivate {name}?", { name }),
        lines: [_("They are logged out at once on every phone and computer, and can no longer log in. Their past work stays on record."),
          _("This cannot be undone: the account cannot be switched back on, and its username stays taken.")],
        yes: _("Deactivate"), no: _("Go back"),
      };
    } else return;
    if (!(await Confirm.ask(question))) return;
    page.busy = true;
    let response;
    try {
      response = await api(`${URL}${path}`, { method, body: JSON.stringify(body) });
    } finally {
      page.busy = false;
    }
    if (!response.ok) { $("sa-error").textContent = await problemText(response); await loadList(); return; }
    $("sa-error").textContent = "";
    const changed = await response.json();
    if (changed.one_time_password) showSecret(changed, changed.one_time_password, _("{name}'s password was reset.", { name }));
    await loadList();
  }

  document.querySelectorAll('input[name="sa-password-kind"]').forEach((radio) => radio.addEventListener("change", () => {
    $("sa-password").hidden = !chosenPassword();
    if (chosenPassword()) $("sa-password").focus();
  }));
  $("sa-form").addEventListener("submit", (e) => create(e).catch((error) => { if (error.message !== "not logged in") throw error; }));
  $("sa-reload").addEventListener("click", () => loadList());
  $("sa-list").addEventListener("click", (e) => { const b = e.target.closest("button[data-act]"); if (b) act(b); });
  $("sa-secret").addEventListener("click", (e) => { if (e.target.id === "sa-secret-done") { $("sa-secret").hidden = true; $("sa-secret").innerHTML = ""; } });

  return { load };
})();

defineView("staff", [], () => StaffAccounts.load());
