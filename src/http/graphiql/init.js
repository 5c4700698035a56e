// Starts GraphiQL on this server's endpoints: queries and mutations over POST /graphql,
// subscriptions over /graphql/ws. An `Authorization` header set in GraphiQL's headers editor
// is sent with every request and as the socket's `connection_init` payload.
"use strict";

const socketUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`;

function fetcher(params, options) {
  const headers = options?.headers ?? {};
  const inner = GraphiQL.createFetcher({
    url: "/graphql",
    subscriptionUrl: socketUrl,
    wsConnectionParams: headers,
  });
  return inner(params, options);
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
);
