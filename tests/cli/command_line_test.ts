/**
 * lib/cli/command_line.ts on a small tree: the spellings a user types (options before or after the
 * subcommand, `--opt=value`, `-ovalue`, grouped short flags, `--no-x`, repeatable and variadic values,
 * `--` and `-`), defaults, and each usage error with its message (and "did you mean" where one is close).
 */
import { assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { type CommandDef, CommandLineError, parseCommandLine } from "../../lib/cli/command_line.ts";

const TREE: CommandDef = {
  name: "tool",
  description: "a tool",
  options: [
    { flags: "--json", description: "json" },
    { flags: "-v, --verbose", description: "more" },
    { flags: "--no-color", description: "no colour" },
    { flags: "-n, --namespace <id>", description: "namespace" },
  ],
  commands: [{
    name: "group",
    description: "a group",
    commands: [{
      name: "run",
      description: "runs",
      arguments: [{ spec: "<id>", description: "the id" }, { spec: "[path]", description: "a path" }],
      options: [
        { flags: "-p, --path <dir>", description: "dir" },
        { flags: "-f, --format <format>", description: "format", choices: ["a", "b"] },
        { flags: "--timeout <seconds>", description: "limit", default: "120" },
        { flags: "--realtime", description: "yes" },
        { flags: "--no-realtime", description: "no" },
        { flags: "--no-deploy", description: "no deploy" },
        { flags: "--allow <path>", description: "repeatable", repeatable: true },
        { flags: "--also <path...>", description: "variadic" },
        { flags: "-x, --extra", description: "x" },
      ],
      action: () => {},
    }],
  }],
};

function _run(...argv: string[]) {
  const parsed = parseCommandLine(TREE, argv);
  if (parsed.kind !== "run") throw new Error(`not a run: ${parsed.kind}`);
  return parsed.invocation;
}

function _usage(argv: string[], message: string, suggestion?: string): void {
  const error = assertThrows(() => parseCommandLine(TREE, argv), CommandLineError);
  assertStringIncludes(error.message, message);
  assertEquals(error.suggestion, suggestion);
}

Deno.test("options before or after the subcommand, every spelling, and defaults", () => {
  const a = _run("--json", "group", "run", "id1", "-n", "ns", "--path=here", "-fa", "-vx", "--", "-dash");
  assertEquals(a.path, ["group", "run"]);
  assertEquals(a.args, ["id1", "-dash"]);
  assertEquals(a.globals, { json: true, verbose: true, namespace: "ns", color: true });
  assertEquals(a.options, { path: "here", format: "a", extra: true, timeout: "120", deploy: true });
  const b = _run(
    "group",
    "run",
    "id2",
    "--no-color",
    "--realtime",
    "--no-deploy",
    "--timeout",
    "5",
    "-p",
    "-",
  );
  assertEquals(b.globals.color, false);
  assertEquals([b.options.realtime, b.options.deploy, b.options.timeout, b.options.path], [
    true,
    false,
    "5",
    "-",
  ]);
  assertEquals(_run("group", "run", "i", "--no-realtime").options.realtime, false);
  assertEquals(_run("group", "run", "i").options.realtime, undefined, "both spellings declared: no default");
});

Deno.test("repeatable options collect every occurrence; variadic ones also take the words after them", () => {
  assertEquals(_run("group", "run", "i", "--allow", "a", "--allow", "b").options.allow, ["a", "b"]);
  const v = _run("group", "run", "i", "--also", "a", "b", "--extra");
  assertEquals([v.options.also, v.options.extra, v.args], [["a", "b"], true, ["i", undefined]]);
});

Deno.test("help: --help anywhere, `help <path>`, and bare groups; -V is the version", () => {
  for (const argv of [["group", "run", "--help"], ["help", "group", "run"], ["group", "run", "-h", "id"]]) {
    const parsed = parseCommandLine(TREE, argv);
    assertEquals(parsed.kind, "help", argv.join(" "));
    if (parsed.kind === "help") {
      assertStringIncludes(parsed.text, "Usage: tool group run [options] <id> [path]");
    }
  }
  const bare = parseCommandLine(TREE, ["--json", "group"]);
  assertEquals(bare.kind, "help");
  if (bare.kind === "help") assertStringIncludes(bare.text, "Commands:\n  run");
  assertEquals(parseCommandLine(TREE, ["group", "run", "-V"]).kind, "version");
});

Deno.test("usage errors name the flag, the argument or the command", () => {
  _usage(["group", "ran"], "unknown command 'ran'", "(Did you mean run?)");
  _usage(["help", "nothing"], "unknown command 'nothing'");
  _usage(["group", "run", "i", "--pth", "x"], "unknown option '--pth'", "(Did you mean --path?)");
  _usage(["group", "run", "i", "-q"], "unknown option '-q'");
  _usage(
    ["group", "run", "i", "-f", "c"],
    "option '-f, --format <format>' argument 'c' is invalid. Allowed choices are a, b.",
  );
  _usage(["group", "run", "i", "--path"], "option '-p, --path <dir>' argument missing");
  _usage(["group", "run", "i", "--extra=1"], "option '-x, --extra' takes no value");
  _usage(["group", "run"], "missing required argument 'id'");
  _usage(
    ["group", "run", "a", "b", "c"],
    "too many arguments for 'group run'. Expected 2 arguments but got 3.",
  );
});
