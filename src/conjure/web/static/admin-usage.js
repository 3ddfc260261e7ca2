// The console's usage and cost panel: the last 30 days' totals (jobs, success rate, what the
// providers cost, what the stars earned, the margin), a bar per day of cost and revenue, and the
// same report as CSV (GET /api/v1/admin/reports/usage).

import { api, authHeaders, h, say } from "./api.js";
import { el, statTile } from "./admin-chart.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const DAYS = 30;
const W = 600;
const H = 150;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

const dayLabel = (day) =>
  new Date(`${day}T12:00:00Z`).toLocaleDateString(document.documentElement.lang === "th" ? "th-TH" : "en-GB", { day: "numeric", month: "short" });
// Cents, or four places for sums under a cent (a day of cheap model calls is not $0.00).
const usd = (value) => `$${Number(value).toFixed(Math.abs(value) > 0 && Math.abs(value) < 0.01 ? 4 : 2)}`;

function range() {
  const end = new Date();
  end.setUTCHours(24, 0, 0, 0); // the end of today (UTC), so today is a whole bar
  const start = new Date(end.getTime() - DAYS * 86_400_000);
  return { start: start.toISOString(), end: end.toISOString() };
}

/** A bar pair per day: provider cost and revenue, on one scale. */
function bars(box, body) {
  const byDay = new Map(body.rows.map((r) => [r.group.day, r]));
  // Every UTC day the period touches (its end is exclusive), so a day without jobs is a gap.
  const days = [];
  const last = new Date(new Date(body.end).getTime() - 1).toISOString().slice(0, 10);
  for (let d = new Date(`${body.start.slice(0, 10)}T00:00:00Z`); d.toISOString().slice(0, 10) <= last; d = new Date(d.getTime() + 86_400_000)) {
    days.push(d.toISOString().slice(0, 10));
  }
  const top = Math.max(0.01, ...body.rows.flatMap((r) => [r.provider_cost_usd, r.revenue_usd]));
  const slot = (W - PAD.left - PAD.right) / Math.max(1, days.length);
  const y = (v) => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / top;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", class: "chart-svg" });
  for (const v of [0, top / 2, top]) {
    svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(el("text", { x: PAD.left - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, usd(v)));
  }
  days.forEach((day, i) => {
    const row = byDay.get(day);
    const x = PAD.left + i * slot;
    for (const [n, name, value] of [[0, "cost", row?.provider_cost_usd || 0], [1, "revenue", row?.revenue_usd || 0]]) {
      if (!value) continue;
      const bar = el("rect", { x: x + slot * (0.1 + n * 0.4), width: slot * 0.38, y: y(value), height: y(0) - y(value), class: `bar ${name}` });
      bar.append(el("title", {}, `${day}: ${t(`console.usage.${name}`)} ${usd(value)}`));
      svg.append(bar);
    }
  });
  for (const i of [0, days.length - 1]) {
    svg.append(el("text", { x: PAD.left + (i + 0.5) * slot, y: H - 4, class: "axis", "text-anchor": i ? "end" : "start" }, dayLabel(days[i])));
  }
  box.replaceChildren(svg);
  if (!body.rows.length) box.append(h("p", { class: "muted small chart-empty" }, t("console.usage.empty")));
}

export async function refreshUsage() {
  try {
    const { start, end } = range();
    const body = await api(`/api/v1/admin/reports/usage?group_by=day&from=${encodeURIComponent(start)}&to=${encodeURIComponent(end)}`);
    const total = body.total;
    $("usage-stats").replaceChildren(
      statTile("jobs", String(total.jobs), t("console.usage.jobs")),
      statTile("success_rate", total.success_rate == null ? "–" : `${Math.round(total.success_rate * 100)}%`, t("console.usage.success")),
      statTile("provider_cost_usd", usd(total.provider_cost_usd), t("console.usage.cost")),
      statTile("revenue_usd", usd(total.revenue_usd), t("console.usage.revenue")),
      statTile("margin_usd", usd(total.margin_usd), t("console.usage.margin")),
    );
    bars($("usage-chart"), body);
    say($("usage-msg"), "");
  } catch {
    say($("usage-msg"), t("console.usage.failed"));
  }
}

async function downloadCsv() {
  const { start, end } = range();
  const url = `/api/v1/admin/reports/usage?group_by=day,kind&format=csv&from=${encodeURIComponent(start)}&to=${encodeURIComponent(end)}`;
  const resp = await fetch(url, { headers: authHeaders() });
  if (!resp.ok) return say($("usage-msg"), t("console.usage.failed"));
  const link = h("a", { href: URL.createObjectURL(await resp.blob()), download: `usage-${start.slice(0, 10)}-${end.slice(0, 10)}.csv` });
  link.click();
  URL.revokeObjectURL(link.href);
}

export function initUsage() {
  $("usage-csv").addEventListener("click", downloadCsv);
}
