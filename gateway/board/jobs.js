// The jobs page: this node's job rows, newest first, filtered and paged by /v1/job/list/job,
// refreshed every few seconds so statuses stay live.
import { call } from "./api.js";
import {
  errorBox, fill, formatDuration, formatTime, h, pageUrl, poll, progressBar, query, ready,
  runTime, statusPill,
} from "./ui.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 3000;
const STATUSES = ["waiting", "running", "success", "failed", "canceled", "timeout"];
const ROLES = ["guest", "host", "arbiter", "local"];

// FATE-Board's links (`index.html#/dashboard?job_id=...&role=...&party_id=...`, the board_url
// of a submitted job) open the job's page.
if (location.hash.startsWith("#/dashboard?")) {
  location.replace(`job.html?${location.hash.slice("#/dashboard?".length)}`);
}

const filters = query();
const page = Math.max(1, Number(filters.get("page")) || 1);
const main = document.getElementById("page");

function dayStart(date) {
  return date ? new Date(`${date}T00:00:00`).getTime() : null;
}

function listRequest() {
  const request = { limit: PAGE_SIZE, page };
  if (filters.get("job_id")) request.job_id = filters.get("job_id");
  if (filters.get("status")) request.status = [filters.get("status")];
  if (filters.get("role")) request.role = [filters.get("role")];
  if (filters.get("party_id")) request.party_id = filters.get("party_id");
  const from = dayStart(filters.get("from"));
  const to = dayStart(filters.get("to"));
  if (from !== null) request.create_time_from = from;
  if (to !== null) request.create_time_to = to + 86_400_000; // the whole "to" day
  return request;
}

function select(name, label, options) {
  return h(
    "label", {}, label,
    h(
      "select", { name },
      h("option", { value: "" }, "any"),
      options.map((option) =>
        h("option", { value: option, selected: filters.get(name) === option }, option),
      ),
    ),
  );
}

function input(name, label, attributes) {
  return h("label", {}, label, h("input", { name, value: filters.get(name) || "", ...attributes }));
}

function filterForm() {
  return h(
    "form", { class: "filters", method: "get", action: "./" },
    input("job_id", "Job id", { placeholder: "any part of it", size: 22 }),
    select("status", "Status", STATUSES),
    select("role", "Role", ROLES),
    input("party_id", "Party", { inputmode: "numeric", pattern: "[0-9]*", size: 7 }),
    input("from", "Created from", { type: "date" }),
    input("to", "to", { type: "date" }),
    h("button", { type: "submit" }, "Filter"),
    h("a", { class: "button secondary", href: "./" }, "Clear"),
  );
}

function jobRow(row) {
  const link = pageUrl("job.html", { job_id: row.f_job_id, role: row.f_role, party_id: row.f_party_id });
  const running = row.f_status === "running";
  return h(
    "tr", { "data-job-id": row.f_job_id, "data-status": row.f_status },
    h("td", {}, h("a", { href: link, class: "mono" }, row.f_job_id)),
    h("td", {}, row.f_role),
    h("td", {}, row.f_party_id),
    h("td", {}, `${row.f_initiator_role} ${row.f_initiator_party_id}`),
    h("td", {}, statusPill(row.f_status), running ? progressBar(row.f_progress) : null),
    h("td", { class: "nowrap" }, formatTime(row.f_create_time)),
    h("td", { class: "nowrap" }, formatDuration(runTime(row))),
    h("td", { class: "muted" }, row.f_description || ""),
  );
}

function pager(count) {
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const link = (n, text) => {
    const search = new URLSearchParams(filters);
    search.set("page", n);
    return h("a", { class: "button secondary", href: `?${search}`, rel: n < page ? "prev" : "next" }, text);
  };
  const first = count ? (page - 1) * PAGE_SIZE + 1 : 0;
  const last = Math.min(count, page * PAGE_SIZE);
  return h(
    "footer", { class: "pager" },
    h("span", { class: "muted" }, `${first}–${last} of ${count.toLocaleString("en")} rows`),
    h(
      "span", {},
      page > 1 ? link(page - 1, "‹ Newer") : null,
      h("span", { class: "muted" }, ` page ${page} of ${pages} `),
      page < pages ? link(page + 1, "Older ›") : null,
    ),
  );
}

const table = h("tbody");
const footer = h("div");
const problem = h("div");

async function refresh() {
  try {
    const { data, meta } = await call("job/list/job", listRequest());
    fill(
      table,
      data.length
        ? data.map(jobRow)
        : h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No job matches these filters.")),
    );
    fill(footer, pager(meta.count));
    fill(problem);
  } catch (error) {
    fill(problem, errorBox(error));
  }
  ready(main);
  return true;
}

fill(
  main,
  h("div", { class: "title" }, h("h1", {}, "Jobs"), h("span", { class: "muted" }, "at this node, newest first")),
  filterForm(),
  problem,
  h(
    "section", { class: "card flush" },
    h(
      "table", { class: "rows", id: "jobs" },
      h(
        "thead", {},
        h("tr", {}, ["Job", "Role", "Party", "Initiator", "Status", "Created", "Elapsed", "Notes"].map((t) => h("th", {}, t))),
      ),
      table,
    ),
    footer,
  ),
);
poll(refresh, REFRESH_MS);
