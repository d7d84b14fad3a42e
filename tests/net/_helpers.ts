/**
 * Loopback peers for the network tests: a recording proxy (raw TCP: it keeps every byte a client sends it,
 * opens CONNECT tunnels to 127.0.0.1 whatever host is asked for, and refuses anything else with a 502), a
 * "lossy" reverse proxy in front of `mixpeek local` that lets a request run and then drops its answer, a
 * TLS front with a test CA, and a small emulation of a terminal screen (carriage returns and line erases)
 * to read what a live line left behind.
 */
import { runProcess } from "../helpers/cli.ts";

export interface RecordingProxy {
  url: string;
  /** Every byte each client connection sent the proxy (tunnelled TLS bytes included). */
  received: () => string;
  /** The first line of each connection. */
  firstLines: string[];
  connections: () => number;
  close(): void;
}

/**
 * An HTTP proxy on 127.0.0.1: CONNECT host:port opens a tunnel to 127.0.0.1:`ports[host] ?? port`; an
 * absolute-form request (a proxy that would read it in clear) is recorded and answered 502.
 */
export function recordingProxy(ports: Record<string, number> = {}): RecordingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const firstLines: string[] = [];
  const conns: Deno.Conn[] = [];
  let count = 0;
  const decoder = new TextDecoder();
  (async () => {
    for await (const conn of listener) {
      count++;
      conns.push(conn);
      (async () => {
        let head = new Uint8Array(0);
        const buffer = new Uint8Array(16 * 1024);
        while (!decoder.decode(head).includes("\r\n\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) return;
          chunks.push(buffer.slice(0, n));
          const merged = new Uint8Array(head.length + n);
          merged.set(head);
          merged.set(buffer.subarray(0, n), head.length);
          head = merged;
        }
        const text = decoder.decode(head);
        firstLines.push(text.split("\r\n")[0]);
        const target = text.match(/^CONNECT ([^:\s]+|\[[^\]]+\]):(\d+) HTTP\/1\.[01]\r\n/);
        if (!target) {
          await conn.write(new TextEncoder().encode("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
          return conn.close();
        }
        const upstream = await Deno.connect({
          hostname: "127.0.0.1",
          port: ports[target[1]] ?? Number(target[2]),
        });
        conns.push(upstream);
        await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
        // Client → upstream, recorded; upstream → client as is.
        const pump = (async () => {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            chunks.push(buffer.slice(0, n));
            await upstream.write(buffer.subarray(0, n));
          }
        })();
        await Promise.all([pump, upstream.readable.pipeTo(conn.writable)]).catch(() => {});
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    received: () => chunks.map((c) => decoder.decode(c)).join(""),
    firstLines,
    connections: () => count,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** Test certificates: a CA and a server certificate for `names` it signed (rustls refuses self-signed leaves). */
export async function testCertificates(
  dir: string,
  names: string[],
): Promise<{ ca: string; cert: string; key: string }> {
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    `subjectAltName=${
      names.map((n) => `DNS:${n}`).join(",")
    }\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  const steps = [
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=mixpeek test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
      "-keyout",
      `${dir}/ca.key`,
      "-out",
      `${dir}/ca.pem`,
    ],
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${names[0]}`,
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/leaf.csr`,
    ],
    [
      "x509",
      "-req",
      "-in",
      `${dir}/leaf.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${dir}/leaf.ext`,
      "-out",
      `${dir}/cert.pem`,
    ],
  ]; // deno-fmt-ignore
  for (const args of steps) {
    const r = await runProcess("openssl", args);
    if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  }
  return {
    ca: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/** An https server on 127.0.0.1 that forwards every request to `upstream` (plain http) and answers with its answer. */
export function tlsFront(upstream: string, tls: { cert: string; key: string }) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, ...tls, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
      const headers = new Headers(request.headers);
      headers.delete("host");
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: body && body.length > 0 ? body : undefined,
      });
      return new Response(await answer.arrayBuffer(), { status: answer.status, headers: answer.headers });
    },
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}

export interface LossyRule {
  method: string;
  /** A regular expression the path must match. */
  path: RegExp;
  /** "drop": forward, let the registry run it, then cut the answer off. "409": answer 409 without forwarding. */
  action: "drop" | "409";
  /** How many matching requests get it (default 1). */
  times?: number;
}

/**
 * A reverse proxy on 127.0.0.1 in front of `upstream` that applies `rules` in order: the first matching rule
 * with uses left acts on the request; everything else is forwarded as is. `seen` lists "METHOD path → what".
 */
export function lossyProxy(upstream: string, rules: LossyRule[]) {
  const left = rules.map((r) => r.times ?? 1);
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const index = rules.findIndex((r, i) =>
      left[i] > 0 && r.method === request.method && r.path.test(url.pathname)
    );
    const rule = index >= 0 ? rules[index] : undefined;
    if (index >= 0) left[index]--;
    if (rule?.action === "409") {
      seen.push(`${request.method} ${url.pathname} → 409 (injected)`);
      await request.body?.cancel();
      return Response.json(
        {
          success: false,
          status: 409,
          error: { message: "A deployment is already in progress", type: "ConflictError" },
        },
        { status: 409 },
      );
    }
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: body && body.length > 0 ? body : undefined,
    });
    const bytes = await answer.arrayBuffer();
    if (rule?.action === "drop") {
      seen.push(`${request.method} ${url.pathname} → ${answer.status}, dropped`);
      // The registry did the work; the client gets the status line and a body that breaks off.
      let sent = false;
      const broken = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new TextEncoder().encode('{"'));
          } else controller.close(); // short of the Content-Length: the connection is cut there
        },
      });
      return new Response(broken, {
        status: answer.status,
        headers: { "content-type": "application/json", "content-length": String(bytes.byteLength + 100) },
      });
    }
    seen.push(`${request.method} ${url.pathname} → ${answer.status}`);
    return new Response(bytes, { status: answer.status, headers: answer.headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

/**
 * What a terminal shows after `raw` (colour codes ignored): the lines as carriage returns, "erase line"
 * (ESC [2K) and "erase to end of line" (ESC [K) left them. Enough for a live line drawn with "\r\x1b[2K".
 */
export function screenLines(raw: string): string[] {
  const done: string[] = [];
  let line: string[] = [];
  let col = 0;
  // deno-lint-ignore no-control-regex
  const tokens = raw.replace(/\x1b\[[0-9;?]*[A-JL-Za-z]/g, "").split(/(\n|\r|\x1b\[2K|\x1b\[0?K)/);
  for (const token of tokens) {
    if (token === "\n") {
      done.push(line.join("").trimEnd());
      line = [];
      col = 0;
    } else if (token === "\r") col = 0;
    else if (token === "\x1b[2K") line = [];
    else if (token === "\x1b[K" || token === "\x1b[0K") line = line.slice(0, col);
    else {
      for (const ch of token) {
        while (line.length < col) line.push(" ");
        line[col++] = ch;
      }
    }
  }
  if (line.length > 0) done.push(line.join("").trimEnd());
  return done;
}

/**
 * An "API" on loopback whose every answer is `bytes` of JSON-looking filler, streamed in 1 MiB chunks as it
 * is read (chunked, or with its Content-Length declared): a wrong or hostile host. `sent()` counts what went out.
 */
export function hugeAnswerApi(bytes: number, options: { declareLength?: boolean } = {}) {
  let sent = 0;
  const chunk = new TextEncoder().encode(`{"x":"${"y".repeat(1024 * 1024 - 9)}"},`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    let left = bytes;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"extractors": ['));
      },
      pull(controller) {
        if (left <= 0) return controller.close();
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        sent += piece.length;
        controller.enqueue(piece);
      },
    });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.declareLength) headers["content-length"] = String(bytes + 16);
    return new Response(body, { headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, sent: () => sent, close: () => server.shutdown() };
}

/** Peak RSS of a command (scripts/peak_rss.py): /proc's VmHWM while it runs, and wait4's exact figure. */
export async function peakRss(
  command: string[],
  env: Record<string, string>,
): Promise<{ exit_code: number; vmhwm_kib: number; maxrss_kib: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-rss-" });
  try {
    const r = await runProcess("python3", [
      new URL("../../scripts/peak_rss.py", import.meta.url).pathname,
      `${dir}/out`,
      `${dir}/err`,
      "--",
      ...command,
    ], { env });
    if (r.code !== 0) throw new Error(`peak_rss.py failed: ${r.stderr}`);
    return {
      ...JSON.parse(r.stdout),
      stdout: await Deno.readTextFile(`${dir}/out`),
      stderr: await Deno.readTextFile(`${dir}/err`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
