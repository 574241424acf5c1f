// The GraphQL-over-HTTP spec's own audit suite (graphql-http's auditServer)
// against a running focusgql; prints one JSON line with every audit's result.
//
//   node audit.mjs <http url of /graphql>
import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
try {
  const results = await auditServer({ url });
  const audits = await Promise.all(
    results.map(async (result) => ({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === "ok" ? undefined : result.reason,
      body: result.status === "ok" ? undefined : await result.response.text(),
    })),
  );
  console.log(JSON.stringify({ audits }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
  process.exitCode = 1;
}
