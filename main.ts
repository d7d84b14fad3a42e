#!/usr/bin/env -S deno run -A
/**
 * The `mixpeek` command tree: options, help and examples only. Each action lazy-imports its module
 * from lib/cli/, so `mixpeek --help` loads almost nothing. Errors are printed in one place (Output.error)
 * and mapped to exit codes here; nothing else calls Deno.exit.
 *
 * @module
 */
import {
  type CommandDef,
  CommandLineError,
  type OptionValues,
  parseCommandLine,
} from "./lib/cli/command_line.ts";
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

async function _context(globals: OptionValues) {
  const { createContext } = await import("./lib/cli/context.ts");
  return createContext(globals as GlobalOptions);
}

/** The parser checked every name and choice; the action's module declares the shape it reads. */
function flags<T>(values: unknown): T {
  return values as T;
}

const CHECK_LIST = `
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

const PLUGIN: CommandDef = {
  name: "plugin",
  description: "create, check and publish Mixpeek plugins",
  commands: [
    {
      name: "init",
      description: "create a new plugin from a template (prompts only for what has no flag and no default)",
      arguments: [
        {
          spec: "[name]",
          description: "plugin name (letters, digits, _ or -): the package is its snake_case spelling",
        },
      ],
      options: [
        {
          flags: "-c, --category <category>",
          description: "plugin category (default: text)",
          choices: CATEGORIES,
        },
        { flags: "-d, --description <text>", description: "one-line description" },
        { flags: "-a, --author <name>", description: "author (default: git config user.name, then $USER)" },
        {
          flags: "-o, --output <dir>",
          description: "the plugin folder to create (default: ./<package name>)",
        },
        {
          flags: "--resource <type>",
          description: "compute_profile resource type (default depends on the category)",
          choices: RESOURCES,
        },
        { flags: "--realtime", description: "add realtime.py, a realtime inference service (Enterprise)" },
        { flags: "--no-realtime", description: "do not add realtime.py (and do not ask)" },
        { flags: "--force", description: "write into a non-empty folder, replacing the template's files" },
      ],
      helpAfter: `
The folder is the Python package Mixpeek imports, so its name is the package name: sentiment-scorer is
written to ./sentiment_scorer. With a category given, nothing is asked: the rest takes its default.

Examples:
  $ mixpeek plugin init sentiment-scorer -c text -a "Ada" -d "Scores sentiment"
  $ mixpeek plugin init thumbnails -c image --resource gpu --realtime -o plugins/thumbnails
  $ mixpeek plugin init                   # asks for everything in a terminal
