/**
 * The guard's lane (guard.ts GuardLane, realtime_lane.ts): requests it answers itself, and the answer
 * tracker (http1_framing.ts) that lets it answer only when the server owes the connection nothing. The
 * server here is a real loopback listener that records the requests it gets; the clients are raw sockets,
 * so the bytes on the wire and their order are what is checked.
 */
import { ConnectionGuard, DEFAULT_GUARD_LIMITS, type GuardLane } from "../../lib/local/guard.ts";
import { AnswerTracker } from "../../lib/local/http1_framing.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** A server that answers each request with its path: /slow after 200 ms and chunked, others at once. */
function startBackend(): { port: number; seen: string[]; connections: () => number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  let connections = 0;
  const open = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      connections++;
      open.add(conn);
      (async () => {
        let pending = "";
        const buffer = new Uint8Array(65536);
        for (;;) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          pending += DECODER.decode(buffer.subarray(0, n));
          for (;;) {
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) break;
            const length = Number(/content-length: *(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
            if (pending.length < end + 4 + length) break;
            const path = pending.split(" ")[1];
            const body = pending.slice(end + 4, end + 4 + length);
            pending = pending.slice(end + 4 + length);
            seen.push(`${path} ${body}`);
            const text = `server:${path}:${body}`;
            if (path === "/slow") {
              await new Promise((r) => setTimeout(r, 200));
              await conn.write(ENCODER.encode(
                `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${
                  text.length.toString(16)
                }\r\n${text}\r\n0\r\n\r\n`,
              ));
            } else {
              await conn.write(
                ENCODER.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${text.length}\r\n\r\n${text}`),
              );
            }
          }
        }
        open.delete(conn);
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    seen,
    connections: () => connections,
    close() {
      listener.close();
      for (const conn of open) conn.close();
    },
  };
}

/** A lane for POST /lane (POST /decline is offered and declined), answering "lane:<body>". */
function testLane(offered: string[]): GuardLane {
  return {
    maxBody: 1024,
    wants: (head) => head.startsWith("POST /lane ") || head.startsWith("POST /decline "),
    answer(head, body) {
      const path = head.split(" ")[1];
      offered.push(`${path} ${DECODER.decode(body)}`);
      if (path === "/decline") return undefined;
      const text = `lane:${DECODER.decode(body)}`;
      const close = /\r\nconnection: close\r\n/i.test(head);
      return Promise.resolve({
        bytes: ENCODER.encode(
          `HTTP/1.1 200 OK\r\ncontent-length: ${text.length}\r\n${
            close ? "connection: close\r\n" : ""
          }\r\n${text}`,
        ),
        close,
      });
    },
  };
}

async function withGuard(
  run: (
    client: () => Promise<Deno.Conn>,
    backend: ReturnType<typeof startBackend>,
    offered: string[],
  ) => Promise<void>,
): Promise<void> {
  const backend = startBackend();
  const offered: string[] = [];
  const guard = ConnectionGuard.listen({
    hostname: "127.0.0.1",
    port: 0,
    limits: DEFAULT_GUARD_LIMITS,
    connectBackend: () => Deno.connect({ hostname: "127.0.0.1", port: backend.port }),
    lane: testLane(offered),
    log: () => {},
  });
  const clients: Deno.Conn[] = [];
  try {
    await run(
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: guard.addr.port });
        clients.push(conn);
        return conn;
      },
      backend,
      offered,
    );
  } finally {
    for (const c of clients) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await guard.close();
    backend.close();
  }
}

/** Reads until `marker` has been seen (or the connection ends); everything read. */
async function readUntil(conn: Deno.Conn, marker: string): Promise<string> {
  const buffer = new Uint8Array(65536);
  let text = "";
  const deadline = setTimeout(() => conn.close(), 5000);
  try {
    while (!text.includes(marker)) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += DECODER.decode(buffer.subarray(0, n));
    }
  } finally {
    clearTimeout(deadline);
  }
  return text;
}

const post = (path: string, body: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

Deno.test("lane: a request it takes is answered by the guard; the server never sees it", async () => {
  await withGuard(async (client, backend, offered) => {
    const conn = await client();
    await conn.write(ENCODER.encode(post("/lane", "one")));
    assertEquals((await readUntil(conn, "lane:one")).endsWith("\r\n\r\nlane:one"), true);
    // The body split over several writes is held until it is whole.
    const request = post("/lane", "two-parts");
    await conn.write(ENCODER.encode(request.slice(0, request.length - 5)));
    await new Promise((r) => setTimeout(r, 50));
    await conn.write(ENCODER.encode(request.slice(request.length - 5)));
    assert((await readUntil(conn, "lane:two-parts")).includes("lane:two-parts"));
    assertEquals(offered, ["/lane one", "/lane two-parts"]);
    assertEquals(backend.seen, []);
    assertEquals(backend.connections(), 0);
  });
});

Deno.test("lane: a declined request goes on to the server unchanged", async () => {
  await withGuard(async (client, backend, offered) => {
    const conn = await client();
    await conn.write(ENCODER.encode(post("/decline", "abc")));
    assert((await readUntil(conn, "server:/decline:abc")).includes("server:/decline:abc"));
    assertEquals(offered, ["/decline abc"]);
    assertEquals(backend.seen, ["/decline abc"]);
  });
});

Deno.test("lane: while the server owes an answer, requests go to the server, and answers keep their order", async () => {
  await withGuard(async (client, backend, offered) => {
    const conn = await client();
    // Pipelined: a slow server request, then one the lane would take. The lane must not answer first.
    await conn.write(ENCODER.encode(post("/slow", "s") + post("/lane", "after-slow")));
    const both = await readUntil(conn, "server:/lane:after-slow");
    assert(both.indexOf("server:/slow:s") >= 0, both);
    assert(both.indexOf("server:/slow:s") < both.indexOf("after-slow"), both);
    assertEquals(backend.seen, ["/slow s", "/lane after-slow"]);
    assertEquals(offered, []);
    // Once the server's (chunked) answers are through, the lane takes the next one again.
    await conn.write(ENCODER.encode(post("/lane", "later")));
    assert((await readUntil(conn, "lane:later")).includes("lane:later"));
    assertEquals(offered, ["/lane later"]);
  });
});

Deno.test("lane: Connection: close closes after the lane's answer", async () => {
  await withGuard(async (client) => {
    const conn = await client();
    await conn.write(ENCODER.encode(post("/lane", "bye", "Connection: close\r\n")));
    const text = await readUntil(conn, "never-there");
    assert(text.endsWith("lane:bye"), text);
  });
});

Deno.test("answer tracker: lengths, chunks, HEAD, 204, interim answers, split heads; lost when it cannot follow", () => {
  const tracker = new AnswerTracker();
  assert(tracker.idle);
  tracker.sent(false);
  tracker.sent(true);
  tracker.sent(false);
  tracker.sent(false);
  assert(!tracker.idle);
  const answers = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello" +
    "HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n" + // HEAD: no body
    "HTTP/1.1 204 No Content\r\n\r\n" +
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const bytes = ENCODER.encode(answers);
  // Byte by byte: every split of heads and bodies.
  for (let i = 0; i < bytes.length - 1; i++) {
    tracker.feed(bytes.subarray(i, i + 1));
    assert(!tracker.idle, `idle too early at byte ${i}`);
  }
  tracker.feed(bytes.subarray(bytes.length - 1));
  assert(tracker.idle);

  const lost = new AnswerTracker();
  lost.sent(false);
  lost.feed(ENCODER.encode("HTTP/1.1 200 OK\r\n\r\nuntil the connection closes"));
  assert(!lost.idle && lost.lost);
  const extra = new AnswerTracker();
  extra.feed(ENCODER.encode("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")); // an answer nobody asked for
  assert(extra.lost);
});
