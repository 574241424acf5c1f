// Single situations of the dashboard in headless Chromium, each printing one
// JSON line; tests/e2e/test_dashboard_states.py sets them up and asserts.
//
//   node cases.mjs <case> <server url> <token>
//   cases: target (the session on screen has reached its target), give-up,
//          outage (prints "cut" / "restore" and waits for "ok" on stdin while
//          the test cuts and restores the connection), phone (390x844),
//          two-devices (a second tab of the same person follows the first)
//   env: CHROMIUM (default /usr/bin/chromium), SCREENSHOT: a picture at the end
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [which, url, token] = process.argv.slice(2);
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
const input = createInterface({ input: process.stdin });
const replies = input[Symbol.asyncIterator]();
async function ask(what) {
  console.log(what);
  const { value } = await replies.next();
  if (value !== "ok") throw new Error(`the test answered ${value} to ${what}`);
}

async function signedIn(page) {
  await page.addInitScript((t) => localStorage.setItem("focusgql.token", t), token);
  await page.goto(url);
  await page.locator("#dashboard").waitFor({ state: "visible" });
}

const text = async (page, id) => (await page.getByTestId(id).textContent()).trim();
const seconds = async (page) => Number(await page.getByTestId("elapsed").getAttribute("data-seconds"));

async function followEachOther(page, other, out) {
  // Polled every 50 ms, to time each change closely.
  const status = (p, wanted) =>
    p.waitForFunction((w) => document.getElementById("status").dataset.status === w, wanted, {
      polling: 50,
    });
  const after = async (act, seen) => {
    const started = Date.now();
    await act();
    await seen();
    return Date.now() - started;
  };
  await other.getByTestId("start").waitFor({ state: "visible" });
  out.startSeenAfterMs = await after(
    () => page.getByTestId("start").click(),
    () => other.getByTestId("elapsed").waitFor({ state: "visible" }),
  );
  const first = await seconds(other);
  await other.waitForFunction(
    (s) => Number(document.getElementById("elapsed").dataset.seconds) > s,
    first,
    { polling: 50 },
  );
  out.ticked = (await seconds(other)) > first;
  out.pauseSeenAfterMs = await after(
    () => other.getByTestId("pause").click(),
    () => status(page, "PAUSED"),
  );
  out.resumeSeenAfterMs = await after(
    () => page.getByTestId("resume").click(),
    () => status(other, "ACTIVE"),
  );
  out.endSeenAfterMs = await after(
    () => page.getByTestId("end").click(),
    () => other.getByTestId("final-score").waitFor({ state: "visible" }),
  );
  out.otherResult = await text(other, "result-status");
  out.restartSeenAfterMs = await after(
    () => other.getByTestId("start").click(),
    () => page.getByTestId("elapsed").waitFor({ state: "visible" }),
  );
  // Each page's history lists the new (running) session first once its refresh is in.
  const newest = (p) =>
    p.evaluate(() => {
      const row = document.querySelector("#history-rows tr");
      return row && row.cells[4].querySelector(".value").textContent === "active" ? row.dataset.id : null;
    });
  for (let i = 0; i < 50; i++) {
    out.sessionIds = [await newest(page), await newest(other)];
    if (out.sessionIds[0] && out.sessionIds[1]) break;
    await sleep(100);
  }
}

