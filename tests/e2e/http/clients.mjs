// Drives focusgql's HTTP transports with clients written by others and prints
// one JSON line of what each saw; tests/e2e/test_http_clients.py asserts on it.
//
//   node clients.mjs sse    <url>   graphql-sse (distinct connections mode)
//   node clients.mjs apollo <url>   Apollo Client 4, HttpLink (multipart subscriptions)
//   node clients.mjs urql   <url>   urql with fetchSubscriptions (SSE or multipart)
//   node clients.mjs apq    <url>   Apollo Client 4's persisted-queries link (GET for queries)
//
// Each one: a new person, a session, its ticks until two have come, then the
// session ended through the same client; the subscription must complete.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client as UrqlClient, fetchExchange } from "@urql/core";
import { createClient as createSSEClient } from "graphql-sse";
import { pipe, subscribe, onEnd } from "wonka";

const [mode, url] = process.argv.slice(2);
const WATCH = `subscription Watch($id: ID!) {
  sessionTicks(sessionId: $id) { id status elapsedSeconds activeSeconds idleSeconds }
}`;
const END = `mutation End($id: ID!) { endSession(id: $id) { id status elapsedSeconds } }`;

async function post(query, variables, token) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function person() {
  const email = `http-${mode}-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`;
  const { register } = await post(
    `mutation R($input: RegisterInput!) { register(input: $input) { token } }`,
    { input: { email, password: "correct horse battery" } },
  );
  const { createSession } = await post(
    `mutation { createSession(input: {targetMinutes: 5}) { id } }`,
    {},
    register.token,
  );
  return { token: register.token, id: createSession.id };
}

// Collects results until `complete`; calls `endIt` once two ticks have come.
function collect(start, endIt) {
  return new Promise((resolve, reject) => {
    const frames = [];
    let ended = null;
    const timer = setTimeout(() => reject(new Error(`timed out: ${JSON.stringify(frames)}`)), 20000);
    start({
      next: (result) => {
        frames.push(result);
        const ticks = frames.filter((f) => f.data?.sessionTicks?.elapsedSeconds > 0).length;
        if (ticks === 2 && ended === null) {
          ended = endIt().catch((error) => reject(error));
        }
      },
      error: (error) => {
        clearTimeout(timer);
        reject(error);
      },
      complete: async () => {
        clearTimeout(timer);
        resolve({ frames, ended: await ended });
      },
    });
  });
}

async function viaSSE({ token, id }) {
  const client = createSSEClient({ url, headers: { authorization: `Bearer ${token}` } });
  const out = await collect(
    (sink) => client.subscribe({ query: WATCH, variables: { id } }, sink),
    () =>
      new Promise((resolve, reject) => {
        let value;
        client.subscribe(
          { query: END, variables: { id } },
          { next: (v) => (value = v), error: reject, complete: () => resolve(value?.data) },
        );
      }),
  );
  client.dispose();
  return out;
}

async function viaApollo({ token, id }) {
  const client = new ApolloClient({
    link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
  const out = await collect(
    (sink) => client.subscribe({ query: gql(WATCH), variables: { id } }).subscribe(sink),
    async () => (await client.mutate({ mutation: gql(END), variables: { id } })).data,
  );
  client.stop();
  return out;
}

async function viaUrql({ token, id }) {
  const client = new UrqlClient({
    url,
    exchanges: [fetchExchange],
    fetchSubscriptions: true,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
  });
  return await collect(
    (sink) =>
      pipe(
        client.subscription(WATCH, { id }),
        onEnd(() => sink.complete()),
        subscribe((result) =>
          result.error ? sink.error(result.error) : sink.next({ data: result.data }),
        ),
      ),
    async () => {
      const result = await client.mutation(END, { id }).toPromise();
      if (result.error) throw result.error;
      return result.data;
    },
  );
}

// The persisted-queries link in front of HttpLink, every request recorded as
// it left: method, whether the text went along, and what came back.
async function viaAPQ({ token, id }) {
  const requests = [];
  const recording = async (input, init) => {
    const response = await fetch(input, init);
    const body = init?.body ? JSON.parse(init.body) : null;
    const search = new URL(String(input)).searchParams;
    requests.push({
      method: init?.method ?? "GET",
      withText: Boolean(body?.query ?? search.get("query")),
      hash: (body?.extensions ?? JSON.parse(search.get("extensions") ?? "{}"))?.persistedQuery
        ?.sha256Hash,
      status: response.status,
      codes: ((await response.clone().json()).errors ?? []).map((e) => e.extensions?.code),
    });
    return response;
  };
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const client = new ApolloClient({
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` }, fetch: recording }),
    ),
    cache: new InMemoryCache(),
  });
  // A text of this run's own, so the server cannot know it yet.
  const query = gql(`query Watched($id: ID!) { session(id: $id) { id status } } # ${id}`);
  const first = await client.query({ query, variables: { id }, fetchPolicy: "network-only" });
  const second = await client.query({ query, variables: { id }, fetchPolicy: "network-only" });
  const ended = await client.mutate({ mutation: gql(END), variables: { id } });
  client.stop();
  return { requests, first: first.data, second: second.data, ended: ended.data };
}

const modes = { sse: viaSSE, apollo: viaApollo, urql: viaUrql, apq: viaAPQ };
try {
  const out = await modes[mode](await person());
  console.log(JSON.stringify(out));
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? JSON.stringify(error)) }));
  process.exit(1);
}
