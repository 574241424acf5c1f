// The focusgql dashboard: plain ES module, no build step, no dependencies.
// Queries and mutations go over fetch; the live counters come from the
// `mySession` subscription over graphql-transport-ws (client below), which
// follows the person's running session whichever device started it, and
// activity and tab switches go over that same socket while it is open: it has
// signed in once, so a report costs no HTTP request, token check or user read,
// and it takes the server's cheapest path (plain scalar selections).

const TOKEN_KEY = "focusgql.token";
const ACTIVITY_EVERY_MS = 1000; // at most one recordActivity per second
const RECONNECT_MS = 1000;
const STALE_TICK_MS = 3500; // an ACTIVE session ticks every second: silence means trouble
const UNREACHABLE = "The server cannot be reached; try again.";

// What the live view shows: plain scalars, which the server answers without a
// GraphQL execution; the breakdown is read once, when the session has ended.
const LIVE = `id status targetMinutes contentId startedAt endedAt asOf
  elapsedSeconds activeSeconds idleSeconds isIdle tabSwitches remainingSeconds
  focusScore projectedFocusScore todayFocusSeconds dailyGoalMinutes`;
// Tags are a list, which the live path does not compile: read with the rest.
const SESSION = `${LIVE} tags
  scoreBreakdown { completion activityRatio base tabSwitchPenalty idlePenalty score }`;
const STATS = `stats { totalSessions completedSessions totalFocusSeconds
  averageFocusScore lastFocusScore currentStreak longestStreak goalStreak }`;
const HISTORY = `sessions(first: 10, after: $after) {
  edges { node { id status targetMinutes contentId tags startedAt elapsedSeconds focusScore } }
  pageInfo { hasNextPage endCursor } }`;

const Q = {
  load: `query Load($after: String) { me { email displayName dailyGoalMinutes ${STATS} }
    activeSession { ${SESSION} } ${HISTORY} }`,
  refresh: `query Refresh($after: String) { me { ${STATS} } ${HISTORY} }`,
  history: `query History($after: String) { ${HISTORY} }`,
  goal: `mutation Goal($minutes: Int!) {
    updateProfile(input: {dailyGoalMinutes: $minutes}) { dailyGoalMinutes } }`,
  register: `mutation Register($input: RegisterInput!) { register(input: $input) { token } }`,
  login: `mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) { token } }`,
  create: `mutation Create($input: CreateSessionInput!) { createSession(input: $input) { ${SESSION} } }`,
  update: `mutation Update($id: ID!, $status: SessionStatus!) {
    updateSession(id: $id, input: {status: $status}) { ${SESSION} } }`,
  end: `mutation End($id: ID!, $status: SessionStatus!) {
    endSession(id: $id, status: $status) { ${SESSION} } }`,
  session: `query Session($id: ID!) { session(id: $id) { ${SESSION} } }`,
  activity: `mutation Activity($id: ID!) { recordActivity(sessionId: $id) { ${LIVE} } }`,
  tab: `mutation Tab($id: ID!) { recordTabSwitch(sessionId: $id) { ${LIVE} } }`,
  replay: `mutation Replay($id: ID!, $signals: [SignalInput!]!) {
    recordSignals(sessionId: $id, signals: $signals) { ${LIVE} } }`,
  mine: `subscription Mine { mySession { ${LIVE} } }`,
};

// ---- GraphQL over HTTP -------------------------------------------------------

class RequestError extends Error {
  constructor(errors, unreachable = false) {
    super(errors.map((e) => e.message).join(" "));
    this.codes = errors.map((e) => e.extensions?.code);
    this.index = errors[0]?.extensions?.index; // recordSignals: the signal refused
    this.unreachable = unreachable; // no answer at all, as opposed to a refusal
  }
}

const unreachable = () => new RequestError([{ message: UNREACHABLE }], true);

