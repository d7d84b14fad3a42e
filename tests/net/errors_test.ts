/**
 * Errors that name the cause: a refused connection, a DNS failure, TLS spoken to an http port and a timeout
 * each print one line naming the cause and the host, with a hint, and are not retried (nothing there can
 * heal in seconds); a connection reset is retried. The CLI is spawned as a user runs it, against real
 * loopback peers (`mixpeek local`, a closed port, a lossy proxy); DNS fails on a name under `.invalid`,
 * which resolves nowhere without leaving the machine.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { runCli } from "../helpers/cli.ts";
import { requests, startE2E } from "../publish/_helpers.ts";
import { classifyNetError, isLoopbackHost, isRetryableNetFailure } from "../../lib/api/net_errors.ts";
import { lossyProxy } from "./_helpers.ts";

const KEY = "mxp_test_key_0123456789";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function env(baseUrl: string): Record<string, string> {
  return { MIXPEEK_BASE_URL: baseUrl, MIXPEEK_API_KEY: KEY, MIXPEEK_NAMESPACE: "default" };
}

Deno.test("a refused loopback connection: one line naming the host and port, `is mixpeek local running?`, no retry", async () => {
  const port = freePort();
  const r = await runCli(["plugin", "list", "-s", "custom"], { env: env(`http://127.0.0.1:${port}`) });
  assertEquals(r.code, 5, r.stderr);
  assertEquals(
    r.stderr,
    `error: GET /v1/namespaces/{namespace_id}/plugins: cannot connect to 127.0.0.1:${port}: connection refused ` +
      "(nothing listens there)\n" +
      "hint: is `mixpeek local` running? Start it with `mixpeek local`, or fix the port in --base-url / " +
      "MIXPEEK_BASE_URL\n",
  );
  // --json: the same, as the error document on stdout.
  const json = await runCli(["--json", "plugin", "list"], { env: env(`http://localhost:${port}`) });
  assertEquals(json.code, 5);
  const doc = JSON.parse(json.stdout).error;
  assertEquals([doc.type, doc.exit_code], ["api", 5]);
  assertStringIncludes(doc.message, `cannot connect to localhost:${port}: connection refused`);
  assertStringIncludes(doc.hint, "is `mixpeek local` running?");
  assert(!json.stderr.includes("retrying"), json.stderr);
});

Deno.test("a DNS failure names the host and is not retried", async () => {
  const r = await runCli(["plugin", "list"], { env: env("https://api.mixpeek.invalid") });
  assertEquals(r.code, 5, r.stderr);
  assertEquals(
    r.stderr,
    "error: GET /v1/namespaces/{namespace_id}/extractors: cannot resolve api.mixpeek.invalid: no such host " +
      "(DNS lookup failed)\n" +
      "hint: check the host name in --base-url / MIXPEEK_BASE_URL, and your network or DNS settings\n",
  );
  const verbose = await runCli(["--verbose", "plugin", "list"], { env: env("https://api.mixpeek.invalid") });
  // One attempt, logged once; the raw reason is the cause.
  assertEquals((verbose.stderr.match(/^http: GET /gm) ?? []).length, 1, verbose.stderr);
  assertStringIncludes(verbose.stderr, "→ DNS lookup failed");
  assertStringIncludes(verbose.stderr, "caused by:");
});

Deno.test("https spoken to `mixpeek local` (plain http): the TLS mismatch is named, with the http URL to use", async () => {
  await using e2e = await startE2E();
  const host = new URL(e2e.reg.url).host;
  const r = await e2e.cli(["plugin", "list", "-s", "custom"], {
    env: { MIXPEEK_BASE_URL: `https://${host}` },
  });
  assertEquals(r.code, 5, r.stderr);
  assertEquals(
    r.stderr,
    `error: GET /v1/namespaces/{namespace_id}/plugins: the TLS handshake with ${host} failed: the server there ` +
      "speaks plain HTTP, not https\n" +
      `hint: \`mixpeek local\` serves plain http: use http://${host} in --base-url / MIXPEEK_BASE_URL\n`,
  );
});

Deno.test("a timeout names the host and the limit, exit 6, and is not retried", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "GET", path: "/v1/namespaces/*/plugins", fault: "hang", times: 0 }],
  });
  const host = new URL(e2e.reg.url).host;
  const r = await e2e.cli(["plugin", "list", "-s", "custom"], { env: { MIXPEEK_REQUEST_TIMEOUT: "0.3" } });
  assertEquals(r.code, 6, r.stderr);
  assertEquals(
    r.stderr,
    `error: GET /v1/namespaces/{namespace_id}/plugins: no answer from ${host} within 0.3 s\n` +
      "hint: is `mixpeek local` stuck? Restart it; or raise MIXPEEK_REQUEST_TIMEOUT (seconds)\n",
  );
  await e2e.reg.stop(); // ends the held request, so the log has it
  assertEquals(
    requests(e2e.log).filter((l) => l.startsWith("GET /v1/namespaces/default/plugins ")).length,
    1,
  );
});

