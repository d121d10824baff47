// A stacked bar chart of calls by hour, drawn as plain SVG (no library, works offline).
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const GROUPS = [
    { key: "confirmed", outcomes: ["confirmed"], cls: "g-confirmed" },
    { key: "rejected", outcomes: ["rejected"], cls: "g-rejected" },
    { key: "unclear", outcomes: ["unclear"], cls: "g-unclear" },
    { key: "no_answer", outcomes: ["no_answer", "busy", "machine"], cls: "g-noanswer" },
    { key: "failed", outcomes: ["failed"], cls: "g-failed" },
    { key: "other", outcomes: ["operator", "later", "dnc"], cls: "g-other" },
  ];

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function niceMax(n) {
    if (n <= 4) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(n)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
    return 10 * p;
  }

  // hours: [{hour: 0..23, <outcome>: count, ...}]; label(outcomeKey) -> text.
  window.renderHourChart = function (container, hours, label, currentHour) {
    const W = 720, H = 220, L = 36, R = 8, T = 10, B = 26;
    const cw = (W - L - R) / 24;
    const totals = hours.map((h) =>
      GROUPS.reduce((s, g) => s + g.outcomes.reduce((a, o) => a + (h[o] || 0), 0), 0));
    const max = niceMax(Math.max(0, ...totals));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "hour-chart", role: "img" });
    for (let i = 0; i <= 4; i++) {
      const v = (max / 4) * i;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(el("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" },
        String(Math.round(v * 10) / 10)));
    }
    hours.forEach((h, i) => {
      const x = L + i * cw;
      if (i === currentHour) {
        svg.appendChild(el("rect", { x, y: T, width: cw, height: H - T - B, class: "now" }));
      }
      if (i % 2 === 0) {
        svg.appendChild(el("text", { x: x + cw / 2, y: H - 8, class: "axis",
          "text-anchor": "middle" }, String(h.hour).padStart(2, "0")));
      }
      let acc = 0;
      const parts = [];
      for (const g of GROUPS) {
        const n = g.outcomes.reduce((a, o) => a + (h[o] || 0), 0);
        if (!n) continue;
        const r = el("rect", { x: x + 2, width: cw - 4, y: y(acc + n), height: y(acc) - y(acc + n),
          class: g.cls });
        acc += n;
        parts.push(`${label(g.key)}: ${n}`);
        svg.appendChild(r);
      }
      if (acc) {
        const tip = el("title", {}, `${String(h.hour).padStart(2, "0")}:00 — ${parts.join(", ")}`);
        const hit = el("rect", { x, y: T, width: cw, height: H - T - B, class: "hit" });
        hit.appendChild(tip);
        svg.appendChild(hit);
      }
    });
    const legend = document.createElement("div");
    legend.className = "legend";
    for (const g of GROUPS) {
      const s = document.createElement("span");
      s.innerHTML = `<i class="${g.cls}"></i>`;
      s.appendChild(document.createTextNode(label(g.key)));
      legend.appendChild(s);
    }
    container.replaceChildren(svg, legend);
  };
})();