async function request(query, variables = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let body;
  try {
    const response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    body = await response.json();
  } catch {
    markOffline();
    throw unreachable();
  }
  markOnline();
  if (body.errors?.length) throw new RequestError(body.errors);
  clearError(); // an answer: whatever failed before is not the state any more
  return body.data;
}

// ---- graphql-transport-ws (github.com/enisdenjo/graphql-ws PROTOCOL.md) ------

class SubscriptionClient {
  #socket = null;
  #ready = null;
  #sinks = new Map();
  #nextId = 1;

  constructor(url, connectionParams) {
    this.url = url;
    this.connectionParams = connectionParams;
  }

  // sink: {next(result), error(graphqlErrors), complete(), closed(closeEvent)}
  subscribe(payload, sink) {
    const id = String(this.#nextId++);
    this.#sinks.set(id, sink);
    this.#connect().then(
      (socket) => this.#sinks.has(id) && send(socket, { id, type: "subscribe", payload }),
      () => {}, // the close handler has told every sink already
    );
    return () => {
      if (this.#sinks.delete(id) && this.#socket?.readyState === WebSocket.OPEN) {
        send(this.#socket, { id, type: "complete" });
      }
      this.#closeIfIdle();
    };
  }

  #connect() {
    if (this.#ready) return this.#ready;
    this.#ready = new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, "graphql-transport-ws");
      this.#socket = socket;
      socket.onopen = () =>
        send(socket, { type: "connection_init", payload: this.connectionParams });
      socket.onmessage = ({ data }) => {
        const message = JSON.parse(data);
        const sink = this.#sinks.get(message.id);
        if (message.type === "connection_ack") resolve(socket);
        else if (message.type === "ping") send(socket, { type: "pong" });
        else if (message.type === "next") sink?.next(message.payload);
        else if (message.type === "error" || message.type === "complete") {
          this.#sinks.delete(message.id);
          if (message.type === "error") sink?.error(message.payload);
          else sink?.complete();
          this.#closeIfIdle();
        }
      };
      socket.onclose = (event) => {
        this.#socket = this.#ready = null;
        reject(event);
        const sinks = [...this.#sinks.values()];
        this.#sinks.clear();
        for (const sink of sinks) sink.closed(event);
      };
    });
    return this.#ready;
  }

  // A query or mutation over the socket if it is open (null if not): answered
  // by `next` then `complete`, like a subscription with one result.
  execute(payload) {
    if (this.#socket?.readyState !== WebSocket.OPEN) return null;
    return new Promise((resolve, reject) => {
      let result = null;
      this.subscribe(payload, {
        next: (r) => (result = r),
        error: (errors) => reject(new RequestError(errors)),
        complete: () =>
          result?.errors?.length ? reject(new RequestError(result.errors)) : resolve(result?.data),
        closed: () => reject(unreachable()),
      });
    });
  }

  #closeIfIdle() {
    if (this.#sinks.size === 0) this.close();
  }

  close() {
    this.#socket?.close(1000, "Normal Closure");
  }
}

function send(socket, message) {
  socket.send(JSON.stringify(message));
}

// ---- state and rendering -----------------------------------------------------

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  ws: null, // SubscriptionClient for the current token
  session: null, // the latest snapshot of the session on screen
  stopWatching: null,
  lastActivity: 0,
  after: null, // history cursor
  stats: null, // the latest stats read, for the running session's share of focus time
  confirmedAt: 0, // Date.now() when the server last sent the session on screen
  offline: false,
  missed: 0, // activity and tab switches made while the server was unreachable
  queue: [], // those reports, {sessionId, kind, at, signalId}, replayed once it is back
  replaying: null, // the replay under way (a promise), if any
  leaving: false, // a reload or navigation away is under way: not a tab switch
};

const $ = (id) => document.getElementById(id);

function setText(id, text) {
  $(id).textContent = text;
}

function show(id, visible) {
  $(id).hidden = !visible;
}

function clock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