Deno.test("a connection reset (the answer cut off) is retried, and the command succeeds", async () => {
  await using e2e = await startE2E();
  const proxy = lossyProxy(e2e.reg.url, [{ method: "GET", path: /\/plugins$/, action: "drop" }]);
  try {
    const r = await e2e.cli(["--json", "plugin", "list", "-s", "custom"], {
      env: { MIXPEEK_BASE_URL: proxy.url },
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).plugins, []);
    assertMatch(
      r.stderr,
      /^warning: GET \/v1\/namespaces\/\{namespace_id\}\/plugins: the connection to 127\.0\.0\.1:\d+ was closed before the answer arrived; retrying in \d+\.\ds \(attempt 1\)\n$/,
    );
    assertEquals(proxy.seen.length, 2, proxy.seen.join("\n"));
  } finally {
    await proxy.close();
  }
});

Deno.test("which failures are retried: resets and unknown failures; refused only off loopback; never DNS, TLS or timeouts", () => {
  const fetchFailure = (reason: string) =>
    new TypeError("fetch failed", {
      cause: new Error(`error sending request for url (http://x/): ${reason}`),
    });
  const cases: [unknown, string][] = [
    [fetchFailure("client error (Connect): tcp connect error: Connection refused (os error 111)"), "refused"],
    [new Deno.errors.ConnectionRefused("Connection refused (os error 111)"), "refused"],
    [
      fetchFailure(
        "client error (Connect): dns error: failed to lookup address information: Name or service not known",
      ),
      "dns",
    ],
    [new Error("failed to lookup address information: Name or service not known"), "dns"],
    [fetchFailure("client error (Connect): received corrupt message of type InvalidContentType"), "tls"],
    [fetchFailure("client error (Connect): invalid peer certificate: UnknownIssuer"), "certificate"],
    [fetchFailure("client error (SendRequest): connection closed before message completed"), "reset"],
    [new TypeError("error reading a body from connection"), "reset"],
    [new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"), "reset"],
    [new DOMException("Signal timed out.", "TimeoutError"), "timeout"],
  ];
  for (const [error, kind] of cases) assertEquals(classifyNetError(error), kind, String(error));
  assertEquals(isRetryableNetFailure("refused", "127.0.0.1"), false);
  assertEquals(isRetryableNetFailure("refused", "api.mixpeek.com"), true);
  for (const kind of ["dns", "tls", "certificate", "timeout"] as const) {
    assertEquals(isRetryableNetFailure(kind, "api.mixpeek.com"), false, kind);
  }
  assertEquals(isRetryableNetFailure("reset", "127.0.0.1"), true);
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "::1"]) {
    assert(isLoopbackHost(host), host);
  }
  for (const host of ["10.0.0.1", "api.mixpeek.com", "127.example.com"]) assert(!isLoopbackHost(host), host);
});