const CASES = {
  async target(page, out) {
    await signedIn(page);
    await page.getByTestId("elapsed").waitFor({ state: "visible" });
    out.end = await text(page, "end");
    out.giveUpShown = await page.getByTestId("give-up").isVisible();
    await page.getByTestId("end").click();
    await page.getByTestId("final-score").waitFor({ state: "visible" });
    out.result = await text(page, "result-status");
    out.note = await text(page, "result-note");
  },

  async "give-up"(page, out) {
    await signedIn(page);
    await page.getByTestId("elapsed").waitFor({ state: "visible" });
    await page.getByTestId("give-up").click();
    await page.getByTestId("final-score").waitFor({ state: "visible" });
    out.result = await text(page, "result-status");
    out.note = await text(page, "result-note");
  },

  async outage(page, out) {
    await signedIn(page);
    await page.getByTestId("elapsed").waitFor({ state: "visible" });
    const first = await seconds(page);
    await page.waitForFunction((s) => Number(document.getElementById("elapsed").dataset.seconds) > s, first);
    out.before = await seconds(page);

    await ask("cut");
    const cutAt = Date.now();
    await page.getByTestId("offline").waitFor({ state: "visible" });
    out.noticeAfterMs = Date.now() - cutAt;
    out.unconfirmedShown = await page.getByTestId("unconfirmed").isVisible();
    out.errorShownOffline = await page.getByTestId("error").isVisible();
    // The clock goes on locally; activity made now is kept for later, and the page says so.
    out.offlineSamples = [];
    for (let i = 0; i < 6; i++) {
      await page.mouse.move(50 + i * 20, 300);
      await sleep(500);
      out.offlineSamples.push(await seconds(page));
    }
    out.offlineText = await text(page, "offline");

    await ask("restore");
    const restoredAt = Date.now();
    await page.getByTestId("unconfirmed").waitFor({ state: "hidden", timeout: 10_000 });
    out.confirmedAfterMs = Date.now() - restoredAt;
    out.backText = await text(page, "offline");
    out.errorShownBack = await page.getByTestId("error").isVisible();
    await page.getByTestId("offline").waitFor({ state: "hidden", timeout: 10_000 });
    out.after = await seconds(page);
    out.sessionId = await page.evaluate(() => document.querySelector("#history-rows tr")?.dataset.id);
  },

  // Two devices of one person (a second browser of its own, signed in with the
  // same token): what one does, the other shows within a tick, through
  // mySession. Not two tabs of one browser: a background tab's timers and
  // animation frames are throttled, which is not what a second device sees.
  async "two-devices"(page, out) {
    const secondProfile = mkdtempSync(join(tmpdir(), "focusgql-chromium-"));
    const second = await launch(secondProfile, false);
    try {
      const other = second.pages()[0] ?? (await second.newPage());
      other.on("pageerror", (error) => out.consoleErrors.push(String(error)));
      await signedIn(page);
      await signedIn(other);
      await followEachOther(page, other, out);
    } finally {
      await second.close();
      rmSync(secondProfile, { recursive: true, force: true });
    }
  },
  async phone(page, out) {
    await signedIn(page);
    await page.getByTestId("history").waitFor({ state: "visible" });
    await page.waitForFunction(() => document.querySelectorAll("#history-rows tr").length > 0);
    out.viewport = page.viewportSize();
    out.page = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const outside = [];
      for (const element of document.querySelectorAll("body *")) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 || getComputedStyle(element).visibility === "hidden") continue;
        if (box.left < -0.5 || box.right > width + 0.5) {
          outside.push(`${element.tagName.toLowerCase()}#${element.id}.${element.className}`);
        }
      }
      // Text cut inside its own box (other than the header's e-mail, which ends in "…").
      const clipped = [...document.querySelectorAll("td, th, dd, dt, button, h1, h2")]
        .filter((e) => e.scrollWidth > e.clientWidth + 1)
        .map((e) => `${e.tagName.toLowerCase()}: ${e.textContent.trim().slice(0, 30)}`);
      const who = document.getElementById("who");
      const style = getComputedStyle(who);
      return {
        width,
        scrollWidth: document.documentElement.scrollWidth,
        outside,
        clipped,
        who: {
          lines: Math.round(who.getBoundingClientRect().height / parseFloat(style.lineHeight)),
          ellipsis: style.textOverflow,
          title: who.title,
        },
        historyCells: [...document.querySelectorAll("#history-rows tr:first-child td")].map((td) =>
          td.innerText.replace(/\s+/g, " ").trim(),
        ),
      };
    });
  },
};

async function launch(dir, phone) {
  const launched = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: phone ? { width: 390, height: 844 } : { width: 1100, height: 860 },
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    timeout: 30_000,
  });
  launched.setDefaultTimeout(10_000);
  return launched;
}

const profile = mkdtempSync(join(tmpdir(), "focusgql-chromium-"));
let context;
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out after 60 s" }));
  process.exit(2);
}, 60_000);
try {
  const phone = which === "phone";
  context = await launch(profile, phone);
  const page = context.pages()[0] ?? (await context.newPage());
  const out = { consoleErrors: [] };
  page.on("pageerror", (error) => out.consoleErrors.push(String(error)));
  page.on("console", (m) => {
    // A refused connection during the outage is the point of that case.
    if (m.type() === "error" && !(which === "outage" && /ERR_|WebSocket/.test(m.text()))) {
      out.consoleErrors.push(`${m.text()} (${m.location().url})`);
    }
  });
  await CASES[which](page, out);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: phone });
  console.log(JSON.stringify(out));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(timer);
  input.close();
}