const percent = (ratio) => `${Math.round(ratio * 100)}%`;
const points = (value) => (value ? `−${value.toFixed(1)}` : "0");
const running = (s) => s && (s.status === "ACTIVE" || s.status === "PAUSED");

function showError(error) {
  // With a session running, the offline notice says it (and goes once back).
  if (error?.unreachable && running(state.session)) return markOffline();
  setText("error", error instanceof Error ? error.message : String(error));
  show("error", true);
}

function clearError() {
  show("error", false);
}

// ---- connectivity: said at once, and cleared by the next answer ---------------

function markOffline() {
  if (state.offline || !running(state.session)) return;
  state.offline = true;
  state.missed = 0;
  $("offline").dataset.state = "offline";
  setText("offline", offlineText());
  show("offline", true);
  announce("The server cannot be reached: reconnecting.");
  renderLive(state.session);
}

function offlineText() {
  const missed = state.missed
    ? ` ${state.missed} activity or tab-switch report${state.missed === 1 ? " is" : "s are"} kept.`
    : "";
  return (
    "The server cannot be reached: reconnecting. The clock runs on this device " +
    `and is not confirmed; activity and tab switches meanwhile are kept and sent once it is back.${missed}`
  );
}

// Any answer, a tick included, clears a "cannot be reached" banner at once.
function markOnline() {
  if (!$("error").hidden && $("error").textContent === UNREACHABLE) clearError();
  if (!state.offline) return;
  state.offline = false;
  const missed = state.missed;
  $("offline").dataset.state = "back";
  setText(
    "offline",
    "Reconnected: the clock is the server's again." +
      (missed ? ` ${missed} report${missed === 1 ? "" : "s"} made offline sent.` : ""),
  );
  setTimeout(() => !state.offline && show("offline", false), 5000);
  announce("Reconnected.");
  replay();
}

// ---- offline queue: what happened while unreachable, sent in order once back --

const REPLAY_BATCH = 500; // the server's most per recordSignals call

function keep(query) {
  const s = state.session;
  const signalId = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  const kind = query === Q.tab ? "TAB_SWITCH" : "ACTIVITY";
  state.queue.push({ sessionId: s.id, kind, at: new Date().toISOString(), signalId });
  state.missed += 1;
}

// One replay at a time; a signal made meanwhile waits behind it, keeping the order.
function replay() {
  if (!state.replaying && state.queue.length && !state.offline) {
    state.replaying = sendQueue().finally(() => {
      state.replaying = null;
      if (state.queue.length && !state.offline) replay();
    });
  }
  return state.replaying ?? Promise.resolve();
}

async function sendQueue() {
  while (state.queue.length && !state.offline) {
    const { sessionId } = state.queue[0];
    let batch = 0;
    while (batch < Math.min(REPLAY_BATCH, state.queue.length) && state.queue[batch].sessionId === sessionId) {
      batch += 1;
    }
    const signals = state.queue.slice(0, batch).map(({ kind, at, signalId }) => ({ kind, at, signalId }));
    try {
      const data = await request(Q.replay, { id: sessionId, signals });
      state.queue.splice(0, batch);
      if (state.session?.id === sessionId) applySnapshot(data.recordSignals);
    } catch (error) {
      if (error.unreachable) return; // offline again: kept for the next time
      const refused = error.codes ? error : null;
      const index = refused?.index;
      // A signal that can never count (too old, ended session...): drop it and
      // those before it, which cannot count either, and send the rest.
      state.queue.splice(0, Number.isInteger(index) ? index + 1 : batch);
    }
  }
}

// While ACTIVE and unconfirmed, the clock moves on from the last snapshot.
function heartbeat() {
  const s = state.session;
  if (!running(s)) return;
  if (s.status === "ACTIVE" && Date.now() - state.confirmedAt > STALE_TICK_MS) markOffline();
  if (state.offline) renderLive(s);
}

function announce(text) {
  setText("announce", text);
}

