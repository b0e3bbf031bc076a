// The /ui/ page: play an incident over the OpenEnv WebSocket (/ws, one episode per tab).
// Static data comes from GET /tasks?include=generated (the four tasks and the generated
// tiers, which take a seed and a split) and GET /environment; everything about the episode
// (reset, step, state, the live grade and the baseline's suggestion, both as MCP tools)
// goes over this tab's own WebSocket session. No framework, no build step.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (selector) => document.querySelector(selector);
/** The task list: the four original tasks, then the generated tiers (with their splits). */
const TASKS_URL = "/tasks?include=generated";

/** Create an element; children are nodes or strings (always set as text, never HTML). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const fixed3 = (value) => (typeof value === "number" ? value.toFixed(3) : "–");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the WebSocket session

/** One OpenEnv session: strict request/reply in order, so replies match a FIFO of waiters. */
class Session {
  constructor(onStatus) {
    this.socket = null;
    this.waiting = [];
    this.nextId = 1;
    this.onStatus = onStatus;
  }

  async open() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", () => reject(new Error("could not open /ws")), { once: true });
    });
    socket.addEventListener("message", (event) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(JSON.parse(event.data));
    });
    socket.addEventListener("close", (event) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error("session closed"));
      this.socket = null;
      this.onStatus(`session closed (${event.code}${event.reason ? ": " + event.reason : ""}); Start reconnects`, "closed");
    });
    this.socket = socket;
    this.onStatus("connected: this tab's own episode over /ws", "open");
  }

  /** Send one message and wait for its reply frame. */
  request(message) {
    if (!this.socket) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.send(JSON.stringify(message));
    });
  }

  /** Call an MCP tool on this session (`grader`, `baseline`); returns its structured result. */
  async tool(name, args = {}) {
    const id = this.nextId++;
    const reply = await this.request({
      type: "mcp",
      data: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } },
    });
    const result = reply.type === "mcp" ? reply.data.result : null;
    if (!result || result.isError) throw new Error(`tool ${name} failed: ${JSON.stringify(reply.data)}`);
    return result.structuredContent;
  }
}

// ---------------------------------------------------------------- page state

const game = {
  environment: null,
  tasks: [],
  session: null,
  episode: null, // {task, seed, split, initial, steps: [...], state, grade, final}
  selected: null,
  busy: false,
  auto: false,
  refocus: null, // the control to focus again once it is enabled
  logs: null, // {step, label, logs}
  metrics: null, // {step, label, metrics}
  episodes: [], // finished or running episodes, for the replay view
};

function setStatus(text, kind) {
  const node = $("#connection");
  node.textContent = text;
  node.dataset.state = kind;
}

function actionLabel(action) {
  const args = [action.service, action.diagnosis, action.fix].filter(Boolean);
  return `${action.action_type}(${args.join(", ")})`;
}

// ---------------------------------------------------------------- the dependency graph

/** Layer each service by its longest path from a service nobody depends on. */
function layout(summaries, width, height) {
  const dependsOn = new Map(summaries.map((s) => [s.service_name, s.depends_on || []]));
  const depth = new Map();
  const visit = (name, seen) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    let best = 0;
    for (const [other, deps] of dependsOn) if (deps.includes(name)) best = Math.max(best, visit(other, seen) + 1);
    depth.set(name, best);
    return best;
  };
  for (const s of summaries) visit(s.service_name, new Set());
  const layers = [];
  for (const s of summaries) (layers[depth.get(s.service_name)] ||= []).push(s.service_name);
  const positions = new Map();
  const rows = Math.max(layers.length, 1);
  layers.forEach((names, row) => {
    const spacing = Math.min(width / names.length, 210);
    names.forEach((name, column) => {
      const x = width / 2 + (column - (names.length - 1) / 2) * spacing;
      const y = rows === 1 ? height / 2 : 36 + (row * (height - 72)) / (rows - 1);
      positions.set(name, { x, y, row });
    });
  });
  return positions;
}

function alertCounts(alerts) {
  const counts = new Map();
  for (const alert of alerts || []) counts.set(alert.service, (counts.get(alert.service) || 0) + 1);
  return counts;
}

