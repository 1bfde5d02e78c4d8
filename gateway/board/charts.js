// A component's metrics (/v1/tracking/component/metric/all) as ECharts charts, by FATE's
// metric types: the loss per iteration, and Evaluation's ROC, KS, lift, gain, accuracy,
// precision-recall and, at a threshold of one's choosing, the confusion matrix.
import { h, keyValues } from "./ui.js";

// ECharts loads beside the page's data (async), so a chart waits for it, not the data.
function echartsLoaded() {
  if (typeof window.echarts?.init === "function") return Promise.resolve(window.echarts);
  const script = document.getElementById("chart-library");
  return new Promise((resolve, reject) => {
    script.addEventListener("load", () => resolve(window.echarts));
    script.addEventListener("error", () => reject(new Error("the chart library did not load")));
  });
}

// Draw a chart when it comes near the window: a page of ten charts shows the first ones at
// once and draws the others as they scroll into sight. Resolves to the chart once drawn.
const nearWindow = new Map();
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    observer.unobserve(entry.target);
    nearWindow.get(entry.target)();
    nearWindow.delete(entry.target);
  }
}, { rootMargin: "200px" });

function drawWhenVisible(element, draw) {
  if (element.getBoundingClientRect().top < innerHeight + 200) return Promise.resolve(draw());
  return new Promise((resolve) => {
    nearWindow.set(element, () => resolve(draw()));
    observer.observe(element);
  });
}

const COLOURS = ["#2456c9", "#e8684a", "#1a7f37", "#8250df", "#9a6700"];
// The order cards appear in; types not listed come last, in the order met.
const ORDER = ["LOSS", "EVALUATION_SUMMARY", "ROC_EVALUATION", "KS_EVALUATION", "CONFUSION",
  "PRECISION_RECALL", "LIFT_EVALUATION", "GAIN_EVALUATION", "ACCURACY_EVALUATION", "MULTI"];
const TITLES = {
  LOSS: "Loss", ROC_EVALUATION: "ROC", KS_EVALUATION: "KS", LIFT_EVALUATION: "Lift",
  GAIN_EVALUATION: "Gain", ACCURACY_EVALUATION: "Accuracy", PRECISION_RECALL: "Precision–recall",
  CONFUSION: "Confusion matrix", EVALUATION_SUMMARY: "Evaluation", MULTI: "Precision and recall by class",
};

function lineOption({ series, xName, yName, xMax = null, yMax = null, extra = [], log = false }) {
  return {
    color: COLOURS,
    animation: false,
    grid: { left: 52, right: 18, top: series.length > 1 ? 34 : 16, bottom: 44 },
    tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? v.toFixed(4) : v) },
    legend: series.length > 1 ? { top: 0, icon: "roundRect", itemHeight: 8, data: series.map((one) => one.name) } : undefined,
    xAxis: { type: "value", name: xName, nameLocation: "middle", nameGap: 28, max: xMax, splitLine: { show: false } },
    yAxis: log
      ? { type: "log", name: `${yName} (log scale)`, nameLocation: "middle", nameGap: 40 }
      : { type: "value", name: yName, nameLocation: "middle", nameGap: 40, max: yMax, scale: yMax === null },
    series: [
      ...series.map(({ name, data }) => ({ type: "line", name, data, showSymbol: data.length < 40, symbolSize: 4, lineStyle: { width: 2 } })),
      ...extra,
    ],
  };
}

const diagonal = {
  type: "line", name: "random", data: [[0, 0], [1, 1]], silent: true, showSymbol: false,
  lineStyle: { type: "dashed", width: 1, color: "#b6bec8" }, tooltip: { show: false },
};

const numeric = (points) => points.every(([key]) => typeof key === "number");

