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
import { SETTING_NAMES } from "./lib/config.ts";

const SOURCES = ["all", "builtin", "custom", "community"] as const; // LIST_SOURCES in lib/api/types.ts
import { VERSION } from "./lib/version.ts";
import type { GlobalOptions } from "./lib/cli/context.ts";

const EXIT_CODES = `
Exit codes:
  0 ok · 1 failed, or cancelled at a prompt (nothing was changed) · 2 usage · 3 plugin invalid or scan rejected
  4 auth · 5 API/network · 6 timed out · 130 interrupted`;

const ROOT_EXAMPLES = `
Global options go before or after the subcommand: \`mixpeek plugin list -n ns_123 --json\` works.

Examples:
  $ mixpeek plugin init sentiment-scorer --category text
  $ mixpeek config set api-key            # prompts, or reads the key from stdin
  $ mixpeek config list --json

Environment:
  MIXPEEK_API_KEY, MIXPEEK_BASE_URL, MIXPEEK_NAMESPACE   settings (flag > env > config file > default)
  MIXPEEK_CONFIG_DIR                                     where config.json lives (default: user config dir)
  MIXPEEK_REQUEST_TIMEOUT                                seconds each API request may take (default 30)
  MIXPEEK_UPLOAD_STALL_TIMEOUT                           seconds an upload may make no progress (default 60)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY           proxies (loopback is always direct; https only
                                                         through a CONNECT tunnel)
  NO_COLOR                                               turn colour off
${EXIT_CODES}`;

async function _context(command: { optsWithGlobals(): unknown }) {
  const { createContext } = await import("./lib/cli/context.ts");
  return createContext(command.optsWithGlobals() as GlobalOptions);
}

