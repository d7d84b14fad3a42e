import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { ApiError, ExitCode, exitCodeOf, UsageError } from "../../lib/errors.ts";
import { colorEnabled, Output, type Writers } from "../../lib/output.ts";

function capture(terminal: boolean) {
  const out = { stdout: "", stderr: "" };
  const writers: Writers = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    stdoutIsTerminal: terminal,
    stderrIsTerminal: terminal,
  };
  return { out, writers };
}

Deno.test("colour only in a terminal, when asked for and NO_COLOR is unset or empty", () => {
  const env = (v?: string) => ({ get: () => v }) as unknown as Deno.Env;
  assertEquals(colorEnabled(true, true, env()), true);
  assertEquals(colorEnabled(true, true, env("")), true);
  assertEquals(colorEnabled(true, true, env("1")), false);
  assertEquals(colorEnabled(false, true, env()), false);
  assertEquals(colorEnabled(true, false, env()), false);
});

Deno.test("errors: one line on stderr with the hint last; --json adds an error document on stdout", () => {
  const { out, writers } = capture(false);
  const o = new Output({ json: true, color: true, verbose: false }, writers);
  o.error(new ApiError("server said no", { status: 503, requestId: "req_1", hint: "try again later" }));
  assertEquals(out.stderr, "error: server said no\nhint: try again later\n");
  assertEquals(JSON.parse(out.stdout), {
    error: {
      type: "api",
      message: "server said no",
      hint: "try again later",
      exit_code: 5,
      status: 503,
      request_id: "req_1",
    },
  });
});

Deno.test("--verbose adds the cause chain", () => {
  const { out, writers } = capture(false);
  new Output({ json: false, color: false, verbose: true }, writers)
    .error(new UsageError("outer", { cause: new Error("inner") }));
  assertStringIncludes(out.stderr, "caused by: inner");
});

Deno.test("tables: aligned in a terminal, tab-separated when piped", () => {
  const rows = [{ name: "a", status: "ready" }, { name: "longer\tname", status: "failed" }];
  const piped = capture(false);
  new Output({ json: false, color: false, verbose: false }, piped.writers).table(rows, ["name", "status"]);
  assertEquals(piped.out.stdout, "name\tstatus\na\tready\nlonger name\tfailed\n");
  const tty = capture(true);
  new Output({ json: false, color: false, verbose: false }, tty.writers).table(rows, ["name", "status"]);
  assertStringIncludes(tty.out.stdout, "NAME         STATUS\na            ready\n");
});

Deno.test("exit codes follow DESIGN.md", () => {
  assertEquals(exitCodeOf(new UsageError("x")), ExitCode.USAGE);
  assertEquals(exitCodeOf(new ApiError("x")), 5);
  assertEquals(exitCodeOf(new Error("x")), 1);
});
