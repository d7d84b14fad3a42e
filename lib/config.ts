/**
 * Settings: API key, base URL, namespace. Precedence: flag > environment > user config file > default.
 * The user config file is JSON in the platform's user config dir, written with mode 0600.
 */
import { AuthError, FailedError, UsageError } from "./errors.ts";

export const DEFAULT_BASE_URL = "https://api.mixpeek.com";

export const SETTINGS = {
  api_key: { env: "MIXPEEK_API_KEY", flag: "--api-key", secret: true, default: undefined },
  base_url: { env: "MIXPEEK_BASE_URL", flag: "--base-url", secret: false, default: DEFAULT_BASE_URL },
  namespace: { env: "MIXPEEK_NAMESPACE", flag: "--namespace", secret: false, default: undefined },
} as const;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export type Source = "flag" | "env" | "file" | "default" | "unset";

export interface Setting {
  key: SettingKey;
  value?: string;
  source: Source;
}

export type UserConfig = Partial<Record<SettingKey, string>>;
export type Flags = Partial<Record<SettingKey, string>>;

/** Reads environment variables; `Deno.env` satisfies it, tests pass a plain map. */
export interface Env {
  get(name: string): string | undefined;
}

/**
 * The one spelling a person sees and types for a setting, like its flag: `api-key`, `base-url`,
 * `namespace`. It is used in every output (text and JSON), message, completion and the config file.
 */
export function settingName(key: SettingKey): string {
  return key.replace(/_/g, "-");
}

/** The names `config set|get|unset` accept (the parser checks them; completions offer them). */
export const SETTING_NAMES: readonly string[] = SETTING_KEYS.map(settingName);

export function parseSettingKey(name: string): SettingKey {
  const key = SETTING_KEYS.find((k) => settingName(k) === name);
  if (key) return key;
  throw new UsageError(`unknown setting "${name}"`, { hint: `use one of: ${SETTING_NAMES.join(", ")}` });
}

function _nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The folder holding config.json: MIXPEEK_CONFIG_DIR, else the platform's user config dir + /mixpeek. */
export function configDir(env: Env = Deno.env, os: string = Deno.build.os): string {
  const override = _nonEmpty(env.get("MIXPEEK_CONFIG_DIR"));
  if (override) return override;
  const home = _nonEmpty(env.get("HOME")) ?? _nonEmpty(env.get("USERPROFILE"));
  if (os === "windows") {
    const appData = _nonEmpty(env.get("APPDATA")) ?? (home ? `${home}\\AppData\\Roaming` : undefined);
    if (appData) return `${appData}\\mixpeek`;
  } else if (os === "darwin") {
    if (home) return `${home}/Library/Application Support/mixpeek`;
  } else {
    const xdg = _nonEmpty(env.get("XDG_CONFIG_HOME")) ?? (home ? `${home}/.config` : undefined);
    if (xdg) return `${xdg}/mixpeek`;
  }
  throw new UsageError("cannot find a user config directory (HOME is not set)", {
    hint: "set MIXPEEK_CONFIG_DIR to a folder where mixpeek may keep its config",
  });
}

export function configPath(env: Env = Deno.env, os: string = Deno.build.os): string {
  const dir = configDir(env, os);
  return os === "windows" ? `${dir}\\config.json` : `${dir}/config.json`;
}

/** The user config file's settings; a missing file is an empty config. */
export async function readUserConfig(path: string): Promise<UserConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new FailedError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `fix or delete ${path}, then set values again with \`mixpeek config set\``,
    });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UsageError(`config file ${path} must hold a JSON object`, { hint: `fix or delete ${path}` });
  }
  const config: UserConfig = {};
  const record = data as Record<string, unknown>;
  for (const key of SETTING_KEYS) {
    // Files written before 0.2 spelled the keys api_key / base_url: still read, rewritten on the next set.
    const value = record[settingName(key)] ?? record[key];
    if (typeof value === "string" && value !== "") config[key] = value;
  }
  return config;
}

/** Writes the config atomically (temp file + rename) with mode 0600 in a 0700 folder. */
export async function writeUserConfig(path: string, config: UserConfig): Promise<void> {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")));
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const ordered: Record<string, string> = {};
    for (const key of SETTING_KEYS) if (config[key] !== undefined) ordered[settingName(key)] = config[key]!;
    await Deno.writeTextFile(temp, JSON.stringify(ordered, null, 2) + "\n", { mode: 0o600 });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600); // mode is masked by umask on create
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new FailedError(`cannot write config file ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: "check the folder's permissions, or set MIXPEEK_CONFIG_DIR to a writable folder",
    });
  }
}

export type ResolvedConfig = Record<SettingKey, Setting>;

/** Applies the precedence flag > env > file > default to every setting. */
export function resolveConfig(flags: Flags, env: Env, file: UserConfig): ResolvedConfig {
  const resolved = {} as ResolvedConfig;
  for (const key of SETTING_KEYS) {
    const spec = SETTINGS[key];
    const candidates: [Source, string | undefined][] = [
      ["flag", _nonEmpty(flags[key])],
      ["env", _nonEmpty(env.get(spec.env))],
      ["file", _nonEmpty(file[key])],
      ["default", spec.default],
    ];
    const hit = candidates.find(([, value]) => value !== undefined);
    resolved[key] = hit ? { key, value: hit[1], source: hit[0] } : { key, source: "unset" };
  }
  return resolved;
}

/** Never shows more than the last four characters of a secret. */
export function maskSecret(value: string): string {
  if (value.length < 12) return "****";
  return `${"*".repeat(4)}${value.slice(-4)}`;
}

/** The value as it may be shown to a person: secrets masked. */
export function displayValue(setting: Setting): string | undefined {
  if (setting.value === undefined) return undefined;
  return SETTINGS[setting.key].secret ? maskSecret(setting.value) : setting.value;
}

function _isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Where a setting came from, as a person would name it in an error. */
export function describeSource(setting: Setting): string {
  const spec = SETTINGS[setting.key];
  switch (setting.source) {
    case "flag":
      return spec.flag;
    case "env":
      return spec.env;
    case "file":
      return `${settingName(setting.key)} in the user config file`;
    default:
      return `the default ${settingName(setting.key)}`;
  }
}

/**
 * Checks a base URL: http(s) only, no credentials, and plain http only to loopback unless `insecure`,
 * so an API key never travels in clear text. Returns the URL without a trailing slash.
 */
export function validateBaseUrl(setting: Setting, insecure: boolean): string {
  const where = describeSource(setting);
  let url: URL;
  try {
    url = new URL(setting.value ?? "");
  } catch {
    throw new UsageError(`${where} is not a valid URL: "${setting.value}"`, {
      hint: "use a full URL such as https://api.mixpeek.com",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`${where} must be an http(s) URL, got "${url.protocol}"`);
  }
  if (url.username || url.password) {
    throw new UsageError(`${where} must not contain credentials`, {
      hint: "pass the API key with --api-key",
    });
  }
  if (url.protocol === "http:" && !_isLoopback(url.hostname) && !insecure) {
    throw new UsageError(
      `${where} uses plain http to ${url.hostname}; the API key would travel unencrypted`,
      {
        hint: "use https, or pass --insecure if you really mean it",
      },
    );
  }
  return url.href.replace(/\/+$/, "");
}

/** The API key, or an AuthError saying how to provide one. */
export function requireApiKey(config: ResolvedConfig): string {
  const key = config.api_key.value;
  if (key === undefined) {
    throw new AuthError("no API key", {
      hint: "pass --api-key, set MIXPEEK_API_KEY, or run `mixpeek config set api-key`",
    });
  }
  return key;
}
