// A small SVG line chart of the console's throughput buckets: no library, scales to its box; and
// the SVG element and stat tile helpers the other panels share.

import { h } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const SERIES = [
  ["submitted", (b) => b.submitted],
  ["succeeded", (b) => b.succeeded],
  ["failed", (b) => b.failed],
  ["depth", (b) => b.queued_estimate],
];
const W = 600;
const H = 160;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };

/** An SVG element with these attributes (and text). */
export function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text != null) node.textContent = text;
  return node;
}

function clock(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Draw ``body.buckets`` (GET /api/v1/admin/throughput) into ``box``; ``emptyText`` when all are zero. */
export function renderChart(box, body, emptyText) {
  const buckets = body.buckets || [];
  const top = Math.max(1, ...buckets.flatMap((b) => SERIES.map(([, value]) => value(b))));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", class: "chart-svg" });
  const x = (i) => PAD.left + (i * (W - PAD.left - PAD.right)) / Math.max(1, buckets.length - 1);
  const y = (v) => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / top;
  for (const v of [0, Math.ceil(top / 2), top]) {
    svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(el("text", { x: PAD.left - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, v));
  }
  const ticks = [0, Math.floor(buckets.length / 2), buckets.length - 1].filter((i) => buckets[i]);
  for (const i of new Set(ticks)) {
    svg.append(el("text", { x: x(i), y: H - 4, class: "axis", "text-anchor": "middle" }, clock(buckets[i].start)));
  }
  for (const [name, value] of SERIES) {
    const points = buckets.map((b, i) => `${x(i).toFixed(1)},${y(value(b)).toFixed(1)}`).join(" ");
    svg.append(el("polyline", { points, class: `series ${name}`, "data-series": name }));
  }
  const empty = buckets.every((b) => SERIES.every(([, value]) => value(b) === 0));
  box.replaceChildren(svg);
  if (empty && emptyText) box.append(Object.assign(document.createElement("p"), { className: "muted small chart-empty", textContent: emptyText }));
}

/** A stat tile (value over its label), as the queue, wallet and usage panels show them. */
export function statTile(name, value, label) {
  return h("div", { class: "stat", dataset: { stat: name } }, h("span", { class: "value" }, value), h("span", { class: "label" }, label));
}
