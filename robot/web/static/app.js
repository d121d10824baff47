// The supervisor dashboard: overview (live over server-sent events), orders, an order's
// timeline, the audit log. Plain DOM, no framework; every text goes in as text, never as HTML.
"use strict";
(function () {
  const body = document.body;
  const S = {
    page: body.dataset.page,
    orderId: body.dataset.orderId,
    user: body.dataset.user,
    role: body.dataset.role,
    lang: body.dataset.lang in window.I18N ? body.dataset.lang : "ru",
    csrf: document.querySelector('meta[name="csrf-token"]').content,
    overview: null,
    calls: new Map(), // call id -> latest change
    shopFilter: new URLSearchParams(location.search).get("shop") || "", // live view (shops.js)
    offsetMs: 0, // server clock minus browser clock
    timelineTimer: null,
  };
  const isAdmin = S.role === "admin";
  const main = document.getElementById("main");

  // -- helpers ---------------------------------------------------------------------------------
  const SERVER_WORDS = window.I18N_SERVER || { ru: {}, en: {} };
  function t(key, vars) {
    const lookup = (lang) => {
      const own = (window.I18N[lang] || {})[key];
      return own !== undefined ? own : (SERVER_WORDS[lang] || {})[key];
    };
    let s = lookup(S.lang);
    if (s === undefined) s = lookup("ru") !== undefined ? lookup("ru") : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  }
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }
  const $ = (sel) => document.querySelector(sel);
  const locale = () => (S.lang === "ru" ? "ru-RU" : "en-GB");
  // Server text in the page's language: the "<field>_i18n" the server added, else as sent.
  function srv(obj, field) {
    if (!obj) return "";
    const tr = obj[`${field}_i18n`];
    return tr && tr[S.lang] ? tr[S.lang] : obj[field] || "";
  }
  // Times carry their zone (the browser's), e.g. "12.05.2026, 14:03:00 GMT+3".
  function fmtTime(iso, withDate) {
    if (!iso) return "—";
    const d = new Date(iso);
    const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" };
    if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
    return new Intl.DateTimeFormat(locale(), opts).format(d);
  }
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return t("ms", { n: Math.round(ms) });
    const s = Math.floor(ms / 1000);
    if (s < 60) return t("s", { n: s });
    if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    return t("h", { n: (s / 3600).toFixed(1) });
  }
  const fmtPct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 1000) / 10}%`);
  const serverNow = () => Date.now() + S.offsetMs;
  function toast(msg, bad) {
    const el = $("#toast");
    el.textContent = msg;
    el.className = bad ? "bad" : "";
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (el.hidden = true), 4000);
  }
  async function api(method, url, data) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      opts.headers["X-CSRF-Token"] = S.csrf;
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(data || {});
    }
    let resp;
    try {
      resp = await fetch(url, opts);
    } catch (e) {
      return { ok: false, status: 0, data: { message: String(e) } };
    }
    if (resp.status === 401) location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    let payload = null;
    try {
      payload = await resp.json();
    } catch (e) {
      payload = {};
    }
    return { ok: resp.ok, status: resp.status, data: payload };
  }
  async function act(method, url, data, after) {
    const r = await api(method, url, data);
    if (r.ok) toast(t("done"));
    else if (r.status === 404 && r.data && r.data.message === "Not Found") toast(t("unavailable"), true);
    else toast(t("failed", { msg: errorText(r) }), true);
    if (after) after(r);
    return r;
  }
  function errorText(r) {
    const d = r.data || {};
    const msg = srv(d, "message") || String(r.status);
    return d.field ? `${t(`field.${d.field}`) === `field.${d.field}` ? d.field : t(`field.${d.field}`)}: ${msg}` : msg;
  }
  const badge = (kind, value) =>
    h("span", { class: `badge ${kind}-${value}`, "data-value": value }, t(`${kind}.${value}`));

  // -- chrome: language, nav, connection, dialing pill ----------------------------------------
  function applyStatic() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll("[data-i18n]").forEach((e) => (e.textContent = t(e.dataset.i18n)));
    document.querySelectorAll("[data-nav]").forEach((e) =>
      e.classList.toggle("active", e.dataset.nav === S.page || (S.page === "order" && e.dataset.nav === "orders")));
    document.querySelectorAll(".langs button").forEach((b) =>
      b.classList.toggle("active", b.dataset.lang === S.lang));
    document.title = `${t(`nav.${S.page === "order" ? "orders" : S.page}`)} — Дозвон`;
  }
  document.querySelectorAll(".langs button").forEach((b) =>
    b.addEventListener("click", async () => {
      S.lang = b.dataset.lang;
      applyStatic();
      render();
      await api("POST", "/dashboard/api/lang", { lang: S.lang });
    }));
  function setConn(state) {
    const el = $("#conn");
    el.dataset.state = state;
    el.textContent = t(`conn.${state}`);
    document.dispatchEvent(new CustomEvent("dozvon:conn", { detail: state }));
  }
  function renderPill() {
    const pill = $("#dialing-pill");
    if (!S.overview) return;
    const paused = S.overview.controls.paused;
    pill.hidden = false;
    pill.className = `pill ${paused ? "paused" : "running"}`;
    pill.dataset.paused = paused ? "1" : "0";
    pill.textContent = t(paused ? "pill.paused" : "pill.running");
  }

  // -- live stream -----------------------------------------------------------------------------
  function connect() {
    setConn("connecting");
    const es = new EventSource("/dashboard/api/events");
    es.addEventListener("open", () => setConn("live"));
    es.addEventListener("error", () => setConn("offline"));
    es.addEventListener("summary", (ev) => {
      const o = JSON.parse(ev.data);
      S.overview = o;
      S.offsetMs = new Date(o.server_time).getTime() - Date.now();
      S.calls = new Map(o.live_calls.map((c) => [c.call_id, c]));
      setConn("live");
      renderPill();
      if (S.page === "overview") renderOverview();
      document.dispatchEvent(new CustomEvent("dozvon:summary", { detail: o }));
    });
    es.addEventListener("call", (ev) => {
      const c = JSON.parse(ev.data);
      if (c.state === "ended") S.calls.delete(c.call_id);
      else S.calls.set(c.call_id, c);
      if (S.page === "overview") renderLiveCalls();
      if (S.page === "order" && c.order_id === S.orderId) {
        clearTimeout(S.timelineTimer);
        S.timelineTimer = setTimeout(loadOrder, 300);
      }
    });
    es.addEventListener("control", () => {});
  }
  setInterval(() => {
    document.querySelectorAll("[data-since]").forEach((e) => {
      e.textContent = fmtDuration(serverNow() - new Date(e.dataset.since).getTime());
    });
  }, 1000);

  // -- overview --------------------------------------------------------------------------------
  function kpi(key, value, sub) {
    return h("div", { class: "kpi", "data-kpi": key },
      h("div", { class: "kpi-label" }, t(`kpi.${key}`)),
      h("div", { class: "kpi-value" }, value),
      sub ? h("div", { class: "kpi-sub" }, sub) : null);
  }
  function overviewSkeleton() {
    main.replaceChildren(
      h("section", { id: "kpis", class: "kpis" }),
      h("div", { class: "grid" },
        h("section", { class: "card wide" }, h("h2", {}, t("live.title")), h("div", { id: "live-calls" })),
        h("section", { class: "card" }, h("h2", {}, t("controls.title")), h("div", { id: "controls" })),
        h("section", { class: "card wide" }, h("h2", {}, t("chart.title")),
          h("div", { id: "hour-chart" }), h("p", { class: "muted", id: "chart-tz" })),
        h("section", { class: "card" }, h("h2", {}, t("outcomes.title")), h("div", { id: "outcomes" }),
          h("h2", {}, t("speech.title")), h("div", { id: "speech" }),
          h("h2", {}, t("workers.title")), h("div", { id: "workers" }))));
  }
  function renderOverview() {
    if (!$("#kpis")) overviewSkeleton();
    const o = S.overview;
    if (!o) return;
    const q = o.queue, d = o.today;
    $("#kpis").replaceChildren(
      kpi("live", String(S.calls.size)),
      kpi("due", String(q.due_now)),
      kpi("hours", String(q.waiting_hours)),
      kpi("retry", String(q.waiting_retry + (q.unclassified || 0))),
      kpi("calls_today", String(d.calls)),
      kpi("confirm_rate", fmtPct(d.confirmation_rate), t("kpi.of_answered")),
      kpi("unclear_rate", fmtPct(d.unclear_rate), t("kpi.of_answered")),
      kpi("first_call", fmtDuration(d.median_first_call_ms), t("kpi.first_calls", { n: d.first_calls })));
    renderLiveCalls();
    renderControls();
    const hourNow = Number(new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hourCycle: "h23",
      timeZone: d.timezone }).format(new Date(serverNow())));
    window.renderHourChart($("#hour-chart"), d.hours, (k) => t(`outcome.${k}`), hourNow);
    $("#chart-tz").textContent = t("chart.tz", { tz: d.timezone });
    const outs = Object.entries(d.outcomes).sort((a, b) => b[1] - a[1]);
    $("#outcomes").replaceChildren(outs.length
      ? h("ul", { class: "outcomes" }, outs.map(([k, n]) =>
        h("li", { "data-outcome": k }, badge("outcome", k), h("b", {}, String(n)))))
      : h("p", { class: "muted" }, t("outcomes.none")));
    $("#speech").replaceChildren(o.speech.length
      ? h("ul", { class: "plain" }, o.speech.map((m) =>
        h("li", {}, h("b", {}, m.language), ` — ${m.model}`, m.source ? ` (${m.source})` : "")))
      : h("p", { class: "muted" }, t("speech.none")));
    $("#workers").replaceChildren(o.workers.length
      ? h("ul", { class: "plain" }, o.workers.map((w) =>
        h("li", { "data-worker": w.worker_id }, h("code", {}, w.worker_id), " ",
          w.paused ? badge("pill", "paused") : null, " ",
          t("workers.calls", { a: w.active_calls, m: w.max_concurrent_calls }),
          w.calls_per_second ? `, ${t("workers.cps", { c: w.calls_per_second })}` : "")))
      : h("p", { class: "muted" }, t("workers.none")));
  }
  function renderLiveCalls() {
    const box = $("#live-calls");
    if (!box) return;
    const kpiLive = document.querySelector('[data-kpi="live"] .kpi-value');
    if (kpiLive) kpiLive.textContent = String(S.calls.size);
    const calls = [...S.calls.values()].filter((c) => !S.shopFilter || c.shop_name === S.shopFilter)
      .sort((a, b) => a.started_at.localeCompare(b.started_at));
    if (!calls.length) {
      box.replaceChildren(h("p", { class: "muted", id: "no-calls" }, t("live.none")));
      return;
    }
    box.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "live-table" },
      h("thead", {}, h("tr", {}, ["order", "phone", "state", "duration", "attempt", "lang", "worker", "shop", "purpose"]
        .map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, calls.map((c) => h("tr", { "data-call-id": c.call_id, "data-order-id": c.order_id, "data-shop": c.shop_name || "" },
        h("td", {}, h("a", { href: `/orders/${encodeURIComponent(c.order_id)}` }, c.order_id)),
        h("td", { class: "mono" }, c.phone),
        h("td", {}, badge("state", c.state)),
        h("td", { class: "mono", "data-since": c.started_at },
          fmtDuration(serverNow() - new Date(c.started_at).getTime())),
        h("td", {}, String(c.attempt)),
        h("td", {}, c.language),
        h("td", { class: "muted small" }, c.worker),
        h("td", { class: "wrap" }, c.shop_name || "—"),
        h("td", {}, c.purpose ? t(`purpose.${c.purpose}`) === `purpose.${c.purpose}` ? c.purpose : t(`purpose.${c.purpose}`) : "—")))))));
  }
  function renderControls() {
    const box = $("#controls");
    const c = S.overview.controls;
    const workers = S.overview.workers;
    const acks = workers.filter((w) => w.paused).length;
    // Re-render only when something shown changed, and never over what the user is typing.
    const key = JSON.stringify([c, acks, workers.length, S.lang]);
    if (box.dataset.key === key && box.childElementCount) return;
    const typing = [...box.querySelectorAll("input[data-dirty]")].map((i) => [i.id, i.value]);
    box.dataset.key = key;
    const rows = [];
    rows.push(h("div", { class: "row" },
      h("span", { id: "dialing-state", "data-paused": c.paused ? "1" : "0" },
        badge("pill", c.paused ? "paused" : "running")),
      isAdmin ? (c.paused
        ? h("button", { id: "btn-resume", class: "primary", on: { click: () =>
          act("POST", "/dashboard/api/control/resume") } }, t("controls.resume"))
        : h("button", { id: "btn-pause", class: "danger", on: { click: () =>
          act("POST", "/dashboard/api/control/pause") } }, t("controls.pause"))) : null));
    if (c.paused && workers.length) {
      rows.push(h("p", { class: "muted small", id: "pause-acks" },
        t("controls.acks", { n: acks, m: workers.length })));
    }
    const input = (id, value, step) => h("input", { id, type: "number", min: "0", step,
      value: value === null ? "" : value, placeholder: t("controls.default"), disabled: !isAdmin,
      on: { input: (ev) => (ev.target.dataset.dirty = "1") } });
    rows.push(h("form", { class: "limits", id: "limits-form", on: { submit: (ev) => {
      ev.preventDefault();
      act("POST", "/dashboard/api/control/limits", {
        max_concurrent_calls: $("#in-max").value === "" ? null : Number($("#in-max").value),
        calls_per_second: $("#in-cps").value === "" ? null : Number($("#in-cps").value),
      }, (r) => {
        if (r.ok) box.querySelectorAll("input").forEach((i) => delete i.dataset.dirty);
      });
    } } },
    h("label", {}, t("controls.max"), input("in-max", c.max_concurrent_calls, "1")),
    h("label", {}, t("controls.cps"), input("in-cps", c.calls_per_second, "0.1")),
    isAdmin ? h("button", { id: "btn-limits", type: "submit" }, t("controls.apply")) : null));
    if (c.updated_by) {
      rows.push(h("p", { class: "muted small" },
        t("controls.updated", { by: c.updated_by, at: fmtTime(c.updated_at, true) })));
    }
    if (!isAdmin) rows.push(h("p", { class: "muted small" }, t("controls.viewer")));
    box.replaceChildren(...rows);
    for (const [id, value] of typing) {
      const el = document.getElementById(id);
      el.value = value;
      el.dataset.dirty = "1";
    }
  }

  // -- orders: the list is static/orders.js; the do-not-call list static/dnc.js ---------------
  const STATUSES = Object.keys(SERVER_WORDS.en).filter((k) => k.startsWith("status.")).map((k) => k.slice(7));
  const ACTIVE = ["queued", "calling"];
  function dnc(method, phone) {
    if (!phone) return;
    const url = method === "PUT" ? "/dashboard/api/dnc" : `/dashboard/api/dnc/${encodeURIComponent(phone.trim())}`;
    return act(method === "PUT" ? "POST" : method, url, { phone: phone.trim() }, loadOrder);
  }

  // -- one order -------------------------------------------------------------------------------
  function field(label, value) {
    return h("div", { class: "field" }, h("span", { class: "muted small" }, label), h("span", {}, value || "—"));
  }
  function orderPage() {
    main.replaceChildren(h("p", {}, h("a", { href: "/orders" }, t("order.back"))),
      h("div", { id: "order" }, h("p", { class: "muted" }, t("loading"))));
    loadOrder();
  }
  async function loadOrder() {
    const id = S.orderId;
    const r = await api("GET", `/dashboard/api/orders/${encodeURIComponent(id)}`);
    const box = $("#order");
    if (!box) return;
    if (r.status === 404) return box.replaceChildren(h("p", { class: "error" }, t("not_found")));
    if (!r.ok) return box.replaceChildren(h("p", { class: "error" }, t("failed", { msg: errorText(r) })));
    const o = r.data;
    const path = `/api/v1/orders/${encodeURIComponent(id)}`;
    const actions = isAdmin ? h("div", { class: "actions", id: "order-actions" },
      h("button", { id: "btn-retry", class: "primary", on: { click: () =>
        act("POST", `/dashboard/api/orders/${encodeURIComponent(id)}/retry`, {}, loadOrder) } }, t("order.retry")),
      // Only what fits the order's state: no cancel once final; add or remove, as listed.
      ACTIVE.includes(o.status) ? h("button", { id: "btn-cancel", class: "danger", on: { click: () => {
        if (confirm(t("order.confirm_cancel", { id }))) {
          act("POST", `${path}/cancel`, { reason: `cancelled by supervisor ${S.user}` }, loadOrder);
        }
      } } }, t("order.cancel")) : null,
      o.phone_listed
        ? h("button", { id: "btn-dnc-remove", on: { click: () => dnc("DELETE", o.order.phone) } }, t("order.dnc_remove"))
        : h("button", { id: "btn-dnc-add", on: { click: () => dnc("PUT", o.order.phone) } }, t("order.dnc_add"))) : null;
    const calls = o.calls.slice().reverse();
    box.replaceChildren(
      h("section", { class: "card", id: "order-head" },
        h("h1", {}, `${t("col.order")} ${o.order_id} `, badge("status", o.status)),
        h("div", { class: "fields" },
          field(t("order.shop"), o.order.shop_name),
          field(t("order.amount"), `${o.order.amount} ${o.order.currency}`),
          field(t("order.phone"), h("span", { class: "mono", id: "order-phone" }, o.phone)),
          field(t("order.lang"), o.order.language),
          field(t("order.customer"), o.order.customer_name),
          field(t("order.items"), o.order.items_summary),
          field(t("order.delivery"), o.order.delivery_date),
          field(t("order.created"), fmtTime(o.created_at, true)),
          field(t("order.due"), o.status === "queued" ? fmtTime(o.due_at, true) : "—"),
          field(t("col.attempts"), String(o.attempts)),
          field(t("order.reason"), srv(o, "status_reason"))),
        actions),
      h("section", { class: "card", id: "explain" }, h("h2", {}, t("order.explain")),
        h("div", { id: "explain-body" }, h("p", { class: "muted" }, t("loading")))),
      h("section", { class: "card", id: "timeline" }, h("h2", {}, t("order.timeline")),
        calls.length ? h("ol", { class: "timeline" }, calls.map(callItem)) : h("p", { class: "muted" }, t("order.no_calls")),
        h("p", { class: "muted small" }, `${t("order.received")}: ${fmtTime(o.order.received_at || o.created_at, true)}`)),
      o.audit.length ? h("section", { class: "card", id: "order-audit" }, h("h2", {}, t("order.audit")), auditTable(o.audit)) : "");
    loadExplain(path);
    document.dispatchEvent(new CustomEvent("dozvon:order", { detail: o }));
  }
  function callItem(c) {
    const lat = (c.intake_to_originate_ms !== null || c.speech_end_to_decision_ms !== null)
      ? t("call.latency", { a: fmtDuration(c.intake_to_originate_ms), b: fmtDuration(c.speech_end_to_decision_ms) }) : null;
    const live = !c.ended_at && S.calls.has(c.call_id) ? S.calls.get(c.call_id) : null;
    return h("li", { class: "call", "data-call-id": c.call_id },
      h("div", { class: "call-head" },
        h("b", {}, t("call.title", { n: c.attempt })), " ",
        c.outcome ? badge("outcome", c.outcome) : live ? badge("state", live.state) : badge("status", "calling"),
        h("span", { class: "muted small" }, ` ${fmtTime(c.created_at, true)}`)),
      h("div", { class: "small" },
        `${t("call.originated")} ${fmtTime(c.originated_at)} · ${t("call.answered")} ${fmtTime(c.answered_at)} · ${t("call.ended")} ${fmtTime(c.ended_at)}`,
        c.reason ? ` · ${t("call.reason")}: ${srv(c, "reason")}` : ""),
      lat ? h("div", { class: "muted small" }, lat) : null,
      c.transcript && c.transcript.length ? h("details", { open: true }, h("summary", {}, t("call.transcript")),
        h("ul", { class: "transcript" }, c.transcript.map(transcriptLine))) : null,
      c.recording_url ? h("div", { class: "recording" }, h("span", { class: "small" }, `${t("call.recording")}: `),
        h("audio", { controls: true, preload: "none", src: c.recording_url })) : null);
  }
  // "robot: ..." / "customer: ..." lines: the speaker in the page's language, words as said.
  function transcriptLine(line) {
    const m = /^(robot|customer):\s?(.*)$/s.exec(line);
    if (!m) return h("li", { class: "customer" }, line);
    const words = m[2] === "[silence]" ? t("call.silence_mark") : m[2];
    return h("li", { class: m[1] }, h("span", { class: "speaker" }, `${t(`call.${m[1]}`)}: `), words);
  }
  async function loadExplain(path) {
    const r = await api("GET", `${path}/explain`);
    const box = $("#explain-body");
    if (!box) return;
    if (!r.ok || !r.data || !r.data.action) {
      return box.replaceChildren(h("p", { class: "muted", "data-explain": "missing" }, t("order.explain_missing")));
    }
    const e = r.data;
    box.replaceChildren(h("p", { "data-explain": e.action },
      h("span", { class: `badge explain-${e.action}` }, t(`explain.${e.action}`, { at: fmtTime(e.at, true) })),
      " ", srv(e, "reason")));
  }

  // -- audit -----------------------------------------------------------------------------------
  // Audit actions in words: handlers name theirs; routes that did not are "METHOD pattern".
  const AUDIT_ROUTES = {
    "PUT /api/v1/dnc/{phone}": "dnc_add", "DELETE /api/v1/dnc/{phone}": "dnc_remove",
    "POST /api/v1/dnc/import": "dnc_import", "POST /api/v1/orders/{order_id}/cancel": "order_cancel",
    "PATCH /api/v1/orders/{order_id}": "order_update",
  };
  function auditAction(action) {
    const key = `audit.${AUDIT_ROUTES[action] || action}`;
    const word = t(key);
    return word === key ? t("audit.other", { action }) : word;
  }
  function auditKey(k) {
    const w = t(`detail.${k}`);
    return w === `detail.${k}` ? k : w;
  }
  function auditValue(k, v, entry) {
    if (k === "reason") return srv(entry, "reason");
    if (v === true || v === "True" || v === "true") return t("yes");
    if (v === false || v === "False" || v === "false") return t("no");
    if (v === null || v === undefined || v === "") return "—";
    if (k === "was") return t(`status.${v}`);
    return String(v);
  }
  function auditTable(entries) {
    return h("div", { class: "table-wrap" }, h("table", { class: "table", id: "audit-table" },
      h("thead", {}, h("tr", {}, ["when", "user", "action", "result", "details"].map((c) => h("th", {}, t(`col.${c}`))))),
      h("tbody", {}, entries.map((e) => {
        const { at, user, action, status, role, ...rest } = e;
        const bad = status >= 400;
        return h("tr", { "data-action": action }, h("td", {}, fmtTime(at, true)),
          h("td", {}, `${user}${role ? ` (${t(`role.${role}`)})` : ""}`),
          h("td", {}, auditAction(action)),
          h("td", { class: bad ? "error" : "" }, status ? (bad ? t("audit.error", { status }) : t("audit.ok")) : ""),
          h("td", { class: "small mono" }, Object.entries(rest).filter(([k]) => !k.endsWith("_i18n"))
            .map(([k, v]) => `${auditKey(k)}: ${auditValue(k, v, rest)}`).join("; ")));
      }))));
  }
  async function auditPage() {
    main.replaceChildren(h("section", { class: "card" }, h("h2", {}, t("audit.title")), h("div", { id: "audit" })));
    const r = await api("GET", "/dashboard/api/audit?limit=300");
    $("#audit").replaceChildren(r.ok && r.data.entries.length ? auditTable(r.data.entries)
      : h("p", { class: "muted" }, t("audit.none")));
  }

  function render() {
    if (S.page === "overview") {
      main.replaceChildren();
      renderOverview();
      if (!S.overview) overviewSkeleton();
    } else if (S.page === "order") orderPage();
    else if (S.page === "audit") auditPage();
    else if (window.DozvonPages && window.DozvonPages[S.page]) window.DozvonPages[S.page](main);
    renderPill();
    const c = $("#conn");
    setConn(c.dataset.state);
    document.dispatchEvent(new CustomEvent("dozvon:render"));
  }
  // For the page's other scripts (health.js, followups.js, orders.js, reports.js, dnc.js).
  window.Dozvon = { S, isAdmin, h, t, $, api, act, srv, toast, errorText, badge, fmtTime,
    fmtDuration, fmtPct, STATUSES, auditAction, loadOrder, renderLiveCalls };
  applyStatic();
  render();
  connect();
})();
