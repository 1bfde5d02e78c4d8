// One job at one party: its status and times, its DAG coloured by each component's status at
// this party, its tasks, its DSL and conf. It follows the job until it ends.
import { call, dataOr } from "./api.js";
import { drawDag, paint } from "./dag.js";
import {
  END_STATUSES, card, errorBox, fill, formatDuration, formatTime, h, jsonBlock, pageUrl, poll,
  progressBar, query, ready, runTime, statusPill,
} from "./ui.js";

const REFRESH_MS = 2000;
const main = document.getElementById("page");
const params = query();
const jobId = params.get("job_id") || "";

// This party's row of the job: the one asked for, else the initiator's, else the first.
function pickRow(rows) {
  const role = params.get("role");
  const party = params.get("party_id");
  return (
    rows.find((row) => row.f_role === role && row.f_party_id === party) ||
    rows.find((row) => row.f_is_initiator) ||
    rows[0]
  );
}

// The newest version of each component's task.
function newestTasks(tasks) {
  const newest = {};
  for (const task of tasks) {
    const seen = newest[task.f_component_name];
    if (!seen || task.f_task_version > seen.f_task_version) newest[task.f_component_name] = task;
  }
  return newest;
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value));
}

function rolesText(roles) {
  return Object.entries(roles || {}).map(([role, ids]) => `${role} ${ids.join(", ")}`).join(" · ");
}

const slots = {
  status: h("span"),
  facts: h("dl", { class: "facts" }),
  actions: h("div", { class: "actions" }),
  problem: h("div"),
  dag: h("div", { class: "dag-box" }),
  tasks: h("tbody"),
};
let view = null;
let svg = null;

function renderJob(row, rows) {
  document.title = `Job ${row.f_job_id} · fateflow-grpc board`;
  const running = row.f_status === "running";
  fill(slots.status, statusPill(row.f_status), running ? progressBar(row.f_progress) : null,
    running ? h("span", { class: "muted" }, ` ${row.f_progress}%`) : null);
  const others = rows.filter((other) => other !== row).map((other) =>
    h("a", { href: pageUrl("job.html", { job_id: jobId, role: other.f_role, party_id: other.f_party_id }) },
      `${other.f_role} ${other.f_party_id}`));
  fill(
    slots.facts,
    fact("Party", `${row.f_role} ${row.f_party_id}`),
    fact("Initiator", `${row.f_initiator_role} ${row.f_initiator_party_id}`),
    fact("Roles", rolesText(row.f_roles)),
    fact("Created", formatTime(row.f_create_time)),
    fact("Started", formatTime(row.f_start_time) || "not yet"),
    fact("Ended", formatTime(row.f_end_time) || (END_STATUSES.has(row.f_status) ? "" : "not yet")),
    fact("Elapsed", formatDuration(runTime(row)) || "not started"),
    others.length ? fact("Also here as", others.flatMap((a, i) => (i ? [", ", a] : [a]))) : null,
    row.f_description ? fact("Notes", row.f_description) : null,
  );
  fill(slots.actions, stopButton(row));
}

// FATE stops a job at its initiator only: elsewhere the button says so instead of acting.
function stopButton(row) {
  if (END_STATUSES.has(row.f_status)) return null;
  const initiator = `${row.f_initiator_role} ${row.f_initiator_party_id}`;
  return h(
    "button",
    {
      class: "danger",
      id: "stop",
      disabled: !row.f_is_initiator,
      title: row.f_is_initiator ? "stop the job at every party" : `only the initiator, ${initiator}, can stop this job`,
      on: {
        click: async (event) => {
          if (!confirm(`Stop job ${jobId} at every party?`)) return;
          event.target.disabled = true;
          try {
            await call("job/stop", { job_id: jobId });
            fill(slots.problem);
          } catch (error) {
            fill(slots.problem, errorBox(error));
          }
          refresh();
        },
      },
    },
    "Stop job",
  );
}

