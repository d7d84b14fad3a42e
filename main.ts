#!/usr/bin/env -S deno run -A
/**
 * The `mixpeek` command tree: options, help and examples only. Each action lazy-imports its module
 * from lib/cli/, so `mixpeek --help` loads almost nothing. Errors are printed in one place (Output.error)
 * and mapped to exit codes here; nothing else calls Deno.exit.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";

type Commander = typeof import("@commander-js/extra-typings");
import { ExitCode, exitCodeOf } from "./lib/errors.ts";
import { CATEGORIES, RESOURCES } from "./lib/plugin/categories.ts";
import { SHELLS } from "./lib/completions.ts";

const SOURCES = ["all", "builtin", "custom", "community"] as const;
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

function _pluginCommand(c: Commander): Command {
  const plugin = new c.Command("plugin").description("create, check and publish Mixpeek plugins");

  plugin.command("init")
    .description("create a new plugin from a template (prompts for what flags do not give, in a terminal)")
    .argument("[name]", "plugin name: a Python package name; kebab-case becomes the folder name")
    .addOption(new c.Option("--category <category>", "plugin category").choices(CATEGORIES))
    .option("--description <text>", "one-line description")
    .option("--author <name>", "author name")
    .option("--output <dir>", "the plugin folder to create (default: ./<name>)")
    .addOption(
      new c.Option("--resource <type>", "resource type (default depends on the category)").choices(RESOURCES),
    )
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

  plugin.command("test")
    .description("check a plugin with your Python: structure, schemas, pipeline, scan, tests, sample data")
    .option("--path <dir>", "the plugin folder", ".")
    .option("--sample-data <file>", "run these records through the steps (JSON array, JSON lines or CSV)")
    .option("--python <path>", "the Python to use (default: MIXPEEK_PYTHON, <plugin>/.venv, python3, python)")
    .option("--timeout <seconds>", "limit for each Python process (harness, pytest); a hang fails", "120")
    .addHelpText(
      "after",
      `
Checks, in order, each shown as ✓ pass, ✗ fail or - skip with the reason:
  structure    required files and package __init__.py files
  schemas      manifest.py: metadata and the InputSchema / OutputSchema pydantic models (v1 or v2)
  pipeline     pipeline.py: build_steps() returns a non-empty list of {"name", "fn"} steps
  scan         the security scan (mixpeek plugin scan)
  tests        pytest on tests/ with the same Python (--verbose shows its output)
  sample_data  each --sample-data record: InputSchema → steps → OutputSchema

Examples:
  $ mixpeek plugin test
  $ mixpeek plugin test --path plugins/sentiment --sample-data sample_data.json
  $ mixpeek plugin test --python .venv/bin/python --timeout 30 --json

Environment:
  MIXPEEK_PYTHON   the Python to use when --python is not given

Exit codes:
  0 all checks passed or skipped · 1 no usable Python, or pydantic / pytest missing (the message says what to
  install) · 2 usage (bad flag, missing --path or --sample-data file) · 3 plugin invalid (a check failed) ·
  130 interrupted`,
    )
    .action(async (options, command) => {
      const { runTest } = await import("./lib/cli/test.ts");
      await runTest(options, await _context(command));
    });

  plugin.command("pack")
    .description("write the plugin's .tar.gz (what publish uploads) and print its path, size and sha256")
    .option("--path <dir>", "the plugin folder", ".")
    .option("--output <file>", "the archive to write (default: <plugin>/dist/<folder name>.tar.gz)")
    .option("--list", "also list the files that went in")
    .option(
      "--allow-secret <path>",
      "pack this flagged file (or every flagged file under this folder) anyway; repeatable",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--max-size <size>", "limit on the files' total size, e.g. 2GB (default 1GiB)")
    .option("--max-files <count>", "limit on the number of files (default 20000)")
    .option("--max-file-size <size>", "limit on one file's size, e.g. 800MB (default 512MiB)")
    .addHelpText(
      "after",
      `
What goes in: every file under --path except .git, virtual environments, the defaults (__pycache__/, *.pyc,
.venv/, venv/, node_modules/, .pytest_cache/, .mypy_cache/, .DS_Store, dist/, *.tar.gz, …) and what
.gitignore and .mixpeekignore files exclude (gitignore syntax; a "!path" line in .mixpeekignore brings back a
file .gitignore leaves out). Symlinks inside the plugin are stored as the file they point to; links leaving
the plugin, loops, and files that look like secrets (.env, keys, credentials, AWS / sk- keys in the content)
stop the pack with the list of files. Same folder, same bytes: entries sorted, fixed dates, no owners.

Examples:
  $ mixpeek plugin pack
  $ mixpeek plugin pack --path plugins/sentiment --output build/sentiment.tar.gz --list
  $ mixpeek plugin pack --allow-secret certs/ca.pem --max-size 2GB --json

Exit codes:
  0 packed · 1 a file could not be read or written · 2 usage · 3 plugin refused (secrets, limits, symlinks,
  names; the message lists every file) · 130 interrupted (nothing is left behind)`,
    )
    .action(async (options, command) => {
      const { runPack } = await import("./lib/cli/pack.ts");
      await runPack(options, await _context(command));
    });

  plugin.command("publish")
    .description("validate, scan, pack, upload, confirm and (realtime plugins) deploy")
    .option("--path <dir>", "the plugin folder", ".")
    .option("--dry-run", "do every local step, send nothing, and show what would be uploaded")
    .option("--wait", "wait until the registry has validated (and deployed) the plugin")
    .option("--timeout <seconds>", "limit for --wait and for the plugin's code in the checks", "600")
    .option("--yes", "do not ask for confirmation in a terminal")
    .option("--python <path>", "Python interpreter for the checks (default: MIXPEEK_PYTHON, .venv, python3)")
    .option("--allow-secret <path...>", "pack a file the secret guard flagged anyway")
    .addHelpText(
      "after",
      `
Examples:
  $ mixpeek plugin publish --dry-run
  $ mixpeek plugin publish --path ./sentiment-scorer --namespace ns_123 --wait
${EXIT_CODES}`,
    )
    .action(async (options, command) => {
      const { runPublish } = await import("./lib/cli/publish.ts");
      await runPublish(options, await _context(command));
    });

  plugin.command("list")
    .description("list the plugins of a namespace (table in a terminal, TSV when piped, --json)")
    .addOption(new c.Option("--source <source>", "which plugins").choices(SOURCES).default("all"))
    .action(async (options, command) => {
      const { runList } = await import("./lib/cli/manage.ts");
      await runList(options, await _context(command));
    });

  plugin.command("get")
    .description("show one plugin's record")
    .argument("<plugin-id>", "the plugin id")
    .action(async (id, _options, command) => {
      const { runGet } = await import("./lib/cli/manage.ts");
      await runGet(id, await _context(command));
    });

  plugin.command("delete")
    .description("delete a plugin (asks first; --yes to skip the question)")
    .argument("<plugin-id>", "the plugin id")
    .option("--yes", "delete without asking")
    .action(async (id, options, command) => {
      const { runDelete } = await import("./lib/cli/manage.ts");
      await runDelete(id, options, await _context(command));
    });

  plugin.command("deploy")
    .description("start the realtime deployment of a ready plugin (Enterprise)")
    .argument("<plugin-id>", "the plugin id")
    .action(async (id, _options, command) => {
      const { runDeploy } = await import("./lib/cli/manage.ts");
      await runDeploy(id, await _context(command));
    });

  plugin.command("status")
    .description("show a plugin's status: pending, validating, deploying, ready or failed")
    .argument("<plugin-id>", "the plugin id")
    .option("--wait", "poll until ready or failed (exit 3 when failed)")
    .option("--timeout <seconds>", "limit for --wait", "600")
    .action(async (id, options, command) => {
      const { runStatus } = await import("./lib/cli/manage.ts");
      await runStatus(id, options, await _context(command));
    });

  plugin.command("scan")
    .description("run the security scan alone: every .py file of the plugin, parsed (not grepped)")
    .argument(
      "[path]",
      "the plugin folder (default: the plugin the current folder is in, or the current folder)",
    )
    .option("-p, --path <dir>", "the plugin folder (the same as the argument)")
    .addOption(
      new c.Option("--format <format>", "text (code frames), json (the report) or sarif (SARIF 2.1.0)")
        .choices(["text", "json", "sarif"] as const),
    )
    .option(
      "--strict",
      "the platform's strict mode: warnings reject too; a folder without manifest.py exits 2",
    )
    .option(
      "--absolute",
      "absolute paths in the text and SARIF output (default: relative to the current folder)",
    )
    .addHelpText(
      "after",
      `
Errors (SPEC §6, Mixpeek's server-side rules): starting processes (subprocess, os.system, os.popen, os.exec*,
os.spawn*, pty, and stdlib APIs that start them), dynamic code (eval, exec, compile, code, runpy, strings
Python evaluates), raw network access (socket, socketserver, asyncio streams; HTTP clients are fine), memory
(ctypes, cffi), dynamic imports (__import__, importlib.import_module), the builtin open() (Image.open,
pd.read_csv and other library I/O are fine), threads and processes (threading, multiprocessing), system calls
(fcntl, resource, os.fork, os.kill), globals()/locals()/vars()/setattr()/delattr(), pickle and marshal loads,
and the lookups that reach any of them (getattr with folded strings, __builtins__[…], sys.modules, …).
Warnings (errors with --strict): pickle, marshal and shelve use; __builtins__, __class__, __bases__,
__subclasses__ of the plugin's own classes, __mro__, __code__. Files CPython would not compile or would read
differently (not UTF-8, a coding declaration, NUL bytes, syntax and compiler errors, Python 2, mixed tabs and
spaces) are findings too: the scan fails closed.

Examples:
  $ mixpeek plugin scan
  $ mixpeek plugin scan plugins/sentiment --format sarif > scan.sarif
  $ mixpeek plugin scan --strict
  $ mixpeek plugin scan --json | jq '.findings[] | .rule_id'

Environment:
  MIXPEEK_SCAN_WORKERS   worker threads for trees over 1 MiB (default: cores - 1; 0 scans on one thread)

Exit codes:
  0 nothing rejects the plugin (warnings are shown) · 2 usage (no such folder, conflicting --json/--format,
  with --strict a folder without manifest.py) · 3 errors, or warnings with --strict (the report is printed
  first) · 130 interrupted`,
    )
    .action(async (path, options, command) => {
      // Compile the parser (a 565 KB WASM module, on V8's background threads) while the scan's modules load.
      import("./lib/scan/parser.ts").then((m) => m.compileParser()).catch(() => {});
      const { runScan } = await import("./lib/cli/scan.ts");
      await runScan(path, options, await _context(command));
    });

  return plugin as unknown as Command;
}

function _configCommand(c: Commander): Command {
  const config = new c.Command("config").description("read and write settings in the user config file")
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

/**
 * The whole command tree, for tests and tools that walk it (completions). Not part of the documented API:
 * `run` is (@ignore keeps commander's types out of the package docs).
 *
 * @ignore
 */