/** Draw the services into `target`; `onPick(name)` makes each node a keyboard-usable button. */
function drawGraph(target, observation, onPick, selected) {
  target.replaceChildren();
  if (!observation) return;
  const summaries = observation.service_summaries || [];
  // Narrow screens get a narrower drawing, so the names stay readable.
  const drawn = target.getBoundingClientRect().width;
  const [width, height] = drawn && drawn < 560 ? [360, 460] : [640, 400];
  target.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const positions = layout(summaries, width, height);
  const counts = alertCounts(observation.active_alerts);
  const [w, h] = [width < 640 ? 162 : 150, 54];
  const defs = svg("defs");
  const marker = svg("marker", { id: `${target.id}-arrow`, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "edge-head" }));
  defs.append(marker);
  target.append(defs);
  for (const service of summaries) {
    const from = positions.get(service.service_name);
    for (const dependency of service.depends_on || []) {
      const to = positions.get(dependency);
      if (!from || !to) continue;
      const [x1, y1, x2, y2] = [from.x, from.y + h / 2, to.x, to.y - h / 2 - 2];
      // An edge that skips a row bends around the row between, outward from the centre.
      const skips = to.row - from.row > 1;
      const side = from.x >= width / 2 ? 1 : -1;
      const between = [...positions.values()].filter((p) => p.row > from.row && p.row < to.row).map((p) => p.x + (side * w) / 2);
      const extent = side > 0 ? Math.max(...between) : Math.min(...between);
      // A cubic's midpoint lies at the ends' mean plus 3/4 of the control offset.
      const bend = (extent + side * 8 - (x1 + x2) / 2) / 0.75;
      const d = skips
        ? `M ${x1} ${y1} C ${x1 + bend} ${(y1 + y2) / 2} ${x2 + bend} ${(y1 + y2) / 2} ${x2} ${y2}`
        : `M ${x1} ${y1} L ${x2} ${y2}`;
      target.append(svg("path", { d, class: "edge", fill: "none", "marker-end": `url(#${target.id}-arrow)` }));
    }
  }
  for (const service of summaries) {
    const name = service.service_name;
    const { x, y } = positions.get(name);
    const status = service.status || "unknown";
    // `depends_on: null`: the episode has not shown this service's dependencies yet.
    const hidden = service.depends_on === null;
    const group = svg("g", { class: `node status-${status}${hidden ? " deps-hidden" : ""}${selected === name ? " selected" : ""}`, "data-service": name, "data-status": status, "data-deps": hidden ? "hidden" : "shown", transform: `translate(${x - w / 2}, ${y - h / 2})` });
    group.append(svg("rect", { width: w, height: h, rx: "8" }));
    if (hidden) {
      group.append(svg("circle", { cx: 4, cy: h - 4, r: 10, class: "deps-mark" }));
      group.append(svg("text", { x: 4, y: h, class: "deps-mark-text" }, "?"));
    }
    group.append(svg("text", { x: w / 2, y: 22, class: "node-name" }, name));
    group.append(svg("text", { x: w / 2, y: 41, class: "node-status" }, service.status || "no episode yet"));
    const alerts = counts.get(name) || 0;
    if (alerts) {
      group.append(svg("circle", { cx: w - 4, cy: 4, r: 11, class: "badge" }));
      group.append(svg("text", { x: w - 4, y: 8, class: "badge-text" }, String(alerts)));
    }
    const unknown = hidden ? ", dependencies not shown yet (inspect them)" : "";
    const title = svg("title", {}, `${name}: ${status}${alerts ? `, ${alerts} alert(s)` : ""}${unknown}`);
    group.append(title);
    if (onPick) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.setAttribute("aria-label", `${name}, ${status}${alerts ? `, ${alerts} alert(s)` : ""}${unknown}: open actions`);
      group.addEventListener("click", () => onPick(name));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          onPick(name);
        }
      });
    }
    target.append(group);
  }
}

/** Before an episode: the services and their dependencies as GET /environment gives them
 *  (the original's `dependency_graph` shape), with no status; an episode's observations
 *  then draw its own graph (`service_summaries[].depends_on`). */
function previewObservation() {
  const graph = (game.environment && game.environment.dependency_graph) || {};
  const summaries = Object.entries(graph).map(([name, dependsOn]) => ({ service_name: name, depends_on: dependsOn }));
  return { service_summaries: summaries, active_alerts: [] };
}

function drawLegend() {
  const statuses = (game.environment && game.environment.statuses) || [];
  $("#legend").replaceChildren(...statuses.map((status) => el("span", { class: `chip status-${status}` }, status)));
}

// ---------------------------------------------------------------- panels

