// Reports over a date range (robot/web/reports.py): the funnel with rates against the previous
// period of the same length, breakdowns by day, hour, shop, language and attempt, per shop
// and call purpose (by day and hour of the call), talk time,
// and CSV exports of orders, calls and the audit log for the same range and filters.
"use strict";
(function () {
  const FIELDS = ["from", "to", "shop", "language"];

  function fmtDay(D, iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Intl.DateTimeFormat(D.S.lang === "ru" ? "ru-RU" : "en-GB", { timeZone: "UTC" })
      .format(new Date(Date.UTC(y, m - 1, d)));
  }
  function chosen() {
    const p = new URLSearchParams(location.search);
    const out = {};
    // Missing dates are the server's to choose: the last 7 days in the dashboard's time zone.
    for (const f of FIELDS) if (p.get(f)) out[f] = p.get(f);
    return out;
  }
  function page(main) {
    const D = window.Dozvon;
    const { h, t } = D;
    const p = chosen();
    const input = (id, type, ph) => h("input", { id: `r-${id}`, type, value: p[id] || "", placeholder: ph ? t(ph) : null });
    main.replaceChildren(
      h("section", { class: "card" },
        h("form", { id: "report-form", class: "filters", on: { submit: (ev) => {
          ev.preventDefault();
          const next = new URLSearchParams();
          for (const f of FIELDS) { const v = document.getElementById(`r-${f}`).value.trim(); if (v) next.set(f, v); }
          history.replaceState(null, "", `/reports?${next}`);
          load();
        } } },
        h("label", { class: "inline" }, t("filter.from"), input("from", "date")),
        h("label", { class: "inline" }, t("filter.to"), input("to", "date")),
        input("shop", "text", "filter.shop"),
        h("select", { id: "r-language" }, h("option", { value: "" }, t("orders.any_language")),
          ["ru", "ko"].map((l) => h("option", { value: l, selected: p.language === l }, t(`lang.${l}`)))),
        h("button", { type: "submit", class: "primary", id: "report-run" }, t("reports.run"))),
        h("div", { id: "report-exports", class: "row small" })),
      h("div", { id: "report" }, h("p", { class: "muted" }, t("loading"))));
    load();
  }
  function delta(D, now, before, kind) {
    if (now === null || now === undefined || before === null || before === undefined) return "";
    const diff = now - before;
    const sign = diff > 0 ? "+" : diff < 0 ? "−" : "±";
    const abs = Math.abs(diff);
    return kind === "pct" ? `${sign}${Math.round(abs * 1000) / 10} ${D.t("reports.pp")}` : `${sign}${Math.round(abs * 10) / 10}`;
  }
  function card(D, key, value, prev, change) {
    const { h, t } = D;
    return h("div", { class: "kpi", "data-kpi": key },
      h("div", { class: "kpi-label" }, t(`reports.kpi.${key}`)),
      h("div", { class: "kpi-value" }, value),
      h("div", { class: "kpi-sub" }, t("reports.before", { v: prev }), change ? ` (${change})` : ""));
  }
  function table(D, id, cols, rows) {
    const { h, t } = D;
    if (!rows.length) return h("p", { class: "muted" }, t("reports.empty"));
    return h("div", { class: "table-wrap" }, h("table", { class: "table cards", id },
      h("thead", {}, h("tr", {}, cols.map(([c]) => h("th", {}, t(`reports.col.${c}`))))),
      h("tbody", {}, rows.map((r) => h("tr", {}, cols.map(([c, f]) =>
        h("td", { "data-label": t(`reports.col.${c}`), class: c === "shop" ? "wrap" : null }, f(r))))))));
  }
  async function load() {
    const D = window.Dozvon;
    const { h, t, fmtPct } = D;
    const r = await D.api("GET", `/dashboard/api/reports?${new URLSearchParams(chosen())}`);
    const box = document.getElementById("report");
    if (!box) return;
    if (!r.ok) return box.replaceChildren(h("p", { class: "error" }, t("failed", { msg: D.errorText(r) })));
    const d = r.data, f = d.funnel, pf = d.previous.funnel, c = d.change;
    // The range the server used; the downloads ask for exactly it.
    document.getElementById("r-from").value = d.range.from;
    document.getElementById("r-to").value = d.range.to;
    const p = { ...chosen(), from: d.range.from, to: d.range.to };
    const q = new URLSearchParams(p);
    document.getElementById("report-exports").replaceChildren(`${t("export.csv")}: `,
      h("a", { id: "export-orders", href: `/dashboard/api/export/orders.csv?${q}`, download: "" }, t("export.orders")), " · ",
      h("a", { id: "export-calls", href: `/dashboard/api/export/calls.csv?${q}`, download: "" }, t("export.calls")), " · ",
      h("a", { id: "export-audit", href: `/dashboard/api/export/audit.csv?${new URLSearchParams({ from: p.from, to: p.to })}`, download: "" }, t("export.audit")));
    const secs = (s) => (s === null || s === undefined ? "—" : D.fmtDuration(s * 1000));
    const num = (n) => String(n);
    const pct = (x) => fmtPct(x);
    const rateCols = [["orders", (x) => num(x.orders)], ["reached", (x) => num(x.reached)],
      ["confirmed", (x) => num(x.confirmed)], ["reach_rate", (x) => pct(x.reach_rate)],
      ["confirm_rate", (x) => pct(x.confirm_rate)]];
    const callCols = [["calls", (x) => num(x.calls)], ["reached", (x) => num(x.reached)], ["confirmed", (x) => num(x.confirmed)]];
    // Per shop and purpose (robot/core/analytics.py): calls under the purpose each was placed with.
    const purposeName = (p) => (t(`purpose.${p}`) === `purpose.${p}` ? p : t(`purpose.${p}`));
    const purposeCols = [["calls", (x) => num(x.calls)], ["reached", (x) => num(x.reached)],
      ["confirmed", (x) => num(x.confirmed)], ["informed", (x) => num(x.informed)],
      ["reach_rate", (x) => pct(x.reach_rate)], ["success_rate", (x) => pct(x.success_rate)],
      ["success_of_reached", (x) => pct(x.success_of_reached)]];
    const sp = d.by_shop_purpose || [];
    const spCols = [["shop", (x) => x.shop], ["purpose", (x) => purposeName(x.purpose)]];
    const spDays = sp.flatMap((r) => r.by_day.filter((x) => x.calls).map((x) => ({ ...x, shop: r.shop, purpose: r.purpose })));
    const spHours = sp.flatMap((r) => r.by_hour.map((x) => ({ ...x, shop: r.shop, purpose: r.purpose })));
    const rateOnly = purposeCols.filter(([c]) => ["calls", "reached", "reach_rate", "success_rate"].includes(c));
    box.replaceChildren(
      h("p", { class: "muted small", id: "report-range" }, t("reports.range", { a: fmtDay(D, d.range.from), b: fmtDay(D, d.range.to),
        tz: d.range.timezone, pa: fmtDay(D, d.previous.range.from), pb: fmtDay(D, d.previous.range.to) })),
      h("section", { class: "kpis", id: "funnel" },
        card(D, "orders", num(f.orders), num(pf.orders), delta(D, f.orders, pf.orders)),
        card(D, "called", num(f.called), num(pf.called), delta(D, f.called, pf.called)),
        card(D, "reached", `${f.reached} · ${pct(f.reach_rate)}`, `${pf.reached} · ${pct(pf.reach_rate)}`, delta(D, f.reach_rate, pf.reach_rate, "pct")),
        card(D, "confirmed", `${f.confirmed} · ${pct(f.confirm_rate)}`, `${pf.confirmed} · ${pct(pf.confirm_rate)}`, delta(D, f.confirm_rate, pf.confirm_rate, "pct")),
        card(D, "confirm_of_reached", pct(f.confirm_of_reached), pct(pf.confirm_of_reached), delta(D, f.confirm_of_reached, pf.confirm_of_reached, "pct")),
        card(D, "talk", secs(d.talk.mean_s), secs(d.previous.talk.mean_s), c.talk_mean_s === null ? "" : `${c.talk_mean_s > 0 ? "+" : ""}${c.talk_mean_s} ${t("reports.sec")}`)),
      h("p", { class: "muted small", id: "talk" }, t("reports.talk", { n: d.talk.calls, total: secs(d.talk.total_s), median: secs(d.talk.median_s), calls: d.calls })),
      h("div", { class: "grid" },
        h("section", { class: "card wide" }, h("h2", {}, t("reports.by_day")), table(D, "by-day", [["day", (x) => fmtDay(D, x.day)], ...rateCols], d.by_day)),
        h("section", { class: "card" }, h("h2", {}, t("reports.by_hour")), table(D, "by-hour", [["hour", (x) => `${String(x.hour).padStart(2, "0")}:00`], ...callCols], d.by_hour)),
        h("section", { class: "card wide" }, h("h2", {}, t("reports.by_shop")), table(D, "by-shop", [["shop", (x) => x.shop], ...rateCols], d.by_shop)),
        h("section", { class: "card" }, h("h2", {}, t("reports.by_language")), table(D, "by-language", [["language", (x) => t(`lang.${x.language}`)], ...rateCols], d.by_language),
          h("h2", {}, t("reports.by_attempt")), table(D, "by-attempt", [["attempt", (x) => num(x.attempt)], ...callCols], d.by_attempt)),
        h("section", { class: "card" }, h("h2", {}, t("reports.by_purpose")),
          table(D, "by-purpose", [["purpose", (x) => purposeName(x.purpose)], ...purposeCols], d.by_purpose || [])),
        h("section", { class: "card wide" }, h("h2", {}, t("reports.by_shop_purpose")),
          table(D, "by-shop-purpose", [...spCols, ...purposeCols], sp)),
        h("section", { class: "card wide" }, h("h2", {}, t("reports.by_shop_purpose_day")),
          table(D, "by-shop-purpose-day", [...spCols, ["day", (x) => fmtDay(D, x.day)], ...rateOnly], spDays)),
        h("section", { class: "card wide" }, h("h2", {}, t("reports.by_shop_purpose_hour")),
          table(D, "by-shop-purpose-hour", [...spCols, ["hour", (x) => `${String(x.hour).padStart(2, "0")}:00`], ...rateOnly], spHours))),
      h("p", { class: "muted small" }, t("reports.elapsed", { ms: d.elapsed_ms })));
  }
  window.DozvonPages = Object.assign(window.DozvonPages || {}, { reports: page });
})();
