// Asking before anything that cannot be undone (the club's ground rule): an in-page dialog in the
// page's language, shared by the owner page and the staff pages. The caller gives every word
// (from i18n.js); the dialog only lays them out. `Confirm.ask` resolves to null when the person
// goes back (the back button, Escape), else to { reason } (the text typed when a reason is asked for).
"use strict";

const Confirm = (() => {
  let open = null;  // the dialog on screen, so a second click does not stack another one

  function element(tag, attributes = {}, text = "") {
    const el = document.createElement(tag);
    Object.entries(attributes).forEach(([name, value]) => el.setAttribute(name, value));
    if (text) el.textContent = text;
    return el;
  }

  // title: the question; lines: what will happen, one sentence each; yes / no: the two buttons
  // (say what each does, never a bare "OK"); reason: { label, minLength } to ask why.
  function ask({ title, lines = [], yes, no, reason = null }) {
    if (open) open.close();
    const dialog = element("dialog", { id: "confirm", class: "confirm", "aria-labelledby": "confirm-title" });
    dialog.append(element("h2", { id: "confirm-title" }, title));
    lines.filter(Boolean).forEach((line) => dialog.append(element("p", { class: "confirm-line" }, line)));
    let field = null;
    if (reason) {
      dialog.append(element("label", { for: "confirm-reason" }, reason.label));
      field = element("textarea", { id: "confirm-reason", rows: "2", maxlength: "500" });
      dialog.append(field);
    }
    const buttons = element("div", { class: "confirm-buttons" });
    const back = element("button", { type: "button", class: "secondary", id: "confirm-no" }, no);
    const go = element("button", { type: "button", class: "danger", id: "confirm-yes" }, yes);
    buttons.append(back, go);
    dialog.append(buttons);
    document.body.append(dialog);
    open = dialog;

    // With a reason to give, the button waits until it is long enough (as the server requires).
    const ready = () => { go.disabled = !!field && field.value.trim().length < reason.minLength; };
    if (field) field.addEventListener("input", ready);
    ready();

    return new Promise((resolve) => {
      let answer = null;
      back.addEventListener("click", () => dialog.close());
      go.addEventListener("click", () => { answer = { reason: field ? field.value.trim() : "" }; dialog.close(); });
      dialog.addEventListener("close", () => { dialog.remove(); if (open === dialog) open = null; resolve(answer); });
      dialog.showModal();
      (field || back).focus();  // the safe choice has the focus: Enter alone never does it
    });
  }

  return { ask };
})();