function renderAlerts(observation) {
  const alerts = observation.active_alerts || [];
  const list = $("#alerts");
  if (!alerts.length) {
    list.replaceChildren(el("li", { class: "muted" }, "No active alerts."));
    return;
  }
  list.replaceChildren(...alerts.map((alert) => el("li", { class: `alert severity-${alert.severity}` },
    el("strong", {}, `${alert.severity} · ${alert.service}: ${alert.title}`),
    el("div", {}, alert.description),
    el("div", { class: "muted" }, `hint: ${alert.runbook_hint} · ${alert.triggered_at}`))));
}

function selectService(name) {
  game.selected = name;
  renderActionMenu();
  drawGraph($("#graph"), shownObservation(), selectService, game.selected);
  const first = $("#action-menu button");
  if (first) first.focus();
}

function options(values) {
  return values.map((value) => el("option", { value }, value));
}

function renderActionMenu() {
  const menu = $("#action-menu");
  const name = game.selected;
  const env = game.environment || { diagnoses: [], fixes: [] };
  if (!name || !game.episode) {
    menu.replaceChildren(el("p", { class: "muted" }, "Pick a service in the graph."));
    return;
  }
  const disabled = game.busy || game.auto || isDone();
  const act = (action) => () => play(action);
  const simple = (type, label) => el("button", { "data-action": type, disabled, onclick: act({ action_type: type, service: name }) }, label);
  const diagnosis = el("select", { id: "diagnosis-select", "aria-label": "Failure mode" }, options(env.diagnoses));
  const fix = el("select", { id: "fix-select", "aria-label": "Fix" }, options(env.fixes));
  menu.replaceChildren(
    el("h3", {}, `Service: `, el("code", {}, name)),
    el("div", { class: "row" },
      simple("read_logs", "Read logs"),
      simple("query_metrics", "Query metrics"),
      simple("inspect_dependencies", "Inspect dependencies"),
      simple("verify_health", "Verify health")),
    el("div", { class: "row" }, diagnosis,
      el("button", { "data-action": "diagnose", disabled, onclick: () => play({ action_type: "diagnose", service: name, diagnosis: diagnosis.value }) }, "Diagnose")),
    el("div", { class: "row" }, fix,
      el("button", { "data-action": "apply_fix", disabled, onclick: () => play({ action_type: "apply_fix", service: name, fix: fix.value }) }, "Apply fix")));
}

function renderResult(step) {
  const box = $("#result");
  if (!step) {
    const { asked, task } = game.episode;
    const note = asked !== task ? el("p", { class: "badge-label error", id: "task-note" }, `the server does not know ${asked}; it started ${task}`) : null;
    box.replaceChildren(note || "", el("p", {}, game.episode.initial.action_result), el("p", { class: "muted" }, game.episode.initial.message));
    return;
  }
  const error = step.error;
  const badges = [];
  if (error === "destructive_action") badges.push(el("span", { class: "badge-label destructive", id: "destructive-flag" }, "destructive action"));
  else if (error) badges.push(el("span", { class: "badge-label error" }, error));
  if (step.observation.success) badges.push(el("span", { class: "badge-label ok" }, "success"));
  box.replaceChildren(
    el("p", {}, el("code", {}, `${step.step}. ${step.label}`), " ", badges, " ", el("span", { class: "muted" }, `reward ${fixed3(step.reward)}`)),
    el("p", { id: "action-result" }, step.observation.action_result),
    el("p", { class: "muted", id: "message" }, step.observation.message));
}

function renderLogs() {
  const box = $("#logs");
  if (!game.logs) {
    box.replaceChildren(el("p", { class: "muted" }, "Read a service's logs to see them here."));
    return;
  }
  const rows = game.logs.logs.map((log) => el("tr", { class: `level-${String(log.level).toLowerCase()}` },
    el("td", { class: "mono" }, log.timestamp || ""), el("td", {}, log.level || ""), el("td", {}, log.service), el("td", {}, log.message)));
  box.replaceChildren(el("p", { class: "muted" }, `from step ${game.logs.step}: ${game.logs.label}`),
    el("table", { class: "log-table" }, el("thead", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "level"), el("th", {}, "service"), el("th", {}, "message"))), el("tbody", {}, rows)));
}

/** Bars for the metrics that have a natural maximum; every field in the table below. */
const METRIC_BARS = [
  ["CPU", "cpu_percent", () => 100, "%"],
  ["Memory", "memory_mb", (m) => m.memory_limit_mb, " MB"],
  ["Errors", "error_rate_percent", () => 100, "%"],
  ["Connections", "active_connections", (m) => m.connection_pool_size, ""],
  ["Disk", "disk_used_gb", (m) => m.disk_total_gb, " GB"],
];