function _pluginCommand(c: Commander): Command {
  const plugin = new c.Command("plugin").description("create, check and publish Mixpeek plugins");

  plugin.command("init")
    .description("create a new plugin from a template (prompts only for what has no flag and no default)")
    .argument("[name]", "plugin name (letters, digits, _ or -): the package is its snake_case spelling")
    .addOption(
      new c.Option("-c, --category <category>", "plugin category (default: text)").choices(CATEGORIES),
    )
    .option("-d, --description <text>", "one-line description")
    .option("-a, --author <name>", "author (default: git config user.name, then $USER)")
    .option("-o, --output <dir>", "the plugin folder to create (default: ./<package name>)")
    .addOption(
      new c.Option("--resource <type>", "compute_profile resource type (default depends on the category)")
        .choices(RESOURCES),
    )
    .option("--realtime", "add realtime.py, a realtime inference service (Enterprise)")
    .option("--no-realtime", "do not add realtime.py (and do not ask)")
    .option("--force", "write into a non-empty folder, replacing the template's files")
    .addHelpText(
      "after",
      `
The folder is the Python package Mixpeek imports, so its name is the package name: sentiment-scorer is
written to ./sentiment_scorer. With a category given, nothing is asked: the rest takes its default.

Examples:
  $ mixpeek plugin init sentiment-scorer -c text -a "Ada" -d "Scores sentiment"
  $ mixpeek plugin init thumbnails -c image --resource gpu --realtime -o plugins/thumbnails
  $ mixpeek plugin init                   # asks for everything in a terminal
${EXIT_CODES}`,
    )
    .action(async (name, options, command) => {
      const { runInit } = await import("./lib/cli/init.ts");
      await runInit(name, options, await _context(command));
    });

  const checkList = `
Checks, in order, each shown as ✓ pass, ✗ fail or - skip with the reason:
  structure    a package: __init__.py, manifest.py, pipeline.py; package folders; relative imports
  manifest     metadata (or module-level fields), input/output/parameter schemas (pydantic v2 or v1),
               parameter defaults, features, compute_profile, feature_uri, dependencies
  pipeline     build_steps(request from --params) returns {"steps", "prepare"} built on the platform runtime
  scan         the security scan (mixpeek plugin scan)
  tests        pytest on tests/ with the same Python and the runtime (--verbose shows its output)
  sample_data  each --sample-data record as a batch row: prepare, the steps with their row conditions and
               batch sizes, each output row against output_schema, embedding sizes
  realtime     realtime.py: the service is built and called with the first record; a dict, with "embedding"`;

  plugin.command("test")
    .description("check a plugin with your Python and the local platform runtime (all seven checks)")
    .argument("[path]", "the plugin folder, or a folder inside it (default: .)")
    .option("-p, --path <dir>", "the plugin folder, or a folder inside it (default: .)")
    .option(
      "-s, --sample-data <file>",
      "run these records through the pipeline (JSON array, JSON lines or CSV)",
    )
    .option("--params <json>", "the collection's parameters, validated against parameter_schema")
    .option("-v, --verbose", "show pytest's output and every detail")
    .option("--python <path>", "the Python to use (default: MIXPEEK_PYTHON, <plugin>/.venv, python3, python)")
    .option("--timeout <seconds>", "limit for each Python process (harness, pytest); a hang fails", "120")
    .addHelpText(
      "after",
      `${checkList}

Plugin code runs without MIXPEEK_API_KEY and without cloud credentials (AWS_*, GOOGLE_*, AZURE_*, *TOKEN*,
*SECRET*, *PASSWORD*). The plugin's Python needs pydantic, pandas (and pytest for tests/).

Examples:
  $ mixpeek plugin test -s sample_data.json
  $ mixpeek plugin test plugins/sentiment --params '{"threshold": 0.7}'
  $ mixpeek plugin test --python .venv/bin/python --timeout 30 --json

Environment:
  MIXPEEK_PYTHON   the Python to use when --python is not given

Exit codes:
  0 all checks passed or skipped · 1 no usable Python, or pydantic / pytest missing (the message says what to
  install) · 2 usage (bad flag, --params not a JSON object, missing folder or --sample-data file) · 3 plugin
  invalid (a check failed) · 130 interrupted`,
    )
    .action(async (path, options, command) => {
      const { runTest } = await import("./lib/cli/test.ts");
      await runTest(path, options, await _context(command));
    });

  plugin.command("validate")
    .description("the checks of plugin test without pytest and sample data: fast")
    .argument("[path]", "the plugin folder, or a folder inside it (default: .)")
    .option("-p, --path <dir>", "the plugin folder, or a folder inside it (default: .)")
    .option("--params <json>", "the collection's parameters, validated against parameter_schema")
    .option("--python <path>", "the Python to use (default: MIXPEEK_PYTHON, <plugin>/.venv, python3, python)")
    .option("--timeout <seconds>", "limit for the Python process; a hang fails", "120")
    .addHelpText(
      "after",
      `
Runs structure, manifest, pipeline, scan and realtime (the service is built, not called); tests and
sample_data are skipped (use plugin test).

Examples:
  $ mixpeek plugin validate
  $ mixpeek plugin validate -p plugins/sentiment --json
${EXIT_CODES}`,
    )
    .action(async (path, options, command) => {
      const { runValidate } = await import("./lib/cli/validate.ts");
      await runValidate(path, options, await _context(command));
    });

  plugin.command("env")
    .description("print the PYTHONPATH line that puts the local platform runtime in front of any Python")
    .addOption(
      new c.Option("--shell <shell>", "the shell to write for (default: sh; powershell on Windows)")
        .choices(["sh", "fish", "powershell", "cmd"] as const),
    )
    .addHelpText(
      "after",
      `
Plugins import engine.* and shared.*, which exist only on Mixpeek. The CLI ships a local implementation
(SPEC §5) and writes it to a versioned folder; this prints the line that puts it on PYTHONPATH, so plain
pytest, an IDE or Mixpeek's own Python CLI import a plugin the way mixpeek plugin test does.

Examples:
  $ eval "$(mixpeek plugin env)" && python3 -m pytest
  $ mixpeek plugin env --shell fish | source
  $ mixpeek plugin env --json          # {"runtime", "version", "shell", "line", "env": {"PYTHONPATH"}}
${EXIT_CODES}`,
    )
    .action(async (options, command) => {
      const { runEnv } = await import("./lib/cli/env.ts");
      await runEnv(options, await _context(command));
    });

  plugin.command("pack")
    .description("write the plugin's archive (what publish uploads) and print its path, size and sha256")
    .argument("[path]", "the plugin folder (or -p/--path; default .)")
    .option("-p, --path <dir>", "the plugin folder")
    .addOption(
      new c.Option("--format <format>", "archive format (default tar.gz)").choices(["tar.gz", "zip"]),
    )
    .option("-o, --output <file>", "the archive to write (default: <plugin>/dist/<package>.tar.gz or .zip)")
    .option("--list", "also list the files that went in")
    .option(
      "--allow-secret <path>",
      "pack this flagged file (or every flagged file under this folder) anyway; repeatable",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--max-size <size>", "limit on the files' total size, e.g. 100MB (default 500MB, Mixpeek's)")
    .option("--max-files <count>", "limit on the number of files (default 1000, Mixpeek's)")
    .option("--max-file-size <size>", "limit on one file's size (default 500MB)")
    .option("--strict", "a folder that is not a plugin (no manifest.py) is an error (exit 2), not a warning")
    .addHelpText(
      "after",
      `
The archive holds one top-level folder named like the package (the platform imports the plugin as that
package): the folder's own name, with "-" as "_" for an old kebab-case folder. Both formats are
deterministic: same folder, same bytes (entries sorted, fixed dates, no owners, modes 0644/0755). Mixpeek's
limits are checked before anything is written for good: 500 MB of files, 1,000 files, a 500 MB archive.

What goes in: every file under the plugin folder except .git, virtual environments, the defaults
(__pycache__/, *.pyc, .venv/, venv/, node_modules/, .pytest_cache/, .mypy_cache/, .DS_Store, dist/,
*.tar.gz, …) and what .gitignore and .mixpeekignore files exclude (gitignore syntax; a "!path" line in
.mixpeekignore brings back a file .gitignore leaves out). Symlinks inside the plugin are stored as the file
they point to; links leaving the plugin, loops, and files that look like secrets (.env, keys, credentials,
AWS / sk- keys in the content) stop the pack with the list of files.

From a folder inside the plugin (processors/), pack walks up to the folder that holds manifest.py. A folder in
no plugin is packed as it is with a warning (--strict: exit 2); one with no file to pack is refused (exit 2),
never written as an empty archive. In a terminal, a progress line shows the bytes packed and the rate.

Examples:
  $ mixpeek plugin pack
  $ mixpeek plugin pack plugins/sentiment --format zip -o build/sentiment.zip --list
  $ mixpeek plugin pack --allow-secret certs/ca.pem --json

Exit codes:
  0 packed · 1 a file could not be read or written · 2 usage (no such folder, not a plugin with --strict,
  nothing to pack) · 3 plugin refused (secrets, limits, symlinks, names; the message lists every file) ·
  130 interrupted (nothing is left behind)`,
    )
    .action(async (path, options, command) => {
      const { runPack } = await import("./lib/cli/pack.ts");
      await runPack(path, options, await _context(command));
    });

  plugin.command("publish")
    .description("validate, scan, pack, upload, confirm and deploy (batch, or realtime with realtime.py)")
    .argument("[path]", "the plugin folder (or -p/--path; default .)")
    .option("-p, --path <dir>", "the plugin folder")
    .option("--dry-run", "do every local step, send nothing, and show what would be uploaded")
    .option("--wait", "wait until the deployment settles (deployed, failed, not_deployed, batch_only)")
    .option("--timeout <seconds>", "limit for --wait and for the plugin's code in the checks", "600")
    .option("--yes", "do not ask for confirmation in a terminal")
    .addOption(
      new c.Option("--format <format>", "archive format, whatever the server names (default: its s3_key's)")
        .choices(["tar.gz", "zip"]),
    )
    .option("--no-deploy", "stop after the confirm (deploy later with `mixpeek plugin deploy`)")
    .option(
      "--org",
      "publish to the organization (/v1/plugins); enable it in namespaces with `plugin enable`",
    )
    .option("--python <path>", "Python interpreter for the checks (default: MIXPEEK_PYTHON, .venv, python3)")
    .option("--allow-secret <path...>", "pack a file the secret guard flagged anyway")
    .addHelpText(
      "after",
      `
The steps: validate → security scan → archive → POST …/plugins/uploads → PUT the archive to presigned_url
(Content-Type of its format, no Authorization) → POST …/uploads/{id}/confirm ({etag, file_size_bytes}; exit 3
when the server answers success: false, with its validation_errors) → POST …/{id}/deploy
(?deployment_type=batch_only unless the plugin has realtime.py). The archive is packed in the format the
server's s3_key names (tar.gz without a hint); --format overrides. A 404/405 on these routes means the host
does not serve custom plugins: pass your dedicated host with --base-url.

Before anything is sent, a terminal asks "Publish …?" (--yes skips it; no terminal or --no-input: no
question). A "no" is "cancelled: nothing was changed", exit 1. Once the server confirmed the upload, every
later failure says the plugin is published and how to see it. A stalled upload (no byte moving for
MIXPEEK_UPLOAD_STALL_TIMEOUT seconds, default 60) is tried again with a fresh upload URL, 4 attempts in all.
In a terminal, live lines show packing and upload progress and a spinner while the server validates and
while --wait follows the deployment; --verbose logs every request (method, URL, status, time; the key and
the upload URL's signature redacted).

Examples:
  $ mixpeek plugin publish --dry-run
  $ mixpeek plugin publish ./sentiment_scorer -n ns_123 --wait
  $ mixpeek plugin publish --org --no-deploy
${EXIT_CODES}`,
    )
    .action(async (path, options, command) => {
      const { runPublish } = await import("./lib/cli/publish.ts");
      await runPublish(path, options, await _context(command));
    });

  plugin.command("list")
    .description(
      "list the plugins or extractors of a namespace (table in a terminal, TSV when piped, --json)",
    )
    .addOption(
      new c.Option(
        "-s, --source <source>",
        "custom: the namespace's plugins; all, builtin, community: extractors",
      )
        .choices(SOURCES),
    )
    .option("--org", "the organization's plugins (GET /v1/plugins)")
    .option("--include-disabled", "with all/builtin: also custom plugins that are not deployed")
    .addHelpText(
      "after",
      `
--source custom lists GET /v1/namespaces/{ns}/plugins; all (the default) and builtin list
GET /v1/namespaces/{ns}/extractors?source=…, community keeps the community entries of all.

Examples:
  $ mixpeek plugin list -s custom
  $ mixpeek plugin list --source builtin --json
  $ mixpeek plugin list --org`,
    )
    .action(async (options, command) => {
      const { runList } = await import("./lib/cli/manage.ts");
      await runList(options, await _context(command));
    });

  plugin.command("get")
    .description("show one plugin's record (or an extractor's, with --extractor)")
    .argument("<plugin-id>", "the plugin id, e.g. my_plugin_1_0_0")
    .option("--org", "an organization plugin (GET /v1/plugins/{id})")
    .option("--extractor", "any extractor of the namespace, builtin or custom (GET …/extractors/{id})")
    .option("--download-url", "also ask for a presigned download URL of the archive")
    .action(async (id, options, command) => {
      const { runGet } = await import("./lib/cli/manage.ts");
      await runGet(id, options, await _context(command));
    });

  plugin.command("delete")
    .description("delete a plugin and its archive (asks first; --yes to skip the question)")
    .argument("<plugin-id>", "the plugin id")
    .option("--yes", "delete without asking")
    .option("--org", "an organization plugin (DELETE /v1/plugins/{id})")
    .addHelpText(
      "after",
      `
In a terminal it asks first; a "no" is "cancelled: nothing was changed" (exit 1). Without a terminal, or with
--no-input, nothing is deleted without --yes (exit 2).
${EXIT_CODES}`,
    )
    .action(async (id, options, command) => {
      const { runDelete } = await import("./lib/cli/manage.ts");
      await runDelete(id, options, await _context(command));
    });

  plugin.command("deploy")
    .description("deploy a plugin: realtime when it has realtime.py (Enterprise), else for batch processing")
    .argument("<plugin-id>", "the plugin id")
    .option("--batch-only", "deploy for batch processing only (?deployment_type=batch_only)")
    .option("--wait", "wait until the deployment settles")
    .option("--timeout <seconds>", "limit for --wait", "600")
    .action(async (id, options, command) => {
      const { runDeploy } = await import("./lib/cli/manage.ts");
      await runDeploy(id, options, await _context(command));
    });

  plugin.command("undeploy")
    .description("remove a plugin's deployment (the archive stays; deploy it again any time)")
    .argument("<plugin-id>", "the plugin id")
    .action(async (id, _options, command) => {
      const { runUndeploy } = await import("./lib/cli/manage.ts");
      await runUndeploy(id, await _context(command));
    });

  plugin.command("invoke")
    .description("call a deployed plugin's realtime service (POST …/realtime/test) and print its answer")
    .argument("<plugin-id>", "the plugin id, deployed for realtime inference")
    .option("--inputs <json>", "the service's inputs: a JSON object, or @file (@- reads stdin)")
    .option("--parameters <json>", "the call's parameters: a JSON object, or @file")
    .addHelpText(
      "after",
      `
Prints the service's answer (raw_response) as JSON; --json prints the whole PluginRealtimeTestResponse.
Exit 0 when the service answered; 1 when it raised, is busy or gone, or the plugin is not deployed for
realtime inference; 6 when the call timed out; 2 for bad --inputs or --parameters.

Examples:
  $ mixpeek plugin invoke my_plugin_1_0_0 --inputs '{"text": "hello"}'
  $ mixpeek plugin invoke my_plugin_1_0_0 --inputs @query.json --parameters '{"ngram": 2}' --json
${EXIT_CODES}`,
    )
    .action(async (id, options, command) => {
      const { runInvoke } = await import("./lib/cli/invoke.ts");
      await runInvoke(id, options, await _context(command));
    });

  plugin.command("status")
    .description(
      "show a plugin's deployment status: queued, pending, in_progress, deployed, failed, not_deployed",
    )
    .argument("<plugin-id>", "the plugin id")
    .option("--wait", "poll until deployed, failed, not_deployed or batch_only (exit 1 when failed)")
    .option("--timeout <seconds>", "limit for --wait", "600")
    .action(async (id, options, command) => {
      const { runStatus } = await import("./lib/cli/manage.ts");
      await runStatus(id, options, await _context(command));
    });

  plugin.command("available")
    .description("list the organization's plugins a namespace can enable, and whether it has")
    .action(async (_options, command) => {
      const { runAvailable } = await import("./lib/cli/manage.ts");
      await runAvailable(await _context(command));
    });

  plugin.command("enable")
    .description("enable an organization plugin in the namespace (and deploy it, unless --no-deploy)")
    .argument("<plugin-id>", "the organization plugin's id")
    .option("--params <json>", "the plugin's parameters for this namespace, a JSON object")
    .option("--no-deploy", "enable without deploying")
    .action(async (id, options, command) => {
      const { runEnable } = await import("./lib/cli/manage.ts");
      await runEnable(id, options, await _context(command));
    });

  plugin.command("disable")
    .description("disable an organization plugin in the namespace (collections using it may stop working)")
    .argument("<plugin-id>", "the organization plugin's id")
    .action(async (id, _options, command) => {
      const { runDisable } = await import("./lib/cli/manage.ts");
      await runDisable(id, await _context(command));
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
    .addArgument(new c.Argument("<key>", "the setting").choices(SETTING_NAMES))
    .argument("[value]", "the value")
    .action(async (key, value, _options, command) => {
      const { runConfigSet } = await import("./lib/cli/config.ts");
      await runConfigSet(key, value, await _context(command));
    });
  config.command("get")
    .description("show a setting's effective value (exit 1 when it is not set)")
    .addArgument(new c.Argument("<key>", "the setting").choices(SETTING_NAMES))
    .action(async (key, _options, command) => {
      const { runConfigGet } = await import("./lib/cli/config.ts");
      await runConfigGet(key, await _context(command));
    });
  config.command("unset")
    .description("remove a setting from the config file")
    .addArgument(new c.Argument("<key>", "the setting").choices(SETTING_NAMES))
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
    .option("-n, --namespace <id>", "namespace id (env MIXPEEK_NAMESPACE)")
    .option("--json", "machine-readable output on stdout")
    .option("--no-color", "no colour (also when NO_COLOR is set or output is not a terminal)")
    .option("--no-input", "never prompt; a missing value is an error naming its flag")
    .option("-v, --verbose", "more detail, including error causes")
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
    .addOption(
      new c.Option(
        "--archive-format <format>",
        "the archive format upload URLs ask for (s3_key), as a host does",
      )
        .choices(["tar.gz", "zip"]).default("tar.gz"),
    )
    .option("--plugin-quota <n>", "plugins per namespace before 403 QuotaExceededError", "10")
    .option("--upload-ttl <seconds>", "lifetime of upload URLs when a request does not set one", "3600")
    .option("--max-upload-size <size>", "largest archive accepted, e.g. 100MB (default 500MB, Mixpeek's)")
    .option("--faults <file>", "inject faults from this JSON file (format: lib/local/faults.ts)")
    .option("--fault-admin", "enable the /_faults admin route (add or clear faults at run time)")
    .option("--allow-remote", "allow a --host that is not loopback")
    .option("--python <path>", "the Python of deployment workers (default: MIXPEEK_PYTHON, ./.venv, python3)")
    .option("--invoke-timeout <seconds>", "the limit of one realtime call", "20")
    .option(
      "--idle-timeout <seconds>",
      "close a connection with no request in progress after this long",
      "60",
    )
    .option("--header-timeout <seconds>", "answer 408 to a request head not complete after this long", "30")
    .option("--body-timeout <seconds>", "drop an upload whose body sends nothing for this long", "60")
    .option("--max-connections <n>", "connections open at once; the next ones get 503", "512")
    .addHelpText(
      "after",
      `
Serves Mixpeek's plugin API as its OpenAPI document describes it: /v1/namespaces/{ns}/plugins… (presigned
uploads and confirm, multipart upload, list, get, delete, deploy, undeploy, status, realtime/test, the
organization plugins available/enable/disable), /v1/plugins… for the organization, and the extractor lists
/v1/namespaces/{ns}/extractors and /v1/collections/features/extractors (X-Namespace). Records are in SQLite,
archives in the data dir (or an S3 bucket) behind presigned URLs with S3's rules; confirm unpacks, checks and
scans every archive. FastAPI-style 422s for invalid bodies, ErrorResponse for the rest, 409 for an existing
name@version, 403 past the quota. Mixpeek's own Python CLI can publish to it and list from it.

Deployments: a batch-only deploy is deployed at once. A realtime deploy (a plugin with realtime.py) goes
queued → pending → in_progress → deployed: a supervised Python worker (--python, else MIXPEEK_PYTHON, ./.venv,
python3 on PATH) with the platform runtime and no secrets in its environment imports the plugin, builds its
BaseInferenceService and answers on 127.0.0.1; realtime/test (plugin invoke) and
POST /inference/custom_plugin_{plugin_id} (body {"inputs": {...}, "parameters": {...}}) call it. A worker that
fails to start or dies turns the plugin failed with its error (crashes are not restarted: deploy again);
undeploy, delete and Ctrl-C stop it. Each call has --invoke-timeout; a service that blocks its worker past it
gets a fresh worker. Restarting the registry brings its deployments back.

The first start creates the data dir, a dev API key and the namespace "default", and prints the line that
points mixpeek at it:
  export MIXPEEK_BASE_URL=http://127.0.0.1:8787 MIXPEEK_API_KEY=… MIXPEEK_NAMESPACE=default
A data dir of the first mixpeek local (schema 1) is converted, with a copy of the old database kept beside it.
One registry per data dir: a second start on a data dir in use exits 2 naming the running one (pid, URL);
a registry that was killed leaves no lock behind. Archives without a record are removed at start and after
each delete (on disk and in the bucket).

Examples:
  $ mixpeek local
  $ mixpeek local --port 0 --data-dir ./.registry --json
  $ mixpeek local --archive-format zip           # like the zip-only deployments
  $ mixpeek local --s3-endpoint http://127.0.0.1:5000 --s3-bucket plugins   # AWS_* credentials set
  $ mixpeek local --faults faults.json --verbose      # --verbose also logs every request
  $ mixpeek local --python .venv/bin/python --invoke-timeout 60

Environment:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION   credentials for --s3-endpoint
  MIXPEEK_LOCAL_DATA_DIR                                                    default data dir
  MIXPEEK_PYTHON                                                            workers' Python (after --python)
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
  for (const command of [program as unknown as Command, ..._allCommands(program as unknown as Command)]) {
    command.exitOverride();
    // Every subcommand's help lists the global options it honours (gh's "inherited flags").
    command.configureHelp({ showGlobalOptions: true });
  }
  return program as unknown as Command;
}

/** Global flags that take no value, so `mixpeek --json help plugin` still finds the `help`. */
const BOOLEAN_GLOBALS = new Set(["--json", "--no-color", "--no-input", "--verbose", "-v", "--insecure"]);

/**
 * Help requests commander would route elsewhere, rewritten before parsing so help goes to stdout (exit 0):
 * `mixpeek help plugin init` is `mixpeek plugin init --help` (commander's help command looks one level
 * down only), and a bare group (`mixpeek`, `mixpeek plugin`) shows its help, as gh does, instead of
 * commander's stderr copy. An unknown path is left alone, so commander reports it (exit 2).
 */
function _expandHelpCommand(args: string[], program: Command): string[] {
  let i = 0;
  while (i < args.length && BOOLEAN_GLOBALS.has(args[i])) i++;
  const asked = args[i] === "help";
  const path = asked ? args.slice(i + 1).filter((a) => !a.startsWith("-")) : args.slice(i);
  let command: Command = program;
  for (const name of path) {
    const next = command.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!next) return asked ? [...args.slice(0, i), ...path] : args;
    command = next as Command;
  }
  const bareGroup = !asked && command.commands.length > 0;
  return asked || bareGroup ? [...args.slice(0, i), ...path, "--help"] : args;
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
    await program.parseAsync(_expandHelpCommand(args, program), { from: "user" });
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