// Group the metrics of one namespace into cards: pairs (KS, precision with recall) become one.
function cardsOf(namespace, metrics) {
  const cards = [];
  const pairs = {};
  for (const [name, { data, meta }] of Object.entries(metrics)) {
    const type = meta.metric_type || "";
    if (type === "KS_EVALUATION" || type === "PRECISION_BINARY_EVALUATION" || type === "RECALL_BINARY_EVALUATION") {
      const kind = type === "KS_EVALUATION" ? "KS_EVALUATION" : "PRECISION_RECALL";
      const pair = (pairs[`${kind}/${meta.pair_type}`] ||= { kind, namespace, name: meta.pair_type, parts: {} });
      pair.parts[name.endsWith("_fpr") ? "fpr" : name.endsWith("_tpr") ? "tpr" : type.startsWith("PRECISION") ? "precision" : "recall"] = { data, meta };
    } else if (type === "PRECISION_MULTI_EVALUATION" || type === "RECALL_MULTI_EVALUATION") {
      const pair = (pairs[`MULTI/${meta.pair_type || name}`] ||= { kind: "MULTI", namespace, name: meta.pair_type || name, parts: {} });
      pair.parts[type.startsWith("PRECISION") ? "precision" : "recall"] = { data, meta };
    } else {
      cards.push({ kind: type || "OTHER", namespace, name, parts: { only: { data, meta } } });
    }
  }
  for (const pair of Object.values(pairs)) {
    cards.push(pair);
    if (pair.kind === "KS_EVALUATION" && pair.parts.fpr && pair.parts.tpr) {
      cards.push({ kind: "CONFUSION", namespace, name: pair.name, parts: pair.parts });
    }
  }
  return cards;
}

// What a card is about. Evaluation names its curves after the evaluated component
// ("hetero_lr_0_roc" is hetero_lr_0's ROC) and says which in curve_name; pairs say it in
// pair_type, which is already the card's name.
function subject(card) {
  const meta = card.parts.only ? card.parts.only.meta : {};
  return meta.metric_type !== "EVALUATION_SUMMARY" && meta.curve_name ? meta.curve_name : card.name;
}

// One card's title, the points it draws (for tests and screen readers), and how to draw it.
function describe(card, summaries) {
  const { only, fpr, tpr, precision, recall } = card.parts;
  const summary = summaries[`${card.namespace}/${subject(card)}`] || {};
  switch (card.kind) {
    case "LOSS": {
      // A first step far above the rest (a large learning rate) would flatten the curve.
      const losses = only.data.map(([, v]) => v);
      const log = losses.every((v) => v > 0) && Math.max(...losses) > 20 * Math.min(...losses);
      return { points: only.data.length, option: lineOption({ series: [{ name: "loss", data: only.data }], xName: "iteration", yName: "loss", log }) };
    }
    case "ROC_EVALUATION":
      return {
        note: summary.auc !== undefined ? `AUC ${summary.auc.toFixed(4)}` : "",
        points: only.data.length,
        option: lineOption({ series: [{ name: "ROC", data: only.data }], xName: "false positive rate", yName: "true positive rate", xMax: 1, yMax: 1, extra: [diagonal] }),
      };
    case "KS_EVALUATION": {
      // The summary's KS is computed on every threshold; the curves have 100 buckets.
      const ks = ksPoint(fpr, tpr);
      return {
        note: summary.ks !== undefined ? `KS ${summary.ks.toFixed(4)}` : ks ? `KS ${ks.gap.toFixed(4)}` : "",
        points: tpr.data.length,
        option: lineOption({
          series: [{ name: "tpr", data: tpr.data }, { name: "fpr", data: fpr.data }],
          xName: "share predicted positive", yName: "rate", xMax: 1, yMax: 1,
          extra: ks ? [{ type: "line", name: "KS", data: [[ks.x, ks.fpr], [ks.x, ks.tpr]], lineStyle: { type: "dashed", color: "#cf222e" }, showSymbol: false, tooltip: { show: false } }] : [],
        }),
      };
    }
    case "PRECISION_RECALL": {
      if (!precision || !recall) return null;
      const data = recall.data.map(([, r], i) => [r, precision.data[i][1]]);
      return { points: data.length, option: lineOption({ series: [{ name: "precision", data }], xName: "recall", yName: "precision", xMax: 1, yMax: 1 }) };
    }
    case "LIFT_EVALUATION":
    case "GAIN_EVALUATION":
    case "ACCURACY_EVALUATION": {
      const label = TITLES[card.kind].toLowerCase();
      return {
        points: only.data.length,
        option: lineOption({ series: [{ name: label, data: only.data }], xName: "share predicted positive", yName: label, xMax: 1, extra: card.kind === "GAIN_EVALUATION" ? [diagonal] : [] }),
      };
    }
    case "MULTI": {
      const classes = (precision || recall).data.map(([label]) => String(label));
      return {
        points: classes.length,
        option: {
          color: COLOURS, animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
          grid: { left: 52, right: 18, top: 34, bottom: 44 },
          xAxis: { type: "category", data: classes, name: "class", nameLocation: "middle", nameGap: 28 },
          yAxis: { type: "value", max: 1 },
          series: Object.entries({ precision, recall }).filter(([, part]) => part).map(([name, part]) => ({ type: "bar", name, data: part.data.map(([, v]) => v) })),
        },
      };
    }
    case "CONFUSION":
      return { points: tpr.data.length, element: confusion(fpr, tpr) };
    default: {
      const { data } = only;
      if (data.length > 1 && numeric(data)) {
        return { points: data.length, option: lineOption({ series: [{ name: card.name, data }], xName: only.meta.unit_name || "", yName: only.meta.ordinate_name || "" }) };
      }
      return { points: data.length, element: keyValues(Object.fromEntries(data)) };
    }
  }
}