function renderMetrics() {
  const box = $("#metrics");
  if (!game.metrics) {
    box.replaceChildren(el("p", { class: "muted" }, "Query a service's metrics to see them here."));
    return;
  }
  const metrics = game.metrics.metrics;
  const bars = METRIC_BARS.filter(([, key]) => typeof metrics[key] === "number").map(([label, key, max, unit]) => {
    const limit = max(metrics) || 1;
    const ratio = Math.max(0, Math.min(1, metrics[key] / limit));
    return el("div", { class: "bar-row" }, el("span", { class: "bar-label" }, label),
      el("span", { class: "bar" }, el("span", { class: `bar-fill${ratio > 0.85 ? " hot" : ""}`, style: `width:${(ratio * 100).toFixed(1)}%` })),
      el("span", { class: "bar-value" }, `${metrics[key]}${unit} / ${limit}${unit}`));
  });
  const rows = Object.entries(metrics).map(([key, value]) => el("tr", {}, el("th", {}, key), el("td", { class: "mono" }, String(value))));
  box.replaceChildren(el("p", { class: "muted" }, `from step ${game.metrics.step}: ${game.metrics.label}`), ...bars,
    el("details", {}, el("summary", {}, "all fields"), el("table", { class: "kv" }, el("tbody", {}, rows))));
}

/** Widths (viewBox units) a reward label ("0.050") and a step label ("24") need. */
const REWARD_LABEL_WIDTH = 40;
const STEP_LABEL_WIDTH = 22;

function drawTimeline(target, steps, maxSteps) {
  target.replaceChildren();
  const slots = Math.max(maxSteps || 0, steps.length, 1);
  const top = Math.max(0.2, ...steps.map((s) => s.reward || 0));
  // Narrow screens get a narrower drawing, so the labels stay readable (as the graph).
  const drawn = target.getBoundingClientRect().width;
  const [width, base] = [drawn && drawn < 560 ? 360 : 640, 124];
  target.setAttribute("viewBox", `0 0 ${width} 160`);
  const slot = (width - 20) / slots;
  // Narrow slots turn the reward labels upright and label every n-th step, so labels
  // never overlap however many steps the episode has.
  const upright = slot < REWARD_LABEL_WIDTH;
  const every = Math.ceil(STEP_LABEL_WIDTH / slot);
  const room = upright ? 44 : 22; // space above the tallest bar for its label
  target.append(svg("line", { x1: 10, y1: base, x2: width - 10, y2: base, class: "axis" }));
  steps.forEach((step, index) => {
    const barHeight = (Math.max(step.reward || 0, 0) / top) * (base - room);
    const x = 10 + index * slot + slot * 0.15;
    const middle = x + slot * 0.35;
    const kind = step.error === "destructive_action" ? "destructive" : step.error ? "error" : "ok";
    const bar = svg("rect", { x, y: base - barHeight, width: slot * 0.7, height: Math.max(barHeight, 1), class: `reward-bar ${kind}`, "data-step": step.step });
    bar.append(svg("title", {}, `step ${step.step}: ${step.label}, reward ${fixed3(step.reward)}${step.error ? ", " + step.error : ""}`));
    target.append(bar);
    const labelY = base - barHeight - 5;
    const label = upright
      ? svg("text", { x: middle, y: labelY, class: "bar-text upright", transform: `rotate(-90 ${middle} ${labelY})`, dy: "0.35em", "data-kind": "reward" }, fixed3(step.reward))
      : svg("text", { x: middle, y: labelY, class: "bar-text", "data-kind": "reward" }, fixed3(step.reward));
    target.append(label);
    if ((step.step - 1) % every === 0) {
      target.append(svg("text", { x: middle, y: base + 16, class: "bar-text", "data-kind": "step" }, String(step.step)));
    }
  });
}

function renderHistory() {
  const steps = game.episode.steps;
  $("#history").replaceChildren(...steps.map((step) => el("li", { class: step.error === "destructive_action" ? "destructive" : step.error ? "error" : "" },
    el("code", {}, step.label), ` reward ${fixed3(step.reward)}`, step.error ? ` · ${step.error}` : "")));
  drawTimeline($("#timeline"), steps, game.episode.initial.max_steps);
  const state = game.episode.state;
  $("#trajectory").textContent = state ? `(trajectory reward ${fixed3(state.trajectory_reward)})` : "";
}

