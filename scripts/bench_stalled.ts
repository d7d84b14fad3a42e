/**
 * Benchmark of `mixpeek local` under a stalled-upload attack: 200 presigned PUTs that send their head and
 * then 0 bytes, 64 KiB or 1 MB of a 10 MB body, and nothing more. For each, one server runs as its own
 * process; its VmRSS (from /proc) is read before and while the 200 are held, beside the target (≤ 50 MB for
 * the 200), then the body timeout closes them and the temp files left in tmp/ are counted (target 0).
 * Exit code 1 when a target is missed.
 *
 *   deno run -A scripts/bench_stalled.ts [--count 200] [--body-timeout 10]
 */
import { startLocal } from "./bench_util.ts";

function _arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const COUNT = _arg("--count", 200);
const BODY_TIMEOUT = _arg("--body-timeout", 10);
const TARGET = 50e6;
const encoder = new TextEncoder();

function rss(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN) * 1024;
}

async function countFiles(folder: string): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(folder)) n++;
  return n;
}

async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while ((await conn.read(buffer)) !== null) { /* until the server closes it */ }
  } catch { /* reset */ }
  conn.close();
}

async function scenario(sent: number): Promise<{ before: number; during: number; left: number }> {
  const dataDir = await Deno.makeTempDir({ prefix: "mixpeek-bench-stalled-" });
  const server = await startLocal(dataDir, ["--body-timeout", String(BODY_TIMEOUT)]);
  try {
    const { hostname, port } = new URL(server.base_url);
    const tickets: string[] = [];
    for (let i = 0; i < COUNT + 1; i++) {
      const r = await fetch(`${server.base_url}/v1/namespaces/default/plugins/uploads`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.api_key}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "stalled_plugin", version: `1.0.${i}` }),
      });
      if (r.status !== 200) throw new Error(`create upload: ${r.status} ${await r.text()}`);
      tickets.push((await r.json()).presigned_url);
    }
    const open = async (url: string) => {
      const u = new URL(url);
      const conn = await Deno.connect({ hostname, port: Number(port) });
      await conn.write(encoder.encode(
        `PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/gzip\r\n` +
          `Content-Length: 10000000\r\n\r\n`,
      ));
      if (sent > 0) await conn.write(new Uint8Array(sent));
      return conn;
    };
    // Untimed warm-up: one stalled upload through to its timeout, so the code paths are compiled.
    await drain(await open(tickets[COUNT]));
    await new Promise((r) => setTimeout(r, 500));
    const before = rss(server.child.pid);
    const conns = await Promise.all(tickets.slice(0, COUNT).map(open));
    const closed = Promise.all(conns.map(drain));
    // Held: every one has its temp file once bytes arrived; give the others a moment to be read.
    const deadline = Date.now() + BODY_TIMEOUT * 500;
    while (sent > 0 && (await countFiles(`${dataDir}/tmp`)) < COUNT && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 500));
    const during = rss(server.child.pid);
    await closed;
    await new Promise((r) => setTimeout(r, 200));
    return { before, during, left: await countFiles(`${dataDir}/tmp`) };
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

let failed = false;
console.log(
  `mixpeek local, ${COUNT} stalled uploads (body timeout ${BODY_TIMEOUT} s), server VmRSS from /proc:`,
);
for (
  const [label, sent] of [["head only", 0], ["64 KiB sent", 64 * 1024], ["1 MB sent", 1_000_000]] as const
) {
  const { before, during, left } = await scenario(sent);
  const grown = during - before;
  const ok = grown <= TARGET && left === 0;
  failed ||= !ok;
  console.log(
    `  ${label.padEnd(12)} ${(before / 1e6).toFixed(1).padStart(6)} MB → ${
      (during / 1e6).toFixed(1).padStart(6)
    } MB: ` +
      `+${(grown / 1e6).toFixed(1)} MB (${(grown / COUNT / 1024).toFixed(0)} KiB each; target ≤ ` +
      `${TARGET / 1e6} MB, ratio ${
        (grown / TARGET).toFixed(2)
      }×); temp files left after the timeout: ${left} ` +
      `${ok ? "ok" : "MISSED"}`,
  );
}
Deno.exit(failed ? 1 : 0);