// Where the KS curves are furthest apart.
function ksPoint(fpr, tpr) {
  let best = null;
  tpr.data.forEach(([x, t], i) => {
    const f = fpr.data[i][1];
    if (!best || t - f > best.gap) best = { x, tpr: t, fpr: f, gap: t - f, threshold: (tpr.meta.thresholds || [])[i] };
  });
  return best;
}

// The confusion matrix at a threshold, as shares of the evaluated rows, from the KS curves:
// at each threshold they give the true and false positive rates and the share predicted
// positive, hence the share of positives, and from those the four cells.
function confusion(fpr, tpr) {
  const thresholds = tpr.meta.thresholds || [];
  const rows = tpr.data.map(([rate, t], i) => ({ rate, tpr: t, fpr: fpr.data[i][1], threshold: thresholds[i] }));
  const widest = rows.reduce((a, b) => (b.tpr - b.fpr > a.tpr - a.fpr ? b : a), rows[0]);
  const positives = (widest.rate - widest.fpr) / (widest.tpr - widest.fpr);
  const percent = (v) => `${(100 * v).toFixed(1)}%`;
  const cells = h("div", { class: "confusion" });
  const caption = h("div", { class: "note" });
  const slider = h("input", { type: "range", min: 0, max: rows.length - 1, value: rows.indexOf(widest), "aria-label": "threshold" });
  const show = () => {
    const row = rows[Number(slider.value)];
    const tp = row.tpr * positives;
    const fn = positives - tp;
    const fp = row.fpr * (1 - positives);
    const tn = 1 - positives - fp;
    const cell = (kind, label, value) => h("div", { class: kind }, h("strong", {}, percent(value)), label);
    cells.replaceChildren(
      h("div", { class: "head" }), h("div", { class: "head" }, "predicted positive"), h("div", { class: "head" }, "predicted negative"),
      h("div", { class: "head" }, "actual positive"), cell("hit", "true positive", tp), cell("miss", "false negative", fn),
      h("div", { class: "head" }, "actual negative"), cell("miss", "false positive", fp), cell("hit", "true negative", tn),
    );
    const precision = tp + fp > 0 ? tp / (tp + fp) : 1;
    caption.textContent = `threshold ${row.threshold} · precision ${precision.toFixed(4)} · recall ${row.tpr.toFixed(4)} · accuracy ${(tp + tn).toFixed(4)} (shares of the ${percent(positives)} positive rows)`;
  };
  slider.addEventListener("input", show);
  show();
  return h("div", {}, slider, caption, cells);
}