function renderSignedIn(me) {
  show("auth", false);
  show("dashboard", true);
  show("sign-out", true);
  setText("who", me.displayName || me.email);
  $("who").title = me.email; // the header may cut it short on a narrow screen
}

function renderSignedOut() {
  show("auth", true);
  show("dashboard", false);
  show("sign-out", false);
  setText("who", "");
}

// Snapshots arrive from ticks and from mutation results; keep the newest.
function applySnapshot(s) {
  const current = state.session;
  if (current?.id === s.id && Date.parse(s.asOf) < Date.parse(current.asOf)) return;
  if (current?.id === s.id && !running(current) && running(s)) return;
  state.session = s;
  state.confirmedAt = Date.now();
  markOnline();
  if (running(s)) renderLive(s);
  else if (s.scoreBreakdown) renderResult(s);
  else {
    // Ended while live: the live fields carry no breakdown; read it once.
    request(Q.session, { id: s.id }).then((data) => data.session && applySnapshot(data.session), showError);
  }
}

// The snapshot as this device's clock has moved it on since the server sent it.
function local(s) {
  if (!state.offline || s.status !== "ACTIVE") return s;
  const elapsed = s.elapsedSeconds + Math.floor((Date.now() - state.confirmedAt) / 1000);
  const remaining = Math.max(0, s.targetMinutes * 60 - elapsed);
  return { ...s, elapsedSeconds: elapsed, remainingSeconds: remaining };
}

function renderLive(snapshot) {
  const s = local(snapshot);
  show("start", false);
  show("result", false);
  show("live", true);
  show("unconfirmed", state.offline);
  $("live").classList.toggle("unconfirmed-clock", state.offline);
  setText("live-content", s.contentId || "Focus session");
  setText("status", s.status === "PAUSED" ? "Paused" : "Active");
  $("status").dataset.status = s.status;
  setText("elapsed", clock(s.elapsedSeconds));
  $("elapsed").dataset.seconds = s.elapsedSeconds;
  setText("target", clock(s.targetMinutes * 60));
  const done = Math.min(1, s.elapsedSeconds / (s.targetMinutes * 60));
  $("progress-fill").style.width = `${(done * 100).toFixed(2)}%`;
  $("progress").setAttribute("aria-valuenow", String(Math.floor(done * 100)));
  setText("active", clock(s.activeSeconds));
  setText("idle", clock(s.idleSeconds));
  setText("remaining", clock(s.remainingSeconds));
  setText("tab-switches", String(s.tabSwitches));
  setText("projected", String(s.projectedFocusScore));
  show("idle-note", s.isIdle && s.status === "ACTIVE");
  show("pause", s.status === "ACTIVE");
  show("resume", s.status === "PAUSED");
  // Before the target: finish early or give up; once there, finish.
  const early = s.remainingSeconds > 0;
  setText("end", early ? "Finish early" : "Finish");
  show("give-up", early);
  if (state.stats) setText("s-focus", clock(state.stats.totalFocusSeconds + s.activeSeconds));
  renderGoal(s);
  const row = $("history-rows").querySelector(`tr[data-id="${s.id}"]`);
  if (row) {
    row.cells[3].querySelector(".value").textContent = clock(s.elapsedSeconds);
    row.cells[4].querySelector(".value").textContent = s.status.toLowerCase();
  }
}

