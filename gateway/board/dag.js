// A job's DAG as SVG, laid out in layers from FATE's dependency view
// (/v1/pipeline/dag/dependency): each component one layer below its lowest upstream one.
// Nodes carry data-component and data-status, which `paint` updates as the job runs.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 184;
const HEIGHT = 54;
const GAP_X = 36;
const GAP_Y = 58;
const MARGIN = 12;

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

// Positions of the components: layers top to bottom; in each layer, ordered by where their
// upstream components are (fewer crossings), then as the DSL lists them.
export function layout(view) {
  const names = view.component_list;
  const upstream = new Map(names.map((name) => [name, []]));
  for (const [name, edges] of Object.entries(view.dependencies || {})) {
    for (const edge of edges) upstream.get(name)?.push(edge);
  }
  const layer = new Map();
  const depth = (name) => {
    if (!layer.has(name)) {
      layer.set(name, 0); // guards against a cycle, which a checked DSL never has
      const above = upstream.get(name).map((edge) => depth(edge.component_name) + 1);
      layer.set(name, Math.max(0, ...above));
    }
    return layer.get(name);
  };
  names.forEach(depth);
  const rows = [];
  for (const name of names) (rows[layer.get(name)] ||= []).push(name);
  const column = new Map();
  for (const row of rows) {
    const centre = (name) => {
      const xs = upstream.get(name).map((edge) => column.get(edge.component_name));
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : names.indexOf(name);
    };
    row.sort((a, b) => centre(a) - centre(b) || names.indexOf(a) - names.indexOf(b));
    row.forEach((name, index) => column.set(name, index - (row.length - 1) / 2));
  }
  const widest = Math.max(...rows.map((row) => row.length));
  const width = widest * WIDTH + (widest - 1) * GAP_X + 2 * MARGIN;
  const positions = new Map();
  for (const name of names) {
    positions.set(name, {
      x: width / 2 + column.get(name) * (WIDTH + GAP_X) - WIDTH / 2,
      y: MARGIN + layer.get(name) * (HEIGHT + GAP_Y),
    });
  }
  const height = 2 * MARGIN + rows.length * HEIGHT + (rows.length - 1) * GAP_Y;
  return { positions, upstream, width, height };
}

// The DAG's SVG; `linkOf(name)` gives each component's page.
export function drawDag(view, linkOf) {
  const { positions, upstream, width, height } = layout(view);
  const svg = s("svg", {
    class: "dag",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": "the job's components and how their data and models flow",
  });
  svg.append(
    s(
      "defs", {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })),
    ),
  );
  for (const [name, edges] of upstream) {
    const to = positions.get(name);
    for (const edge of edges) {
      const from = positions.get(edge.component_name);
      const shift = edge.type === "model" ? 10 : 0;
      const x1 = from.x + WIDTH / 2 + shift;
      const y1 = from.y + HEIGHT;
      const x2 = to.x + WIDTH / 2 + shift;
      const y2 = to.y - 2;
      const bend = (y2 - y1) / 2;
      svg.append(
        s("path", {
          class: `edge edge-${edge.type}`,
          d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`,
          "marker-end": "url(#arrow)",
        }, s("title", {}, `${edge.component_name} → ${name} (${edge.type})`)),
      );
    }
  }
  for (const name of view.component_list) {
    const { x, y } = positions.get(name);
    const module = (view.component_module || {})[name] || "";
    const node = s(
      "g",
      { class: "dag-node", transform: `translate(${x},${y})`, "data-component": name },
      s("rect", { width: WIDTH, height: HEIGHT, rx: 8 }),
      s("circle", { class: "dot", cx: 16, cy: HEIGHT / 2, r: 5 }),
      s("text", { class: "name", x: 30, y: 22 }, name),
      s("text", { class: "detail", x: 30, y: 40 }, module),
    );
    svg.append(s("a", { href: linkOf(name) }, node));
  }
  return svg;
}

// Colour each component by its status; `statuses` maps names to a status, or to "skipped"
// for a component this party does not run.
export function paint(svg, view, statuses) {
  for (const node of svg.querySelectorAll(".dag-node")) {
    const name = node.dataset.component;
    const status = statuses[name] || "waiting";
    node.dataset.status = status;
    node.setAttribute("class", `dag-node status-${status}`);
    const module = (view.component_module || {})[name] || "";
    node.querySelector(".detail").textContent = `${module} · ${status}`;
  }
}
