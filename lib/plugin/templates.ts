/**
 * Renders a plugin from the embedded templates: `_common/`, then `<category>/` over it, then
 * `_realtime/` when asked, then placeholders (see templates/README.md).
 */
import { TEMPLATE_FILES } from "../embedded/templates.ts";
import type { Category, Resource } from "./categories.ts";

export interface TemplateValues {
  name: string;
  title: string;
  description: string;
  author: string;
  category: Category;
  resource: Resource;
  realtime: boolean;
  version: string;
}

function _placeholders(v: TemplateValues): Record<string, string> {
  return {
    name: v.name,
    title: v.title,
    description: v.description,
    author: v.author,
    category: v.category,
    resource_type: v.resource,
    resource_enum: v.resource.toUpperCase(),
    version: v.version,
    realtime: v.realtime ? "True" : "False",
  };
}

/** Placeholders in .py files sit inside double-quoted string literals: escape what would end them. */
function _pythonStringEscape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

function _substitute(path: string, text: string, values: Record<string, string>): string {
  const escape = path.endsWith(".py") ? _pythonStringEscape : (s: string) => s;
  return text.replace(/\{\{([a-z_]+)\}\}/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${path} uses unknown placeholder ${match}`);
    return escape(value);
  });
}

/** The layers applied for a category, in order. */
export function templateLayers(category: Category, realtime: boolean): string[] {
  return ["_common", category, ...(realtime ? ["_realtime"] : [])];
}

/** The rendered plugin: relative path (always `/`-separated) → file content, sorted by path. */
export function renderPlugin(values: TemplateValues): Map<string, string> {
  const merged = new Map<string, string>();
  for (const layer of templateLayers(values.category, values.realtime)) {
    const prefix = layer + "/";
    for (const [path, text] of Object.entries(TEMPLATE_FILES)) {
      if (path.startsWith(prefix)) merged.set(path.slice(prefix.length), text);
    }
  }
  if (merged.size === 0) throw new Error(`no template files for category ${values.category}`);
  const placeholders = _placeholders(values);
  const rendered = new Map<string, string>();
  for (const path of [...merged.keys()].sort()) {
    rendered.set(path, _substitute(path, merged.get(path)!, placeholders));
  }
  return rendered;
}
