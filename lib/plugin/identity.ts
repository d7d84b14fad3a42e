/**
 * A plugin's identity on Mixpeek's wire (SPEC.md §3, §8): the name pattern, the version normalisation the
 * namespace upload applies (`v1` → `1.0.0`), the plugin id and the feature URI. One place, because the client
 * (before it sends), the checks (before they pass) and the local registry (before it accepts) must agree.
 */

/** Mixpeek's name rule: a letter, then 2-63 letters, digits or underscores. */
export const PLUGIN_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]{2,63}$/;

/** The version pattern of the OpenAPI request bodies (after normalisation). */
export const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

/** Why `name` is not a valid plugin name, or undefined. */
export function pluginNameProblem(name: string): string | undefined {
  if (PLUGIN_NAME_PATTERN.test(name)) return undefined;
  return `"${name}" is not a valid plugin name: it must start with a letter and have 3 to 64 letters, ` +
    `digits or underscores (${PLUGIN_NAME_PATTERN.source})`;
}

/**
 * `v1` → `1.0.0`, `1.0` → `1.0.0`, `v2.1` → `2.1.0`, `1.2.3` unchanged (leading zeros dropped, as the
 * server compares numbers); undefined for anything else (a pre-release, words, four parts).
 */
export function normalizeVersion(raw: string): string | undefined {
  const m = /^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(raw.trim());
  if (!m) return undefined;
  return [m[1], m[2] ?? "0", m[3] ?? "0"].map((part) => String(Number(part))).join(".");
}

/** Mixpeek's plugin id: `{name}_{version with dots as underscores}`, e.g. `my_plugin_1_0_0`. */
export function pluginIdOf(name: string, version: string): string {
  return `${name}_${version.replaceAll(".", "_")}`;
}

/** The feature URI a published plugin's features live under: `mixpeek://{name}@{version}`. */
export function featureUriOf(name: string, version: string): string {
  return `mixpeek://${name}@${version}`;
}
