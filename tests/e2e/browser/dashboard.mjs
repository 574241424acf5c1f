// Drives the dashboard in headless Chromium with playwright-core and prints one
// JSON line of what it saw; tests/e2e/test_dashboard.py asserts on it.
//
//   node dashboard.mjs <server url>
//   env: CHROMIUM (default /usr/bin/chromium); SCREENSHOT_SIGN_IN, SCREENSHOT_LIVE,
//   SCREENSHOT_END: paths for pictures of those moments
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url] = process.argv.slice(2);
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(page) {
  const out = { consoleErrors: [], activityRequests: 0 };
  page.on("console", (m) => {
    if (m.type() === "error") out.consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (error) => out.consoleErrors.push(String(error)));
  // Activity goes over the page's socket while it is open, over HTTP otherwise.
  page.on("request", (request) => {
    if ((request.postData() ?? "").includes("recordActivity")) out.activityRequests += 1;
  });
  page.on("websocket", (ws) => {
    ws.on("framesent", ({ payload }) => {
      if (String(payload).includes("recordActivity")) out.activityRequests += 1;
    });
  });
  const byId = (id) => page.getByTestId(id);
  const text = async (id) => (await byId(id).textContent()).trim();
  const snap = async (moment) => {
    const path = process.env[`SCREENSHOT_${moment}`];
    if (path) await page.screenshot({ path });
  };

  await page.goto(url);
  const email = `browser-${Date.now()}-${process.pid}@example.com`;
  await byId("email").fill(email);
  await byId("password").fill("correct horse battery");

  // Signing in before registering shows the server's message.
  await byId("sign-in").click();
  await byId("error").waitFor({ state: "visible" });
  out.signInError = await text("error");
  await snap("SIGN_IN");

  await byId("register").click();
  await byId("start").waitFor({ state: "visible" });
  out.who = await text("who");
  await byId("goal").fill("1");
  const goalSaved = page.waitForResponse((r) => r.url().endsWith("/graphql"));
  await byId("set-goal").click();
  await goalSaved;
  await byId("target").fill("1");
  await byId("content").fill("e2e chapter");
  await byId("tags").fill("E2E, Reading ");
  await byId("start").click();
  await byId("elapsed").waitFor({ state: "visible" });
  out.errorHiddenAfterStart = await byId("error").isHidden();

  // ~3 s of real time, moving the mouse all along: ticks advance the counter,
  // and activity goes out at most once a second.
  out.samples = [];
  const began = Date.now();
  out.activityRequests = 0;
  for (let i = 0; Date.now() - began < 3200; i++) {
    await page.mouse.move(100 + (i % 50) * 4, 200 + (i % 7) * 3);
    out.samples.push(Number(await byId("elapsed").getAttribute("data-seconds")));
    await sleep(50);
  }
  out.mouseSeconds = (Date.now() - began) / 1000;
  out.activityDuringMouse = out.activityRequests;
  // Stats count the running session's active time as it goes.
  out.liveFocus = await text("total-focus");
  out.goalProgress = await text("goal-progress");
  out.progress = await page.evaluate(() => ({
    height: document.querySelector('[data-testid="progress"]').getBoundingClientRect().height,
    fill: document.getElementById("progress-fill").getBoundingClientRect().width,
    now: Number(document.querySelector('[data-testid="progress"]').getAttribute("aria-valuenow")),
  }));
  out.beforeTarget = { end: await text("end"), giveUp: await byId("give-up").isVisible() };

  await byId("pause").click();
  await byId("resume").waitFor({ state: "visible" });
  out.pausedStatus = await text("status");
  await byId("resume").click();
  await byId("pause").waitFor({ state: "visible" });
  out.resumedStatus = await text("status");

  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.waitForFunction(
    () => document.querySelector('[data-testid="tab-switches"]').textContent.trim() === "1",
    null,
    { timeout: 5000 },
  );
  out.live = {};
  for (const id of ["status", "elapsed", "active", "idle", "remaining", "projected", "tab-switches"]) {
    out.live[id] = await text(id);
  }
  await snap("LIVE");

  // Reloading is not switching tabs: reloads leave the count at 1.
  for (let i = 0; i < 3; i++) {
    await page.reload();
    await byId("elapsed").waitFor({ state: "visible" });
  }
  // Nor is following the header's link to GraphiQL and coming back.
  await page.getByRole("link", { name: "GraphiQL" }).click();
  await page.waitForURL("**/graphql");
  await page.goBack();
  await sleep(1500); // a tab switch sent on the way out would be counted by now
  await page.reload();
  await byId("elapsed").waitFor({ state: "visible" });
  out.tabSwitchesAfterReloads = await text("tab-switches");

  await byId("end").click();
  await byId("final-score").waitFor({ state: "visible" });
  out.finalScore = await text("final-score");
  out.resultStatus = await text("result-status");
  out.breakdown = {};
  out.resultNote = await text("result-note");
  const parts = ["completion", "activity-ratio", "base", "tab-switch-penalty", "idle-penalty"];
  for (const id of [...parts, "breakdown-sum", "breakdown-score"]) {
    out.breakdown[id] = await text(id);
  }
  // Stats and history refresh after the end.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="completed-sessions"]').textContent.trim() === "1",
    null,
    { timeout: 5000 },
  );
  out.stats = {};
  for (const id of ["total-sessions", "completed-sessions", "current-streak", "last-score"]) {
    out.stats[id] = await text(id);
  }
  out.history = await page.$$eval('[data-testid="history"] tbody tr', (rows) =>
    rows.map((row) => [...row.cells].map((cell) => cell.querySelector(".value").textContent)),
  );
  await snap("END");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    byId("export-csv").click(),
  ]);
  out.exportCsv = readFileSync(await download.path(), "utf8");
  out.token = await page.evaluate(() => localStorage.getItem("focusgql.token"));
  return out;
}

const profile = mkdtempSync(join(tmpdir(), "focusgql-chromium-"));
let context;
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out after 60 s" }));
  process.exit(2);
}, 60_000);
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 860 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  console.log(JSON.stringify(await run(page)));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(timer);
}
