// One component of a job at one party: its status, metrics as charts, summary, model, first
// rows of output data, parameters, and its log, followed while the task runs.
import { call, dataOr } from "./api.js";
import { MetricCharts, weightsChart } from "./charts.js";
import {
  END_STATUSES, card, errorBox, fill, formatDuration, formatTime, formatValue, h, keyValues,
  pageUrl, poll, query, ready, runTime, statusPill,
} from "./ui.js";

const REFRESH_MS = 2000;
const OUTPUT_ROWS = 20;
const main = document.getElementById("page");
const params = query();
const ref = {
  job_id: params.get("job_id") || "",
  role: params.get("role") || "",
  party_id: params.get("party_id") || "",
  component_name: params.get("component_name") || "",
};
const LOG = { log_type: "componentInfo", ...ref };

const slots = {
  status: h("span"),
  facts: h("dl", { class: "facts" }),
  problem: h("div"),
  metrics: h("div", { class: "charts" }),
  summary: h("div"),
  model: h("div"),
  data: h("div"),
  parameters: h("div"),
  log: h("pre", { class: "log", id: "log-lines" }),
  following: h("span"),
};
const charts = new MetricCharts(slots.metrics);

// Each section shows what its call returned, or why it could not: one failing call never
// blanks the page. Resolves to whether it could.
async function section(slot, load) {
  try {
    await load();
    return true;
  } catch (error) {
    fill(slot, errorBox(error));
    return false;
  }
}

const empty = (text) => h("p", { class: "muted" }, text);

async function loadTask() {
  const tasks = await dataOr("job/task/query", ref, []);
  const task = tasks.reduce((a, b) => (!a || b.f_task_version > a.f_task_version ? b : a), null);
  const status = task ? task.f_party_status : "waiting";
  fill(slots.status, statusPill(status));
  main.dataset.taskStatus = status;
  fill(
    slots.facts,
    h("div", { class: "fact" }, h("dt", {}, "Party"), h("dd", {}, `${ref.role} ${ref.party_id}`)),
    h("div", { class: "fact" }, h("dt", {}, "Task"), h("dd", { class: "mono" }, task ? `${task.f_task_id} v${task.f_task_version}` : "not started")),
    h("div", { class: "fact" }, h("dt", {}, "Started"), h("dd", {}, task ? formatTime(task.f_start_time) || "not yet" : "")),
    h("div", { class: "fact" }, h("dt", {}, "Elapsed"), h("dd", {}, task ? formatDuration(runTime(task)) : "")),
  );
  return status;
}

async function loadMetrics() {
  const metrics = await dataOr("tracking/component/metric/all", ref, {});
  await charts.update(metrics);
  if (!Object.keys(metrics).length) fill(slots.metrics, empty("This component recorded no metrics here."));
  else slots.metrics.querySelector(":scope > p")?.remove();
}

async function loadSummary() {
  const summary = await dataOr("tracking/component/summary/download", ref, null);
  fill(slots.summary, summary && Object.keys(summary).length ? keyValues(summary) : empty("No summary."));
}

async function loadModel() {
  let answer;
  try {
    answer = await call("tracking/component/output/model", ref);
  } catch (error) {
    if (error.retcode === 101) return fill(slots.model, empty(`No model: ${error.message}`));
    throw error;
  }
  const { data = {}, meta = {} } = answer;
  if (!Object.keys(data).length) return fill(slots.model, empty("This component keeps no model here."));
  const { weight, ...rest } = data;
  // Plain values first, lists and objects after.
  const scalars = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v !== "object" || v === null));
  const others = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v === "object" && v !== null));
  const bars = weight && Object.keys(weight).length ? h("div", { class: "weights", id: "weights" }) : null;
  const values = h("div", {}, h("h3", {}, "Parameters of the model"), keyValues({ ...scalars, ...others }));
  fill(
    slots.model,
    bars ? h("div", { class: "columns even" }, values, h("div", {}, h("h3", {}, `Weights (${Object.keys(weight).length})`), bars)) : values,
    meta.meta_data ? h("details", {}, h("summary", {}, `Model meta (${meta.module_name || ""})`), formatValue(meta.meta_data)) : null,
  );
  if (bars) weightsChart(bars, weight);
}

