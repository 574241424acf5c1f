// Drives GraphiQL at /graphql in headless Chromium with every request that is
// not to the server refused, and prints one JSON line of what it saw;
// tests/e2e/test_graphiql.py asserts on it.
//
//   node graphiql.mjs <server url> <token> <session id>
//   env: CHROMIUM (default /usr/bin/chromium)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, token, sessionId] = process.argv.slice(2);
const origin = new URL(url);
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // No name resolves: nothing but the server's own address can be reached.
  `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${origin.hostname}`,
];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(context, page) {
  const out = { consoleErrors: [], blocked: [], requested: [], sockets: [], initCarriesToken: false };
  page.on("console", (m) => {
    if (m.type() === "error") out.consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (error) => out.consoleErrors.push(String(error)));
  await context.route("**/*", (route) => {
    const target = new URL(route.request().url());
    if (target.origin === origin.origin) {
      out.requested.push(target.pathname);
      return route.continue();
    }
    out.blocked.push(target.href);
    return route.abort("blockedbyclient");
  });
  page.on("websocket", (ws) => {
    out.sockets.push(ws.url());
    ws.on("framesent", ({ payload }) => {
      const text = String(payload);
      if (text.includes("connection_init") && text.includes(token)) out.initCarriesToken = true;
    });
  });

  // The editors are CodeMirror: type as a paste would, without auto-closed brackets.
  const fill = async (selector, text) => {
    await page.locator(selector).first().click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(text);
    await page.keyboard.press("Escape"); // closes an autocompletion list, if one opened
    await sleep(300); // GraphiQL takes an edit in after a short debounce
  };
  const result = () =>
    page.evaluate(() => document.querySelector(".result-window .CodeMirror").CodeMirror.getValue());
  const runUntil = async (predicate) => {
    await page.locator(".graphiql-execute-button").click();
    for (const began = Date.now(); Date.now() - began < 10_000; await sleep(100)) {
      const text = await result();
      if (predicate(text)) return text;
    }
    throw new Error(`no result in 10 s: ${await result()} ${JSON.stringify(out)}`);
  };

  await page.goto(`${url}/graphql`);
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor({ state: "visible" });
  out.loadingGone = !(await page.locator("#graphiql").textContent()).includes("Loading GraphiQL");

  const me = "query Me { me { email } activeSession { id status } }";
  await fill(".graphiql-query-editor .CodeMirror", me);
  out.anonymous = JSON.parse(await runUntil((text) => text.includes("errors")));

  await page.getByRole("button", { name: "Headers", exact: true }).click();
  await fill(
    ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror",
    JSON.stringify({ Authorization: `Bearer ${token}` }),
  );
  await fill(".graphiql-query-editor .CodeMirror", me);
  out.signedIn = JSON.parse(await runUntil((text) => text.includes("email")));

  // The subscription's result pane shows each tick as it arrives.
  await fill(
    ".graphiql-query-editor .CodeMirror",
    `subscription Ticks { sessionTicks(sessionId: "${sessionId}") { elapsedSeconds status } }`,
  );
  await runUntil((text) => text.includes("elapsedSeconds"));
  out.ticks = [];
  for (const began = Date.now(); Date.now() - began < 4500; await sleep(150)) {
    const text = await result();
    try {
      const seconds = JSON.parse(text).data.sessionTicks.elapsedSeconds;
      if (out.ticks.at(-1) !== seconds) out.ticks.push(seconds);
    } catch {
      out.ticks.push(`unreadable: ${text}`);
    }
  }
  await page.locator(".graphiql-execute-button").click(); // stops the subscription

  out.pageUrl = page.url();
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
    viewport: { width: 1280, height: 860 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  console.log(JSON.stringify(await run(context, page)));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(timer);
}