export async function buildProgram(): Promise<Command> {
  // Loaded here, not at the top: node-compat start-up costs ~25 ms that `mixpeek --version` need not pay.
  const c: Commander = await import("@commander-js/extra-typings");
  const program = new c.Command("mixpeek")
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
  program.addCommand(_pluginCommand(c));
  program.command("local")
    .description("run the API-compatible local registry in the foreground (Ctrl-C stops it)")
    .option("--port <n>", "port to listen on (0 picks a free one)", "8787")
    .option("--host <host>", "address to listen on (loopback only, unless --allow-remote)", "127.0.0.1")
    .option("--data-dir <dir>", "records and archives (default: <user data dir>/mixpeek/local)")
    .option("--s3-endpoint <url>", "store archives in an S3-compatible bucket at this endpoint (path-style)")
    .option("--s3-bucket <name>", "the bucket for --s3-endpoint (must exist)")
    .option("--upload-ttl <seconds>", "lifetime of upload URLs", "3600")
    .option("--max-upload-size <size>", "largest archive accepted, e.g. 2GB (default 1GiB)")
    .option("--faults <file>", "inject faults from this JSON file (format: lib/local/faults.ts)")
    .option("--fault-admin", "enable the /_faults admin route (add or clear faults at run time)")
    .option("--allow-remote", "allow a --host that is not loopback")
    .addHelpText(
      "after",
      `
Serves the Mixpeek plugin API (/v1/namespaces/{id}/plugins…) with records in SQLite and archives in the data
dir (or an S3 bucket), re-validating and re-scanning every upload. The first start creates the data dir, a dev
API key and the namespace "default", and prints the line that points mixpeek at it:
  export MIXPEEK_BASE_URL=http://127.0.0.1:8787 MIXPEEK_API_KEY=… MIXPEEK_NAMESPACE=default

Examples:
  $ mixpeek local
  $ mixpeek local --port 0 --data-dir ./.registry --json
  $ mixpeek local --s3-endpoint http://127.0.0.1:5000 --s3-bucket plugins   # AWS_* credentials set
  $ mixpeek local --faults faults.json --verbose      # --verbose also logs every request

Environment:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION   credentials for --s3-endpoint
  MIXPEEK_LOCAL_DATA_DIR                                                    default data dir
${EXIT_CODES}`,
    )
    .action(async (options, command) => {
      const { runLocal } = await import("./lib/cli/local.ts");
      await runLocal(options, await _context(command));
    });
  program.command("completions")
    .description("print a shell completion script")
    .addArgument(new c.Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action(async (shell, _options, command) => {
      const { runCompletions } = await import("./lib/cli/completions.ts");
      runCompletions(shell, program as never, await _context(command));
    });
  program.addCommand(_configCommand(c));
  for (const command of _allCommands(program as unknown as Command)) command.exitOverride();
  return program as unknown as Command;
}

function _allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c as Command, ..._allCommands(c as Command)]);
}

/** Runs the CLI and returns the exit code (tests call this; the entry point exits with it). */
export async function run(args: string[]): Promise<number> {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    console.log(VERSION); // the fast path: no command tree needed
    return ExitCode.OK;
  }
  const program = await buildProgram();
  const { CommanderError } = await import("@commander-js/extra-typings");
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version it was asked for).
      const shown = ["commander.helpDisplayed", "commander.version", "commander.help"];
      if (shown.includes(error.code) || error.exitCode === 0) return ExitCode.OK;
      if (args.includes("--json")) {
        // Scripts parsing stdout get the usage error as JSON too (the message is already on stderr).
        const message = error.message.replace(/^error: /, "");
        console.log(
          JSON.stringify({ error: { type: "usage", message, exit_code: ExitCode.USAGE } }, null, 2),
        );
      }
      return ExitCode.USAGE;
    }
    const { Output } = await import("./lib/output.ts");
    const globals = program.opts() as GlobalOptions;
    new Output({
      json: globals.json === true,
      color: globals.color !== false,
      verbose: globals.verbose === true,
    })
      .error(error);
    return exitCodeOf(error);
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
