/**
 * Help, as a newcomer reaches it: every command's --help goes to stdout with exit 0 and lists the global
 * options it honours; `mixpeek help <path>` shows that command's help; a bare group shows its own help.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli } from "../helpers/cli.ts";
import { commandTree } from "../../main.ts";
import type { CommandDef } from "../../lib/cli/command_line.ts";

function _paths(command: CommandDef, prefix: string[] = []): string[][] {
  return (command.commands ?? []).flatMap((c) => {
    const path = [...prefix, c.name];
    return [path, ..._paths(c, path)];
  });
}

const GLOBALS = ["--api-key", "--base-url", "--namespace", "--json", "--no-color", "--no-input", "--verbose"];

Deno.test("every subcommand's --help is on stdout, exit 0, with a Global Options section", async () => {
  const paths = _paths(commandTree());
  assert(paths.length > 10, `${paths.length} commands`);
  const results = await Promise.all(paths.map((path) => runCli([...path, "--help"])));
  results.forEach((r, i) => {
    const where = paths[i].join(" ");
    assertEquals(r.code, 0, `${where}: ${r.stderr}`);
    assertEquals(r.stderr, "", where);
    assertStringIncludes(r.stdout, `Usage: mixpeek ${where}`, where);
    assertStringIncludes(r.stdout, "Global Options:", where);
    for (const flag of GLOBALS) assertStringIncludes(r.stdout, flag, `${where} lists ${flag}`);
  });
});

Deno.test("`mixpeek help plugin init` is the init help; bare groups show their help; unknown paths exit 2", async () => {
  const viaHelp = await runCli(["help", "plugin", "init"]);
  const viaFlag = await runCli(["plugin", "init", "--help"]);
  assertEquals(viaHelp.code, 0);
  assertEquals(viaHelp.stdout, viaFlag.stdout);
  assertStringIncludes(viaHelp.stdout, "Usage: mixpeek plugin init");

  for (const group of [[], ["plugin"], ["config"], ["--json", "plugin"]]) {
    const r = await runCli(group);
    assertEquals([r.code, r.stderr], [0, ""], group.join(" "));
    assertStringIncludes(r.stdout, "Commands:", group.join(" "));
  }
  for (const unknown of [["help", "nothing"], ["help", "plugin", "frob"], ["plugin", "frob"]]) {
    const r = await runCli(unknown);
    assertEquals(r.code, 2, unknown.join(" "));
    assertStringIncludes(r.stderr, "unknown command");
    assertEquals(r.stdout, "");
  }
});
