/**
 * Renders a plugin from the embedded templates: `_common/`, then `_vectors/` for the categories that
 * compute embeddings with it, then `<category>/` over them, then `_realtime/` when asked, then placeholders
 * (see templates/README.md). Sample media (binary files) are copied as they are.
 */
import { TEMPLATE_FILES, TEMPLATE_FILES_BINARY } from "../embedded/templates.ts";
import type { Category, Resource } from "./categories.ts";

export interface TemplateValues {
  /** The package name (snake_case). */
  name: string;
  title: string;
  /** The class-name prefix (PascalCase). */
  className: string;
  description: string;
  author: string;
  category: Category;
  resource: Resource;
  realtime: boolean;
  version: string;
}

/** The rows each category's single step takes (multimodal has its own pipeline.py with two steps). */
export const ROW_CONDITIONS: Readonly<Record<Category, string>> = {
  text: "IS_TEXT",
  image: "IS_IMAGE",
  video: "IS_VIDEO",
  audio: "IS_AUDIO",
  document: "IS_PDF",
  multimodal: "ALWAYS",
};

/** The platform's batch size for each resource type (the runtime's default; compute_profile states it). */
export const BATCH_SIZES: Readonly<Record<Resource, number>> = { cpu: 64, gpu: 8, api: 16 };

/** The categories whose processors compute their embedding with templates/_vectors/. */
const VECTOR_CATEGORIES: ReadonlySet<Category> = new Set(["text", "image", "multimodal"]);

function _placeholders(v: TemplateValues): Record<string, string> {
  return {
    name: v.name,
    title: v.title,
    class_name: v.className,
    description: v.description,
    author: v.author,
    category: v.category,
    resource_type: v.resource,
    resource_enum: v.resource.toUpperCase(),
    batch_size: String(BATCH_SIZES[v.resource]),
    row_condition: ROW_CONDITIONS[v.category],
    version: v.version,
  };
}

/** Placeholders in .py and .toml files sit inside double-quoted string literals: escape what would end them. */
function _quotedStringEscape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

function _substitute(path: string, text: string, values: Record<string, string>): string {
  const escape = /\.(py|toml)$/.test(path) ? _quotedStringEscape : (s: string) => s;
  return text.replace(/\{\{([a-z_]+)\}\}/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${path} uses unknown placeholder ${match}`);
    return escape(value);
  });
}

/** The layers applied for a category, in order. */
export function templateLayers(category: Category, realtime: boolean): string[] {
  return [
    "_common",
    ...(VECTOR_CATEGORIES.has(category) ? ["_vectors"] : []),
    category,
    ...(realtime ? ["_realtime"] : []),
  ];
}

function _decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The rendered plugin: relative path (always `/`-separated) → text, or bytes for sample media; sorted. */
export function renderPlugin(values: TemplateValues): Map<string, string | Uint8Array> {
  const merged = new Map<string, { text?: string; base64?: string }>();
  for (const layer of templateLayers(values.category, values.realtime)) {
    const prefix = layer + "/";
    for (const [path, text] of Object.entries(TEMPLATE_FILES)) {
      if (path.startsWith(prefix)) merged.set(path.slice(prefix.length), { text });
    }
    for (const [path, base64] of Object.entries(TEMPLATE_FILES_BINARY)) {
      if (path.startsWith(prefix)) merged.set(path.slice(prefix.length), { base64 });
    }
  }
  if (merged.size === 0) throw new Error(`no template files for category ${values.category}`);
  const placeholders = _placeholders(values);
  const rendered = new Map<string, string | Uint8Array>();
  for (const path of [...merged.keys()].sort()) {
    const file = merged.get(path)!;
    rendered.set(
      path,
      file.text !== undefined ? _substitute(path, file.text, placeholders) : _decode(file.base64!),
    );
  }
  return rendered;
}
