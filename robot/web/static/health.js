// Health in the header and the alerts panel (robot/web/health.py says what is wrong, as
// message keys), and a loud sign when the live connection is gone: numbers on the page are
// greyed and marked stale, and a banner says since when.
"use strict";
(function () {
  Object.assign(window.I18N.ru, {
    "health.ok": "Всё в порядке", "health.warning": "Есть предупреждения",
    "health.critical": "Требует внимания", "health.more": "ещё {n}",
    "alerts.title": "Тревоги", "alerts.none": "Тревог нет: обработчики на связи, Asterisk доступен, вебхуки доставляются.",
    "alert.no_worker": "Нет ни одного работающего обработчика набора: к звонку {due}, в разговоре {calling}, молчат {silent}.",
    "alert.worker_silent": "Обработчик {worker} не отвечает уже {age_s} с (завис, остановлен или потерял связь).",
    "alert.worker_stuck": "Обработчик {worker} на связи, но набор в нём не двигается уже {idle_s} с.",
    "alert.asterisk_down": "Asterisk {server} ({ami}) недоступен для обработчика {worker}: нет связи по AMI.",
    "alert.paused_with_due": "Набор на паузе, а к звонку ждут {due} заказ(ов).",
    "alert.speech_missing": "Нет модели распознавания речи для языка {language}, а в очереди {orders} заказ(ов) на нём: понятны будут только кнопки.",
    "alert.webhooks_failing": "Вебхуки в CRM не доставляются: {n} с ошибкой. Последняя ошибка: {error}",
    "alert.webhooks_backlog": "Вебхуки копятся: не доставлено {pending}, самому старому {age}.",
    "alert.webhooks_dead": "Вебхуки, доставку которых прекратили: {n}.",
    "alert.failed_spike": "Всплеск сбоев звонков: {failed} из {calls} за последние 15 минут ({share}).",
    "alert.confirm_drop": "Доля подтверждений упала: {rate} за последние 30 минут против {baseline} за предыдущие 6 часов.",
    "alert.signin_throttled": "Вход приторможен после неудачных попыток: {n}.",
    "webhooks.state": "Вебхуки: не доставлено {pending}, с ошибкой {failing}, самому старому {age}, брошено {dead}.",
    "webhooks.none": "Вебхуки: всё доставлено.",
    "webhooks.failed_title": "Вебхуки, доставку которых прекратили ({n})",
    "webhooks.failed_row": "{at}, попыток {attempts}: {error}",
    "webhooks.retry": "Отправить снова", "webhooks.drop": "Удалить",
    "signin.title": "Приторможенный вход", "signin.unlock": "Разблокировать",
    "signin.kind.pair": "имя с адреса", "signin.kind.addr": "адрес", "signin.kind.name": "имя",
    "signin.row": "{kind}: {who}, неудачных попыток {failures}, ждать ещё {wait}",
    "stale.banner": "Нет связи с сервером: цифры на экране устарели (последнее обновление {ago} назад). Переподключаемся…",
    "stale.never": "Нет связи с сервером: данных ещё нет. Подключаемся…",
    "pill.stopped": "Набор стоит: нет обработчика",
  });
  Object.assign(window.I18N.en, {
    "health.ok": "All good", "health.warning": "Warnings",
    "health.critical": "Needs attention", "health.more": "{n} more",
    "alerts.title": "Alerts", "alerts.none": "No alerts: workers are reporting, Asterisk is up, webhooks are delivered.",
    "alert.no_worker": "No dialing worker is running: {due} due, {calling} in calls, {silent} silent.",
    "alert.worker_silent": "Worker {worker} has not reported for {age_s} s (frozen, stopped or cut off).",
    "alert.worker_stuck": "Worker {worker} reports, but its dialing has not moved for {idle_s} s.",
    "alert.asterisk_down": "Asterisk {server} ({ami}) is unreachable for worker {worker}: AMI is down.",
    "alert.paused_with_due": "Dialing is paused while {due} order(s) are due.",
    "alert.speech_missing": "No speech model for language {language}, with {orders} order(s) queued in it: only key presses will be understood.",
    "alert.webhooks_failing": "Webhooks to the CRM are failing: {n} with errors. Last error: {error}",
    "alert.webhooks_backlog": "Webhooks are backing up: {pending} undelivered, the oldest {age} old.",
    "alert.webhooks_dead": "Webhook deliveries given up on: {n}.",
    "alert.failed_spike": "Spike of failed calls: {failed} of {calls} in the last 15 minutes ({share}).",
    "alert.confirm_drop": "Confirmation rate fell: {rate} in the last 30 minutes against {baseline} in the 6 hours before.",
    "alert.signin_throttled": "Sign-in slowed down after failed attempts: {n}.",
    "webhooks.state": "Webhooks: {pending} undelivered, {failing} failing, oldest {age}, {dead} given up.",
    "webhooks.none": "Webhooks: all delivered.",
    "webhooks.failed_title": "Webhook deliveries given up on ({n})",
    "webhooks.failed_row": "{at}, {attempts} attempts: {error}",
    "webhooks.retry": "Send again", "webhooks.drop": "Delete",
    "signin.title": "Slowed-down sign-in", "signin.unlock": "Unlock",
    "signin.kind.pair": "name from address", "signin.kind.addr": "address", "signin.kind.name": "name",
    "signin.row": "{kind}: {who}, {failures} failed attempts, {wait} left",
    "stale.banner": "Connection to the server lost: the numbers on screen are stale (last update {ago} ago). Reconnecting…",
    "stale.never": "No connection to the server: no data yet. Connecting…",
    "pill.stopped": "Not dialing: no worker",
  });

  // Loaded before app.js (so its words are there when the page is first drawn); app.js's
  // helpers are looked up when used.
  const D = new Proxy({}, { get: (_o, k) => window.Dozvon[k] });
  const t = (...a) => window.Dozvon.t(...a);
  const h = (...a) => window.Dozvon.h(...a);
  const STALE_MS = 6000; // summaries come every 2 s
  let last = null; // the latest health summary
  let lastAt = 0; // when the latest summary arrived (browser clock)
  let conn = "connecting";

  function pct(x) { return `${Math.round(x * 1000) / 10}%`; }
  function age(s) {
    if (s === null || s === undefined) return "—";
    return s < 120 ? t("s", { n: Math.round(s) }) : s < 7200 ? t("min", { n: Math.round(s / 60) })
      : t("h", { n: (s / 3600).toFixed(1) });
  }
  function alertText(a) {
    const p = { ...a.params };
    if ("share" in p) p.share = pct(p.share);
    if ("rate" in p) p.rate = pct(p.rate);
    if ("baseline" in p) p.baseline = pct(p.baseline);
    if ("age_s" in p && a.code === "webhooks_backlog") p.age = age(p.age_s);
    return t(`alert.${a.code}`, p);
  }

  function header() {
    let el = document.getElementById("health");
    if (!el) {
      el = h("a", { id: "health", class: "health", href: "/#alerts" });
      const pill = document.getElementById("dialing-pill");
      pill.parentNode.insertBefore(el, pill.nextSibling);
    }
    const state = last ? last.state : "unknown";
    document.body.dataset.health = state;
    el.dataset.state = state;
    el.hidden = !last;
    if (!last) return;
    const top = last.alerts[0];
    el.textContent = top ? alertText(top) : t("health.ok");
    if (last.alerts.length > 1) el.textContent += ` (${t("health.more", { n: last.alerts.length - 1 })})`;
    el.title = last.alerts.map(alertText).join("\n");
    const pill = document.getElementById("dialing-pill");
    if (pill && !last.dialing && D.S.overview && !D.S.overview.controls.paused) {
      pill.className = "pill stopped";
      pill.dataset.paused = "0";
      pill.dataset.stopped = "1";
      pill.textContent = t("pill.stopped");
    } else if (pill) delete pill.dataset.stopped;
  }

  function panel() {
    if (D.S.page !== "overview") return;
    const main = document.getElementById("main");
    let box = document.getElementById("alerts");
    if (!box) {
      box = h("section", { id: "alerts", class: "card alerts" });
      main.insertBefore(box, main.firstChild);
    }
    if (!last) return box.replaceChildren(h("h2", {}, t("alerts.title")), h("p", { class: "muted" }, t("loading")));
    const w = last.webhooks;
    const items = last.alerts.map((a) => h("li", { class: `alert ${a.severity}`, "data-alert": a.code,
      "data-severity": a.severity }, alertText(a)));
    box.dataset.state = last.state;
    box.replaceChildren(
      h("h2", {}, t("alerts.title")),
      items.length ? h("ul", { class: "alert-list" }, items) : h("p", { class: "muted", id: "no-alerts" }, t("alerts.none")),
      h("p", { class: "muted small", id: "webhook-state" }, w.pending || w.dead
        ? t("webhooks.state", { pending: w.pending, failing: w.failing, age: age(w.oldest_age_s), dead: w.dead })
        : t("webhooks.none")),
      h("div", { id: "webhooks-failed" }),
      h("div", { id: "signin-throttled" }));
    if (last.alerts.some((a) => a.code === "signin_throttled")) throttled();
    if (w.dead && D.isAdmin) deadLetters();
  }

  // Dead letters (robot/web/api/webhooks.py): what was given up on, retry or drop.
  async function deadLetters() {
    const r = await D.api("GET", "/api/v1/webhooks/failed?limit=20");
    const box = document.getElementById("webhooks-failed");
    if (!box || !r.ok) return;
    const items = r.data.items;
    box.replaceChildren(h("h2", {}, t("webhooks.failed_title", { n: r.data.total })),
      h("ul", { class: "plain", id: "webhooks-failed-list" }, items.map((i) => {
        const path = `/api/v1/webhooks/failed/${encodeURIComponent(i.delivery_id)}`;
        return h("li", { class: "wrap", "data-delivery": i.delivery_id },
          h("a", { href: `/orders/${encodeURIComponent(i.order_id)}` }, i.order_id), " ",
          h("span", { class: "muted small" }, t("webhooks.failed_row", { at: D.fmtTime(i.failed_at, true),
            attempts: i.attempts, error: i.error })), " ",
          h("button", { class: "small-btn", on: { click: () => D.act("POST", `${path}/retry`, {}, deadLetters) } },
            t("webhooks.retry")), " ",
          h("button", { class: "small-btn", on: { click: () => D.act("DELETE", path, {}, deadLetters) } },
            t("webhooks.drop")));
      })));
  }

  async function throttled() {
    const r = await D.api("GET", "/dashboard/api/signin/throttled");
    const box = document.getElementById("signin-throttled");
    if (!box || !r.ok) return;
    const rows = r.data.throttled;
    if (!rows.length) return box.replaceChildren();
    box.replaceChildren(h("h2", {}, t("signin.title")), h("ul", { class: "plain" }, rows.map((row) => {
      const who = row.kind === "pair" ? `${row.name} · ${row.address}` : row.name || row.address;
      const target = row.kind === "addr" ? { address: row.address } : { name: row.name };
      return h("li", { "data-throttled": row.kind },
        t("signin.row", { kind: t(`signin.kind.${row.kind}`), who, failures: row.failures, wait: age(row.retry_after_s) }),
        " ", D.isAdmin ? h("button", { class: "small-btn", on: { click: () =>
          D.act("POST", "/dashboard/api/signin/unlock", target, throttled) } }, t("signin.unlock")) : null);
    })));
  }

  function stale() {
    const old = conn !== "live" || !lastAt || Date.now() - lastAt > STALE_MS;
    document.body.dataset.stale = old ? "1" : "0";
    let banner = document.getElementById("stale-banner");
    if (!old) {
      if (banner) banner.hidden = true;
      return;
    }
    if (conn === "connecting" && !lastAt) return; // the first seconds after opening the page
    if (!banner) {
      banner = h("div", { id: "stale-banner", role: "alert" });
      document.body.insertBefore(banner, document.getElementById("main"));
    }
    banner.hidden = false;
    banner.textContent = lastAt ? t("stale.banner", { ago: age((Date.now() - lastAt) / 1000) }) : t("stale.never");
  }

  document.addEventListener("dozvon:summary", (ev) => {
    last = ev.detail.health || null;
    lastAt = Date.now();
    header();
    panel();
    stale();
  });
  document.addEventListener("dozvon:conn", (ev) => {
    conn = ev.detail;
    stale();
  });
  document.addEventListener("dozvon:render", () => {
    header();
    panel();
  });
  setInterval(stale, 1000);
})();
