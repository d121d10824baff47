// Work for humans (robot/web/followups.py): the follow-up queue page, the follow-up card on an
// order, and "call now" on a final order, which reopens it with a stated number of attempts.
"use strict";
(function () {
  Object.assign(window.I18N.ru, {
    "nav.followups": "Нужен человек",
    "fu.title": "Заказы, которым нужен человек", "fu.none": "Сейчас никому не нужен человек.",
    "fu.show": "Показать", "fu.state.active": "в работе и новые", "fu.state.open": "новые",
    "fu.state.taken": "в работе", "fu.state.resolved": "решённые", "fu.state.all": "все",
    "fu.reason.callback": "обещан звонок (просил перезвонить)", "fu.reason.unclear": "ответ неясен",
    "fu.reason.exhausted": "попытки исчерпаны", "fu.reason.operator": "просил оператора",
    "fu.reason.changed": "просит изменить доставку", "fu.reason.wrong_number": "чужой номер",
    "fu.reason.not_ordered": "говорит, что не заказывал",
    "fu.st.open": "новый", "fu.st.taken": "в работе: {by}", "fu.st.resolved": "решён: {by}",
    "fu.col.why": "Почему", "fu.col.since": "С какого времени", "fu.col.customer": "Покупатель",
    "fu.col.state": "Кто занимается", "fu.col.notes": "Заметок",
    "fu.take": "Взять", "fu.takeover": "Забрать себе", "fu.release": "Вернуть в очередь",
    "fu.resolve": "Закрыть", "fu.note": "Добавить заметку", "fu.note_ph": "Что сделано, о чём договорились",
    "fu.card": "Работа человека", "fu.notes": "Заметки", "fu.no_notes": "Заметок нет.",
    "fu.res.done": "решено с клиентом", "fu.res.cancelled": "заказ отменён",
    "fu.res.unreachable": "не дозвонились", "fu.res.no_action": "ничего не нужно",
    "fu.resolution": "Итог", "fu.taken_at": "взят {at}", "fu.resolved_at": "закрыт {at}: {res}",
    "fu.count": "открытых: {n}",
    "reopen.attempts": "попыток", "reopen.button": "Открыть снова и позвонить",
    "reopen.done": "Заказ открыт снова: ещё попыток — {n}. Робот звонит, как только позволяют правила.",
    "reopen.hint": "Заказ завершён ({status}). Можно открыть его снова с новыми попытками; CRM получит order.reopened, а в конце — новый order.final с reopened: {n}.",
    "audit.followup_take": "взял в работу", "audit.followup_release": "вернул в очередь",
    "audit.followup_note": "заметка", "audit.followup_resolve": "закрыл работу по заказу",
  });
  Object.assign(window.I18N.en, {
    "nav.followups": "Needs a person",
    "fu.title": "Orders that need a person", "fu.none": "Nobody needs a person right now.",
    "fu.show": "Show", "fu.state.active": "new and in progress", "fu.state.open": "new",
    "fu.state.taken": "in progress", "fu.state.resolved": "resolved", "fu.state.all": "all",
    "fu.reason.callback": "callback promised (asked to call later)", "fu.reason.unclear": "answer unclear",
    "fu.reason.exhausted": "attempts exhausted", "fu.reason.operator": "asked for an operator",
    "fu.reason.changed": "wants a delivery change", "fu.reason.wrong_number": "wrong number",
    "fu.reason.not_ordered": "says they did not order",
    "fu.st.open": "new", "fu.st.taken": "in progress: {by}", "fu.st.resolved": "resolved: {by}",
    "fu.col.why": "Why", "fu.col.since": "Since", "fu.col.customer": "Customer",
    "fu.col.state": "Who handles it", "fu.col.notes": "Notes",
    "fu.take": "Take", "fu.takeover": "Take over", "fu.release": "Put back",
    "fu.resolve": "Close", "fu.note": "Add note", "fu.note_ph": "What was done or agreed",
    "fu.card": "Work for a person", "fu.notes": "Notes", "fu.no_notes": "No notes.",
    "fu.res.done": "settled with the customer", "fu.res.cancelled": "order cancelled",
    "fu.res.unreachable": "could not reach", "fu.res.no_action": "nothing needed",
    "fu.resolution": "Outcome", "fu.taken_at": "taken {at}", "fu.resolved_at": "closed {at}: {res}",
    "fu.count": "open: {n}",
    "reopen.attempts": "attempts", "reopen.button": "Reopen and call",
    "reopen.done": "Order reopened with {n} more attempt(s). The robot calls as soon as the rules allow.",
    "reopen.hint": "The order is final ({status}). Reopen it with new attempts; the CRM gets order.reopened, and at the end a new order.final with reopened: {n}.",
    "audit.followup_take": "took over", "audit.followup_release": "put back",
    "audit.followup_note": "note", "audit.followup_resolve": "closed the follow-up",
  });

  const t = (...a) => window.Dozvon.t(...a);
  const h = (...a) => window.Dozvon.h(...a);
  const D = new Proxy({}, { get: (_o, k) => window.Dozvon[k] });
  const REASONS = ["callback", "unclear", "exhausted", "operator", "changed", "wrong_number", "not_ordered"];
  const FINAL_REOPENABLE = ["exhausted", "rejected", "operator", "changed", "wrong_number", "not_ordered"];
  const NEEDS = ["exhausted", "operator", "changed", "wrong_number", "not_ordered"];

  function stateText(f) {
    if (f.state === "taken") return t("fu.st.taken", { by: f.taken_by });
    if (f.state === "resolved") return t("fu.st.resolved", { by: f.resolved_by });
    return t("fu.st.open");
  }
  async function step(oid, what, body, after) {
    const r = await D.act("POST", `/dashboard/api/followups/${encodeURIComponent(oid)}/${what}`, body || {});
    if (after) after(r);
    return r;
  }
  function actions(f, after) {
    if (!D.isAdmin) return null;
    const me = D.S.user;
    const out = [];
    if (f.state !== "taken" || f.taken_by !== me) {
      const over = f.state === "taken";
      out.push(h("button", { class: "small-btn", "data-fu": "take", on: { click: () =>
        step(f.order_id, "take", over ? { force: true } : {}, after) } }, t(over ? "fu.takeover" : "fu.take")));
    }
    if (f.state === "taken" && f.taken_by === me) {
      out.push(h("button", { class: "small-btn", "data-fu": "release", on: { click: () =>
        step(f.order_id, "release", {}, after) } }, t("fu.release")));
    }
    return out;
  }

  // -- the queue page ----------------------------------------------------------------------------
  async function page() {
    const main = document.getElementById("main");
    const params = new URLSearchParams(location.search);
    const state = params.get("state") || "active";
    main.replaceChildren(h("section", { class: "card", id: "followups" },
      h("h2", {}, t("fu.title")),
      h("form", { class: "search", on: { change: (ev) => {
        const p = new URLSearchParams({ state: ev.target.value });
        history.replaceState(null, "", `/followups?${p}`);
        load();
      } } }, h("label", {}, `${t("fu.show")} `,
        h("select", { id: "fu-state" }, ["active", "open", "taken", "resolved", "all"].map((s) =>
          h("option", { value: s, selected: s === state }, t(`fu.state.${s}`)))))),
      h("div", { id: "fu-list" }, h("p", { class: "muted" }, t("loading")))));
    await load();
  }
  async function load() {
    const box = document.getElementById("fu-list");
    if (!box) return;
    const state = document.getElementById("fu-state").value;
    const r = await D.api("GET", `/dashboard/api/followups?state=${encodeURIComponent(state)}`);
    if (!r.ok) return box.replaceChildren(h("p", { class: "error" }, t("failed", { msg: D.errorText(r) })));
    const rows = r.data.followups;
    setCount(r.data.counts);
    if (!rows.length) return box.replaceChildren(h("p", { class: "muted", id: "fu-none" }, t("fu.none")));
    box.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "table", id: "fu-table" },
      h("thead", {}, h("tr", {}, [t("col.order"), t("fu.col.why"), t("fu.col.customer"), t("col.phone"),
        t("fu.col.since"), t("fu.col.state"), t("fu.col.notes"), ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.map((f) => h("tr", { "data-order-id": f.order_id, "data-state": f.state },
        h("td", {}, h("a", { href: `/orders/${encodeURIComponent(f.order_id)}` }, f.order_id)),
        h("td", { "data-reason": f.reason }, REASONS.includes(f.reason) ? t(`fu.reason.${f.reason}`) : f.reason),
        h("td", { class: "wrap" }, [f.customer_name, f.shop_name].filter(Boolean).join(" · ") || "—"),
        h("td", { class: "mono" }, f.phone),
        h("td", {}, D.fmtTime(f.since, true)),
        h("td", { class: "fu-state" }, stateText(f)),
        h("td", {}, String(f.notes)),
        h("td", {}, actions(f, load))))))));
  }
  function setCount(counts) {
    const el = document.getElementById("followups-count");
    if (!el || !counts) return;
    const n = counts.open + counts.taken;
    el.hidden = n === 0;
    el.textContent = String(n);
    el.title = t("fu.count", { n: counts.open });
  }
  let countAt = 0;
  async function refreshCount() {
    if (Date.now() - countAt < 10000) return;
    countAt = Date.now();
    const r = await D.api("GET", "/dashboard/api/followups?state=active&limit=1");
    if (r.ok) setCount(r.data.counts);
  }

  // -- one order: the follow-up card and reopening --------------------------------------------------
  async function orderCard(o) {
    const head = document.getElementById("order-head");
    if (!head) return;
    reopenControls(o);
    const r = await D.api("GET", `/dashboard/api/followups/${encodeURIComponent(o.order_id)}`);
    if (!r.ok) return;
    const f = r.data;
    if (!f.needed && !f.notes_list.length) return;
    const old = document.getElementById("followup");
    const refresh = () => D.loadOrder();
    const res = h("select", { id: "fu-resolution" }, ["done", "cancelled", "unreachable", "no_action"].map((x) =>
      h("option", { value: x }, t(`fu.res.${x}`))));
    const note = h("textarea", { id: "fu-note", rows: "2", maxlength: "2000", placeholder: t("fu.note_ph") });
    const card = h("section", { class: "card", id: "followup", "data-state": f.state },
      h("h2", {}, t("fu.card")),
      h("p", {}, f.needed ? h("b", {}, REASONS.includes(f.reason) ? t(`fu.reason.${f.reason}`) : f.reason) : null,
        f.needed ? " · " : "", h("span", { id: "fu-state-text" }, stateText(f)),
        f.taken_at && f.state === "taken" ? h("span", { class: "muted small" }, ` (${t("fu.taken_at", { at: D.fmtTime(f.taken_at, true) })})`) : null,
        f.state === "resolved" ? h("span", { class: "muted small" },
          ` (${t("fu.resolved_at", { at: D.fmtTime(f.resolved_at, true), res: t(`fu.res.${f.resolution}`) })})`) : null),
      f.needed && D.isAdmin ? h("div", { class: "actions" }, actions(f, refresh)) : null,
      h("h2", {}, t("fu.notes")),
      f.notes_list.length ? h("ul", { class: "plain", id: "fu-notes" }, f.notes_list.map((n) =>
        h("li", { class: "wrap" }, h("span", { class: "muted small" }, `${D.fmtTime(n.at, true)} · ${n.by}: `), n.text)))
        : h("p", { class: "muted" }, t("fu.no_notes")),
      D.isAdmin ? h("div", { class: "fu-form" }, note,
        h("div", { class: "actions" },
          h("button", { id: "fu-add-note", on: { click: async () => {
            if (!note.value.trim()) return;
            const r2 = await D.act("POST", `/dashboard/api/followups/${encodeURIComponent(o.order_id)}/note`, { text: note.value });
            if (r2.ok) refresh();
          } } }, t("fu.note")),
          f.needed && f.state !== "resolved" ? h("label", {}, `${t("fu.resolution")} `, res) : null,
          f.needed && f.state !== "resolved" ? h("button", { id: "fu-resolve", class: "primary", on: { click: () =>
            step(o.order_id, "resolve", note.value.trim() ? { resolution: res.value, note: note.value } : { resolution: res.value }, refresh) } },
          t("fu.resolve")) : null)) : null);
    if (old) old.replaceWith(card);
    else head.after(card);
  }
  function reopenControls(o) {
    const btn = document.getElementById("btn-retry");
    if (!btn) return;
    if (o.status === "calling") { btn.hidden = true; return; }
    if (!FINAL_REOPENABLE.includes(o.status)) {
      if (o.status !== "queued") btn.hidden = true; // confirmed, cancelled, barred: nothing to call
      return;
    }
    const n = h("input", { id: "retry-attempts", type: "number", min: "1", max: "10", value: "1", class: "narrow" });
    const fresh = h("button", { id: "btn-retry", class: "primary", on: { click: async () => {
      const attempts = Number(n.value);
      const r = await D.api("POST", `/dashboard/api/orders/${encodeURIComponent(o.order_id)}/retry`, { attempts });
      if (r.ok) D.toast(t("reopen.done", { n: r.data.attempts }));
      else D.toast(t("failed", { msg: D.errorText(r) }), true);
      D.loadOrder();
    } } }, t("reopen.button"));
    btn.replaceWith(h("span", { class: "reopen", id: "reopen" }, fresh, " ",
      h("label", { class: "small" }, n, ` ${t("reopen.attempts")}`)));
    const hint = h("p", { class: "muted small", id: "reopen-hint" },
      t("reopen.hint", { status: t(`status.${o.status}`), n: (o.reopened || 0) + 1 }));
    document.getElementById("order-actions").after(hint);
  }

  document.addEventListener("dozvon:render", () => {
    if (D.S.page === "followups") page();
    refreshCount();
  });
  document.addEventListener("dozvon:order", (ev) => orderCard(ev.detail));
  document.addEventListener("dozvon:summary", refreshCount);
})();
