// TEST STAND-IN ONLY. tests/stripe_server.py appends this to localstripe's own Stripe.js
// (localstripe-v3.js, which defines `Stripe`, `LOCALSTRIPE_BASE_API` and the fake card
// Element) and serves both at /js.stripe.com/v3/. localstripe's Stripe.js predates the Payment
// Element: it has `elements().create(type)` (a fake card form of plain inputs) and
// `confirmCardPayment`, but no `elements({clientSecret})`, no "payment" element and no
// `confirmPayment`. This adds those calls, as the owner page makes them on real Stripe.js, so
// the product's code stays real Stripe.js code:
//
//   stripe.elements({clientSecret, locale}) -> remembers the client secret
//   elements.create("payment")              -> localstripe's fake card form
//   stripe.confirmPayment({elements, redirect, confirmParams: {return_url}})
//       -> POST /v1/payment_intents/<id>/confirm with the publishable key, the client secret and
//          the card the form holds (payment_method_data), as real Stripe.js does; the launcher
//          in tests/stripe_server.py answers that call. A declined card gives {error}; with
//          redirect "if_required" a card gives {paymentIntent}; with "always" the page is sent
//          to return_url with Stripe's query parameters.
(() => {
  const localStripe = Stripe;
  Stripe = (publishableKey, options = {}) => {
    const stripe = localStripe(publishableKey);
    const makeElements = stripe.elements;
    stripe.elements = (elementsOptions = {}) => {
      const elements = makeElements();
      elements._clientSecret = elementsOptions.clientSecret;
      elements._locale = elementsOptions.locale || options.locale || "auto";
      return elements;
    };
    stripe.confirmPayment = async ({ elements, redirect = "always", confirmParams = {} }) => {
      const element = elements.getElement("payment");
      const card = element && element.value && element.value.card;
      if (!card || !card.number) {
        return { error: { type: "validation_error", code: "incomplete_number", message: "Your card number is incomplete." } };
      }
      const clientSecret = elements._clientSecret;
      const intentId = clientSecret.match(/^(pi_\w+)_secret_/)[1];
      const response = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_intents/${intentId}/confirm`, {
        method: "POST",
        body: JSON.stringify({
          key: publishableKey, client_secret: clientSecret, return_url: confirmParams.return_url,
          payment_method_data: { type: "card", card, billing_details: { address: { postal_code: element.value.postal_code } } },
        }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) {
        return { error: { type: response.status === 402 ? "card_error" : "invalid_request_error", ...(body.error || {}) } };
      }
      if (redirect === "if_required") return { paymentIntent: body };
      const back = new URL(confirmParams.return_url);
      back.searchParams.set("payment_intent", body.id);
      back.searchParams.set("payment_intent_client_secret", clientSecret);
      back.searchParams.set("redirect_status", body.status === "succeeded" ? "succeeded" : "failed");
      window.location.assign(back.toString());
      return {};
    };
    return stripe;
  };
})();
