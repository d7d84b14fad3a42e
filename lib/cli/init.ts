/** `mixpeek plugin init [name]`: flags first, prompts for the rest in a terminal, then scaffold. */
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

function _defaultAuthor(ctx: Context): string {
  return ctx.env.get("MIXPEEK_AUTHOR") ?? ctx.env.get("USER") ?? ctx.env.get("USERNAME") ?? "unknown";
}

/** Completes the answers: flags win; prompts fill the gaps when interactive; otherwise required ones fail. */
async function _collect(nameArg: string | undefined, flags: InitFlags, ctx: Context) {
  const validate = (v: string) => nameProblem(v);
  let name = nameArg;
  if (name === undefined) {
    if (!ctx.interactive) {
      throw _missing("the plugin name", "it as the first argument: mixpeek plugin init <name>");
    }
    name = await askText("Plugin name", { validate });
  }
  const title = parsePluginName(name).title;

  let category = flags.category;
  if (category === undefined) {
    if (!ctx.interactive) throw _missing("the plugin category", `--category ${CATEGORIES.join("|")}`);
    category = await askChoice("Category", CATEGORIES.map((c) => ({ value: c })));
  }

  const description = flags.description ??
    (ctx.interactive
      ? await askText("Description", {
        default: _defaultDescription(title, category),
        validate: (v) => textProblem("the description", v),
      })
      : _defaultDescription(title, category));

  const author = flags.author ??
    (ctx.interactive
      ? await askText("Author", {
        default: _defaultAuthor(ctx),
        validate: (v) => textProblem("the author", v),
      })
      : _defaultAuthor(ctx));

  const resource = flags.resource ??
    (ctx.interactive
      ? await askChoice(
        "Resource type",
        RESOURCES.map((r) => ({ value: r, name: RESOURCE_HELP[r] })),
        DEFAULT_RESOURCE[category],
      )
      : DEFAULT_RESOURCE[category]);

  const realtime = flags.realtime ??
    (ctx.interactive
      ? await askConfirm("Add realtime.py for realtime deployment (Enterprise)?", false)
      : false);

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
    "  mixpeek plugin publish --dry-run",
  ].join("\n");
}
