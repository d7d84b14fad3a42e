/**
 * The child of tests/scan/offthread_test.ts, standing in for the local registry: it serves `/healthz` on
 * loopback and, meanwhile, scans the tree given as its argument with `scanTree(root, { offThread: true })`,
 * as the registry scans an upload. Protocol on stdout, one JSON object a line: `{"port"}` once listening,
 * `{"done", …}` when the scan ends; it exits when its stdin closes.
 */
import { scanTree } from "../../lib/scan/scan.ts";

const root = Deno.args[0];
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port })) },
  (request) => new Response(new URL(request.url).pathname === "/healthz" ? "ok" : "not found"),
);
// Start when the parent says so (its first /healthz answered means the server is warm).
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
await lines.read();
const started = performance.now();
const report = await scanTree(root, { offThread: true });
console.log(JSON.stringify({
  done: true,
  ms: Math.round(performance.now() - started),
  files: report.files_scanned,
  rules: report.findings.map((f) => `${f.file} ${f.rule_id}`),
}));
while (!(await lines.read()).done) { /* until the parent closes stdin */ }
await server.shutdown();