async function loadData() {
  let answer;
  try {
    answer = await call("tracking/component/output/data", { ...ref, limit: OUTPUT_ROWS });
  } catch (error) {
    if (error.retcode === 101) return fill(slots.data, empty("No output data here."));
    throw error;
  }
  const { names = [], header = [], total = [] } = answer.meta || {};
  if (!names.length) return fill(slots.data, empty("No output data."));
  fill(
    slots.data,
    names.map((name, i) =>
      h("div", { class: "output" },
        h("p", { class: "muted" }, `${name}: first ${answer.data[i].length} of ${total[i]} rows`),
        h("div", { class: "scroll" },
          h("table", { class: "rows data" },
            h("thead", {}, h("tr", {}, header[i].map((column) => h("th", {}, column)))),
            h("tbody", {}, answer.data[i].map((row) => h("tr", {}, row.map((value) => h("td", {}, value === null ? "" : String(value))))))))),
    ),
  );
}

async function loadParameters() {
  const { module, ...parameters } = await dataOr("tracking/component/parameters", ref, {});
  const [values] = Object.values(parameters);
  fill(slots.parameters, values ? keyValues(values) : empty("No parameters here."));
  if (module) fill(slots.module, module);
}

// The log: lines read past the last one shown, so following it costs only the new lines.
let lastLine = 0;
async function loadLog() {
  const lines = (await call("log/cat", { ...LOG, begin: lastLine + 1 })).data;
  if (!lines.length) {
    if (!lastLine) fill(slots.log, h("span", { class: "line muted" }, "  no log lines yet"));
    return;
  }
  if (!lastLine) fill(slots.log);
  const atBottom = slots.log.scrollHeight - slots.log.scrollTop - slots.log.clientHeight < 24;
  for (const { line_num, content } of lines) {
    const level = / ERROR | CRITICAL /.test(content) ? " error" : / WARNING /.test(content) ? " warning" : "";
    slots.log.append(h("div", { class: `line${level}` }, h("span", { class: "n" }, line_num), content));
    lastLine = line_num;
  }
  if (atBottom) slots.log.scrollTop = slots.log.scrollHeight;
}

slots.module = h("span", { class: "muted" });

fill(
  main,
  h("nav", { class: "crumbs" },
    h("a", { href: "./" }, "Jobs"), " › ",
    h("a", { href: pageUrl("job.html", { job_id: ref.job_id, role: ref.role, party_id: ref.party_id }), class: "mono" }, ref.job_id),
    " › ", ref.component_name),
  h("div", { class: "title" }, h("h1", {}, ref.component_name), slots.module, slots.status),
  slots.problem,
  h("section", { class: "card" }, slots.facts),
  h("nav", { class: "sections" }, ["Metrics", "Summary", "Model", "Output data", "Parameters", "Log"].map((name) =>
    h("a", { href: `#${name.toLowerCase().replace(" ", "-")}` }, name))),
  card("Metrics", slots.metrics, { id: "metrics" }),
  card("Summary", slots.summary, { id: "summary" }),
  card("Model", slots.model, { id: "model" }),
  card("Output data", slots.data, { id: "output-data" }),
  card("Parameters", slots.parameters, { id: "parameters" }),
  card("Log", slots.log, { id: "log", actions: [slots.following] }),
);

// Everything once; then, while the task runs, its status, metrics and log, and everything
// once more when it ends (its model, summary and output appear then).
// Resolves to the task's status, or null when the API refuses the component's log (no such
// job or component here): then there is nothing to follow.
async function loadAll() {
  let status = "waiting";
  const [, , , , , , logged] = await Promise.all([
    section(slots.problem, async () => { status = await loadTask(); }),
    section(slots.metrics, loadMetrics),
    section(slots.summary, loadSummary),
    section(slots.model, loadModel),
    section(slots.data, loadData),
    section(slots.parameters, loadParameters),
    section(slots.log, loadLog),
  ]);
  ready(main);
  return logged ? status : null;
}

async function follow() {
  let status = "waiting";
  await Promise.all([
    section(slots.problem, async () => { status = await loadTask(); }),
    section(slots.metrics, loadMetrics),
    section(slots.log, loadLog),
  ]);
  if (END_STATUSES.has(status)) {
    fill(slots.following);
    await loadAll();
    return false;
  }
  return true;
}

const first = await loadAll();
if (first && !END_STATUSES.has(first)) {
  fill(slots.following, h("span", { class: "following" }, "following"));
  setTimeout(() => poll(follow, REFRESH_MS), REFRESH_MS);
}
