// The do-not-call list page (robot/web/dnc_page.py): search, who listed a phone, when and why,
// add and remove, CSV import and export. Viewers see it with phones masked and cannot change it.
"use strict";
(function () {
  const PAGE_SIZE = 50;
  let offset = 0;

  function page(main) {
    const D = window.Dozvon;
    const { h, t, isAdmin } = D;
    offset = 0;
    main.replaceChildren(h("section", { class: "card", id: "dnc" },
      h("h2", {}, t("dnc.title")),
      h("p", { class: "muted small" }, t("dnc.about")),
      h("form", { id: "dnc-search", class: "filters", on: { submit: (ev) => { ev.preventDefault(); offset = 0; load(); } } },
        h("input", { id: "dnc-q", type: "search", class: "grow", placeholder: t("dnc.search") }),
        h("button", { type: "submit" }, t("orders.find")),
        h("a", { id: "dnc-export", href: "/dashboard/api/dnc/export.csv", download: "" }, t("dnc.export"))),
      isAdmin ? h("form", { id: "dnc-add-form", class: "filters", on: { submit: async (ev) => {
        ev.preventDefault();
        const phone = document.getElementById("dnc-phone").value.trim();
        if (!phone) return;
        const r = await D.act("POST", "/dashboard/api/dnc", { phone, reason: document.getElementById("dnc-reason").value.trim() });
        if (r.ok) { document.getElementById("dnc-phone").value = ""; document.getElementById("dnc-reason").value = ""; load(); }
      } } },
        h("input", { id: "dnc-phone", type: "tel", placeholder: t("dnc.phone") }),
        h("input", { id: "dnc-reason", type: "text", class: "grow", placeholder: t("dnc.reason") }),
        h("button", { id: "dnc-add", type: "submit", class: "primary" }, t("dnc.add"))) : null,
      isAdmin ? h("form", { id: "dnc-import-form", class: "filters", on: { submit: (ev) => { ev.preventDefault(); importCsv(); } } },
        h("label", { class: "inline" }, t("dnc.import"), h("input", { id: "dnc-file", type: "file", accept: ".csv,text/csv,text/plain" })),
        h("button", { id: "dnc-import", type: "submit" }, t("dnc.import_go")),
        h("span", { id: "dnc-import-result", class: "small" })) : h("p", { class: "muted small" }, t("dnc.viewer")),
      h("div", { id: "dnc-meta", class: "muted small" }),
      h("div", { id: "dnc-body" }, h("p", { class: "muted" }, t("loading"))),
      h("div", { id: "dnc-pager", class: "pager" })));
    load();
  }
  async function importCsv() {
    const D = window.Dozvon;
    const file = document.getElementById("dnc-file").files[0];
    if (!file) return;
    const resp = await fetch("/dashboard/api/dnc/import", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": D.S.csrf, "Content-Type": "text/csv", Accept: "application/json" }, body: await file.text() });
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {}; }
    const out = document.getElementById("dnc-import-result");
    if (!resp.ok) { out.textContent = D.t("failed", { msg: D.errorText({ status: resp.status, data }) }); out.className = "small error"; return; }
    out.className = "small";
    out.textContent = D.t("dnc.imported", { added: data.added, already: data.already, rejected: data.rejected.length })
      + (data.rejected.length ? ` — ${data.rejected.slice(0, 5).map((r) => D.t("dnc.bad_line", { line: r.line, value: r.value })).join("; ")}` : "");
    load();
  }
  async function load() {
    const D = window.Dozvon;
    const { h, t, isAdmin } = D;
    const q = document.getElementById("dnc-q").value.trim();
    const r = await D.api("GET", `/dashboard/api/dnc?${new URLSearchParams({ q, offset: String(offset), limit: String(PAGE_SIZE) })}`);
    const box = document.getElementById("dnc-body");
    if (!box) return;
    if (!r.ok) return box.replaceChildren(h("p", { class: "error" }, t("failed", { msg: D.errorText(r) })));
    const d = r.data;
    document.getElementById("dnc-meta").replaceChildren(h("span", { id: "dnc-total", "data-total": d.total }, t("dnc.total", { n: d.total })));
    const remove = (phone) => D.act("DELETE", `/dashboard/api/dnc/${encodeURIComponent(phone)}`, {}, load);
    box.replaceChildren(d.items.length ? h("div", { class: "table-wrap" }, h("table", { class: "table cards", id: "dnc-table" },
      h("thead", {}, h("tr", {}, ["phone", "reason", "added", "source", "by", ""].map((c) => h("th", {}, c ? t(`dnc.col.${c}`) : "")))),
      h("tbody", {}, d.items.map((e) => h("tr", { "data-phone": e.phone },
        h("td", { class: "mono", "data-label": t("dnc.col.phone") }, e.phone),
        h("td", { class: "wrap", "data-label": t("dnc.col.reason") }, D.srv(e, "reason") || "—"),
        h("td", { "data-label": t("dnc.col.added") }, D.fmtTime(e.added_at, true)),
        h("td", { "data-label": t("dnc.col.source") }, t(`dnc.source.${e.source}`) === `dnc.source.${e.source}` ? e.source : t(`dnc.source.${e.source}`)),
        h("td", { "data-label": t("dnc.col.by") }, e.by || "—"),
        h("td", {}, isAdmin ? h("button", { class: "danger small-btn", "data-remove": e.phone, on: { click: () => remove(e.phone) } }, t("dnc.remove")) : null))))))
      : h("p", { class: "muted" }, t(q ? "orders.none" : "dnc.empty")));
    const last = Math.min(offset + d.items.length, d.total);
    document.getElementById("dnc-pager").replaceChildren(
      h("button", { type: "button", disabled: offset <= 0, on: { click: () => { offset = Math.max(0, offset - PAGE_SIZE); load(); } } }, t("pager.prev")),
      h("span", {}, d.total ? t("pager.info", { a: offset + 1, b: last, n: d.total }) : ""),
      h("button", { type: "button", disabled: last >= d.total, on: { click: () => { offset += PAGE_SIZE; load(); } } }, t("pager.next")));
  }
  window.DozvonPages = Object.assign(window.DozvonPages || {}, { dnc: page });
})();
