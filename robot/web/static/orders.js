// The orders list for daily work: filters, search by id, phone, name or transcript words,
// server-side paging (robot/web/orders_list.py). Uses the helpers app.js puts on window.Dozvon.
"use strict";
(function () {
  const PAGE_SIZE = 50;
  const FILTERS = ["q", "status", "outcome", "shop", "language", "attempts", "from", "to"];
  const OUTCOMES = () => Object.keys((window.I18N_SERVER || { en: {} }).en)
    .filter((k) => k.startsWith("outcome.")).map((k) => k.slice(8));

  function params() {
    const p = new URLSearchParams(location.search);
    const out = {};
    for (const f of [...FILTERS, "offset"]) if (p.get(f)) out[f] = p.get(f);
    return out;
  }
  function exportLinks(D, p) {
    const { h, t } = D;
    const q = new URLSearchParams(p);
    q.delete("offset");
    return h("span", { class: "exports" }, `${t("export.csv")}: `,
      h("a", { id: "export-orders", href: `/dashboard/api/export/orders.csv?${q}`, download: "" }, t("export.orders")), " · ",
      h("a", { id: "export-calls", href: `/dashboard/api/export/calls.csv?${q}`, download: "" }, t("export.calls")));
  }
  function page(main) {
    const D = window.Dozvon;
    const { h, t } = D;
    const p = params();
    const select = (id, values, any, word) => h("select", { id, name: id }, h("option", { value: "" }, t(any)),
      values.map((v) => h("option", { value: v, selected: p[id] === v }, t(`${word}.${v}`))));
    const input = (id, type, ph) => h("input", { id, name: id, type, value: p[id] || "", placeholder: ph ? t(ph) : null,
      "aria-label": t(`filter.${id}`) });
    main.replaceChildren(h("section", { class: "card" },
      h("form", { id: "search-form", class: "filters", on: { submit: (ev) => {
        ev.preventDefault();
        const next = new URLSearchParams();
        for (const f of FILTERS) { const v = document.getElementById(f).value.trim(); if (v) next.set(f, v); }
        history.replaceState(null, "", `/orders${next.toString() ? "?" + next : ""}`);
        load();
      } } },
      h("input", { id: "q", name: "q", type: "search", value: p.q || "", placeholder: t("orders.search"), class: "grow" }),
      select("status", D.STATUSES, "orders.any", "status"),
      select("outcome", OUTCOMES(), "orders.any_outcome", "outcome"),
      input("shop", "text", "filter.shop"),
      select("language", ["ru", "ko"], "orders.any_language", "lang"),
      input("attempts", "text", "filter.attempts"),
      h("label", { class: "inline" }, t("filter.from"), input("from", "date")),
      h("label", { class: "inline" }, t("filter.to"), input("to", "date")),
      h("button", { type: "submit", class: "primary" }, t("orders.find"))),
      h("div", { id: "orders-meta", class: "row muted small" }),
      h("div", { id: "orders" }, h("p", { class: "muted" }, t("loading"))),
      h("div", { id: "pager", class: "pager" })));
    load();
  }
  async function load() {
    const D = window.Dozvon;
    const { h, t } = D;
    const p = params();
    const offset = Number(p.offset || 0);
    const q = new URLSearchParams({ ...p, offset: String(offset), limit: String(PAGE_SIZE) });
    const r = await D.api("GET", `/dashboard/api/orders?${q}`);
    const box = document.getElementById("orders");
    if (!box) return;
    if (!r.ok) return box.replaceChildren(h("p", { class: "error" }, t("failed", { msg: D.errorText(r) })));
    const d = r.data;
    document.getElementById("orders-meta").replaceChildren(
      h("span", { id: "orders-total", "data-total": d.total }, t("orders.total", { n: d.total })),
      ...(d.truncated ? [h("span", {}, t("orders.truncated"))] : []), exportLinks(D, p));
    if (!d.orders.length) {
      box.replaceChildren(h("p", { class: "muted" }, t("orders.none")));
    } else {
      box.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "table cards", id: "orders-table" },
        h("thead", {}, h("tr", {}, ["order", "created", "status", "last", "attempts", "shop", "amount", "customer", "lang", "phone"]
          .map((c) => h("th", {}, t(`col.${c}`))))),
        h("tbody", {}, d.orders.map((o) => h("tr", { "data-order-id": o.order_id },
          cell("order", h("a", { href: `/orders/${encodeURIComponent(o.order_id)}` }, o.order_id)),
          cell("created", D.fmtTime(o.created_at, true)),
          cell("status", D.badge("status", o.status)),
          cell("last", o.last_outcome ? D.badge("outcome", o.last_outcome) : "—"),
          cell("attempts", String(o.attempts)),
          cell("shop", o.shop_name, "wrap"),
          cell("amount", `${o.amount} ${o.currency}`, "num"),
          cell("customer", o.customer_name || "—", "wrap"),
          cell("lang", o.language),
          cell("phone", o.phone, "mono")))))));
    }
    const pager = document.getElementById("pager");
    const go = (off) => {
      const next = new URLSearchParams(location.search);
      if (off > 0) next.set("offset", String(off)); else next.delete("offset");
      history.replaceState(null, "", `/orders?${next}`);
      load();
    };
    const last = Math.min(offset + d.orders.length, d.total);
    pager.replaceChildren(
      h("button", { id: "page-prev", type: "button", disabled: offset <= 0, on: { click: () => go(Math.max(0, offset - PAGE_SIZE)) } }, t("pager.prev")),
      h("span", { id: "page-info" }, d.total ? t("pager.info", { a: offset + 1, b: last, n: d.total }) : ""),
      h("button", { id: "page-next", type: "button", disabled: last >= d.total, on: { click: () => go(offset + PAGE_SIZE) } }, t("pager.next")));
    function cell(col, value, cls) {
      return h("td", { "data-label": t(`col.${col}`), class: cls || null }, value);
    }
  }
  window.DozvonPages = Object.assign(window.DozvonPages || {}, { orders: page });
})();