function renderResult(s) {
  const shown = !$("result").hidden && $("result").dataset.session === s.id;
  show("live", false);
  show("start", true);
  show("result", true);
  $("result").dataset.session = s.id;
  const reached = s.elapsedSeconds >= s.targetMinutes * 60;
  const outcome =
    s.status === "ABANDONED" ? "Session abandoned" : reached ? "Session completed" : "Finished early";
  setText("result-title", outcome);
  $("result").dataset.outcome = outcome;
  setText("final-score", String(s.focusScore ?? s.scoreBreakdown.score));
  const b = s.scoreBreakdown;
  setText("b-completion", percent(b.completion));
  setText("b-activity", percent(b.activityRatio));
  setText("b-base", b.base.toFixed(1));
  setText("b-tabs", points(b.tabSwitchPenalty));
  setText("b-idle", points(b.idlePenalty));
  const raw = b.base - b.tabSwitchPenalty - b.idlePenalty;
  const kept = raw < -0.5 || raw >= 100.5 ? ", kept within 0–100" : "";
  setText(
    "b-sum",
    `(${b.base.toFixed(1)} − ${b.tabSwitchPenalty.toFixed(1)} − ${b.idlePenalty.toFixed(1)}` +
      ` = ${raw.toFixed(1).replace("-", "−")}, rounded${kept})`,
  );
  setText("b-score", String(b.score));
  setText(
    "result-note",
    s.status === "ABANDONED"
      ? "Given up: scored, but not completed, and no streak day."
      : reached
        ? "Target reached."
        : "Ended before its target: completed, scored on the part done; a streak day needs 10 active minutes or the target.",
  );
  setText(
    "result-figures",
    `${clock(s.elapsedSeconds)} of ${clock(s.targetMinutes * 60)}: ` +
      `${clock(s.activeSeconds)} active, ${clock(s.idleSeconds)} idle, ` +
      `${s.tabSwitches} tab switch${s.tabSwitches === 1 ? "" : "es"}.`,
  );
  if (!shown) {
    announce(`${outcome}: score ${s.focusScore}.`);
    refresh();
  }
}

// Today's progress toward the daily goal. Only live (mySession) frames carry it
// (other answers have nulls), so what ended today before this session is kept
// from the last frame and the session's own active seconds added to it.
function renderGoal(s) {
  if (s.todayFocusSeconds != null && s.dailyGoalMinutes != null) {
    state.goal = {
      session: s.id,
      minutes: s.dailyGoalMinutes,
      before: s.todayFocusSeconds - s.activeSeconds,
    };
  }
  const goal = state.goal?.session === s.id ? state.goal : null;
  const visible = goal != null && goal.minutes > 0;
  show("goal-progress", visible);
  if (!visible) return;
  const today = goal.before + s.activeSeconds;
  const reached = today >= goal.minutes * 60;
  setText(
    "goal-progress",
    `Today: ${clock(today)} of your ${clock(goal.minutes * 60)} goal` +
      (reached ? ": reached." : "."),
  );
}

function renderStats(stats) {
  state.stats = stats;
  const days = (n) => `${n} day${n === 1 ? "" : "s"}`;
  setText("s-streak", days(stats.currentStreak));
  setText("s-longest", days(stats.longestStreak));
  setText("s-goal-streak", days(stats.goalStreak));
  setText("s-total", String(stats.totalSessions));
  setText("s-completed", String(stats.completedSessions));
  setText("s-focus", clock(stats.totalFocusSeconds));
  setText("s-average", stats.averageFocusScore?.toFixed(1) ?? "—");
  setText("s-last", stats.lastFocusScore == null ? "—" : String(stats.lastFocusScore));
}

const HISTORY_COLUMNS = ["Started", "Focusing on", "Target", "Time", "Status", "Score"];

function renderHistory(connection, append) {
  const rows = $("history-rows");
  if (!append) rows.replaceChildren();
  const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const { node } of connection.edges) {
    const row = rows.insertRow();
    row.dataset.id = node.id;
    const cells = [
      when.format(new Date(node.startedAt)),
      [node.contentId || "—", ...(node.tags || []).map((t) => `#${t}`)].join(" "),
      `${node.targetMinutes} min`,
      clock(node.elapsedSeconds),
      node.status.toLowerCase(),
      node.focusScore == null ? "—" : String(node.focusScore),
    ];
    // Each cell carries its column's name, shown on a phone, where rows stack.
    cells.forEach((text, i) => {
      const cell = row.insertCell();
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = HISTORY_COLUMNS[i];
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = text;
      cell.append(label, value);
      if (i === cells.length - 1) cell.className = "num";
    });
  }
  state.after = connection.pageInfo.endCursor;
  show("more", connection.pageInfo.hasNextPage);
  show("history-empty", rows.rows.length === 0);
}

