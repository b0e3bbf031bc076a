// Browser tests of /ui/ and /docs: Debian's headless Chromium (/usr/bin/chromium) driven by
// playwright-core, against the real server binary started here on a free port.
//
//   INCIDENT_ENV_BIN  the server binary (default: target/debug/incident-env)
//   CHROMIUM          the browser (default: /usr/bin/chromium)
// Screenshots go to target/browser-screenshots/ (printed at the start).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.INCIDENT_ENV_BIN || path.join(ROOT, "target/debug/incident-env");
const BROWSER = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "target/browser-screenshots");
// The flags Chromium needs on a machine with no outside network (no background traffic).
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server;
let base;
let browser;

/** Start the server on a free port and resolve with its base URL once it listens. */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${seen}`)), 20000);
    child.on("error", reject);
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
  });
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  console.log(`screenshots: ${SHOTS}`);
  ({ child: server, url: base } = await startServer());
  browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill("SIGTERM");
});

/** A new page that records console errors, page errors, failed requests and any request
 *  to another host; `page.problems()` lists them. */
async function openPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith(base.replace("http", "ws")) && !url.startsWith("data:")) problems.push(`outside request: ${url}`);
  });
  page.problems = () => problems;
  return page;
}

async function http(method, route, body) {
  const response = await fetch(base + route, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return response.json();
}

async function loadUi(page) {
  await page.goto(`${base}/ui/`);
  await page.waitForSelector("body[data-ready=true]");
}

async function startEpisode(page, task, seed) {
  await page.selectOption("#task-select", task);
  await page.fill("#seed-input", String(seed));
  await page.click("#start-button");
  await page.waitForFunction((t) => document.querySelector("#step-counter").textContent.startsWith(t), task);
  await page.waitForSelector("#grade-score");
}

/** The services drawn in the graph with their statuses, in document order. */
async function graphStatuses(page, selector = "#graph") {
  return page.$$eval(`${selector} [data-service]`, (nodes) => nodes.map((n) => [n.dataset.service, n.dataset.status]));
}

async function stepNumber(page) {
  const text = await page.textContent("#step-counter");
  return Number(text.match(/step (\d+) \//)[1]);
}

/** Click one action in a service's menu and wait until the step counter moves on. */
async function act(page, service, action, choice) {
  const before = await stepNumber(page);
  await page.click(`#graph [data-service="${service}"]`);
  if (action === "diagnose") await page.selectOption("#diagnosis-select", choice);
  if (action === "apply_fix") await page.selectOption("#fix-select", choice);
  await page.click(`#action-menu [data-action="${action}"]`);
  await page.waitForFunction((n) => Number(document.querySelector("#step-counter").textContent.match(/step (\d+) \//)[1]) > n, before);
}

test("the page loads without console errors and draws hard_task seed 42 as /reset does", async () => {
  // Goal: no console error, no failed or outside request; six services with /reset's statuses.
  const page = await openPage();
  await loadUi(page);
  const tasks = await page.$$eval("#task-select option", (options) => options.map((o) => o.value));
  const listed = (await http("GET", "/tasks?include=generated")).tasks.map((t) => t.task_id);
  assert.deepEqual(tasks, listed, "the task picker lists the tasks and the generated tiers");
  await startEpisode(page, "hard_task", 42);
  const reset = await http("POST", "/reset", { task_id: "hard_task", seed: 42 });
  const expected = reset.observation.service_summaries.map((s) => [s.service_name, s.status]);
  const drawn = await graphStatuses(page);
  assert.equal(drawn.length, 6);
  assert.deepEqual(drawn.sort(), expected.sort());
  assert.equal(await page.locator("#alerts li.alert").count(), reset.observation.active_alerts.length);
  await page.screenshot({ path: path.join(SHOTS, "hard_task-reset-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("before an episode the graph shows /environment's topology and the task's description", async () => {
  // Goal: at load, with no episode, the graph draws every service and every dependency of
  // GET /environment's dependency_graph (status "no episode yet"), and the picked task's
  // description from /tasks shows under the picker and follows the picker; once an
  // episode starts, the graph is the episode's own (its service_summaries' depends_on).
  const page = await openPage();
  await loadUi(page);
  const environment = await http("GET", "/environment");
  const services = Object.keys(environment.dependency_graph);
  const edges = Object.values(environment.dependency_graph).reduce((sum, deps) => sum + deps.length, 0);
  assert.deepEqual((await graphStatuses(page)).map(([name]) => name).sort(), [...services].sort());
  assert.ok((await graphStatuses(page)).every(([, status]) => status === "unknown"));
  assert.equal(await page.locator("#graph path.edge").count(), edges);
  assert.ok(edges >= 6, `the topology has its edges (${edges})`);
  const tasks = (await http("GET", "/tasks?include=generated")).tasks;
  assert.ok((await page.textContent("#task-description")).includes(tasks[0].description));
  await page.selectOption("#task-select", "hard_task");
  const hard = tasks.find((t) => t.task_id === "hard_task");
  assert.ok((await page.textContent("#task-description")).includes(hard.description));
  await page.screenshot({ path: path.join(SHOTS, "before-episode-1280x800.png") });
  // A graph-tier incident has its own dependency graph: the page draws that one.
  await startEpisode(page, "gen_graph_medium", 5);
  const reset = await http("POST", "/reset", { task_id: "gen_graph_medium", seed: 5 });
  const own = reset.observation.service_summaries.reduce((sum, s) => sum + (s.depends_on || []).length, 0);
  assert.equal(await page.locator("#graph path.edge").count(), own);
  const hidden = reset.observation.service_summaries.filter((s) => s.depends_on === null).map((s) => s.service_name);
  assert.deepEqual(await page.$$eval("#graph [data-deps=hidden]", (nodes) => nodes.map((n) => n.dataset.service)), hidden);
  await page.screenshot({ path: path.join(SHOTS, "gen_graph_medium-seed5-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("a service whose dependencies the episode has not shown is drawn without edges, marked", async () => {
  // Goal: an observation with depends_on null for a service (a graph-tier incident before
  // inspect_dependencies) draws that node marked "?" with no edges from it, while shown
  // dependencies draw their edges; the page's own drawing function is called with it.
  const page = await openPage();
  await loadUi(page);
  const drawn = await page.evaluate(() => {
    const target = document.querySelector("#graph");
    drawGraph(target, {
      active_alerts: [],
      service_summaries: [
        { service_name: "api_gateway", status: "degraded", depends_on: ["auth_service"] },
        { service_name: "auth_service", status: "healthy", depends_on: null },
        { service_name: "database", status: "down", depends_on: [] },
      ],
    }, null, null);
    return {
      edges: target.querySelectorAll("path.edge").length,
      hidden: [...target.querySelectorAll("[data-deps=hidden]")].map((n) => n.dataset.service),
      marks: target.querySelectorAll(".deps-mark").length,
      title: target.querySelector("[data-service=auth_service] title").textContent,
    };
  });
  assert.deepEqual(drawn, { edges: 1, hidden: ["auth_service"], marks: 1, title: "auth_service: healthy, dependencies not shown yet (inspect them)" });
  await page.locator("#graph").screenshot({ path: path.join(SHOTS, "graph-hidden-dependencies.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

/** The boxes of the reward chart's labels of one kind ("reward" or "step"), on screen. */
async function labelBoxes(page, kind) {
  return page.$$eval(`#timeline text[data-kind=${kind}]`, (nodes) => nodes.map((n) => {
    const box = n.getBoundingClientRect();
    return { text: n.textContent, left: box.left, right: box.right, top: box.top, bottom: box.bottom };
  }));
}

function overlapping(boxes) {
  const pairs = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) pairs.push([a.text, b.text]);
  }));
  return pairs;
}

test("the reward chart's labels never overlap, whatever the number of steps", async () => {
  // Goal: an episode of the task with the longest step budget, played to its budget
  // (list_services every step), shows a reward label for every step and no two labels
  // overlapping (rewards, step numbers, or one with the other), on desktop and phone.
  const page = await openPage();
  await loadUi(page);
  const tasks = (await http("GET", "/tasks?include=generated")).tasks;
  const longest = tasks.reduce((a, b) => (b.max_steps > a.max_steps ? b : a));
  assert.ok(longest.max_steps > 10, `${longest.task_id} has ${longest.max_steps} steps`);
  await startEpisode(page, longest.task_id, 1);
  for (let step = 1; !(await page.textContent("#step-counter")).includes("done"); step += 1) {
    await page.click("#list-services");
    await page.waitForFunction((n) => document.querySelector("#step-counter").textContent.includes(`step ${n} /`), step);
  }
  const steps = await stepNumber(page);
  assert.ok(steps > 10, `played ${steps} steps`);
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(100);
    const rewards = await labelBoxes(page, "reward");
    const numbers = await labelBoxes(page, "step");
    assert.equal(rewards.length, steps);
    assert.ok(numbers.length >= Math.ceil(steps / 3), `${numbers.length} step numbers`);
    assert.deepEqual(overlapping([...rewards, ...numbers]), [], `no overlap at ${viewport.width}px`);
    await page.locator("#timeline").screenshot({ path: path.join(SHOTS, `rewards-${steps}-steps-${viewport.width}.png`) });
  }
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("a person's clicks resolve easy_task and the score shown equals /grader for the same actions", async () => {
  // Goal: the click path by the action menus ends resolved, and the score and its four
  // parts on the page equal GET /grader after the same actions replayed over HTTP.
  const page = await openPage();
  await loadUi(page);
  await startEpisode(page, "easy_task", 42);
  const before = await stepNumber(page);
  await page.click("#list-services");
  await page.waitForFunction((n) => document.querySelector("#step-counter").textContent.includes(`step ${n + 1} /`), before);
  const path_ = [
    ["api_gateway", "read_logs"],
    ["api_gateway", "inspect_dependencies"],
    ["api_gateway", "query_metrics"],
    ["api_gateway", "diagnose", "service_crash"],
    ["api_gateway", "apply_fix", "restart_service"],
    ["api_gateway", "verify_health"],
  ];
  for (const [service, action, choice] of path_) await act(page, service, action, choice);
  await page.waitForSelector("#final-flag");
  assert.match(await page.textContent("#step-counter"), /resolved/);
  assert.ok(await page.locator("#logs tbody tr").count() > 0, "the log viewer shows the logs read");
  assert.ok(await page.locator("#metrics .bar-row").count() > 0, "the metrics show as bars");
  assert.equal(await page.locator("#timeline .reward-bar").count(), 7);
  const shown = await page.textContent("#grade-score");
  const parts = await page.$$eval("#grade [data-value]", (nodes) => Object.fromEntries(nodes.map((n) => [n.dataset.value, n.textContent])));

  await http("POST", "/reset", { task_id: "easy_task", seed: 42 });
  await http("POST", "/step", { action: { action_type: "list_services" } });
  for (const [service, action, choice] of path_) {
    const body = { action_type: action, service };
    if (action === "diagnose") body.diagnosis = choice;
    if (action === "apply_fix") body.fix = choice;
    await http("POST", "/step", { action: body });
  }
  const grade = await http("GET", "/grader");
  assert.equal(shown, grade.score.toFixed(3));
  assert.equal(shown, "0.800");
  for (const part of ["root_cause_identification", "resolution", "efficiency", "safety"]) {
    assert.equal(parts[part].slice(0, 5), grade.details[part].toFixed(3), part);
  }
  await page.screenshot({ path: path.join(SHOTS, "easy_task-resolved-1280x800.png"), fullPage: false });

  // The replay view steps through the same episode.
  await page.click("button.tab[data-view=replay]");
  await page.waitForSelector("#replay-graph [data-service]");
  await page.click("#replay-next");
  assert.match(await page.textContent("#replay-position"), /step 1 of 7/);
  await page.fill("#replay-slider", "7");
  await page.dispatchEvent("#replay-slider", "input");
  assert.equal(await page.textContent("#replay-score"), "0.800");
  await page.screenshot({ path: path.join(SHOTS, "replay-1280x800.png") });

  await page.setViewportSize(PHONE);
  await page.click("button.tab[data-view=play]");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `no horizontal scroll at phone width (${width}px)`);
  await page.screenshot({ path: path.join(SHOTS, "easy_task-resolved-phone.png") });
  await page.screenshot({ path: path.join(SHOTS, "easy_task-resolved-phone-full.png"), fullPage: true });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("the keyboard alone plays: Tab to a service, Enter for its menu, shortcuts", async () => {
  // Goal: a service node is reachable with Tab and Enter opens its menu with focus on the
  // first action; Enter there steps; "l" lists services and "b" asks the baseline.
  const page = await openPage();
  await loadUi(page);
  await startEpisode(page, "easy_task", 42);
  let reached = false;
  for (let press = 0; press < 30 && !reached; press += 1) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.dataset?.service === "api_gateway");
  }
  assert.ok(reached, "Tab reaches the api_gateway node");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.action), "read_logs");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#step-counter").textContent.includes("step 1 /"));
  assert.ok(await page.locator("#logs tbody tr").count() > 0);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.action), "read_logs", "focus stays on the action");
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press("l");
  await page.waitForFunction(() => document.querySelector("#step-counter").textContent.includes("step 2 /"));
  await page.keyboard.press("b");
  await page.waitForSelector("#suggested-action");
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("a wrong fix shows as destructive", async () => {
  // Goal: clear_disk on the healthy database is flagged destructive in the result, the
  // timeline and the step counter.
  const page = await openPage();
  await loadUi(page);
  await startEpisode(page, "easy_task", 42);
  await act(page, "database", "apply_fix", "clear_disk");
  await page.waitForSelector("#destructive-flag");
  assert.equal(await page.locator("#timeline .reward-bar.destructive").count(), 1);
  assert.match(await page.textContent("#step-counter"), /1 destructive/);
  await page.screenshot({ path: path.join(SHOTS, "destructive-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("the baseline's suggestion and auto-play reach 0.800 on easy_task", async () => {
  // Goal: "Ask the baseline" shows GET /baseline's first action; auto-play finishes the
  // episode at the baseline's known score.
  const page = await openPage();
  await loadUi(page);
  await startEpisode(page, "easy_task", 42);
  await page.click("#ask-baseline");
  await page.waitForSelector("#suggested-action");
  assert.equal(await page.textContent("#suggested-action"), "list_services()");
  await page.click("#auto-play");
  await page.waitForSelector("#final-flag", { timeout: 20000 });
  assert.equal(await page.textContent("#grade-score"), "0.800");
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("two pages at once play independent episodes", async () => {
  // Goal: each tab has its own WebSocket session: steps in one never show in the other.
  const first = await openPage();
  const second = await openPage();
  await loadUi(first);
  await loadUi(second);
  await startEpisode(first, "hard_task", 42);
  await startEpisode(second, "easy_task", 42);
  await act(first, "database", "read_logs");
  await act(first, "database", "query_metrics");
  assert.equal(await stepNumber(first), 2);
  assert.equal(await stepNumber(second), 0);
  await first.screenshot({ path: path.join(SHOTS, "hard_task-playing-full.png"), fullPage: true });
  // UPDATE_README_SCREENSHOT=1 refreshes the README's picture of the playing page.
  if (process.env.UPDATE_README_SCREENSHOT) await first.screenshot({ path: path.join(ROOT, "docs/ui.png"), fullPage: true });
  await act(second, "api_gateway", "read_logs");
  assert.equal(await stepNumber(first), 2);
  assert.equal(await stepNumber(second), 1);
  const easy = (await http("POST", "/reset", { task_id: "easy_task", seed: 42 })).observation.service_summaries;
  assert.deepEqual((await graphStatuses(second)).sort(), easy.map((s) => [s.service_name, s.status]).sort());
  assert.match(await first.textContent("#step-counter"), /^hard_task/);
  assert.deepEqual([...first.problems(), ...second.problems()], []);
  await first.context().close();
  await second.context().close();
});

test("a transcript from incident-env run replays in the trajectory view", async () => {
  // Goal: the [START]/[STEP]/[END] lines load as episodes with their steps and score.
  const page = await openPage();
  await loadUi(page);
  await page.click("button.tab[data-view=replay]");
  const transcript = fs.readFileSync(path.join(ROOT, "tests/reference/inference-stdout-fallback.txt"), "utf8");
  await page.fill("#transcript-input", transcript);
  await page.click("#transcript-load");
  assert.equal(await page.textContent("#transcript-status"), "loaded 4 episode(s)");
  const first = await page.$eval("#replay-select option", (option) => option.textContent);
  assert.match(first, /^transcript: easy_task \(7 steps\)/);
  await page.fill("#replay-slider", "7");
  await page.dispatchEvent("#replay-slider", "input");
  assert.equal(await page.textContent("#replay-score"), "0.800");
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("the Environment and Tasks views come from /environment and /tasks", async () => {
  // Goal: both views render the server's data (the failure modes, the reward table and
  // grader weights, every task and tier id).
  const page = await openPage();
  await loadUi(page);
  const environment = await http("GET", "/environment");
  await page.click("button.tab[data-view=environment]");
  const text = await page.textContent("#environment");
  for (const mode of environment.diagnoses) assert.ok(text.includes(mode), mode);
  for (const key of ["correct_root_diagnosis", "successful_fix", "terminal_step_adds", "root_cause_identification", "destructive_penalty"]) assert.ok(text.includes(key), key);
  assert.ok(!text.includes("Not served"), "the reward table and grader weights are shown");
  await page.screenshot({ path: path.join(SHOTS, "environment-1280x800.png") });
  await page.click("button.tab[data-view=tasks]");
  const ids = await page.$$eval("#tasks [data-task]", (rows) => rows.map((r) => r.dataset.task));
  assert.deepEqual(ids, (await http("GET", "/tasks?include=generated")).tasks.map((t) => t.task_id));
  await page.screenshot({ path: path.join(SHOTS, "tasks-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("a generated incident picked with a seed and split plays to resolution from the picker", async () => {
  // Goal: the picker lists the generated tiers of /tasks?include=generated with a split
  // input; gen_hard seed 7 split test starts that incident (its reset message carries
  // task_id, seed and split; the graph and alerts are /reset's for the same body); clicking
  // each root's read, diagnosis, fix and verification (deepest first, from the unsealed
  // HTTP state of the same incident) resolves it, and the score shown equals /grader for
  // the same actions replayed over HTTP.
  const page = await openPage();
  const sent = [];
  page.on("websocket", (socket) => socket.on("framesent", (frame) => sent.push(JSON.parse(frame.payload))));
  await loadUi(page);
  const tiers = (await http("GET", "/tasks?include=generated")).tasks.filter((t) => t.splits).map((t) => t.task_id);
  assert.deepEqual(tiers, ["gen_easy", "gen_medium", "gen_hard", "gen_expert",
    "gen_graph_easy", "gen_graph_medium", "gen_graph_hard", "gen_graph_expert"]);
  assert.ok(await page.locator("#split-label").isHidden(), "no split for an original task");
  await page.selectOption("#task-select", "gen_hard");
  assert.ok(await page.locator("#split-label").isVisible());
  await page.fill("#seed-input", "7");
  await page.selectOption("#split-select", "test");
  await page.click("#start-button");
  await page.waitForFunction(() => document.querySelector("#step-counter").textContent.startsWith("gen_hard seed 7 (test)"));
  await page.waitForSelector("#grade-score");
  const body = { task_id: "gen_hard", seed: 7, split: "test" };
  assert.deepEqual(sent.find((message) => message.type === "reset"), { type: "reset", data: body });
  assert.equal(await page.locator("#task-note").count(), 0, "the server started the tier asked for");
  const reset = await http("POST", "/reset", body);
  const expected = reset.observation.service_summaries.map((s) => [s.service_name, s.status]);
  assert.deepEqual((await graphStatuses(page)).sort(), expected.sort());
  assert.equal(await page.locator("#alerts li.alert").count(), reset.observation.active_alerts.length);
  const state = await http("GET", "/state");
  const path_ = [];
  state.root_cause_services.forEach((service, i) => {
    path_.push([service, "read_logs"], [service, "diagnose", state.root_cause_failure_modes[i]],
      [service, "apply_fix", state.required_fixes[service]], [service, "verify_health"]);
  });
  for (const [service, action, choice] of path_) await act(page, service, action, choice);
  await page.waitForSelector("#final-flag");
  assert.match(await page.textContent("#step-counter"), /resolved/);
  for (const [service, action, choice] of path_) {
    const step = { action_type: action, service };
    if (action === "diagnose") step.diagnosis = choice;
    if (action === "apply_fix") step.fix = choice;
    await http("POST", "/step", { action: step });
  }
  const grade = await http("GET", "/grader");
  assert.equal(await page.textContent("#grade-score"), grade.score.toFixed(3));
  assert.equal(grade.details.resolution, 1);
  await page.screenshot({ path: path.join(SHOTS, "gen_hard-test-seed7-resolved-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});

test("/docs lists every route and 'Try it out' on GET /health answers healthy", async () => {
  // Goal: Swagger UI renders our /openapi.json (every path) and executes a request
  // against this server.
  const page = await openPage();
  await page.goto(`${base}/docs`);
  await page.waitForSelector(".opblock");
  const openapi = await http("GET", "/openapi.json");
  const shown = await page.$$eval(".opblock-summary-path", (nodes) => nodes.map((n) => n.getAttribute("data-path")));
  assert.deepEqual([...new Set(shown)].sort(), Object.keys(openapi.paths).sort());
  const health = page.locator("#operations-default-get_health");
  await health.locator(".opblock-summary").click();
  await health.locator("button.try-out__btn").click();
  await health.locator("button.execute").click();
  const body = health.locator(".live-responses-table .response-col_description pre").first();
  await body.waitFor();
  assert.deepEqual(JSON.parse(await body.textContent()), { status: "healthy" });
  await page.screenshot({ path: path.join(SHOTS, "docs-1280x800.png") });
  assert.deepEqual(page.problems(), []);
  await page.context().close();
});