const GRADE_PARTS = ["root_cause_identification", "resolution", "efficiency", "safety"];

function renderGrade() {
  const { grade, final } = game.episode;
  const box = $("#grade");
  $("#grade-kind").textContent = final ? "(final: the episode is done)" : "(live, as /grader would answer now)";
  if (!grade) {
    box.replaceChildren(el("p", { class: "muted" }, "No grade yet."));
    return;
  }
  const details = grade.details || grade;
  const weights = (game.environment && game.environment.grader_weights) || null;
  const parts = GRADE_PARTS.map((part) => el("div", { class: "bar-row", "data-part": part },
    el("span", { class: "bar-label" }, part.replaceAll("_", " ")),
    el("span", { class: "bar" }, el("span", { class: "bar-fill grade", style: `width:${((details[part] || 0) * 100).toFixed(1)}%` })),
    el("span", { class: "bar-value", "data-value": part }, `${fixed3(details[part])}${weights && weights[part] !== undefined ? ` × ${weights[part]}` : ""}`)));
  box.replaceChildren(el("p", { class: "score" }, "score ", el("strong", { id: "grade-score" }, fixed3(grade.score)), final ? el("span", { class: "badge-label ok", id: "final-flag" }, "final") : null), ...parts);
}

function renderCounter() {
  const counter = $("#step-counter");
  const episode = game.episode;
  if (!episode) {
    counter.textContent = "no episode";
    return;
  }
  const last = currentObservation();
  const state = episode.state || {};
  const status = isDone() ? (state.is_resolved ? "resolved" : "done") : "running";
  const split = episode.split ? ` (${episode.split})` : "";
  counter.textContent = `${episode.task} seed ${episode.seed}${split}: step ${last.step_number} / ${last.max_steps} (${last.steps_remaining} left) · ${status}` +
    (state.destructive_actions ? ` · ${state.destructive_actions} destructive` : "");
  counter.dataset.status = status;
}

function currentObservation() {
  const episode = game.episode;
  if (!episode) return null;
  const last = episode.steps[episode.steps.length - 1];
  return last ? last.observation : episode.initial;
}

/** What the graph draws: the episode's latest observation, else the preview. */
const shownObservation = () => currentObservation() || previewObservation();

const isDone = () => Boolean(game.episode && game.episode.done);

/** Redraw the play view, keeping keyboard focus on the same control when it is redrawn. */
function renderPlay() {
  const focused = document.activeElement;
  const here = focused && focused.dataset ? (focused.dataset.action || focused.dataset.service) : null;
  // A control disabled while a step runs cannot hold focus: remember it for the next redraw.
  const keep = here || (focused === document.body ? game.refocus : null);
  game.refocus = null;
  drawPlay();
  if (keep) {
    const again = document.querySelector(`#action-menu [data-action="${keep}"], #graph [data-service="${keep}"]`);
    if (again && !again.disabled) again.focus();
    else game.refocus = keep;
  }
}

function drawPlay() {
  const observation = currentObservation();
  drawGraph($("#graph"), shownObservation(), game.episode ? selectService : null, game.selected);
  if (!game.episode) return;
  renderAlerts(observation);
  renderActionMenu();
  renderResult(game.episode.steps[game.episode.steps.length - 1]);
  renderLogs();
  renderMetrics();
  renderHistory();
  renderGrade();
  renderCounter();
  const idle = game.busy || game.auto || isDone();
  $("#list-services").disabled = idle;
  $("#ask-baseline").disabled = idle;
  $("#auto-play").disabled = isDone() || (game.busy && !game.auto);
  $("#auto-play").textContent = game.auto ? "Stop auto-play" : "Auto-play baseline";
  $("#start-button").disabled = game.busy && !game.auto;
}

// ---------------------------------------------------------------- playing

function showError(message) {
  $("#result").replaceChildren(el("p", { class: "badge-label error", role: "alert" }, message));
}

async function refreshStateAndGrade() {
  const episode = game.episode;
  const reply = await game.session.request({ type: "state" });
  if (reply.type === "state") episode.state = reply.data;
  episode.grade = await game.session.tool("grader");
}

