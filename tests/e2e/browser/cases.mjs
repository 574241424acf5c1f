// Single situations of the dashboard in headless Chromium, each printing one
// JSON line; tests/e2e/test_dashboard_states.py sets them up and asserts.
//
//   node cases.mjs <case> <server url> <token>
//   cases: target (the session on screen has reached its target), give-up,
//          outage (prints "cut" / "restore" and waits for "ok" on stdin while
//          the test cuts and restores the connection), phone (390x844)
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
    // The clock goes on locally; activity made now is not counted, and the page says so.
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

const profile = mkdtempSync(join(tmpdir(), "focusgql-chromium-"));
let context;
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out after 60 s" }));
  process.exit(2);
}, 60_000);
try {
  const phone = which === "phone";
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: phone ? { width: 390, height: 844 } : { width: 1100, height: 860 },
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
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
