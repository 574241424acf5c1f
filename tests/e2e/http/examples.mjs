// The JavaScript examples of docs/clients.md, run against a server by
// tests/e2e/test_http_clients.py, which also checks that every block between
// `// >>> <name>` and `// <<<` appears verbatim in docs/clients.md.
//
//   node examples.mjs <http url of /graphql> <token> <id of a running session>
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { Environment, Network, RecordSource, Store } from "relay-runtime";

const [url, token, sessionId] = process.argv.slice(2);
const seen = { urql: [], apollo: [], events: [] };
let render = () => {};

// >>> sha256
// SHA-256 in hex with the platform's Web Crypto (browsers, Node 20+).
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
// <<<

async function runUrql() {
  render = (ticks) => seen.urql.push(ticks);
  // >>> urql
  const urql = new Client({
    url, // "http://127.0.0.1:8000/graphql"
    exchanges: [fetchExchange],
    fetchSubscriptions: true, // subscriptions over SSE too: no WebSocket at all
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
  });

  const WATCH = `subscription Watch($id: ID!) {
    sessionTicks(sessionId: $id) { status elapsedSeconds activeSeconds idleSeconds }
  }`;
  const { unsubscribe } = urql
    .subscription(WATCH, { id: sessionId })
    .subscribe((result) => render(result.data.sessionTicks));
  // <<<
  while (seen.urql.length === 0) await new Promise((r) => setTimeout(r, 50));
  unsubscribe();
}

async function runApollo() {
  render = (ticks) => seen.apollo.push(ticks);
  // >>> apollo-client
  const apollo = new ApolloClient({
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
    ),
    cache: new InMemoryCache(),
  });
  // <<<
  const done = new Promise((resolve, reject) => {
    // >>> apollo-subscribe
    const ticks = apollo.subscribe({
      query: gql`
        subscription Watch($id: ID!) {
          sessionTicks(sessionId: $id) { status elapsedSeconds activeSeconds idleSeconds }
        }
      `,
      variables: { id: sessionId },
    });
    ticks.subscribe({
      next: ({ data }) => render(data.sessionTicks),
      error: (error) => console.error(error),
      complete: () => seen.events.push("completed"), // the session ended
    });
    // <<<
    const check = setInterval(() => {
      if (seen.events.includes("completed")) {
        clearInterval(check);
        resolve();
      }
    }, 50);
    setTimeout(() => reject(new Error("no completion")), 15000);
  });
  while (!seen.apollo.some((t) => t.elapsedSeconds > 0)) await new Promise((r) => setTimeout(r, 50));
  // >>> apollo-mutate
  const { data } = await apollo.mutate({
    mutation: gql`
      mutation End($id: ID!) {
        endSession(id: $id) { id status focusScore }
      }
    `,
    variables: { id: sessionId },
  });
  // <<<
  seen.ended = data.endSession;
  await done;
  apollo.stop();
}

async function runRelay() {
  // >>> relay
  async function fetchGraphQL(params, variables) {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        authorization: `Bearer ${token}`,
      },
      // With FOCUSGQL_TRUSTED_DOCUMENTS set to the compiler's id map, send
      // { doc_id: params.id, variables } instead of the text.
      body: JSON.stringify({ query: params.text, variables }),
    });
    return await response.json();
  }

  const environment = new Environment({
    network: Network.create(fetchGraphQL),
    store: new Store(new RecordSource()),
  });
  // <<<
  // What the compiler generates for a refetch query, by hand (no compiler here).
  const params = {
    id: null,
    name: "Refetch",
    operationKind: "query",
    text: "query Refetch($id: ID!) { node(id: $id) { __typename id ... on FocusSession { status } } }",
    metadata: {},
  };
  seen.relay = await environment
    .getNetwork()
    .execute(params, { id: sessionId }, {})
    .toPromise();
}

try {
  await runUrql();
  await runApollo();
  await runRelay();
  console.log(JSON.stringify(seen));
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exit(1);
}
