// The owner page's points tab.
"use strict";

async function loadPoints() {
  const points = (await api("/api/v1/me/points").then((r) => r.json())).balance;  // the statement: { balance, entries }
  $("points-available").textContent = I18n.number(points.available);
  $("points-pending").textContent = I18n.number(points.pending);
  $("points-expiring").textContent = points.expiring_on && points.expiring_soon
    ? _("{points} (by {date})", { points: I18n.number(points.expiring_soon), date: I18n.date(points.expiring_on) })
    : I18n.number(points.expiring_soon);
}

TABS.points = loadPoints;