function renderTasks(row, newest) {
  const names = view ? view.component_list : Object.keys(newest);
  fill(
    slots.tasks,
    names.map((name) => {
      const task = newest[name];
      const runsHere = !view || view.component_need_run[name];
      const link = pageUrl("component.html", { job_id: jobId, role: row.f_role, party_id: row.f_party_id, component_name: name });
      return h(
        "tr", { "data-component": name },
        h("td", {}, h("a", { href: link }, name)),
        h("td", {}, view ? view.component_module[name] : ""),
        h("td", {}, task ? statusPill(task.f_party_status) : h("span", { class: "muted" }, runsHere ? "not started" : "not run here")),
        h("td", {}, task ? String(task.f_task_version) : ""),
        h("td", { class: "nowrap", title: task ? formatTime(task.f_start_time) : null }, task ? formatTime(task.f_start_time, { clockOnly: true }) : ""),
        h("td", { class: "nowrap" }, task ? formatDuration(runTime(task)) : ""),
      );
    }),
  );
  if (svg) {
    const statuses = {};
    for (const name of view.component_list) {
      statuses[name] = newest[name] ? newest[name].f_party_status : view.component_need_run[name] ? "waiting" : "skipped";
    }
    paint(svg, view, statuses);
  }
}

let row = null;
let newest = {};

// The job's rows here and this party's tasks, at once when the address names the party.
async function refresh() {
  try {
    const named = params.get("role") && params.get("party_id");
    const tasksOf = (role, party_id) => dataOr("job/task/query", { job_id: jobId, role, party_id }, []);
    const [rows, namedTasks] = await Promise.all([
      call("job/query", { job_id: jobId }).then((answer) => answer.data),
      named ? tasksOf(params.get("role"), params.get("party_id")) : null,
    ]);
    if (!rows.length) {
      fill(main, errorBox({ message: `No job ${jobId} at this node.` }));
      return false;
    }
    row = pickRow(rows);
    const chosen = row.f_role === params.get("role") && row.f_party_id === params.get("party_id");
    newest = newestTasks(chosen ? namedTasks : await tasksOf(row.f_role, row.f_party_id));
    renderJob(row, rows);
    renderTasks(row, newest);
    main.dataset.jobStatus = row.f_status;
  } catch (error) {
    fill(slots.problem, errorBox(error));
  }
  return !row || !END_STATUSES.has(row.f_status);
}

async function loadDag(role, party_id) {
  try {
    view = (await call("pipeline/dag/dependency", { job_id: jobId, role, party_id })).data;
    svg = drawDag(view, (name) => pageUrl("component.html", { job_id: jobId, role, party_id, component_name: name }));
    fill(slots.dag, svg);
  } catch (error) {
    fill(slots.dag, errorBox(error));
  }
}

async function start() {
  fill(
    main,
    h("nav", { class: "crumbs" }, h("a", { href: "./" }, "Jobs"), " › ", h("span", { class: "mono" }, jobId)),
    h("div", { class: "title" }, h("h1", { class: "mono" }, jobId), slots.status, slots.actions),
    slots.problem,
    h("section", { class: "card" }, slots.facts),
    h("div", { class: "columns" },
      card("DAG", slots.dag, { id: "dag" }),
      card("Tasks at this party", h("table", { class: "rows" },
        h("thead", {}, h("tr", {}, ["Component", "Module", "Status", "Version", "Started", "Elapsed"].map((t) => h("th", {}, t)))),
        slots.tasks), { id: "tasks" }),
    ),
  );
  // The DAG does not change: asked once, beside the rows when the address names the party.
  const named = params.get("role") && params.get("party_id");
  const [more] = await Promise.all([
    refresh(),
    named ? loadDag(params.get("role"), params.get("party_id")) : null,
  ]);
  if (!row) return ready(main);
  if (!named || row.f_role !== params.get("role") || row.f_party_id !== params.get("party_id")) {
    await loadDag(row.f_role, row.f_party_id);
  }
  renderTasks(row, newest);
  main.append(
    h("div", { class: "columns even" },
      card("DSL", jsonBlock(row.f_dsl), { id: "dsl" }),
      card("Runtime conf", jsonBlock(row.f_runtime_conf), { id: "conf" })),
  );
  ready(main);
  if (more) setTimeout(() => poll(refresh, REFRESH_MS), REFRESH_MS);
}

start();
