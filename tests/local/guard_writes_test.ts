/**
 * The connection guard passes what one read of the client brought to the server in one write (guard.ts
 * #consume): a request's head and body arrive together, so the server wakes once for them. The server here
 * is a real loopback listener; the guard's link to it is a real connection whose writes are counted.
 */
import { ConnectionGuard, DEFAULT_GUARD_LIMITS } from "../../lib/local/guard.ts";
import { assertEquals } from "../helpers/assert.ts";

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

async function readAtLeast(conn: Deno.Conn, bytes: number): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  while (text.length < bytes) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += DECODER.decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("the guard passes a request's head and body, and pipelined requests, on in one write", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const writes: number[] = [];
  const guard = ConnectionGuard.listen({
    hostname: "127.0.0.1",
    port: 0,
    limits: DEFAULT_GUARD_LIMITS,
    async connectBackend() {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      const write = conn.write.bind(conn);
      conn.write = (bytes: Uint8Array) => {
        writes.push(bytes.length);
        return write(bytes);
      };
      return conn;
    },
    log: () => {},
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: guard.addr.port });
  try {
    const accepted = server.accept();
    const one = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    await client.write(ENCODER.encode(one));
    const backend = await accepted;
    assertEquals(await readAtLeast(backend, one.length), one);
    assertEquals(writes, [one.length]);

    const two = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n" +
      "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
    await client.write(ENCODER.encode(two));
    assertEquals(await readAtLeast(backend, two.length), two);
    assertEquals(writes, [one.length, two.length]);
    backend.close();
  } finally {
    client.close();
    await guard.close();
    server.close();
  }
});