// ---- actions -----------------------------------------------------------------

// One subscription for the page's lifetime, to the person rather than to a
// session: a session started, paused or ended on another device shows here
// within a tick, and the final frame of one is followed by null until the next.
function follow() {
  if (state.stopWatching) state.stopWatching();
  let stopped = false;
  const stop = state.ws.subscribe(
    { query: Q.mine, operationName: "Mine" },
    {
      next: (result) => {
        if (result.errors?.length) showError(new RequestError(result.errors));
        else if (result.data) onMine(result.data.mySession);
      },
      error: (errors) => showError(new RequestError(errors)),
      complete: () => {},
      closed: (event) => {
        if (stopped) return;
        if (event.code === 4403 || event.code === 4401) {
          signOut("Your sign-in is no longer valid: please sign in again.");
          return;
        }
        if (running(state.session)) markOffline(); // at once, not when the next signal fails
        setTimeout(() => !stopped && state.ws && follow(), RECONNECT_MS);
      },
    },
  );
  state.stopWatching = () => {
    stopped = true;
    state.stopWatching = null;
    stop();
  };
}

function onMine(s) {
  if (s) {
    const started = running(s) && state.session?.id !== s.id;
    applySnapshot(s);
    if (started) refresh(); // started here or elsewhere: the history lists it
    return;
  }
  markOnline(); // nothing runs, and the server said so
  const shown = state.session;
  // A session on screen as running ended without its final frame reaching
  // this page (it was deleted, or ended while the socket was away): read it.
  if (running(shown)) {
    request(Q.session, { id: shown.id }).then(
      (data) => data.session && applySnapshot(data.session),
      () => {
        state.session = null;
        for (const id of ["live", "result"]) show(id, false);
        show("start", true);
      },
    );
  }
}

async function act(work) {
  clearError();
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}

async function load() {
  try {
    const data = await request(Q.load, { after: null });
    renderSignedIn(data.me);
    $("goal-form").elements.minutes.value = String(data.me.dailyGoalMinutes);
    renderStats(data.me.stats);
    renderHistory(data.sessions, false);
    show("start", true);
    if (data.activeSession) applySnapshot(data.activeSession);
    follow();
  } catch (error) {
    if (error.codes?.includes("UNAUTHENTICATED")) signOut("Please sign in again.");
    else showError(error);
  }
}

async function refresh() {
  try {
    const data = await request(Q.refresh, { after: null });
    renderStats(data.me.stats);
    renderHistory(data.sessions, false);
  } catch (error) {
    showError(error);
  }
}

function signIn(token) {
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  state.ws = new SubscriptionClient(`${scheme}://${location.host}/graphql`, {
    authorization: `Bearer ${token}`,
  });
  return load();
}

function signOut(message) {
  if (state.stopWatching) state.stopWatching();
  state.ws?.close();
  Object.assign(state, { token: null, ws: null, session: null, after: null, offline: false, queue: [] });
  show("offline", false);
  localStorage.removeItem(TOKEN_KEY);
  for (const id of ["live", "result"]) show(id, false);
  renderSignedOut();
  if (message) showError(message);
}

// Activity and tab switches are reported only while the session runs; an error
// from one that raced with the end of the session is not worth showing.
async function signal(query) {
  const s = state.session;
  if (!s || s.status !== "ACTIVE") return;
  if (state.offline || state.replaying || state.queue.length) {
    // Kept with its instant, and sent after what is queued already.
    keep(query);
    if (state.offline) setText("offline", offlineText());
    else replay();
    return;
  }
  try {
    const payload = { query, variables: { id: s.id } };
    const data = await (state.ws?.execute(payload) ?? request(query, payload.variables));
    applySnapshot(Object.values(data)[0]);
  } catch (error) {
    if (error.unreachable) {
      markOffline();
      keep(query); // after markOffline, which starts the count afresh
      setText("offline", offlineText());
    } else if (state.session?.id === s.id && state.session.status === "ACTIVE") showError(error);
  }
}

