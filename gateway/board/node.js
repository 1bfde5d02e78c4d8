// The node: its party, the versions it runs, and each party it has a route to, asked through
// the proxies whether it answers.
import { call } from "./api.js";
import { card, errorBox, fill, h, keyValues, ready } from "./ui.js";

const main = document.getElementById("page");
const versions = h("div");
const parties = h("div");
const recheck = h("button", { class: "secondary", id: "recheck" }, "Check again");

function linkRow(link, isDefault = false) {
  const state = isDefault ? h("span", { class: "muted" }, "not checked")
    : h("span", { class: `pill status-${link.reachable ? "reachable" : "unreachable"}` }, link.reachable ? "reachable" : "unreachable");
  return h(
    "tr", { "data-party-id": link.party_id, "data-reachable": String(Boolean(link.reachable)) },
    h("td", {}, isDefault ? "any other party" : String(link.party_id)),
    h("td", { class: "mono" }, link.address),
    h("td", {}, link.tls),
    h("td", {}, link.proof),
    h("td", {}, state),
    h("td", { class: "number" }, link.reachable ? `${link.latency_ms.toFixed(1)} ms` : ""),
    h("td", {}, link.version || ""),
    h("td", { class: "muted" }, link.error || ""),
  );
}

async function loadParties() {
  recheck.disabled = true;
  try {
    const node = (await call("node/parties")).data;
    fill(
      parties,
      h("p", {}, "This node is party ", h("strong", {}, String(node.party_id)), `, running fateflow-grpc ${node.version}.`),
      h("table", { class: "rows", id: "parties" },
        h("thead", {}, h("tr", {}, ["Party", "Proxy address", "TLS", "Proof of party", "Status", "Round trip", "Version", "Error"].map((t) => h("th", {}, t)))),
        h("tbody", {},
          node.parties.length || node.default_route ? null : h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No route to another party.")),
          node.parties.map((link) => linkRow(link)),
          node.default_route ? linkRow(node.default_route, true) : null)),
    );
  } catch (error) {
    fill(parties, errorBox(error));
  }
  recheck.disabled = false;
}

async function loadVersions() {
  try {
    fill(versions, keyValues((await call("version/get")).data));
  } catch (error) {
    fill(versions, errorBox(error));
  }
}

recheck.addEventListener("click", loadParties);
fill(
  main,
  h("div", { class: "title" }, h("h1", {}, "Node")),
  card("Parties", parties, { id: "parties-card", actions: [recheck] }),
  card("Versions", versions, { id: "versions" }),
);
await Promise.all([loadParties(), loadVersions()]);
ready(main);
