// Small DOM helpers shared by the pages. Text from the API always goes in as text, never as
// HTML, so a job name or a log line cannot inject markup.

export const END_STATUSES = new Set(["success", "failed", "canceled", "timeout"]);

// h("a", {href: "x", class: "link"}, "text", child): an element with attributes and children.
// `on` maps event names to handlers; null and false children are skipped.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

// Replace everything in `element` with `children`.
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function query() {
  return new URLSearchParams(location.search);
}

// A link to another board page with the given query fields.
export function pageUrl(page, fields) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  return `${page}?${search}`;
}

export function statusPill(status) {
  return h("span", { class: `pill status-${status}` }, status);
}

export function progressBar(percent) {
  return h(
    "span",
    { class: "progress", title: `${percent}%` },
    h("span", { style: `width: ${Math.max(0, Math.min(100, percent))}%` }),
  );
}

const pad = (n) => String(n).padStart(2, "0");

// Epoch milliseconds as local "YYYY-MM-DD HH:MM:SS", or "HH:MM:SS" alone; "" for none.
export function formatTime(ms, { clockOnly = false } = {}) {
  if (!ms) return "";
  const t = new Date(Number(ms));
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return clockOnly ? clock : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${clock}`;
}

// Milliseconds as "850 ms", "48.4 s", "12 min 05 s", "3 h 02 min"; "" for none.
export function formatDuration(ms) {
  if (ms === null || ms === undefined || ms === "") return "";
  ms = Number(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${pad(Math.floor((ms % 60_000) / 1000))} s`;
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

// A job's or task's run time: its elapsed time once ended, the time since it started while it
// runs, nothing before it starts.
export function runTime(row, now = Date.now()) {
  if (row.f_elapsed !== undefined && row.f_elapsed !== null) return Number(row.f_elapsed);
  if (row.f_start_time) return Math.max(0, now - Number(row.f_start_time));
  return null;
}

export function errorBox(error) {
  const where = error.route ? ` (/v1/${error.route}` + (error.retcode > 0 ? `, retcode ${error.retcode})` : ")") : "";
  return h("div", { class: "error", role: "alert" }, `${error.message}${where}`);
}

// A table of key/value pairs, by key; values that are objects show as JSON.
export function keyValues(object) {
  return h(
    "table",
    { class: "kv" },
    h(
      "tbody",
      {},
      Object.entries(object).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) =>
        h("tr", {}, h("th", {}, key), h("td", {}, formatValue(value))),
      ),
    ),
  );
}

// A value for people: short JSON on one line, lists of numbers as rounded numbers, the rest
// as indented JSON.
export function formatValue(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "none");
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value) && value.length > 4 && value.every((v) => typeof v === "number")) {
    const shown = value.map((v) => (Number.isInteger(v) ? v : Number(v.toPrecision(4)))).join(", ");
    return h("span", { class: "numbers" }, h("span", { class: "muted" }, `${value.length} values: `), shown);
  }
  const line = JSON.stringify(value);
  if (line.length <= 90) return h("code", {}, line);
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function jsonBlock(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

// The page has drawn what it first asked for: tests and the benchmark wait for this mark.
export function ready(main) {
  if (main.getAttribute("aria-busy") === "false") return;
  main.setAttribute("aria-busy", "false");
  performance.mark("board-ready");
}

// Call `step` now and then every `intervalMs` while it resolves to true; a hidden tab skips its
// turns. Errors are shown by `step` itself; a failed turn is tried again at the next one.
export function poll(step, intervalMs) {
  let timer = null;
  const run = async () => {
    let again = true;
    if (!document.hidden) {
      try {
        again = await step();
      } catch (error) {
        console.error(error);
      }
    }
    if (again) timer = setTimeout(run, intervalMs);
  };
  run();
  return () => clearTimeout(timer);
}

// The card that wraps each section of a page: a title, optional actions, the content.
export function card(title, content, { id = null, actions = [] } = {}) {
  return h(
    "section",
    { class: "card", id },
    h("header", {}, h("h2", {}, title), h("div", { class: "actions" }, actions)),
    content,
  );
}