function onActivity() {
  const now = Date.now();
  if (state.session?.status !== "ACTIVE" || now - state.lastActivity < ACTIVITY_EVERY_MS) return;
  state.lastActivity = now;
  signal(Q.activity);
}

// A reload or navigation away hides the page too, but after beforeunload/pagehide:
// only a switch away from a page that stays is a tab switch.
function onVisibilityChange() {
  if (state.leaving) return;
  if (document.visibilityState === "hidden" || document.hidden) signal(Q.tab);
}

function bind() {
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const email = form.get("email");
    const password = form.get("password");
    act(async () => {
      if (event.submitter?.value === "register") {
        const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
        const data = await request(Q.register, { input: { email, password, timezone } });
        await signIn(data.register.token);
      } else {
        const data = await request(Q.login, { email, password });
        await signIn(data.login.token);
      }
      event.target.reset();
    });
  });
  $("start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const input = { targetMinutes: Number(form.get("targetMinutes")) };
    if (form.get("contentId")) input.contentId = form.get("contentId");
    const tags = String(form.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) input.tags = tags;
    act(async () => {
      const { createSession } = await request(Q.create, { input });
      applySnapshot(createSession);
      announce("Session started.");
      refresh();
    });
  });
  $("goal-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const minutes = Number(new FormData(event.target).get("minutes"));
    act(async () => {
      await request(Q.goal, { minutes });
      announce(minutes ? `Daily goal set to ${minutes} minutes.` : "Daily goal removed.");
      refresh();
    });
  });
  // The export needs the token in a header, which a plain link cannot send:
  // fetch it and hand the browser the file.
  document.querySelectorAll("[data-export]").forEach((button) => {
    button.addEventListener("click", () =>
      act(async () => {
        const kind = button.dataset.export;
        const response = await fetch(`/export.${kind}`, {
          headers: { authorization: `Bearer ${state.token}` },
        });
        if (!response.ok) throw new RequestError([{ message: "The export failed; sign in again." }]);
        const url = URL.createObjectURL(await response.blob());
        const link = document.createElement("a");
        link.href = url;
        link.download = `focus-sessions.${kind}`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      }),
    );
  });
  const update = (status, message) => () =>
    act(async () => {
      await replay(); // what was kept goes before the change (a resume is activity)
      const data = await request(Q.update, { id: state.session.id, status });
      applySnapshot(data.updateSession);
      announce(message);
    });
  $("pause").addEventListener("click", update("PAUSED", "Session paused."));
  $("resume").addEventListener("click", update("ACTIVE", "Session resumed."));
  const end = (status) => () =>
    act(async () => {
      await replay();
      applySnapshot((await request(Q.end, { id: state.session.id, status })).endSession);
    });
  $("end").addEventListener("click", end("COMPLETED"));
  $("give-up").addEventListener("click", end("ABANDONED"));
  $("more").addEventListener("click", () =>
    act(async () => renderHistory((await request(Q.history, { after: state.after })).sessions, true)),
  );
  $("sign-out").addEventListener("click", () => signOut());
  document.addEventListener("mousemove", onActivity, { passive: true });
  document.addEventListener("keydown", onActivity);
  document.addEventListener("visibilitychange", onVisibilityChange);
  const leaving = () => (state.leaving = true);
  window.addEventListener("beforeunload", leaving);
  window.addEventListener("pagehide", leaving);
  window.addEventListener("pageshow", () => (state.leaving = false)); // back from the cache
  setInterval(heartbeat, 1000);
}

bind();
if (state.token) signIn(state.token);
else renderSignedOut();
