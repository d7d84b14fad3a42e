/**
 * The documents the local registry serves (SPEC.md §5) and the checks on what clients send. The field names
 * are the API contract the client codes against: keep them stable. See lib/local/registry.ts for the API.
 */
import { nameProblem } from "../plugin/naming.ts";

export const PLUGIN_STATUSES = ["pending", "validating", "deploying", "ready", "failed"] as const;
export type PluginStatus = typeof PLUGIN_STATUSES[number];

export const PLUGIN_SOURCES = ["builtin", "custom", "community"] as const;
export type PluginSource = typeof PLUGIN_SOURCES[number];

/** A realtime deployment: `deploying` while it starts, then `active` with its endpoint. */
export interface Deployment {
  status: "deploying" | "active";
  endpoint: string | null;
  updated_at: string;
}

/** One plugin version, as GET /plugins/{plugin_id} returns it. */
export interface PluginRecord {
  plugin_id: string;
  namespace_id: string;
  name: string;
  version: string;
  source: PluginSource;
  status: PluginStatus;
  /** Why the plugin failed (null unless status is `failed`). */
  error: string | null;
  /** The archive's sha256 (hex); null for builtin and community entries. */
  sha256: string | null;
  size_bytes: number | null;
  /** The archive has realtime.py, so it can be deployed for realtime serving. */
  realtime: boolean;
  /** The realtime deployment, null until POST /deploy. */
  deployment: Deployment | null;
  created_at: string;
  updated_at: string;
}

/** GET /plugins/{plugin_id}/status. `error` is always present: null unless the plugin failed. */
export interface PluginStatusDocument {
  plugin_id: string;
  status: PluginStatus;
  error: string | null;
  updated_at: string;
}

/** POST /plugins/uploads answers this: PUT the archive to `upload_url` with `headers` before `expires_at`. */
export interface UploadTicket {
  upload_id: string;
  upload_url: string;
  method: "PUT";
  /** Headers the PUT must carry exactly (besides Content-Length, which every HTTP client sets). */
  headers: Record<string, string>;
  expires_at: string;
}

export interface PluginList {
  plugins: PluginRecord[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor: string | null;
}

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Semantic Versioning 2.0.0 (https://semver.org), the official regular expression. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Why `name` is not a plugin's Python package name, or undefined when it is one. */
export function pluginNameProblem(name: string): string | undefined {
  if (name.includes("-")) {
    return `"${name}" is not a Python package name: use "${
      name.replace(/-/g, "_")
    }" (snake_case, as in metadata)`;
  }
  return nameProblem(name);
}

export function semverProblem(version: string): string | undefined {
  if (version.length > 128) return "the version is longer than 128 characters";
  return SEMVER.test(version)
    ? undefined
    : `"${version}" is not a semantic version such as 1.0.0 or 2.1.0-beta.1`;
}

/**
 * A key that sorts like semver precedence (numbers numerically, a pre-release before its release), so the
 * list is ordered 1.2.0 < 1.10.0 and stays stable. Build metadata does not take part in precedence.
 */
export function versionSortKey(version: string): string {
  const match = SEMVER.exec(version);
  if (!match) return version;
  const pad = (n: string) => n.padStart(12, "0");
  const core = `${pad(match[1])}.${pad(match[2])}.${pad(match[3])}`;
  if (match[4] === undefined) return `${core}~`;
  const pre = match[4].split(".").map((id) => (/^\d+$/.test(id) ? `0${pad(id)}` : `1${id}`)).join(".");
  return `${core}-${pre}`;
}
