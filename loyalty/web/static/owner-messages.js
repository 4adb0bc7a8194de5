// The owner page's message settings (消息设置), at the foot of the service tab: which optional
// messages the owner receives, and the channel tried first. /api/v1/me/message-preferences.
"use strict";

(() => {
  // loyalty/care/tables.py: the kinds an owner may refuse, and the channels in the default order.
  const OPTIONAL = ["birthday", "holiday", "warranty", "event_reminder", "points_expiry", "survey"];
  const CHANNELS = ["wechat", "sms", "email"];

  const panel = document.createElement("form");
  panel.className = "panel";
  panel.id = "msg-form";
  panel.noValidate = true;
  $("tab-service").append(panel);

  // The kinds' words are kept lower case for lists in sentences; a row of its own starts with a capital.
  const capital = (words) => words.charAt(0).toUpperCase() + words.slice(1);

  // A box's kind in data-kind and an empty value: a checkbox's value (by default "on") is a field's
  // content to screen readers and to tests/browser/words.py, and no word of ours.
  function draw(prefs) {
    const refused = new Set(prefs.opt_outs);
    const first = prefs.channels[0] || CHANNELS[0];
    panel.innerHTML = `
      <h3>${esc(_("Message settings"))}</h3>
      <p class="muted">${esc(_("Tick the messages you want to receive."))}</p>
      <div class="kinds">${OPTIONAL.map((kind) => `
        <label class="kind"><input type="checkbox" name="kind" value="" data-kind="${kind}"${refused.has(kind) ? "" : " checked"}>
          <span>${esc(capital(enumLabel("message_kind", kind)))}</span></label>`).join("")}
      </div>
      <p class="muted">${esc(_("Login codes and updates on your own events and feedback are always sent."))}</p>
      <label for="msg-first">${esc(_("Reach me first by"))}</label>
      <select id="msg-first">${CHANNELS.map((c) => `<option value="${c}"${c === first ? " selected" : ""}>${esc(enumLabel("channel", c))}</option>`).join("")}</select>
      <p class="muted">${esc(_("If that does not reach you, we try the others."))}</p>
      <button id="msg-save" type="submit">${esc(_("Save"))}</button>
      <p class="error" id="msg-error" role="alert"></p>
      <p class="done" id="msg-done" role="status"></p>`;
  }

  async function loadMessages() {
    const response = await api("/api/v1/me/message-preferences");
    if (!response.ok) throw new Error("message settings not loaded");
    draw(await response.json());
  }

  async function save(event) {
    event.preventDefault();
    $("msg-error").textContent = ""; $("msg-done").textContent = "";
    const ticked = new Set([...panel.querySelectorAll('input[name="kind"]:checked')].map((box) => box.dataset.kind));
    const first = $("msg-first").value;
    // Every channel stays in the order: one left out would never be tried.
    const body = { opt_outs: OPTIONAL.filter((kind) => !ticked.has(kind)), channels: [first, ...CHANNELS.filter((c) => c !== first)] };
    let response;
    try {
      response = await api("/api/v1/me/message-preferences", { method: "PUT", body: JSON.stringify(body) });
    } catch (error) {
      if (error.message !== "not logged in") $("msg-error").textContent = _("Connection lost; please go online and try again");
      return;
    }
    if (!response.ok) { $("msg-error").textContent = await problemText(response); return; }
    draw(await response.json());
    $("msg-done").textContent = _("Saved");
  }

  panel.addEventListener("submit", save);
  panel.addEventListener("change", () => { $("msg-done").textContent = ""; });
  const loadService = TABS.service;
  TABS.service = () => Promise.all([loadService(), loadMessages()]);
})();
