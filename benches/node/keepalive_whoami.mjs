// A keep-alive Streamable-HTTP client that does not quick-ACK: Node's built-in `fetch`
// (undici), what Claude Code's MCP client uses. Calls `whoami` CALLS times on one kept-alive
// connection and prints one JSON line: {"calls":N,"p50_ms":…,"p90_ms":…,"max_ms":…,"sockets":…}.
//
// Usage: node keepalive_whoami.mjs http://127.0.0.1:PORT [CALLS]
// Run by benches/locks.rs and benches/perf.rs; a listener without TCP_NODELAY shows
// p50 ≈ 40 ms here (delayed ACK meets Nagle), with it well under a millisecond.

const base = process.argv[2];
const calls = Number(process.argv[3] ?? 40);
if (!base) {
  console.error("usage: node keepalive_whoami.mjs http://127.0.0.1:PORT [CALLS]");
  process.exit(2);
}

const url = `${base}/mcp`;
// A name of its own per run: a live session belongs to the connection that registered it
// (session claims), so a second run under the same name would be refused.
const name = `bench-node-keepalive-${process.pid}-${Date.now()}`;
let session = null;
let id = 0;

async function rpc(method, params, notification = false) {
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "x-coord-session": name,
  };
  if (session) headers["mcp-session-id"] = session;
  const body = notification
    ? { jsonrpc: "2.0", method, params }
    : { jsonrpc: "2.0", id: ++id, method, params };
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status}: ${text}`);
  const sid = res.headers.get("mcp-session-id");
  if (sid) session = sid;
  if (notification) return null;
  // The answer is either plain JSON or an SSE stream carrying it in a `data:` line.
  const line = text.trim().startsWith("{")
    ? text
    : text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).pop();
  const msg = JSON.parse(line);
  if (msg.error) throw new Error(`${method}: ${JSON.stringify(msg.error)}`);
  return msg.result;
}

await rpc("initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "bench-node-keepalive", version: "0" },
});
await rpc("notifications/initialized", {}, true);

const samples = [];
for (let i = 0; i < calls; i++) {
  const t = process.hrtime.bigint();
  const r = await rpc("tools/call", { name: "whoami", arguments: {} });
  samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (r.isError) throw new Error(`whoami refused: ${JSON.stringify(r)}`);
}
samples.sort((a, b) => a - b);
const pick = (q) => samples[Math.floor((samples.length - 1) * q)];
console.log(
  JSON.stringify({
    calls,
    p50_ms: Number(pick(0.5).toFixed(3)),
    p90_ms: Number(pick(0.9).toFixed(3)),
    max_ms: Number(samples[samples.length - 1].toFixed(3)),
  }),
);