// Draw (or redraw, as a running task adds points) every metric into `container`.
export class MetricCharts {
  constructor(container) {
    this.container = container;
    this.cards = new Map();
  }

  async update(metrics) {
    const echarts = await echartsLoaded();
    const summaries = {};
    for (const [namespace, byName] of Object.entries(metrics)) {
      for (const [name, { data, meta }] of Object.entries(byName)) {
        if (meta.metric_type === "EVALUATION_SUMMARY") summaries[`${namespace}/${name}`] = Object.fromEntries(data);
      }
    }
    const cards = Object.entries(metrics).flatMap(([namespace, byName]) => cardsOf(namespace, byName));
    const rank = (card) => (ORDER.indexOf(card.kind) + ORDER.length + 1) % (ORDER.length + 1);
    cards.sort((a, b) => a.namespace.localeCompare(b.namespace) || rank(a) - rank(b) || a.name.localeCompare(b.name));
    for (const card of cards) {
      const key = `${card.namespace}/${card.kind}/${card.name}`;
      const drawn = describe(card, summaries);
      if (!drawn) continue;
      let shown = this.cards.get(key);
      if (!shown) {
        shown = this.create(echarts, card, drawn);
        this.cards.set(key, shown);
      } else if (drawn.option) {
        shown.option = drawn.option;
        shown.chart?.setOption(drawn.option, { notMerge: true });
      }
      shown.box.dataset.points = drawn.points;
      shown.note.textContent = drawn.note || "";
    }
  }

  create(echarts, card, drawn) {
    const title = card.kind === "LOSS" ? `${TITLES.LOSS} · ${card.namespace}`
      : `${TITLES[card.kind] || card.name} · ${card.namespace} · ${subject(card)}`;
    const note = h("span", { class: "note" });
    const body = drawn.option ? h("div", { class: "chart" }) : drawn.element;
    const wide = card.kind === "LOSS" ? " wide" : "";
    const box = h("div", { class: `chart-card${wide}`, "data-metric-type": card.kind, "data-namespace": card.namespace },
      h("h3", {}, title, " ", note), body);
    this.container.append(box);
    const shown = { box, note, option: drawn.option, chart: null };
    if (drawn.option) {
      drawWhenVisible(body, () => {
        shown.chart = echarts.init(body);
        shown.chart.setOption(shown.option);
        new ResizeObserver(() => shown.chart.resize()).observe(body);
      });
    }
    return shown;
  }
}

// A linear model's weights, largest first, as horizontal bars.
export async function weightsChart(element, weights) {
  const echarts = await echartsLoaded();
  const entries = Object.entries(weights).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  element.style.height = `${Math.max(160, 26 * entries.length + 40)}px`;
  return drawWhenVisible(element, () => {
    const chart = echarts.init(element);
    chart.setOption({
      color: COLOURS, animation: false,
      grid: { left: 110, right: 40, top: 10, bottom: 24 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: entries.map(([name]) => name), axisLabel: { width: 100, overflow: "truncate" } },
      series: [{
        type: "bar", data: entries.map(([, value]) => ({ value, itemStyle: { color: value < 0 ? COLOURS[1] : COLOURS[0] } })),
        label: { show: true, position: "right", formatter: ({ value }) => value.toFixed(4), fontSize: 11 },
      }],
    });
    new ResizeObserver(() => chart.resize()).observe(element);
    return chart;
  });
}
