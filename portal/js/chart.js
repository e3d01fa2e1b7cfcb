// A bar chart in SVG, one colour per series (a service point), with the same numbers in
// a table for screen readers and for copying. No library: a few dozen lines do it.

const NS = "http://www.w3.org/2000/svg";
const SERIES_CLASSES = 4;

function node(name, attributes = {}, text = "") {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text) element.textContent = text;
  return element;
}

function ceiling(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

export function round(value) {
  return Math.round(value * 1000) / 1000;
}

// labels: the x axis; series: [{name, values: [number | null per label]}]; unit: "kWh".
// Drawn at the width it is shown (text at its own size on a phone too), again when that
// width changes.
const drawn = new Map();
let resizing = null;
addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    for (const [svg, [table, options]] of drawn) if (svg.isConnected) drawBars(svg, table, options);
  }, 150);
});

export function drawBars(svg, table, options) {
  drawn.set(svg, [table, options]);
  const { labels, series, unit, caption } = options;
  const width = Math.max(Math.round(svg.parentElement?.clientWidth || 0) || 720, 280);
  const height = width < 500 ? 220 : 280;
  const left = 64;
  const right = 8;
  const top = 22;
  const bottom = 40;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const values = series.flatMap((s) => s.values).filter((v) => typeof v === "number");
  // a meter that sends power back (net export) has negative intervals: drawn below zero
  const max = ceiling(Math.max(0, ...values));
  const lowest = Math.min(0, ...values);
  const min = lowest < 0 ? -ceiling(-lowest) : 0;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const y = (value) => top + plotHeight - ((value - min) / (max - min)) * plotHeight;

  const axis = node("g", { class: "axis", "aria-hidden": "true" });
  for (let i = 0; i <= 4; i += 1) {
    const value = min + ((max - min) * i) / 4;
    axis.append(node("line", { class: "grid", x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    axis.append(node("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, `${round(value)}`));
  }
  axis.append(node("text", { x: left - 6, y: 12, "text-anchor": "end" }, unit));
  const group = plotWidth / Math.max(labels.length, 1);
  const every = Math.ceil(labels.length / Math.max(Math.floor(plotWidth / 64), 2));
  labels.forEach((label, i) => {
    if (i % every === 0) {
      axis.append(node("text", { x: left + group * (i + 0.5), y: height - bottom + 16, "text-anchor": "middle" }, label));
    }
  });
  svg.append(axis);

  const bars = node("g", { class: "bars" });
  const barWidth = (group * 0.8) / Math.max(series.length, 1);
  series.forEach((s, k) => {
    s.values.forEach((value, i) => {
      if (typeof value !== "number") return;
      const bar = node("rect", {
        class: `bar s${k % SERIES_CLASSES}`,
        x: left + group * i + group * 0.1 + barWidth * k,
        y: Math.min(y(value), y(0)),
        width: Math.max(barWidth - 1, 1),
        height: Math.abs(y(0) - y(value)),
        "data-label": labels[i],
        "data-series": s.name,
        "data-value": round(value),
      });
      bar.append(node("title", {}, `${labels[i]}, ${s.name}: ${round(value)} ${unit}`));
      bars.append(bar);
    });
  });
  svg.append(bars);

  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  for (const title of ["", ...series.map((s) => `${s.name} (${unit})`)]) {
    const cell = document.createElement("th");
    cell.scope = "col";
    cell.textContent = title;
    headRow.append(cell);
  }
  head.append(headRow);
  const body = document.createElement("tbody");
  labels.forEach((label, i) => {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = label;
    row.append(name);
    for (const s of series) {
      const cell = document.createElement("td");
      cell.textContent = typeof s.values[i] === "number" ? String(round(s.values[i])) : "–";
      row.append(cell);
    }
    body.append(row);
  });
  const tableCaption = document.createElement("caption");
  tableCaption.className = "note";
  tableCaption.textContent = caption;
  table.replaceChildren(tableCaption, head, body);
}
