/**
 * `mixpeek plugin init [name]`: flags first; in a terminal, prompts for what the flags leave open (with a
 * category given, only for what has no default: nothing); then scaffold.
 */
import { UsageError } from "../errors.ts";
import {
  CATEGORIES,
  type Category,
  DEFAULT_RESOURCE,
  type Resource,
  RESOURCE_HELP,
  RESOURCES,
} from "../plugin/categories.ts";
import { nameProblem, parsePluginName, textProblem } from "../plugin/naming.ts";
import { scaffoldPlugin, type ScaffoldResult } from "../plugin/scaffold.ts";
import type { Context } from "./context.ts";
import { askChoice, askConfirm, askText } from "./prompt.ts";

export interface InitFlags {
  category?: Category;
  description?: string;
  author?: string;
  output?: string;
  resource?: Resource;
  realtime?: boolean;
  force?: boolean;
}

function _missing(what: string, flag: string): UsageError {
  return new UsageError(`missing ${what}`, {
    hint: `pass ${flag} (prompts are off: --no-input was given or stdin is not a terminal)`,
  });
}

function _defaultDescription(title: string, category: Category): string {
  return `${title}: ${/^[aeiou]/.test(category) ? "an" : "a"} ${category} feature extractor for Mixpeek`;
}

/** `git config user.name` (in the folder the plugin goes to), when git is there and may be run. */
async function _gitUserName(cwd: string): Promise<string | undefined> {
  try {
    if (Deno.permissions.querySync({ name: "run", command: "git" }).state !== "granted") return undefined;
    const out = await new Deno.Command("git", {
      args: ["config", "user.name"],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const name = new TextDecoder().decode(out.stdout).trim();
    return out.success && name !== "" && textProblem("the author", name) === undefined ? name : undefined;
  } catch {
    return undefined; // no git, or the folder does not exist yet
  }
}

/** MIXPEEK_AUTHOR, else `git config user.name`, else $USER (Mixpeek's CLI asks git first too). */
async function _defaultAuthor(ctx: Context, cwd: string): Promise<string> {
  return ctx.env.get("MIXPEEK_AUTHOR") ?? await _gitUserName(cwd) ?? ctx.env.get("USER") ??
    ctx.env.get("USERNAME") ?? "unknown";
}

/** Completes the answers: flags win; prompts fill the gaps when interactive; otherwise required ones fail. */
async function _collect(nameArg: string | undefined, flags: InitFlags, ctx: Context) {
  const authorCwd = Deno.cwd();
  const validate = (v: string) => nameProblem(v);
  let name = nameArg;
  if (name === undefined) {
    if (!ctx.interactive) {
      throw _missing("the plugin name", "it as the first argument: mixpeek plugin init <name>");
    }
    name = await askText("Plugin name", { validate });
  }
  const title = parsePluginName(name).title;

  // With a category given (or no terminal), nothing with a default is asked: the defaults apply.
  const ask = ctx.interactive && flags.category === undefined;
  const category = flags.category ??
    (ask ? await askChoice("Category", CATEGORIES.map((c) => ({ value: c })), "text") : "text");

  const description = flags.description ??
    (ask
      ? await askText("Description", {
        default: _defaultDescription(title, category),
        validate: (v) => textProblem("the description", v),
      })
      : _defaultDescription(title, category));

  const author = flags.author ??
    (ask
      ? await askText("Author", {
        default: await _defaultAuthor(ctx, authorCwd),
        validate: (v) => textProblem("the author", v),
      })
      : await _defaultAuthor(ctx, authorCwd));

  const resource = flags.resource ??
    (ask
      ? await askChoice(
        "Resource type",
        RESOURCES.map((r) => ({ value: r, name: RESOURCE_HELP[r] })),
        DEFAULT_RESOURCE[category],
      )
      : DEFAULT_RESOURCE[category]);

  const realtime = flags.realtime ??
    (ask ? await askConfirm("Add realtime.py for realtime deployment (Enterprise)?", false) : false);

  return { name, category, description, author, resource, realtime };
}

export async function runInit(nameArg: string | undefined, flags: InitFlags, ctx: Context): Promise<void> {
  if (nameArg !== undefined) parsePluginName(nameArg); // fail on a bad name before asking anything else
  const answers = await _collect(nameArg, flags, ctx);
  const result = await scaffoldPlugin({
    ...answers,
    target: flags.output,
    force: flags.force === true,
  });
  ctx.out.result(result, _render);
}

function _render(r: ScaffoldResult): string {
  const rel = r.folder.startsWith(Deno.cwd() + "/") ? r.folder.slice(Deno.cwd().length + 1) : r.folder;
  return [
    `Created ${r.category} plugin "${r.name}" (${r.resource_type}${
      r.realtime ? ", realtime" : ""
    }) in ${rel}`,
    ...r.files.map((f) => `  ${f}`),
    "",
    "Next steps:",
    `  cd ${rel}`,
    "  mixpeek plugin test --sample-data sample_data.json",
    '  eval "$(mixpeek plugin env)" && python3 -m pytest    # the same runtime, plain pytest',
    "  mixpeek plugin publish --dry-run",
  ].join("\n");
}