async function start(event) {
  if (event) event.preventDefault();
  game.auto = false;
  const task = $("#task-select").value;
  const seed = Number.parseInt($("#seed-input").value, 10);
  const data = { task_id: task };
  if (Number.isFinite(seed)) data.seed = seed;
  if (!$("#split-label").hidden) data.split = $("#split-select").value;
  game.busy = true;
  try {
    if (!game.session) game.session = new Session(setStatus);
    await game.session.open();
    const reply = await game.session.request({ type: "reset", data });
    if (reply.type !== "observation") throw new Error(reply.data.message);
    // The original's loose reset starts its default task for an unknown id: show what ran.
    const served = (reply.data.metadata && reply.data.metadata.task_id) || task;
    game.episode = { task: served, asked: task, seed: data.seed, split: data.split, initial: reply.data.observation, steps: [], done: reply.data.done, state: null, grade: null, final: false };
    game.logs = game.metrics = null;
    game.selected = null;
    game.episodes.unshift(game.episode);
    await refreshStateAndGrade();
  } catch (error) {
    showError(`Could not start: ${error.message}`);
  } finally {
    game.busy = false;
  }
  renderPlay();
  renderReplayList();
}

/** Step with `action` over the session and redraw; `false` when it was refused. */
async function play(action) {
  if (!game.episode || isDone() || (game.busy && !game.auto)) return false;
  game.busy = true;
  renderPlay();
  let accepted = false;
  try {
    const reply = await game.session.request({ type: "step", data: action });
    if (reply.type === "error") {
      showError(`${reply.data.code}: ${reply.data.message}`);
    } else {
      const episode = game.episode;
      const { observation, reward, done, metadata } = reply.data;
      const step = { step: observation.step_number, action, label: actionLabel(action), reward, done, error: metadata ? metadata.last_action_error : null, observation };
      episode.steps.push(step);
      episode.done = done;
      if (observation.logs && observation.logs.length) game.logs = { step: step.step, label: step.label, logs: observation.logs };
      if (observation.metrics) game.metrics = { step: step.step, label: step.label, metrics: observation.metrics };
      await refreshStateAndGrade();
      if (done && metadata && metadata.grader_details) {
        episode.grade = { task_id: metadata.task_id, score: metadata.grader_score, details: metadata.grader_details };
        episode.final = true;
      }
      accepted = true;
    }
  } catch (error) {
    showError(`The step failed: ${error.message}`);
    game.auto = false;
  } finally {
    game.busy = false;
  }
  renderPlay();
  renderReplayList();
  return accepted;
}

async function askBaseline() {
  if (!game.episode || isDone()) return null;
  try {
    const action = await game.session.tool("baseline");
    const { reasoning, ...plain } = action;
    const suggestion = $("#suggestion");
    suggestion.replaceChildren("Baseline suggests ", el("code", { id: "suggested-action" }, actionLabel(plain)),
      reasoning ? el("span", { class: "muted" }, ` (${reasoning})`) : null, " ",
      game.auto ? null : el("button", { id: "play-suggestion", onclick: () => play(plain) }, "Play it"));
    return plain;
  } catch (error) {
    showError(error.message);
    return null;
  }
}

async function autoPlay() {
  if (game.auto) {
    game.auto = false;
    renderPlay();
    return;
  }
  if (!game.episode || isDone()) return;
  game.auto = true;
  renderPlay();
  while (game.auto && !isDone()) {
    const action = await askBaseline();
    if (!action || !(await play(action))) break;
    await sleep(250);
  }
  game.auto = false;
  renderPlay();
}

// ---------------------------------------------------------------- replay

function renderReplayList() {
  const select = $("#replay-select");
  const previous = select.value;
  select.replaceChildren(...game.episodes.map((episode, index) => el("option", { value: String(index) },
    `${episode.transcript ? "transcript" : "played"}: ${episode.task}${episode.seed !== undefined ? " seed " + episode.seed : ""} (${episode.steps.length} steps)`)));
  if (previous && Number(previous) < game.episodes.length) select.value = previous;
  renderReplay();
}

