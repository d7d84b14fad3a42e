#!/usr/bin/env -S deno run -A
/**
 * The `mixpeek` command tree: options, help and examples only. Each action lazy-imports its module
 * from lib/cli/, so `mixpeek --help` loads almost nothing. Errors are printed in one place (Output.error)
 * and mapped to exit codes here; nothing else calls Deno.exit.
 *
 * @module
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ExitCode, exitCodeOf } from "./lib/errors.ts";
import { CATEGORIES, RESOURCES } from "./lib/plugin/categories.ts";
import { VERSION } from "./lib/version.ts";
import type { GlobalOptions } from "./lib/cli/context.ts";

const EXIT_CODES = `
Exit codes:
  0 ok · 1 failed · 2 usage · 3 plugin invalid or scan rejected · 4 auth · 5 API/network · 6 timed out · 130 interrupted`;

const ROOT_EXAMPLES = `
Examples:
  $ mixpeek plugin init sentiment-scorer --category text
  $ mixpeek config set api-key            # prompts, or reads the key from stdin
  $ mixpeek config list --json

Environment:
  MIXPEEK_API_KEY, MIXPEEK_BASE_URL, MIXPEEK_NAMESPACE   settings (flag > env > config file > default)
  MIXPEEK_CONFIG_DIR                                     where config.json lives (default: user config dir)
  NO_COLOR                                               turn colour off
${EXIT_CODES}`;

async function _context(command: { optsWithGlobals(): unknown }) {
  const { createContext } = await import("./lib/cli/context.ts");
  return createContext(command.optsWithGlobals() as GlobalOptions);
}

function _pluginCommand(): Command {
  const plugin = new Command("plugin").description("create, check and publish Mixpeek plugins");

  plugin.command("init")
    .description("create a new plugin from a template (prompts for what flags do not give, in a terminal)")
    .argument("[name]", "plugin name: a Python package name; kebab-case becomes the folder name")
    .addOption(new Option("--category <category>", "plugin category").choices(CATEGORIES))
    .option("--description <text>", "one-line description")
    .option("--author <name>", "author name")
    .option("--output <dir>", "the plugin folder to create (default: ./<name>)")
    .addOption(new Option("--resource <type>", "resource type (default depends on the category)").choices(RESOURCES))
    .option("--realtime", "add realtime.py for realtime deployment (Enterprise)")
    .option("--no-realtime", "do not add realtime.py (and do not ask)")
    .option("--force", "write into a non-empty folder, replacing the template's files")
    .addHelpText(
      "after",
      `
Examples:
  $ mixpeek plugin init sentiment-scorer --category text --author "Ada" --description "Scores sentiment"
  $ mixpeek plugin init thumbnails --category image --resource cpu --realtime --output plugins/thumbs
  $ mixpeek plugin init                   # asks for everything in a terminal
${EXIT_CODES}`,
    )
    .action(async (name, options, command) => {
      const { runInit } = await import("./lib/cli/init.ts");
      await runInit(name, options, await _context(command));
    });

  return plugin as unknown as Command;
}

function _configCommand(): Command {
  const config = new Command("config").description("read and write settings in the user config file")
    .addHelpText(
      "after",
      `
Settings: api-key, base-url, namespace. The API key is always shown masked.

Examples:
  $ mixpeek config set base-url http://127.0.0.1:8787
  $ echo "$KEY" | mixpeek config set api-key
  $ mixpeek config get namespace
  $ mixpeek config list --json`,
    );

  config.command("set")
    .description("store a setting (api-key without a value prompts, or reads stdin)")
    .argument("<key>", "api-key | base-url | namespace")
    .argument("[value]", "the value")
    .action(async (key, value, _options, command) => {
      const { runConfigSet } = await import("./lib/cli/config.ts");
      await runConfigSet(key, value, await _context(command));
    });
  config.command("get")
    .description("show a setting's effective value")
    .argument("<key>", "api-key | base-url | namespace")
    .action(async (key, _options, command) => {
      const { runConfigGet } = await import("./lib/cli/config.ts");
      await runConfigGet(key, await _context(command));
    });
  config.command("unset")
    .description("remove a setting from the config file")
    .argument("<key>", "api-key | base-url | namespace")
    .action(async (key, _options, command) => {
      const { runConfigUnset } = await import("./lib/cli/config.ts");
      await runConfigUnset(key, await _context(command));
    });
  config.command("list")
    .description("show every setting, its effective value and where it came from")
    .action(async (_options, command) => {
      const { runConfigList } = await import("./lib/cli/config.ts");
      await runConfigList(await _context(command));
    });
  return config as unknown as Command;
}

export function buildProgram(): Command {
  const program = new Command("mixpeek")
    .description("Build, test and publish Mixpeek plugins")
    .version(VERSION, "-V, --version", "print the version")
    .option("--api-key <key>", "API key (env MIXPEEK_API_KEY)")
    .option("--base-url <url>", "API base URL (env MIXPEEK_BASE_URL; default https://api.mixpeek.com)")
    .option("--namespace <id>", "namespace (env MIXPEEK_NAMESPACE)")
    .option("--json", "machine-readable output on stdout")
    .option("--no-color", "no colour (also when NO_COLOR is set or output is not a terminal)")
    .option("--no-input", "never prompt; a missing value is an error naming its flag")
    .option("--verbose", "more detail, including error causes")
    .option("--insecure", "allow a plain-http base URL that is not loopback")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", ROOT_EXAMPLES);
  program.addCommand(_pluginCommand());
  program.addCommand(_configCommand());
  for (const command of _allCommands(program as unknown as Command)) command.exitOverride();
  return program as unknown as Command;
}

function _allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c as Command, ..._allCommands(c as Command)]);
}

/** Runs the CLI and returns the exit code (tests call this; the entry point exits with it). */
export async function run(args: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version it was asked for).
      const shown = ["commander.helpDisplayed", "commander.version", "commander.help"];
      return shown.includes(error.code) || error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const { Output } = await import("./lib/output.ts");
    const globals = program.opts() as GlobalOptions;
    new Output({ json: globals.json === true, color: globals.color !== false, verbose: globals.verbose === true })
      .error(error);
    return exitCodeOf(error);
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
