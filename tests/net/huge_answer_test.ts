/**
 * The client caps what it reads of an API answer: a host that streams 1.5 GB (chunked, or declared with
 * its Content-Length) gets a clear error (exit 5) after at most 32 MiB, and the CLI's peak memory stays
 * near that of a normal answer. Memory is read from /proc (VmHWM) while the CLI runs, and from wait4.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { baseEnv, MAIN, PERMISSIONS, tempDir } from "../helpers/cli.ts";
import { startE2E } from "../publish/_helpers.ts";
import { hugeAnswerApi, peakRss } from "./_helpers.ts";

const GB = 1024 ** 3;

Deno.test("a 1.5 GB answer is cut at 32 MiB with a clear error, and costs little more memory than a normal one", async () => {
  await using home = await tempDir();
  await using e2e = await startE2E();
  const huge = hugeAnswerApi(1.5 * GB);
  try {
    const cli = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN, "plugin", "list"];
    const base = {
      ...(await baseEnv(home.path)),
      MIXPEEK_API_KEY: "mxp_test_key_0123456789",
      MIXPEEK_NAMESPACE: "default",
    };
    const normal = await peakRss(cli, {
      ...base,
      MIXPEEK_BASE_URL: e2e.reg.url,
      MIXPEEK_API_KEY: e2e.reg.key,
    });
    assertEquals(normal.exit_code, 0, normal.stderr);
    const r = await peakRss(cli, { ...base, MIXPEEK_BASE_URL: huge.url });
    assertEquals(r.exit_code, 5, r.stderr);
    assertEquals(
      r.stderr,
      `error: GET /v1/namespaces/{namespace_id}/extractors: the answer from ${
        new URL(huge.url).host
      } is larger ` +
        "than 32.0 MiB, far more than the Mixpeek API sends; it was not read\n" +
        "hint: check --base-url / MIXPEEK_BASE_URL: it should be the Mixpeek API, e.g. https://api.mixpeek.com\n",
    );
    assert(huge.sent() < 256 * 1024 * 1024, `the server got to send ${huge.sent()} bytes`);
    const mib = (kib: number) => Math.round(kib / 1024);
    console.log(
      `peak RSS: 1.5 GB answer ${mib(r.maxrss_kib)} MiB (VmHWM ${mib(r.vmhwm_kib)} MiB); ` +
        `a normal answer ${mib(normal.maxrss_kib)} MiB (VmHWM ${mib(normal.vmhwm_kib)} MiB)`,
    );
    // The cap's 32 MiB, held as chunks, plus slack for the allocator: never the answer's size.
    assert(
      r.maxrss_kib < normal.maxrss_kib + 96 * 1024,
      `${mib(r.maxrss_kib)} MiB vs ${mib(normal.maxrss_kib)} MiB`,
    );
  } finally {
    await huge.close();
  }
});

Deno.test("an answer whose Content-Length is over the cap is refused before its body is read", async () => {
  const huge = hugeAnswerApi(1.5 * GB, { declareLength: true });
  try {
    const { runCli } = await import("../helpers/cli.ts");
    const r = await runCli(["--json", "plugin", "list", "-s", "custom"], {
      env: {
        MIXPEEK_BASE_URL: huge.url,
        MIXPEEK_API_KEY: "mxp_test_key_0123456789",
        MIXPEEK_NAMESPACE: "default",
      },
    });
    assertEquals(r.code, 5, r.stderr);
    const doc = JSON.parse(r.stdout).error;
    assert(
      doc.message.endsWith("is larger than 32.0 MiB, far more than the Mixpeek API sends; it was not read"),
    );
    assert(huge.sent() < 64 * 1024 * 1024, `${huge.sent()} bytes were sent`);
  } finally {
    await huge.close();
  }
});