${EXIT_CODES}`,
      action: async ({ args: [name], options, globals }) => {
        const { runInit } = await import("./lib/cli/init.ts");
        await runInit(name, flags(options), await _context(globals));
      },
    },
    {
      name: "test",
      description: "check a plugin with your Python and the local platform runtime (all seven checks)",
      arguments: [
        { spec: "[path]", description: "the plugin folder, or a folder inside it (default: .)" },
      ],
      options: [
        { flags: "-p, --path <dir>", description: "the plugin folder, or a folder inside it (default: .)" },
        {
          flags: "-s, --sample-data <file>",
          description: "run these records through the pipeline (JSON array, JSON lines or CSV)",
        },
        {
          flags: "--params <json>",
          description: "the collection's parameters, validated against parameter_schema",
        },
        { flags: "-v, --verbose", description: "show pytest's output and every detail" },
        {
          flags: "--python <path>",
          description: "the Python to use (default: MIXPEEK_PYTHON, <plugin>/.venv, python3, python)",
        },
        {
          flags: "--timeout <seconds>",
          description: "limit for each Python process (harness, pytest); a hang fails",
          default: "120",
        },
      ],
      helpAfter: `${CHECK_LIST}

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
      action: async ({ args: [path], options, globals }) => {
        const { runTest } = await import("./lib/cli/test.ts");
        await runTest(path, flags(options), await _context(globals));
      },
    },
    {
      name: "validate",
      description: "the checks of plugin test without pytest and sample data: fast",
      arguments: [
        { spec: "[path]", description: "the plugin folder, or a folder inside it (default: .)" },
      ],
      options: [
        { flags: "-p, --path <dir>", description: "the plugin folder, or a folder inside it (default: .)" },
        {
          flags: "--params <json>",
          description: "the collection's parameters, validated against parameter_schema",
        },
        {
          flags: "--python <path>",
          description: "the Python to use (default: MIXPEEK_PYTHON, <plugin>/.venv, python3, python)",
        },
        {
          flags: "--timeout <seconds>",
          description: "limit for the Python process; a hang fails",
          default: "120",
        },
      ],
      helpAfter: `
Runs structure, manifest, pipeline, scan and realtime (the service is built, not called); tests and
sample_data are skipped (use plugin test).

Examples:
  $ mixpeek plugin validate
  $ mixpeek plugin validate -p plugins/sentiment --json
${EXIT_CODES}`,
      action: async ({ args: [path], options, globals }) => {
        const { runValidate } = await import("./lib/cli/validate.ts");
        await runValidate(path, flags(options), await _context(globals));
      },
    },
    {
      name: "env",
      description: "print the PYTHONPATH line that puts the local platform runtime in front of any Python",
      options: [
        {
          flags: "--shell <shell>",
          description: "the shell to write for (default: sh; powershell on Windows)",
          choices: ["sh", "fish", "powershell", "cmd"],
        },
      ],
      helpAfter: `
Plugins import engine.* and shared.*, which exist only on Mixpeek. The CLI ships a local implementation
(SPEC §5) and writes it to a versioned folder; this prints the line that puts it on PYTHONPATH, so plain
pytest, an IDE or Mixpeek's own Python CLI import a plugin the way mixpeek plugin test does.

Examples:
  $ eval "$(mixpeek plugin env)" && python3 -m pytest
  $ mixpeek plugin env --shell fish | source
  $ mixpeek plugin env --json          # {"runtime", "version", "shell", "line", "env": {"PYTHONPATH"}}
${EXIT_CODES}`,
      action: async ({ options, globals }) => {
        const { runEnv } = await import("./lib/cli/env.ts");
        await runEnv(flags(options), await _context(globals));
      },
    },
    {
      name: "pack",
      description: "write the plugin's archive (what publish uploads) and print its path, size and sha256",
      arguments: [
        { spec: "[path]", description: "the plugin folder (or -p/--path; default .)" },
      ],
      options: [
        { flags: "-p, --path <dir>", description: "the plugin folder" },
        {
          flags: "--format <format>",
          description: "archive format (default tar.gz)",
          choices: ["tar.gz", "zip"],
        },
        {
          flags: "-o, --output <file>",
          description: "the archive to write (default: <plugin>/dist/<package>.tar.gz or .zip)",
        },
        { flags: "--list", description: "also list the files that went in" },
        {
          flags: "--allow-secret <path>",
          description: "pack this flagged file (or every flagged file under this folder) anyway; repeatable",
          repeatable: true,
        },
        {
          flags: "--max-size <size>",
          description: "limit on the files' total size, e.g. 100MB (default 500MB, Mixpeek's)",
        },
        {
          flags: "--max-files <count>",
          description: "limit on the number of files (default 1000, Mixpeek's)",
        },
        { flags: "--max-file-size <size>", description: "limit on one file's size (default 500MB)" },
        {
          flags: "--strict",
          description: "a folder that is not a plugin (no manifest.py) is an error (exit 2), not a warning",
        },
      ],
      helpAfter: `
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
      action: async ({ args: [path], options, globals }) => {
        const { runPack } = await import("./lib/cli/pack.ts");
        await runPack(path, flags(options), await _context(globals));
      },
    },
    {
      name: "publish",
      description: "validate, scan, pack, upload, confirm and deploy (batch, or realtime with realtime.py)",
      arguments: [
        { spec: "[path]", description: "the plugin folder (or -p/--path; default .)" },
      ],
      options: [
        { flags: "-p, --path <dir>", description: "the plugin folder" },
        {
          flags: "--dry-run",
          description: "do every local step, send nothing, and show what would be uploaded",
        },
        {
          flags: "--wait",
          description: "wait until the deployment settles (deployed, failed, not_deployed, batch_only)",
        },
        {
          flags: "--timeout <seconds>",
          description: "limit for --wait and for the plugin's code in the checks",
          default: "600",
        },
        { flags: "--yes", description: "do not ask for confirmation in a terminal" },
        {
          flags: "--format <format>",
          description: "archive format, whatever the server names (default: its s3_key's)",
          choices: ["tar.gz", "zip"],
        },
        {
          flags: "--no-deploy",
          description: "stop after the confirm (deploy later with `mixpeek plugin deploy`)",
        },
        {
          flags: "--org",
          description:
            "publish to the organization (/v1/plugins); enable it in namespaces with `plugin enable`",
        },
        {
          flags: "--python <path>",
          description: "Python interpreter for the checks (default: MIXPEEK_PYTHON, .venv, python3)",
        },
        { flags: "--allow-secret <path...>", description: "pack a file the secret guard flagged anyway" },
      ],
      helpAfter: `
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
      action: async ({ args: [path], options, globals }) => {
        const { runPublish } = await import("./lib/cli/publish.ts");
        await runPublish(path, flags(options), await _context(globals));
      },
    },
    {
      name: "list",
      description:
        "list the plugins or extractors of a namespace (table in a terminal, TSV when piped, --json)",
      options: [
        {
          flags: "-s, --source <source>",
          description: "custom: the namespace's plugins; all, builtin, community: extractors",
          choices: SOURCES,
        },
        { flags: "--org", description: "the organization's plugins (GET /v1/plugins)" },
        {
          flags: "--include-disabled",
          description: "with all/builtin: also custom plugins that are not deployed",
        },
      ],
      helpAfter: `
--source custom lists GET /v1/namespaces/{ns}/plugins; all (the default) and builtin list
GET /v1/namespaces/{ns}/extractors?source=…, community keeps the community entries of all.

Examples:
  $ mixpeek plugin list -s custom
  $ mixpeek plugin list --source builtin --json
  $ mixpeek plugin list --org`,
      action: async ({ options, globals }) => {
        const { runList } = await import("./lib/cli/manage.ts");
        await runList(flags(options), await _context(globals));
      },
    },
    {
      name: "get",
      description: "show one plugin's record (or an extractor's, with --extractor)",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id, e.g. my_plugin_1_0_0" },
      ],
      options: [
        { flags: "--org", description: "an organization plugin (GET /v1/plugins/{id})" },
        {
          flags: "--extractor",
          description: "any extractor of the namespace, builtin or custom (GET …/extractors/{id})",
        },
        { flags: "--download-url", description: "also ask for a presigned download URL of the archive" },
      ],
      action: async ({ args: [id], options, globals }) => {
        const { runGet } = await import("./lib/cli/manage.ts");
        await runGet(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "delete",
      description: "delete a plugin and its archive (asks first; --yes to skip the question)",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id" },
      ],
      options: [
        { flags: "--yes", description: "delete without asking" },
        { flags: "--org", description: "an organization plugin (DELETE /v1/plugins/{id})" },
      ],
      helpAfter: `
In a terminal it asks first; a "no" is "cancelled: nothing was changed" (exit 1). Without a terminal, or with
--no-input, nothing is deleted without --yes (exit 2).
${EXIT_CODES}`,
      action: async ({ args: [id], options, globals }) => {
        const { runDelete } = await import("./lib/cli/manage.ts");
        await runDelete(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "deploy",
      description:
        "deploy a plugin: realtime when it has realtime.py (Enterprise), else for batch processing",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id" },
      ],
      options: [
        {
          flags: "--batch-only",
          description: "deploy for batch processing only (?deployment_type=batch_only)",
        },
        { flags: "--wait", description: "wait until the deployment settles" },
        { flags: "--timeout <seconds>", description: "limit for --wait", default: "600" },
      ],
      action: async ({ args: [id], options, globals }) => {
        const { runDeploy } = await import("./lib/cli/manage.ts");
        await runDeploy(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "undeploy",
      description: "remove a plugin's deployment (the archive stays; deploy it again any time)",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id" },
      ],
      action: async ({ args: [id], globals }) => {
        const { runUndeploy } = await import("./lib/cli/manage.ts");
        await runUndeploy(id!, await _context(globals));
      },
    },
    {
      name: "invoke",
      description: "call a deployed plugin's realtime service (POST …/realtime/test) and print its answer",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id, deployed for realtime inference" },
      ],
      options: [
        {
          flags: "--inputs <json>",
          description: "the service's inputs: a JSON object, or @file (@- reads stdin)",
        },
        { flags: "--parameters <json>", description: "the call's parameters: a JSON object, or @file" },
      ],
      helpAfter: `
Prints the service's answer (raw_response) as JSON; --json prints the whole PluginRealtimeTestResponse.
Exit 0 when the service answered; 1 when it raised, is busy or gone, or the plugin is not deployed for
realtime inference; 6 when the call timed out; 2 for bad --inputs or --parameters.

Examples:
  $ mixpeek plugin invoke my_plugin_1_0_0 --inputs '{"text": "hello"}'
  $ mixpeek plugin invoke my_plugin_1_0_0 --inputs @query.json --parameters '{"ngram": 2}' --json
${EXIT_CODES}`,
      action: async ({ args: [id], options, globals }) => {
        const { runInvoke } = await import("./lib/cli/invoke.ts");
        await runInvoke(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "status",
      description:
        "show a plugin's deployment status: queued, pending, in_progress, deployed, failed, not_deployed",
      arguments: [
        { spec: "<plugin-id>", description: "the plugin id" },
      ],
      options: [
        {
          flags: "--wait",
          description: "poll until deployed, failed, not_deployed or batch_only (exit 1 when failed)",
        },
        { flags: "--timeout <seconds>", description: "limit for --wait", default: "600" },
      ],
      action: async ({ args: [id], options, globals }) => {
        const { runStatus } = await import("./lib/cli/manage.ts");
        await runStatus(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "available",
      description: "list the organization's plugins a namespace can enable, and whether it has",
      action: async ({ globals }) => {
        const { runAvailable } = await import("./lib/cli/manage.ts");
        await runAvailable(await _context(globals));
      },
    },
    {
      name: "enable",
      description: "enable an organization plugin in the namespace (and deploy it, unless --no-deploy)",
      arguments: [
        { spec: "<plugin-id>", description: "the organization plugin's id" },
      ],
      options: [
        {
          flags: "--params <json>",
          description: "the plugin's parameters for this namespace, a JSON object",
        },
        { flags: "--no-deploy", description: "enable without deploying" },
      ],
      action: async ({ args: [id], options, globals }) => {
        const { runEnable } = await import("./lib/cli/manage.ts");
        await runEnable(id!, flags(options), await _context(globals));
      },
    },
    {
      name: "disable",
      description: "disable an organization plugin in the namespace (collections using it may stop working)",
      arguments: [
        { spec: "<plugin-id>", description: "the organization plugin's id" },
      ],
      action: async ({ args: [id], globals }) => {
        const { runDisable } = await import("./lib/cli/manage.ts");
        await runDisable(id!, await _context(globals));
      },
    },
    {
      name: "scan",
      description: "run the security scan alone: every .py file of the plugin, parsed (not grepped)",
      arguments: [
        {
          spec: "[path]",
          description:
            "the plugin folder (default: the plugin the current folder is in, or the current folder)",
        },
      ],
      options: [
        { flags: "-p, --path <dir>", description: "the plugin folder (the same as the argument)" },
        {
          flags: "--format <format>",
          description: "text (code frames), json (the report) or sarif (SARIF 2.1.0)",
          choices: ["text", "json", "sarif"],
        },
        {
          flags: "--strict",
          description:
            "the platform's strict mode: warnings reject too; a folder without manifest.py exits 2",
        },
        {
          flags: "--no-cache",
          description:
            "scan every file afresh (by default a file scanned before, byte for byte, is not parsed again)",
        },
        {
          flags: "--absolute",
          description:
            "absolute paths in the text and SARIF output (default: relative to the current folder)",
        },
      ],
      helpAfter: `
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

A file this scanner has seen before, byte for byte, is not parsed again: its findings come from the scan
cache (~/.cache/mixpeek/scan, or XDG_CACHE_HOME; one file per plugin folder, keyed by each file's sha256 and
the scanner's own). --no-cache scans every file afresh; publish and mixpeek local always do.

Environment:
  MIXPEEK_SCAN_WORKERS   worker threads for trees over 1 MiB (default: cores - 1; 0 scans on one thread)

Exit codes:
  0 nothing rejects the plugin (warnings are shown) · 2 usage (no such folder, conflicting --json/--format,
  with --strict a folder without manifest.py) · 3 errors, or warnings with --strict (the report is printed
  first) · 130 interrupted`,
      action: async ({ args: [path], options, globals }) => {
        const { runScan } = await import("./lib/cli/scan.ts");
        await runScan(path, flags(options), await _context(globals));
      },
    },
  ],
};

const CONFIG: CommandDef = {
  name: "config",
  description: "read and write settings in the user config file",
  helpAfter: `
Settings: api-key, base-url, namespace. The API key is always shown masked.

Examples:
  $ mixpeek config set base-url http://127.0.0.1:8787
  $ echo "$KEY" | mixpeek config set api-key
  $ mixpeek config get namespace
  $ mixpeek config list --json`,
  commands: [
    {
      name: "set",
      description: "store a setting (api-key without a value prompts, or reads stdin)",
      arguments: [
        { spec: "<key>", description: "the setting", choices: SETTING_NAMES },
        { spec: "[value]", description: "the value" },
      ],
      action: async ({ args: [key, value], globals }) => {
        const { runConfigSet } = await import("./lib/cli/config.ts");
        await runConfigSet(key!, value, await _context(globals));
      },
    },
    {
      name: "get",
      description: "show a setting's effective value (exit 1 when it is not set)",
      arguments: [
        { spec: "<key>", description: "the setting", choices: SETTING_NAMES },
      ],
      action: async ({ args: [key], globals }) => {
        const { runConfigGet } = await import("./lib/cli/config.ts");
        await runConfigGet(key!, await _context(globals));
      },
    },
    {
      name: "unset",
      description: "remove a setting from the config file",
      arguments: [
        { spec: "<key>", description: "the setting", choices: SETTING_NAMES },
      ],
      action: async ({ args: [key], globals }) => {
        const { runConfigUnset } = await import("./lib/cli/config.ts");
        await runConfigUnset(key!, await _context(globals));
      },
    },
    {
      name: "list",
      description: "show every setting, its effective value and where it came from",
      action: async ({ globals }) => {
        const { runConfigList } = await import("./lib/cli/config.ts");
        await runConfigList(await _context(globals));
      },
    },
  ],
};

/**
 * The whole command tree: the parser, the help and the completion scripts all read it. For tests and tools
 * that walk it; not part of the documented API (`run` is).
 *
 * @ignore
 */
export function commandTree(): CommandDef {
  return {
    name: "mixpeek",
    description: "Build, test and publish Mixpeek plugins",
    options: [
      { flags: "--api-key <key>", description: "API key (env MIXPEEK_API_KEY)" },
      {
        flags: "--base-url <url>",
        description: "API base URL (env MIXPEEK_BASE_URL; default https://api.mixpeek.com)",
      },
      { flags: "-n, --namespace <id>", description: "namespace id (env MIXPEEK_NAMESPACE)" },
      { flags: "--json", description: "machine-readable output on stdout" },
      {
        flags: "--no-color",
        description: "no colour (also when NO_COLOR is set or output is not a terminal)",
      },
      { flags: "--no-input", description: "never prompt; a missing value is an error naming its flag" },
      { flags: "-v, --verbose", description: "more detail, including error causes" },
      { flags: "--insecure", description: "allow a plain-http base URL that is not loopback" },
    ],
    helpAfter: ROOT_EXAMPLES,
    commands: [
      PLUGIN,
      {
        name: "local",
        description: "run the API-compatible local registry in the foreground (Ctrl-C stops it)",
        options: [
          { flags: "--port <n>", description: "port to listen on (0 picks a free one)", default: "8787" },
          {
            flags: "--host <host>",
            description: "address to listen on (loopback only, unless --allow-remote)",
            default: "127.0.0.1",
          },
          {
            flags: "--data-dir <dir>",
            description: "records and archives (default: <user data dir>/mixpeek/local)",
          },
          {
            flags: "--s3-endpoint <url>",
            description: "store archives in an S3-compatible bucket at this endpoint (path-style)",
          },
          { flags: "--s3-bucket <name>", description: "the bucket for --s3-endpoint (must exist)" },
          {
            flags: "--archive-format <format>",
            description: "the archive format upload URLs ask for (s3_key), as a host does",
            choices: ["tar.gz", "zip"],
            default: "tar.gz",
          },
          {
            flags: "--plugin-quota <n>",
            description: "plugins per namespace before 403 QuotaExceededError",
            default: "10",
          },
          {
            flags: "--upload-ttl <seconds>",
            description: "lifetime of upload URLs when a request does not set one",
            default: "3600",
          },
          {
            flags: "--max-upload-size <size>",
            description: "largest archive accepted, e.g. 100MB (default 500MB, Mixpeek's)",
          },
          {
            flags: "--faults <file>",
            description: "inject faults from this JSON file (format: lib/local/faults.ts)",
          },
          {
            flags: "--fault-admin",
            description: "enable the /_faults admin route (add or clear faults at run time)",
          },
          { flags: "--allow-remote", description: "allow a --host that is not loopback" },
          {
            flags: "--python <path>",
            description: "the Python of deployment workers (default: MIXPEEK_PYTHON, ./.venv, python3)",
          },
          {
            flags: "--invoke-timeout <seconds>",
            description: "the limit of one realtime call",
            default: "20",
          },
          {
            flags: "--idle-timeout <seconds>",
            description: "close a connection with no request in progress after this long",
            default: "60",
          },
          {
            flags: "--header-timeout <seconds>",
            description: "answer 408 to a request head not complete after this long",
            default: "30",
          },
          {
            flags: "--body-timeout <seconds>",
            description: "drop an upload whose body sends nothing for this long",
            default: "60",
          },
          {
            flags: "--max-connections <n>",
            description: "connections open at once; the next ones get 503",
            default: "512",
          },
        ],
        helpAfter: `
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
        action: async ({ options, globals }) => {
          const { runLocal } = await import("./lib/cli/local.ts");
          await runLocal(flags(options), await _context(globals));
        },
      },
      {
        name: "completions",
        description: "print a shell completion script",
        arguments: [
          { spec: "<shell>", description: "bash, zsh or fish", choices: SHELLS },
        ],
        action: async ({ args: [shell], globals }) => {
          const { runCompletions } = await import("./lib/cli/completions.ts");
          runCompletions(flags(shell!), commandTree(), await _context(globals));
        },
      },
      CONFIG,
    ],
  };
}

function _usageError(error: CommandLineError, args: string[]): number {
  console.error(`error: ${error.message}`);
  if (error.suggestion) console.error(error.suggestion);
  console.error("(run with --help for usage)");
  if (args.includes("--json")) {
    // Scripts parsing stdout get the usage error as JSON too (the message is already on stderr).
    const body = { error: { type: "usage", message: error.message, exit_code: ExitCode.USAGE } };
    console.log(JSON.stringify(body, null, 2));
  }
  return ExitCode.USAGE;
}

/** Runs the CLI and returns the exit code (tests call this; the entry point exits with it). */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(commandTree(), args);
  } catch (error) {
    if (error instanceof CommandLineError) return _usageError(error, args);
    throw error;
  }
  if (parsed.kind === "version") {
    console.log(VERSION);
    return ExitCode.OK;
  }
  if (parsed.kind === "help") {
    await Deno.stdout.write(new TextEncoder().encode(parsed.text.replace(/\n*$/, "\n")));
    return ExitCode.OK;
  }
  const { command, invocation } = parsed;
  try {
    await command.action!(invocation);
    return ExitCode.OK;
  } catch (error) {
    const { Output } = await import("./lib/output.ts");
    const globals = invocation.globals as GlobalOptions;
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
