// GraphiQL for focusgql, from the vendored UMD builds (globals React, ReactDOM,
// GraphiQL, GraphiQLPluginExplorer). Queries and mutations go over HTTP POST,
// subscriptions over graphql-transport-ws on the same URL. The headers typed in
// the Headers tab travel with every request and, for a subscription, as the
// socket's connection_init payload (the server reads "Authorization" there).
// Nothing is written into the page URL: Strawberry's own page puts the headers,
// bearer token included, into `?headers=`, from where they reach history and logs.
"use strict";

const WELCOME = `# focusgql GraphiQL
#
# Most operations need a token: get one with
# Register (or login), then open Headers below
# and put in
#   {"Authorization": "Bearer <token>"}
# Subscriptions (sessionTicks) send the same
# header over the WebSocket.
#
# Run: Ctrl-Enter   Complete: Ctrl-Space

mutation Register {
  register(input: {
    email: "me@example.com"
    password: "correct horse battery"
  }) {
    token
  }
}

query Me {
  me { email stats { totalSessions currentStreak } }
  activeSession { id status elapsedSeconds }
}
`;

(function main() {
  const url = new URL("/graphql", window.location.href);
  const socket = new URL(url);
  socket.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  // A bare token left in the address bar by an old link is not kept in history.
  const params = new URLSearchParams(window.location.search);
  if (params.has("headers")) {
    params.delete("headers");
    const rest = params.toString();
    window.history.replaceState(null, "", url.pathname + (rest ? `?${rest}` : ""));
  }

  const fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: socket.href });
  const explorer = GraphiQLPluginExplorer.explorerPlugin();
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      plugins: [explorer],
      defaultQuery: WELCOME,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Kept in this browser's localStorage (like the dashboard's token), not the URL.
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );
})();
