// The pages' words and formats in the reader's locale, shared by the owner page and the staff pages.
//
// Words come from the server's catalogue (`/i18n/{locale}.json`: the `pages` domain compiled from
// loyalty/i18n/locales/*/LC_MESSAGES/pages.po, and the enum tables of loyalty/i18n/enums.py). The
// page starts with `/i18n/current.json`, the catalogue of the locale the server answers this browser
// in (the `lang` cookie, Accept-Language, zh-CN), so the page's words and the API's
// problem details always agree. Code marks words with _("English source {name}", {name}),
// _n(singular, plural, count, values) and _p(context, text): `scripts/i18n update` extracts those
// calls (their first arguments must be string literals). HTML marks static words with
// data-t="English source" (and data-t-placeholder, data-t-title, data-t-aria-label).
// Money, numbers, percentages and times are written by Intl in Beijing time: the club's time,
// whatever the device's zone (as loyalty/i18n/format.py writes them on the server).
"use strict";

const I18n = (() => {
  const ZONE = "Asia/Shanghai";
  // From 100,000 yuan (10万) up, money is written compactly: ¥128万 (¥1.28M in English), but in tables.
  const COMPACT_FROM_FEN = 100000 * 100;
  // The gettext plural forms of each locale, by CLDR category (the .po files' Plural-Forms:
  // English has two, one and other; Chinese one form for every count).
  const PLURAL_FORMS = { en: ["one", "other"], "zh-CN": ["other"] };
  const CONTEXT_GLUE = "\u0004";  // gettext's msgctxt/msgid separator, as the catalogue JSON keys them

  let catalogue = { locale: "zh-CN", messages: {}, enums: {} };

  const fill = (text, values) => String(text).replace(/\{(\w+)\}/g, (whole, name) =>
    (values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name] ?? "") : whole));

  function gettext(text, values) {
    const found = catalogue.messages[text];
    return fill(typeof found === "string" && found ? found : text, values);
  }

  function ngettext(singular, plural, count, values = {}) {
    const forms = catalogue.messages[singular];
    const all = { count: number(count), ...values };
    if (!Array.isArray(forms) || !forms.length) return fill(count === 1 ? singular : plural, all);
    const order = PLURAL_FORMS[catalogue.locale] || ["other"];
    const index = Math.max(order.indexOf(new Intl.PluralRules(catalogue.locale).select(count)), 0);
    return fill(forms[Math.min(index, forms.length - 1)], all);
  }

  function pgettext(context, text, values) {
    const found = catalogue.messages[`${context}${CONTEXT_GLUE}${text}`];
    return fill(typeof found === "string" && found ? found : text, values);
  }

  // One value of a server enumeration in words; a value the table lacks is shown as it is.
  const enumLabel = (name, value) => (catalogue.enums[name] || {})[value] ?? String(value ?? "");

  // --- formats ------------------------------------------------------------------------------

  const moment = (value) => {
    if (value instanceof Date) return value;
    // A bare day (YYYY-MM-DD) is a Beijing day: noon there, so no zone moves it to another date.
    return /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? new Date(`${value}T12:00:00+08:00`) : new Date(value);
  };
  const dateParts = { year: "numeric", month: "short", day: "numeric" };
  const timeParts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

  // `compact: false` for a table's column, where every row is written the same way, in full.
  function money(fen, { compact: allowed = true } = {}) {
    const compact = allowed && Math.abs(fen) >= COMPACT_FROM_FEN;
    return new Intl.NumberFormat(catalogue.locale, {
      style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol",
      ...(compact ? { notation: "compact", minimumFractionDigits: 0, maximumFractionDigits: 2 } : {}),
    }).format(Number(fen) / 100);
  }
  function number(value) { return new Intl.NumberFormat(catalogue.locale).format(Number(value) || 0); }
  function percent(rate, digits = 1) {  // 0.2308 → 23.1%; no rate (nothing to divide by) → an em dash
    if (rate === null || rate === undefined) return "—";
    return new Intl.NumberFormat(catalogue.locale, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(rate);
  }
  function date(value) {
    return value ? new Intl.DateTimeFormat(catalogue.locale, { timeZone: ZONE, ...dateParts }).format(moment(value)) : "";
  }
  function dateTime(value) {
    return value ? new Intl.DateTimeFormat(catalogue.locale, { timeZone: ZONE, ...dateParts, ...timeParts }).format(moment(value)) : "";
  }
  function timeOfDay(value) {
    return value ? new Intl.DateTimeFormat(catalogue.locale, { timeZone: ZONE, ...timeParts }).format(moment(value)) : "";
  }
  function month(yyyyMm, length = "long") {  // "2026-06" → 2026年6月 / June 2026 (short: Jun 2026)
    if (!/^\d{4}-\d{2}$/.test(String(yyyyMm))) return String(yyyyMm ?? "");
    return new Intl.DateTimeFormat(catalogue.locale, { timeZone: ZONE, year: "numeric", month: length }).format(moment(`${yyyyMm}-15`));
  }

  // --- the page -----------------------------------------------------------------------------

  // The static words of the page (data-t and its attribute forms), in the catalogue's locale.
  function translatePage(root = document) {
    document.documentElement.lang = catalogue.locale;
    root.querySelectorAll("[data-t]").forEach((el) => { el.textContent = gettext(el.dataset.t); });
    for (const attribute of ["placeholder", "title", "aria-label"]) {
      root.querySelectorAll(`[data-t-${attribute}]`).forEach((el) => { el.setAttribute(attribute, gettext(el.getAttribute(`data-t-${attribute}`))); });
    }
  }

  // `which`: "current" (the server's choice for this browser) or a locale.
  async function load(which = "current") {
    try {
      const response = await fetch(`/i18n/${which}.json`, { credentials: "same-origin" });
      if (response.ok) catalogue = await response.json();
    } catch { /* offline: the English source words, still a working page */ }
    translatePage();
    document.documentElement.dataset.locale = catalogue.locale;  // shows the page (see owner.css)
    return catalogue.locale;
  }

  // The page's language switch: the server keeps the choice (cookie; saved for an owner, in the
  // session for staff), then the page takes the catalogue the server now answers in.
  async function choose(locale) {
    await fetch("/api/v1/language", {
      method: "PUT", credentials: "same-origin", headers: { "content-type": "application/json" },
      body: JSON.stringify({ language: locale }),
    });
    return load("current");
  }

  return {
    _: gettext, _n: ngettext, _p: pgettext, enumLabel, money, number, percent, date, dateTime, timeOfDay, month,
    translatePage, load, choose,
    get locale() { return catalogue.locale; },
    // The other language, for the switch (its name in its own words, from the `language` enum).
    get other() { return catalogue.locale === "en" ? "zh-CN" : "en"; },
  };
})();

// The names `scripts/i18n update` looks for (Babel's JavaScript extractor: _, _n, _p).
const { _, _n, _p, enumLabel } = I18n;