function renderReplay() {
  const episode = game.episodes[Number($("#replay-select").value) || 0];
  const slider = $("#replay-slider");
  const detail = $("#replay-detail");
  if (!episode) {
    detail.replaceChildren(el("p", { class: "muted" }, "Play an episode or load a transcript first."));
    $("#replay-graph").replaceChildren();
    return;
  }
  slider.max = String(episode.steps.length);
  const position = Math.min(Number(slider.value), episode.steps.length);
  const step = position > 0 ? episode.steps[position - 1] : null;
  $("#replay-position").textContent = `step ${position} of ${episode.steps.length}`;
  const observation = step ? step.observation : episode.initial;
  drawGraph($("#replay-graph"), observation, null, step && step.action ? step.action.service : null);
  $("#replay-graph").hidden = !observation;
  const lines = [];
  if (!step) {
    lines.push(el("p", {}, `Start of ${episode.task}${episode.model ? " (model " + episode.model + ")" : ""}.`));
    if (episode.initial) lines.push(el("p", { class: "muted" }, episode.initial.action_result));
  } else {
    lines.push(el("p", {}, el("code", {}, `${step.step}. ${step.label}`), ` reward ${fixed3(step.reward)}`, step.done ? " · done" : "", step.error ? ` · ${step.error}` : ""));
    if (step.observation) lines.push(el("p", {}, step.observation.action_result), el("p", { class: "muted" }, step.observation.message));
  }
  const cumulative = episode.steps.slice(0, position).reduce((sum, s) => sum + (s.reward || 0), 0);
  lines.push(el("p", { class: "muted" }, `sum of rewards so far ${fixed3(cumulative)}`));
  if (position === episode.steps.length && episode.grade) lines.push(el("p", { class: "score" }, "score ", el("strong", { id: "replay-score" }, fixed3(episode.grade.score))));
  const timeline = svg("svg", { viewBox: "0 0 640 160", class: "replay-timeline", role: "img", "aria-label": "Rewards" });
  drawTimeline(timeline, episode.steps.slice(0, position), episode.steps.length);
  lines.push(timeline);
  detail.replaceChildren(...lines);
}

/** Parse `incident-env run` output into episodes ([START] ... [END] blocks). */
function parseTranscript(text) {
  const episodes = [];
  let current = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    let match;
    if ((match = line.match(/^\[START\] task=(\S+) env=(\S+) model=(.*)$/))) {
      current = { task: match[1], model: match[3], steps: [], initial: null, transcript: true, grade: null, done: false };
      episodes.push(current);
    } else if ((match = line.match(/^\[STEP\] step=(\d+) action=(.+?) reward=(-?[\d.]+) done=(true|false) error=(\S+)$/)) && current) {
      current.steps.push({ step: Number(match[1]), label: match[2], reward: Number(match[3]), done: match[4] === "true", error: match[5] === "null" ? null : match[5], observation: null, action: null });
    } else if ((match = line.match(/^\[END\] success=(true|false) steps=(\d+) score=(-?[\d.]+)/)) && current) {
      current.grade = { score: Number(match[3]) };
      current.done = true;
      current = null;
    }
  }
  return episodes;
}

function loadTranscript(text) {
  const episodes = parseTranscript(text);
  $("#transcript-status").textContent = episodes.length ? `loaded ${episodes.length} episode(s)` : "no [START] line found";
  if (!episodes.length) return;
  game.episodes.unshift(...episodes);
  renderReplayList();
  $("#replay-select").value = "0";
  $("#replay-slider").value = "0";
  renderReplay();
}

// ---------------------------------------------------------------- static views

/** Render any JSON value as nested tables and lists (used for the core's rule tables). */
function renderValue(value) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "–");
  if (Array.isArray(value)) {
    if (value.length && value.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
      const keys = [...new Set(value.flatMap((item) => Object.keys(item)))];
      return el("table", { class: "kv" }, el("thead", {}, el("tr", {}, keys.map((key) => el("th", {}, key)))),
        el("tbody", {}, value.map((item) => el("tr", {}, keys.map((key) => el("td", {}, renderValue(item[key])))))));
    }
    return el("span", {}, value.map(String).join(", "));
  }
  if (typeof value === "object") {
    return el("table", { class: "kv" }, el("tbody", {}, Object.entries(value).map(([key, item]) => el("tr", {}, el("th", {}, key), el("td", {}, renderValue(item))))));
  }
  return el("span", { class: "mono" }, String(value));
}

function renderEnvironment() {
  const env = game.environment;
  const box = $("#environment");
  if (!env) return;
  const section = (title, value, missing) => [el("h3", {}, title), value === null || value === undefined ? el("p", { class: "muted" }, missing) : renderValue(value)];
  box.replaceChildren(
    el("p", { class: "muted" }, "Read from the core's constants by ", el("a", { href: "/environment" }, "GET /environment"), "."),
    ...section("Reward table (original rules and ruleset v1)", env.reward_table, "Not served by this server."),
    ...section("Grader weights and credits", env.grader_weights, "Not served by this server."),
    ...section("Reward bounds", env.reward),
    ...section("Services", env.services),
    ...section("Actions", env.action_types),
    ...section("Failure modes (diagnoses)", env.diagnoses),
    ...section("Fixes", env.fixes),
    ...section("Statuses", env.statuses),
    ...section("Limits", env.limits));
}

