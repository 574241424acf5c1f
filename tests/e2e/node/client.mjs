// Drives focusgql with the official graphql-ws client (v6) under Node and prints
// one JSON line of what it saw; tests/e2e/test_graphql_ws_node.py asserts on it.
//
//   node client.mjs session   <ws url>   a whole session over ONE authenticated client
//   node client.mjs bad-token <ws url>   connectionParams with a bad token
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [mode, url] = process.argv.slice(2);
const FIELDS = `id status elapsedSeconds activeSeconds idleSeconds tabSwitches
  isIdle remainingSeconds focusScore projectedFocusScore`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function client(connectionParams, events) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false, // one socket from now until dispose, whatever runs on it
    retryAttempts: 0,
    keepAlive: 300, // the client pings; the server must pong
    onNonLazyError: (error) => events.push({ nonLazyError: describe(error) }),
    on: {
      connected: () => events.push("connected"),
      closed: (event) => events.push({ closed: describe(event) }),
      pong: (received) => received && events.push("pong"),
    },
  });
}

function describe(error) {
  if (error && typeof error.code === "number") return { code: error.code, reason: error.reason };
  if (Array.isArray(error)) return { errors: error.map((e) => e.message) };
  return { message: String(error?.message ?? error) };
}

// A query or mutation over the socket: exactly one result, then completion.
async function execute(c, query, variables = {}) {
  const results = [];
  for await (const result of c.iterate({ query, variables })) results.push(result);
  if (results.length !== 1) throw new Error(`expected one result, got ${results.length}`);
  if (results[0].errors) throw new Error(JSON.stringify(results[0].errors));
  return Object.values(results[0].data)[0];
}

// Waits until `check()` holds, failing after `ms`.
async function until(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no frame ${what} in ${ms} ms`);
    await sleep(20);
  }
}

async function session() {
  const started = Date.now();
  const marks = {}; // milliseconds since the start, to see where the time goes
  const mark = (name) => (marks[name] = Date.now() - started);
  const anonymousEvents = [];
  const anonymous = client({}, anonymousEvents);
  const email = `node-${Date.now()}-${process.pid}@example.com`;
  const registered = await execute(
    anonymous,
    `mutation($input: RegisterInput!) { register(input: $input) { token user { email } } }`,
    { input: { email, password: "correct horse battery" } },
  );
  await anonymous.dispose();
  mark("registered");

  const events = [];
  const c = client({ authorization: `Bearer ${registered.token}` }, events);
  const results = {};
  results.me = await execute(c, "{ me { email } }");
  results.created = await execute(
    c,
    `mutation { createSession(input: {targetMinutes: 1}) { ${FIELDS} } }`,
  );
  const id = results.created.id;
  mark("created");

  const frames = [];
  let ending = "running";
  const watcher = (async () => {
    try {
      const ticks = c.iterate({
        query: `subscription($id: ID!) { sessionTicks(sessionId: $id) { ${FIELDS} } }`,
        variables: { id },
      });
      for await (const result of ticks) {
        frames.push(result.errors ? { errors: result.errors } : result.data.sessionTicks);
      }
      ending = "completed";
    } catch (error) {
      ending = { error: describe(error) };
    }
  })();

  const vars = { id };
  const seen = (predicate, from = 0) => () => frames.slice(from).some(predicate);
  await until(seen((f) => f.elapsedSeconds >= 1), "with a whole second");
  results.activity = await execute(
    c,
    `mutation($id: ID!) { recordActivity(sessionId: $id) { ${FIELDS} } }`,
    vars,
  );
  results.tab = await execute(
    c,
    `mutation($id: ID!) { recordTabSwitch(sessionId: $id) { ${FIELDS} } }`,
    vars,
  );
  await until(seen((f) => f.tabSwitches === 1), "with tabSwitches 1");
  const setStatus = `mutation($id: ID!, $s: SessionStatus!) {
    updateSession(id: $id, input: {status: $s}) { ${FIELDS} } }`;
  results.paused = await execute(c, setStatus, { ...vars, s: "PAUSED" });
  await until(seen((f) => f.status === "PAUSED"), "PAUSED");
  results.resumed = await execute(c, setStatus, { ...vars, s: "ACTIVE" });
  const resumedAt = frames.length;
  await until(seen((f) => f.status === "ACTIVE", resumedAt), "ACTIVE after resume");
  mark("resumed");
  await sleep(1100); // at least one tick after resuming
  results.ended = await execute(c, `mutation($id: ID!) { endSession(id: $id) { ${FIELDS} } }`, vars);
  // The subscription must complete by itself, not because the client is disposed.
  await Promise.race([watcher, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const endingOnEnd = ending;
  mark("completed");
  results.me_after = await execute(c, "{ me { stats { totalSessions completedSessions } } }");
  await c.dispose();
  mark("disposed");
  return { results, frames, ending: endingOnEnd, events, anonymousEvents, marks };
}

async function badToken() {
  const events = [];
  const c = client({ authorization: "Bearer not-a-token" }, events);
  let outcome;
  try {
    await execute(c, "{ me { email } }");
    outcome = "answered";
  } catch (error) {
    outcome = describe(error);
  }
  await sleep(100);
  await c.dispose();
  return { outcome, events };
}

const modes = { session, "bad-token": badToken };
const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out after 30 s" }));
  process.exit(2);
}, 30_000);
try {
  const output = await modes[mode]();
  console.log(JSON.stringify(output));
  clearTimeout(timer);
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exit(1);
}
