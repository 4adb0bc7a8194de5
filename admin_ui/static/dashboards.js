// The dashboards (/staff#dashboards): a summary row that tells the story in four figures (members by
// tier, the referral share against its 30% target, satisfaction against 85%, the points owed in yuan),
// then one panel per dashboard the staff member may read: a bar chart with its axis, values and units,
// the table of its rows, and its CSV and Excel files. A bar or a summary figure leads to its rows.
// Days and times are Beijing's. Charts are HTML (each bar's label and value are text a screen reader
// reads and a phone wraps), so no label overlaps another and nothing scrolls the page sideways.

// Column kinds: how a value is written.
const count = (v) => (v === null || v === undefined ? "" : I18n.number(v));
const rate = (v) => I18n.percent(v);
// A money column shows full amounts on every row (¥552,500.00), never ¥55.25万 beside ¥48,082.00.
const fen = (v) => (v === null || v === undefined ? "" : I18n.money(v, { compact: false }));
const yesNo = (v) => (v === true ? _("Yes") : v === false ? _("No") : "—");
const signed = (v) => (v === null || v === undefined ? "—" : new Intl.NumberFormat(I18n.locale, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(v));
const col = (key, head, show = count) => ({ key, head, show, text: ![count, rate, fen, signed, yesNo].includes(show) });
// The totals row names itself in its first column (its project/merchant/title is empty).
const projectCell = (v, r) => (r.project_id === null || r.project_id === undefined ? _("All projects") : projectName(r.project_id, r.project));
const monthCell = (v, length = "long") => (v === "all" ? _("All months") : v ? I18n.month(v, length) : "");

// How a chart's values are written and what unit its axis is in.
const UNITS = {
  count: { show: (v) => I18n.number(v), tick: (v) => I18n.number(v), unit: () => _("Unit: people") },
  percent: { show: (v) => I18n.percent(v), tick: (v) => I18n.percent(v, 0), unit: () => _("Unit: %") },
  yuan: { show: (v) => I18n.money(v), tick: (v) => I18n.money(v), unit: () => _("Unit: yuan (¥)") },
};

// What each dashboard shows: its columns (header words, how a value is written), the chart's bars
// (their label, value, unit, and the table row or column each leads to), and its target if any.
// Column headers say what the CSV export's headers say (the same context and words, in pages.po as
// in messages.po; tests/browser/test_dashboard_words.py compares them).
const DASHBOARDS = {
  tiers: {
    title: () => _("Members by tier"), roles: ["admin"], unit: "count",
    // The totals, each member once; a bar leads to its tier's column.
    bars: (d) => TIERS.map((tier) => ({ label: enumLabel("tier", tier), value: d.totals[tier], column: tier })),
    columns: () => [
      col("project", _p("dashboard_column", "Project"), projectCell), ...TIERS.map((t) => col(t, enumLabel("tier", t))),
      col("members", _p("dashboard_column", "Members")),
    ],
  },
  referrals: {
    title: () => _("Referrals: share of new buyers who were referred"), roles: ["admin", "sales"], target: 0.3, unit: "percent",
    // A project's month without new buyers has no share to draw.
    bars: (d) => d.rows.map((r, row) => ({ label: `${projectName(r.project_id, r.project)} ${monthCell(r.month, "short")}`, value: r.referral_share, row }))
      .filter((b) => b.value !== null && b.value !== undefined),
    columns: () => [
      col("project", _p("dashboard_column", "Project"), projectCell), col("month", _p("dashboard_column", "Month"), (v) => monthCell(v)),
      col("registered", _p("dashboard_column", "Leads registered")), col("visited", _p("dashboard_column", "Leads visited")),
      col("subscribed", _p("dashboard_column", "Leads subscribed")), col("signed", _p("dashboard_column", "Leads signed")),
      col("new_buyers", _p("dashboard_column", "New buyers")), col("referred_buyers", _p("dashboard_column", "Referred buyers")),
      col("conversion", _p("dashboard_column", "Conversion"), rate),
      col("referral_share", _p("dashboard_column", "Referral share of new buyers"), rate),
      col("meets_target", _p("dashboard_column", "Meets the target"), yesNo),
    ],
  },
  events: {
    title: () => _("Event attendance and no-shows"), roles: ["admin", "event_staff"], unit: "percent", chartTitle: () => _("No-show rate"),
    bars: (d) => d.rows.map((r, row) => ({ label: titleOf(r), value: r.no_show_rate, row })).filter((b) => b.value !== null),
    columns: () => [
      // One title, in the reader's language (the CSV has a column for each language).
      col("title_zh", _("Event"), (v, r) => (r.event_id === null ? _("All events") : titleOf(r))),
      col("starts_at", _p("dashboard_column", "Starts at (Beijing time)"), (v) => I18n.dateTime(v)),
      col("status", _p("dashboard_column", "Status"), (v) => (v ? enumLabel("event_status", v) : "")),
      col("seats", _p("dashboard_column", "Seats")), col("signups", _p("dashboard_column", "Signups")),
      col("people", _p("dashboard_column", "People signed up")), col("attended", _p("dashboard_column", "Signups attended")),
      col("attended_people", _p("dashboard_column", "People attended")), col("no_show", _p("dashboard_column", "No-show signups")),
      col("no_show_people", _p("dashboard_column", "No-show people")),
      col("no_show_rate", _p("dashboard_column", "No-show rate"), rate), col("attendance_rate", _p("dashboard_column", "Attendance rate"), rate),
    ],
  },
  merchants: {
    title: () => _("Alliance merchants: sales and points spent"), roles: ["admin"], unit: "yuan", chartTitle: () => _p("dashboard_column", "Gross"),
    bars: (d) => d.rows.map((r, row) => ({ label: r.merchant, value: r.gross_fen, row })),
    columns: () => [
      col("merchant", _p("dashboard_column", "Merchant"), (v, r) => (r.merchant_id === null ? _("All merchants") : v)),
      col("sales", _p("dashboard_column", "Sales")), col("gross_fen", _p("dashboard_column", "Gross"), fen),
      col("discount_fen", _p("dashboard_column", "Discounts"), fen),
      col("points_redeemed", _p("dashboard_column", "Points redeemed")),
      col("points_value_fen", _p("dashboard_column", "Value of the points"), fen),
      col("reversed_fen", _p("dashboard_column", "Reversed"), fen),
    ],
  },
  liability: {
    title: () => _("Points owed to members"), roles: ["admin"], unit: "yuan",
    // Its parts only: the total is their sum (said under the chart), never a bar beside them.
    bars: (d) => d.rows.map((r, row) => ({ label: enumLabel("liability_kind", r.kind), value: r.value_fen, row, points: r.points, kind: r.kind }))
      .filter((b) => b.kind !== "total"),
    note: (d) => _("In all {money} ({points} points, {accounts} accounts; {rate} points make ¥1)", {
      money: I18n.money(d.total_value_fen, { compact: false }), points: I18n.number(d.total_points),
      accounts: I18n.number(d.accounts), rate: I18n.number(d.points_per_cny),
    }),
    columns: () => [
      col("kind", _p("dashboard_column", "Kind"), (v) => enumLabel("liability_kind", v)), col("points", _p("dashboard_column", "Points")),
      col("value_fen", _p("dashboard_column", "Value"), fen),
    ],
  },
  kpis: {
    title: () => _("Satisfaction and service"), roles: ["admin", "sales", "service"], target: 0.85, unit: "percent",
    chartTitle: () => _p("dashboard_column", "Satisfied (4 or 5 of 5)"),
    bars: (d) => rowsOf(d).map((r, row) => ({
      label: r.month === "all" ? _("Overall") : `${projectCell(null, r)} ${monthCell(r.month, "short")}`, value: r.satisfaction_rate, row,
    })).filter((b) => b.value !== null && b.value !== undefined),
    columns: () => [
      // The project by name (the CSV gives its number).
      col("project", _p("dashboard_column", "Project"), projectCell), col("month", _p("dashboard_column", "Month"), (v) => monthCell(v)),
      col("satisfaction_rate", _p("dashboard_column", "Satisfied (4 or 5 of 5)"), rate),
      col("satisfaction_scores", _p("dashboard_column", "Scores given")),
      col("nps", _p("dashboard_column", "Net promoter score"), signed),
      col("recommend_answers", _p("dashboard_column", "Recommendation answers")),
      col("reply_on_time_rate", _p("dashboard_column", "Replied on time"), rate),
      col("follow_up_rate", _p("dashboard_column", "Followed up on time"), rate),
      col("referral_share", _p("dashboard_column", "Referral share of new buyers"), rate),
      col("new_buyers", _p("dashboard_column", "New buyers")), col("referred_buyers", _p("dashboard_column", "Referred buyers")),
      col("referral_signed", _p("dashboard_column", "Referral leads signed")),
    ],
  },
};

function rowsOf(data) { return Array.isArray(data) ? data : Array.isArray(data.rows) ? data.rows : [data]; }
const hasValue = (v) => v !== null && v !== undefined;

// The axis's end: a round number at or above the largest value and the target (100% at most for rates).
function axisTop(values, unit, target) {
  const most = Math.max(target || 0, ...values, 0);
  if (unit === "percent") return Math.min(1, Math.max(0.1, Math.ceil(most * 10) / 10));
  if (most <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(most));
  return [1, 2, 2.5, 5, 10].map((m) => m * step).find((t) => t >= most);
}

// A bar chart, one bar per row: its label above its bar on a phone (beside it on a desktop), its value
// at its end, an axis of three ticks in the chart's unit, the target a dashed line with its words.
// Each bar is a button that leads to the row (or column) of the table it comes from. The caption says
// what the chart shows, in what unit, against what target: the text alternative, with the bars' own text.
function chart(name, config, data) {
  const bars = config.bars(data);
  const unit = UNITS[config.unit];
  const caption = [config.chartTitle ? config.chartTitle() : config.title(), unit.unit()];
  if (config.target) caption.push(_("target {rate}", { rate: I18n.percent(config.target, 0) }));
  if (!bars.some((b) => Number(b.value) > 0) && !(config.unit === "percent" && bars.length)) {
    return `<p class="dash-empty" data-empty="chart">${esc(_("No data yet"))}</p>`;
  }
  const top = axisTop(bars.map((b) => Number(b.value) || 0), config.unit, config.target);
  // Positions as data-left / data-width (percent of the axis), set by place(): the page's CSP forbids style attributes.
  const at = (v) => Math.max(0, Math.min(100, ((Number(v) || 0) / top) * 100)).toFixed(2);
  const ticks = [0, top / 2, top].map((v) => `<span data-left="${at(v)}">${esc(unit.tick(v))}</span>`).join("");
  const rows = bars.map((b, i) => {
    const shown = unit.show(Number(b.value) || 0) + (hasValue(b.points) ? ` · ${_("{points} points", { points: I18n.number(b.points) })}` : "");
    const target = config.target ? (Number(b.value) >= config.target ? "target-hit" : "target-miss") : "";
    const mark = config.target ? `<span class="bar-target" data-left="${at(config.target)}"></span>` : "";
    const leads = hasValue(b.row) ? `data-drill-row="${b.row}"` : `data-drill-column="${esc(b.column)}"`;
    return `<button type="button" class="bar-row" data-dashboard="${name}" ${leads} data-bar="${i}" title="${esc(b.label)}: ${esc(shown)}">
      <span class="bar-label">${esc(b.label)}</span>
      <span class="bar-track"><span class="bar ${target}" data-width="${at(b.value)}"></span>${mark}</span>
      <span class="bar-value">${esc(shown)}</span></button>`;
  }).join("");
  return `<figure class="chart" data-unit="${config.unit}">
    <figcaption>${esc(caption.join(" · "))}${config.note ? `<br><span class="muted">${esc(config.note(data))}</span>` : ""}</figcaption>
    <div class="bars">${rows}<div class="bar-axis" aria-hidden="true">${ticks}</div></div>
  </figure>`;
}

function table(name, config, rows) {
  if (!rows.length) return `<p class="dash-empty" data-empty="table">${esc(_("No data yet"))}</p>`;
  const columns = config.columns();
  const kind = (c) => (c.text ? ' class="text"' : "");  // words read from the left, figures from the right
  const head = columns.map((c) => `<th scope="col" data-column="${c.key}"${kind(c)}>${esc(c.head)}</th>`).join("");
  const body = rows.map((r, i) => `<tr data-row="${r.__total ? "total" : i}" tabindex="-1">${columns.map((c) => `<td data-column="${c.key}"${kind(c)}>${esc(c.show(r[c.key], r))}</td>`).join("")}</tr>`).join("");
  // A wide table scrolls inside its own box (which keyboard users can reach), never the page.
  return `<div class="dash-table" role="region" tabindex="0" aria-label="${esc(_("{title}: the rows", { title: config.title() }))}">
    <table><caption class="visually-hidden">${esc(config.title())}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

const dashState = { data: {} };

function panel(name, config, data, query) {
  const rows = rowsOf(data);
  const shown = name === "kpis" ? rows : (data.totals ? [...rows, { ...data.totals, __total: true }] : rows);
  const hasRows = name === "kpis" ? rows.some((r) => r.month !== "all") : name === "liability" ? data.accounts > 0 : rows.length > 0;
  const target = config.target ? `<span class="muted">${esc(_("target {rate}", { rate: I18n.percent(config.target, 0) }))}</span>` : "";
  const files = `<span class="dash-files">
      <a class="button secondary" data-export="csv" href="/api/v1/staff/dashboards/${name}.csv?${query}">${esc(_("Export CSV"))}</a>
      <a class="button secondary" data-export="xlsx" href="/api/v1/staff/dashboards/${name}.xlsx?${query}">${esc(_("Export Excel"))}</a></span>`;
  return `<section class="dash" data-dashboard="${name}" id="dash-${name}" aria-labelledby="dash-${name}-title">
    <h2><span id="dash-${name}-title" tabindex="-1">${esc(config.title())} ${target}</span>${files}</h2>
    ${hasRows ? chart(name, config, data) + table(name, config, shown) : `<p class="dash-empty" data-empty="all">${esc(_("No data yet"))}</p>`}</section>`;
}

// The summary row: the four figures the club steers by, each leading to its dashboard.
function summary() {
  const d = dashState.data, cards = [];
  const card = (name, label, figure, detail, verdict = "") => cards.push(
    `<button type="button" class="dash-figure ${verdict}" data-summary="${name}" data-drill-to="${name}">
      <span class="dash-figure-label">${esc(label)}</span><span class="dash-figure-value">${esc(figure)}</span>
      <span class="dash-figure-detail">${esc(detail)}</span></button>`);
  const versus = (value, target) => (hasValue(value)
    ? [value >= target ? "target-hit" : "target-miss", value >= target ? _("meets the target of {rate}", { rate: I18n.percent(target, 0) }) : _("below the target of {rate}", { rate: I18n.percent(target, 0) })]
    : ["", _("No data yet")]);
  if (d.tiers) {
    const t = d.tiers.totals;
    card("tiers", _p("dashboard_column", "Members"), I18n.number(t.members), TIERS.map((tier) => `${enumLabel("tier", tier)} ${I18n.number(t[tier])}`).join(" · "));
  }
  if (d.referrals) {
    const share = d.referrals.totals.referral_share;
    const [verdict, words] = versus(share, 0.3);
    card("referrals", _p("dashboard_column", "Referral share of new buyers"), I18n.percent(share), words, verdict);
  }
  if (d.kpis) {
    const all = rowsOf(d.kpis).find((r) => r.month === "all") || {};
    const [verdict, words] = versus(all.satisfaction_rate, 0.85);
    card("kpis", _("Satisfaction"), I18n.percent(all.satisfaction_rate), words, verdict);
  }
  if (d.liability) {
    card("liability", _("Points owed"), I18n.money(d.liability.total_value_fen),
      _("{points} points", { points: I18n.number(d.liability.total_points) }));
  }
  return cards.join("");
}

async function loadDashboards() {
  if (!$("dash-start").value) {  // this year so far, in Beijing days (what the API's ranges are)
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());  // YYYY-MM-DD
    $("dash-start").value = `${today.slice(0, 4)}-01-01`;
    $("dash-end").value = today;
  }
  await loadProjectList();
  const query = `start=${$("dash-start").value}&end=${$("dash-end").value}`;
  const mine = Object.entries(DASHBOARDS).filter(([, c]) => c.roles.includes(state.me.role) || state.me.role === "admin");
  dashState.data = {};
  const panels = await Promise.all(mine.map(async ([name, config]) => {
    const response = await api(`/api/v1/staff/dashboards/${name}?${query}`);
    if (!response.ok) return `<section class="dash" data-dashboard="${name}"><h2>${esc(config.title())}</h2><p class="error">${esc(await problemText(response))}</p></section>`;
    const data = await response.json();
    dashState.data[name] = data;
    return panel(name, config, data, query);
  }));
  $("dash-asof").textContent = _("Days and times in Beijing time. Figures as of {time}.", { time: I18n.dateTime(new Date().toISOString()) });
  $("dash-summary").innerHTML = summary();
  $("dashboards").innerHTML = panels.join("");
  place($("dashboards"));
}

function place(root) {
  root.querySelectorAll("[data-width]").forEach((el) => { el.style.width = `${el.dataset.width}%`; });
  root.querySelectorAll("[data-left]").forEach((el) => { el.style.left = `${el.dataset.left}%`; });
}

// A bar leads to its row (or its column) in the table below it; a summary figure to its dashboard.
function drill(target) {
  document.querySelectorAll("#dashboards .drilled").forEach((el) => el.classList.remove("drilled"));
  if (target.dataset.drillTo) {
    const heading = $(`dash-${target.dataset.drillTo}-title`);
    if (heading) { heading.scrollIntoView({ block: "start" }); heading.focus({ preventScroll: true }); }
    return;
  }
  const box = document.querySelector(`.dash[data-dashboard="${target.dataset.dashboard}"]`);
  if (target.dataset.drillRow !== undefined) {
    const row = box.querySelector(`tr[data-row="${target.dataset.drillRow}"]`);
    if (!row) return;
    row.classList.add("drilled");
    row.scrollIntoView({ block: "center" });
    row.focus({ preventScroll: true });
  } else {
    const cells = box.querySelectorAll(`[data-column="${target.dataset.drillColumn}"]`);
    cells.forEach((cell) => cell.classList.add("drilled"));
    if (cells[0]) cells[0].scrollIntoView({ block: "center", inline: "center" });
  }
}

document.addEventListener("click", (e) => {
  const target = e.target.closest("[data-drill-row],[data-drill-column],[data-drill-to]");
  if (target && $("view-dashboards").contains(target)) drill(target);
});
$("dash-reload").addEventListener("click", loadDashboards);

defineView("dashboards", ["sales", "event_staff", "service"], loadDashboards);