function renderTasks() {
  const rows = game.tasks.map((task) => el("tr", { "data-task": task.task_id },
    el("td", {}, el("code", {}, task.task_id)), el("td", {}, task.name || ""), el("td", {}, task.difficulty || ""),
    el("td", {}, String(task.max_steps ?? "")), el("td", {}, task.description || ""),
    el("td", {}, el("button", { "aria-label": `Play ${task.task_id}`, onclick: () => { $("#task-select").value = task.task_id; updateSplit(); showView("play"); start(); } }, "Play"))));
  $("#tasks").replaceChildren(el("p", { class: "muted" }, "From ", el("a", { href: TASKS_URL }, `GET ${TASKS_URL}`), "."),
    el("table", { class: "kv tasks-table" }, el("thead", {}, el("tr", {}, ["id", "name", "difficulty", "max steps", "description", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

/** Generated tasks take a split: shown when /tasks lists splits for the task (or its id is gen_*). */
function updateSplit() {
  const task = game.tasks.find((t) => t.task_id === $("#task-select").value);
  const splits = task && (task.splits || (task.split ? [task.split] : null));
  const generated = Boolean(splits) || Boolean(task && task.task_id.startsWith("gen_"));
  $("#split-label").hidden = !generated;
  if (splits && splits.length) $("#split-select").replaceChildren(...options(splits));
  $("#task-description").textContent = task
    ? `${task.name || task.task_id}${task.max_steps ? ` (up to ${task.max_steps} steps)` : ""}: ${task.description || ""}`
    : "";
}

function showView(name) {
  for (const tab of document.querySelectorAll("button.tab")) tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  if (name === "replay") renderReplay();
  if (name === "play") renderPlay();
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function onKey(event) {
  const tag = event.target.tagName;
  if (event.ctrlKey || event.metaKey || event.altKey || ["INPUT", "SELECT", "TEXTAREA"].includes(tag)) return;
  if ($("#view-play").hidden) return;
  if (event.key === "b") askBaseline();
  else if (event.key === "a") autoPlay();
  else if (event.key === "l") play({ action_type: "list_services" });
}

async function init() {
  for (const tab of document.querySelectorAll("button.tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#start-form").addEventListener("submit", start);
  $("#task-select").addEventListener("change", updateSplit);
  $("#list-services").addEventListener("click", () => play({ action_type: "list_services" }));
  $("#ask-baseline").addEventListener("click", askBaseline);
  $("#auto-play").addEventListener("click", autoPlay);
  $("#replay-select").addEventListener("change", () => { $("#replay-slider").value = "0"; renderReplay(); });
  $("#replay-slider").addEventListener("input", renderReplay);
  $("#replay-prev").addEventListener("click", () => { $("#replay-slider").stepDown(); renderReplay(); });
  $("#replay-next").addEventListener("click", () => { $("#replay-slider").stepUp(); renderReplay(); });
  $("#transcript-load").addEventListener("click", () => loadTranscript($("#transcript-input").value));
  $("#transcript-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) loadTranscript(await file.text());
  });
  document.addEventListener("keydown", onKey);
  // Redraw a graph when its width crosses the narrow-drawing threshold.
  const narrow = new Map();
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      if (!entry.contentRect.width) continue; // hidden: draw when shown
      const isNarrow = entry.contentRect.width < 560;
      if (narrow.has(entry.target) && narrow.get(entry.target) !== isNarrow) {
        if (entry.target.id === "graph") renderPlay();
        else renderReplay();
      }
      narrow.set(entry.target, isNarrow);
    }
  });
  observer.observe($("#graph"));
  observer.observe($("#replay-graph"));
  try {
    const [environment, tasks] = await Promise.all([getJson("/environment"), getJson(TASKS_URL)]);
    game.environment = environment;
    game.tasks = tasks.tasks || [];
  } catch (error) {
    showError(`Could not load the environment: ${error.message}`);
  }
  $("#task-select").replaceChildren(...game.tasks.map((task) => el("option", { value: task.task_id }, `${task.task_id} (${task.difficulty || "?"})`)));
  updateSplit();
  drawLegend();
  renderPlay();
  renderEnvironment();
  renderTasks();
  renderReplayList();
  const view = location.hash.slice(1);
  showView(["play", "replay", "environment", "tasks"].includes(view) ? view : "play");
  document.body.dataset.ready = "true";
}

init();
