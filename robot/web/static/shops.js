// Shops on the dashboard (robot/web/shops.py): the shop names the orders list and the reports
// suggest, the live view's shop filter, and each shop's pause for admins. The shops offered
// are the ones the account may see (an account limited to some shops sees only those).
"use strict";
(function () {
  Object.assign(window.I18N.ru, {
    "shops.title": "Магазины", "shops.none": "Магазины не настроены.",
    "shops.live": "Звонки магазина", "shops.all": "все магазины",
    "shops.pause": "Пауза", "shops.resume": "Возобновить",
    "shops.paused": "на паузе", "shops.running": "звонит",
    "shops.source.env": "из DOZVON_SHOPS", "shops.source.file": "из файла", "shops.source.api": "через API",
    "col.purpose": "Цель звонка",
  });
  Object.assign(window.I18N.en, {
    "shops.title": "Shops", "shops.none": "No shops configured.",
    "shops.live": "Calls of shop", "shops.all": "all shops",
    "shops.pause": "Pause", "shops.resume": "Resume",
    "shops.paused": "paused", "shops.running": "calling",
    "shops.source.env": "from DOZVON_SHOPS", "shops.source.file": "from the file", "shops.source.api": "via the API",
    "col.purpose": "Purpose",
  });

  const t = (...a) => window.Dozvon.t(...a);
  const h = (...a) => window.Dozvon.h(...a);
  let shops = null; // [{name, paused, source, configured}]
  let loadedAt = 0;
  const REFRESH_MS = 5000;

  async function load(force) {
    if (!force && shops && Date.now() - loadedAt < REFRESH_MS) return shops;
    loadedAt = Date.now();
    const r = await window.Dozvon.api("GET", "/dashboard/api/shops");
    if (r.ok) shops = r.data.shops;
    return shops || [];
  }

  // The orders list's and the reports' shop field: suggestions from the shops one may see.
  function datalist(list) {
    let dl = document.getElementById("shop-names");
    if (!dl) {
      dl = h("datalist", { id: "shop-names" });
      document.body.appendChild(dl);
    }
    dl.replaceChildren(...list.map((s) => h("option", { value: s.name })));
    for (const id of ["shop", "r-shop"]) {
      const input = document.getElementById(id);
      if (input) input.setAttribute("list", "shop-names");
    }
  }

  function card(list) {
    const D = window.Dozvon;
    if (D.S.page !== "overview") return;
    const grid = document.querySelector("#main .grid");
    if (!grid) return;
    let box = document.getElementById("shops");
    if (!box) {
      box = h("section", { class: "card", id: "shops" });
      const controls = document.getElementById("controls");
      const after = controls ? controls.closest("section") : null;
      grid.insertBefore(box, after ? after.nextSibling : grid.firstChild);
    }
    const key = JSON.stringify([list, D.S.shopFilter, D.S.lang]);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    const select = h("select", { id: "live-shop", on: { change: (ev) => {
      D.S.shopFilter = ev.target.value;
      const q = new URLSearchParams(location.search);
      if (D.S.shopFilter) q.set("shop", D.S.shopFilter); else q.delete("shop");
      history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
      D.renderLiveCalls();
      card(list);
    } } }, h("option", { value: "" }, t("shops.all")),
    list.map((s) => h("option", { value: s.name, selected: s.name === D.S.shopFilter }, s.name)));
    const rows = list.map((s) => h("li", { "data-shop": s.name, "data-paused": s.paused ? "1" : "0" },
      h("b", {}, s.name), " ",
      h("span", { class: `badge pill-${s.paused ? "paused" : "running"}` }, t(s.paused ? "shops.paused" : "shops.running")),
      s.source ? h("span", { class: "muted small" }, ` ${t(`shops.source.${s.source}`)}`) : null, " ",
      D.isAdmin && s.configured ? h("button", {
        class: s.paused ? "primary" : "danger", "data-action": s.paused ? "resume" : "pause",
        on: { click: () => D.act("POST", `/dashboard/api/shops/${encodeURIComponent(s.name)}/${s.paused ? "resume" : "pause"}`,
          {}, async () => card(await load(true))) },
      }, t(s.paused ? "shops.resume" : "shops.pause")) : null));
    box.replaceChildren(h("h2", {}, t("shops.title")),
      list.length ? h("label", { class: "inline" }, t("shops.live"), " ", select) : null,
      list.length ? h("ul", { class: "plain", id: "shop-list" }, rows) : h("p", { class: "muted" }, t("shops.none")));
  }

  async function refresh(force) {
    const list = await load(force);
    datalist(list);
    card(list);
  }
  document.addEventListener("dozvon:render", () => refresh(false));
  document.addEventListener("dozvon:summary", () => refresh(false));
})();
