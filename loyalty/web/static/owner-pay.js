// The payment step on an owner's ticket (events tab): the amount, the hold's countdown, Stripe's
// Payment Element, and what follows: paid (the ticket, once Stripe's webhook has confirmed the
// seat), declined (say so, pay again), the hold ended (the seat was released). Stripe.js is
// loaded only when a signup waits for payment, from the address the server gives
// (LOYALTY_STRIPE_JS_URL; the page's CSP allows exactly that origin). owner-events.js puts
// `Pay.item(signup)` in each signup's item; the forms are mounted here when the list is drawn.
"use strict";

const Pay = (() => {
  // After Stripe takes the money, the seat is confirmed by the webhook: look a bounded number
  // of times, then say the ticket comes later. The same after the hold's end (the release job).
  const POLL_MS = 1500;
  const POLL_TRIES = 40;
  const forms = {};  // signup id -> { stripe, elements }
  let stripeJs = null;
  // Back from a redirect payment method (Alipay): Stripe adds payment_intent and redirect_status
  // to our return_url, which names the signup (`pay`).
  const back = (() => {
    const query = new URLSearchParams(location.search);
    if (!query.has("payment_intent") || !query.get("pay")) return null;
    history.replaceState(null, "", location.pathname);
    state.tab = "events";
    return { id: query.get("pay"), succeeded: query.get("redirect_status") === "succeeded" };
  })();

  const stripeLocale = () => (english() ? "en" : "zh");
  const returnUrl = (id) => `${location.origin}/?pay=${encodeURIComponent(id)}`;
  // A ticket is drawn in the events list or on its event's page (never both at once).
  const box = (id) => document.querySelector(`#signups [data-pay="${id}"], #detail-mine [data-pay="${id}"]`);

  function loadStripeJs(url) {
    if (typeof Stripe === "function") return Promise.resolve();
    stripeJs = stripeJs || new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = resolve;
      script.onerror = () => { stripeJs = null; script.remove(); reject(new Error("Stripe.js did not load")); };
      document.head.appendChild(script);
    });
    return stripeJs;
  }

  // What a signup's item says about paying.
  function item(s) {
    const p = s.payment;
    if (s.status === "cancelled" && s.cancel_reason === "hold_expired") {
      return `<p class="pay-note bad" data-pay-state="expired">${esc(_("The time to pay ran out, so the seat was released. Sign up again if seats are left."))}</p>`;
    }
    if (["confirmed", "attended"].includes(s.status) && p && p.status === "succeeded") {
      return `<p class="pay-note ok" data-pay-state="paid">${esc(_("Paid {amount}", { amount: I18n.money(p.amount_fen) }))}</p>`;
    }
    if (s.status !== "pending_payment" || !p || p.status === "preparing") return "";
    const amount = I18n.money(p.amount_fen);
    return `<div class="pay" data-pay="${s.id}" data-pay-state="${p.status === "failed" ? "failed" : "unpaid"}">
      <div class="row"><span class="label">${esc(_("To pay"))}</span><strong class="pay-amount">${esc(amount)}</strong></div>
      <div class="pay-countdown" data-pay-countdown></div>
      <div class="pay-element" data-pay-element></div>
      <p class="error" data-pay-error role="alert">${p.status === "failed" ? esc(_("The last payment did not go through. Try again, or use another card.")) : ""}</p>
      <button type="button" class="pay-button" data-pay-button="${s.id}" disabled>${esc(_("Pay {amount}", { amount }))}</button>
    </div>`;
  }

  function say(el, text, kind = "error") {
    const line = el.querySelector("[data-pay-error]");
    line.textContent = text;
    line.className = kind;
  }

  async function setupOf(id) {
    const response = await api(`/api/v1/me/signups/${id}/payment`);
    return response.ok ? response.json() : Promise.reject(new Error(await problemText(response)));
  }

  function countdown(el, setup) {
    const line = el.querySelector("[data-pay-countdown]");
    const ends = new Date(setup.hold_expires_at).getTime();
    const tick = () => {
      if (!el.isConnected) { clearInterval(timer); return; }
      const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      if (left > 0) {
        // Time left in words ("14 分 57 秒"): "14:57" reads as a deadline on the clock.
        const minutes = Math.floor(left / 60), seconds = left % 60;
        const time = [
          minutes ? _n("{count} minute", "{count} minutes", minutes) : "",
          seconds || !minutes ? _n("{count} second", "{count} seconds", seconds) : "",
        ].filter(Boolean).join(" ");
        line.textContent = _("Your seat is held: {time} left to pay", { time });
        line.classList.toggle("soon", left < 120);
        return;
      }
      clearInterval(timer);
      el.dataset.payState = "expiring";
      line.textContent = _("The time to pay has run out");
      el.querySelector("[data-pay-button]").disabled = true;
      follow(el.dataset.pay, (s) => s.signup_status !== "pending_payment");
    };
    const timer = setInterval(tick, 1000);
    tick();
  }

  // Look at the signup until `done` says so, then draw the list again (the ticket, or the
  // released seat); bounded, and said so when it takes longer.
  async function follow(id, done) {
    for (let i = 0; i < POLL_TRIES; i += 1) {
      const setup = await setupOf(id).catch(() => null);
      if (setup && done(setup)) { await loadEvents(); return; }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const el = box(id);
    if (el) say(el, _("This is taking longer than usual. Open the page again in a minute to see your ticket."), "muted");
  }

  async function mount(el) {
    el.dataset.mounted = "1";
    const id = el.dataset.pay;
    let setup;
    try { setup = await setupOf(id); } catch (error) { say(el, error.message); return; }
    if (!setup.client_secret) {  // paid or released meanwhile
      if (setup.signup_status !== "pending_payment") await loadEvents();
      return;
    }
    countdown(el, setup);
    if (back && back.id === id) {
      back.id = null;
      if (back.succeeded) { paid(el); return; }
      say(el, _("The payment did not go through. Try again, or choose another way to pay."));
    }
    try { await loadStripeJs(setup.stripe_js_url); } catch {
      say(el, _("The payment form could not be loaded. Check the connection and open the page again."));
      return;
    }
    const stripe = Stripe(setup.publishable_key, { locale: stripeLocale() });
    const elements = stripe.elements({ clientSecret: setup.client_secret, locale: stripeLocale() });
    elements.create("payment").mount(el.querySelector("[data-pay-element]"));
    forms[id] = { stripe, elements };
    el.querySelector("[data-pay-button]").disabled = el.dataset.payState === "expiring";
  }

  function paid(el) {
    el.dataset.payState = "paid";
    el.querySelector("[data-pay-button]").hidden = true;
    el.querySelector("[data-pay-element]").hidden = true;
    say(el, _("Payment received. Your ticket appears in a moment…"), "ok");
    follow(el.dataset.pay, (s) => s.payment_status === "succeeded" || s.signup_status !== "pending_payment");
  }

  // Our own words for Stripe's answer (Stripe's messages are in Stripe's language, not the page's).
  function refusal(error) {
    if (error.code === "card_declined") return _("The card was declined. Try again, or use another card.");
    if (error.type === "card_error") return _("The payment did not go through. Try again, or use another card.");
    if (error.type === "validation_error") return _("Check the payment details and try again.");
    return _("The payment could not be completed. Please try again.");
  }

  async function pay(id) {
    const el = box(id);
    const form = forms[id];
    if (!el || !form) return;
    const button = el.querySelector("[data-pay-button]");
    button.disabled = true;
    button.textContent = _("Paying…");
    say(el, "");
    const result = await form.stripe.confirmPayment({
      elements: form.elements, redirect: "if_required", confirmParams: { return_url: returnUrl(id) },
    }).catch(() => ({ error: {} }));
    if (!el.isConnected) return;
    // A WeChat Pay QR code closed unpaid leaves the intent waiting: not paid, pay again.
    const taken = result.paymentIntent && ["succeeded", "processing"].includes(result.paymentIntent.status);
    if (result.error || !taken) {
      result.error = result.error || {};
      const expired = el.dataset.payState === "expiring";
      if (!expired) el.dataset.payState = "failed";
      say(el, refusal(result.error));
      button.textContent = _("Try again");
      button.disabled = expired;
      return;
    }
    paid(el);
  }

  const watcher = new MutationObserver(() => {
    document.querySelectorAll("#signups [data-pay]:not([data-mounted]), #detail-mine [data-pay]:not([data-mounted])").forEach(mount);
  });
  ["signups", "detail-mine"].forEach((id) => watcher.observe($(id), { childList: true, subtree: true }));
  document.addEventListener("click", (event) => {
    const id = event.target.dataset && event.target.dataset.payButton;
    if (id) pay(id);
  });

  return { item };
})();
