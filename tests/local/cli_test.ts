/**
 * `mixpeek local` as a user runs it: first start prints the export line with the new key, a restart points
 * at the key file instead, `--json` prints one object, SIGINT/SIGTERM stop it cleanly, bad flags are usage
 * errors (exit 2).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, MAIN, PERMISSIONS, runCli, runProcess, tempDir } from "../helpers/cli.ts";

interface Running {
  child: Deno.ChildProcess;
  /** Everything read from stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Waits until stdout satisfies `ready`. */
  until(ready: (stdout: string) => boolean): Promise<string>;
  stop(signal: Deno.Signal): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function startCli(args: string[], home: string): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, MAIN, "local", ...args],
    env: await baseEnv(home),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const decoder = () => new TextDecoderStream();
  const pumpOut = child.stdout.pipeThrough(decoder()).pipeTo(
    new WritableStream({ write: (t) => void (out += t) }),
  );
  const pumpErr = child.stderr.pipeThrough(decoder()).pipeTo(
    new WritableStream({ write: (t) => void (err += t) }),
  );
  const status = child.status;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async until(ready) {
      const deadline = Date.now() + 30_000;
      while (!ready(out)) {
        const exited = await Promise.race([
          status.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 20)),
        ]);
        if (exited || Date.now() > deadline) {
          throw new Error(`mixpeek local did not get ready:\nstdout: ${out}\nstderr: ${err}`);
        }
      }
      return out;
    },
    async stop(signal) {
      child.kill(signal);
      const { code } = await status;
      await Promise.all([pumpOut, pumpErr]);
      return { code, stdout: out, stderr: err };
    },
  };
}

const EXPORT =
  /^export MIXPEEK_BASE_URL=(http:\/\/127\.0\.0\.1:\d+) MIXPEEK_API_KEY=(\S+) MIXPEEK_NAMESPACE=default$/m;

Deno.test("mixpeek local: first start prints the export line, a restart keeps the key, signals stop it", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  const dataDir = `${data.path}/registry dir`; // a space: the printed command must quote it

  const first = await startCli(["--port", "0", "--data-dir", dataDir], home.path);
  const [, baseUrl, key] = EXPORT.exec(await first.until((s) => EXPORT.test(s) && s.endsWith("\n")))!;
  assertMatch(key, /^mxp_local_[0-9a-f]{32}$/);
  const list = await fetch(`${baseUrl}/v1/namespaces/default/plugins`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assertEquals(list.status, 200);
  await list.body?.cancel();
  const stopped = await first.stop("SIGTERM");
  assertEquals(stopped.code, 0, stopped.stderr);
  assertStringIncludes(stopped.stderr, "listening on");
  assertStringIncludes(stopped.stderr, "stopped");
  assert(!stopped.stderr.includes(key), "the key is printed once, on stdout");

  const second = await startCli(["--port", "0", "--data-dir", dataDir], home.path);
  const line = (await second.until((s) => s.endsWith("\n"))).trim();
  assert(!second.stdout().includes(key), "a restart does not print the key again");
  assertMatch(
    line,
    /^export MIXPEEK_BASE_URL=http:\/\/127\.0\.0\.1:\d+ MIXPEEK_API_KEY=.* MIXPEEK_NAMESPACE=default$/,
  );
  assertStringIncludes(line, ` MIXPEEK_API_KEY="$(cat '${dataDir}/api_key')" `);
  // The printed line works as is in a shell.
  const shell = await runProcess("bash", ["-c", `${line} && printf %s "$MIXPEEK_API_KEY"`]);
  assertEquals(shell.stdout, key);
  assertEquals((await second.stop("SIGINT")).code, 0);
});

Deno.test("mixpeek local --json prints one object once listening", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  const running = await startCli(["--json", "--port", "0", "--data-dir", data.path], home.path);
  const text = await running.until((s) => {
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  });
  const info = JSON.parse(text);
  assertEquals(Object.keys(info), ["base_url", "api_key", "namespace", "data_dir"]);
  assertEquals([info.namespace, info.data_dir], ["default", data.path]);
  const health = await fetch(`${info.base_url}/healthz`);
  assertEquals((await health.json()).status, "ok");
  const done = await running.stop("SIGINT");
  assertEquals(done.code, 0);
  assertEquals(JSON.parse(done.stdout), info, "nothing else on stdout");
});

Deno.test("mixpeek local: usage errors exit 2 with what to do", async () => {
  await using data = await tempDir("mixpeek-data-");
  await Deno.writeTextFile(
    `${data.path}/faults.json`,
    JSON.stringify({ faults: [{ path: "/x", fault: "nope" }] }),
  );
  const cases: [string[], string][] = [
    [["--host", "0.0.0.0"], "refusing to listen on 0.0.0.0"],
    [["--port", "70000"], "--port"],
    [["--upload-ttl", "0"], "--upload-ttl"],
    [["--s3-endpoint", "http://127.0.0.1:1"], "--s3-endpoint and --s3-bucket go together"],
    [["--s3-endpoint", "http://127.0.0.1:1", "--s3-bucket", "b1b"], "AWS_ACCESS_KEY_ID"],
    [["--faults", `${data.path}/faults.json`], "fault rule 1"],
    [["--max-upload-size", "lots"], "--max-upload-size"],
    [["--archive-format", "rar"], "--archive-format"],
    [["--plugin-quota", "-1"], "--plugin-quota"],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["local", "--data-dir", `${data.path}/d`, "--port", "0", ...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
});

Deno.test("mixpeek local --help says what it serves, and that realtime deploys run in workers", async () => {
  const r = await runCli(["local", "--help"]);
  assertEquals(r.code, 0, r.stderr);
  for (
    const text of ["/v1/collections/features/extractors", "--archive-format", "supervised Python worker"]
  ) {
    assertStringIncludes(r.stdout, text);
  }
});
