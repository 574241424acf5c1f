// Verifies deliveries captured by the Python receiver with the standardwebhooks
// npm package (another implementation of the spec than the server's).
// argv[2]: a JSON file, {"deliveries": [{"secret", "headers", "body"}]};
// prints one JSON line.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

try {
  const { deliveries } = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const results = deliveries.map(({ secret, headers, body }) => {
    try {
      return { ok: true, payload: new Webhook(secret).verify(body, headers) };
    } catch (error) {
      return { ok: false, reason: String(error.message || error) };
    }
  });
  console.log(JSON.stringify({ results }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error.stack || error) }));
  process.exitCode = 1;
}
