/** `mixpeek config set|get|unset|list`: the user config file; secrets are only ever shown masked. */
import {
  configPath,
  displayValue,
  parseSettingKey,
  readUserConfig,
  SETTING_KEYS,
  settingName,
  SETTINGS,
  validateBaseUrl,
  writeUserConfig,
} from "../config.ts";
import { FailedError, UsageError } from "../errors.ts";
import type { Context } from "./context.ts";
import { loadConfig } from "./context.ts";
import { askSecret } from "./prompt.ts";

async function _readStdin(): Promise<string> {
  const text = await new Response(Deno.stdin.readable).text();
  return text.replace(/\r?\n$/, "");
}

/** The value to store: the argument, else (for the secret) a hidden prompt or standard input. */
async function _valueFor(key: string, value: string | undefined, ctx: Context): Promise<string> {
  const setting = parseSettingKey(key);
  if (value === undefined) {
    if (!SETTINGS[setting].secret) {
      throw new UsageError(`missing value for ${key}`, { hint: `mixpeek config set ${key} <value>` });
    }
    value = ctx.interactive ? await askSecret("API key") : await _readStdin();
  }
  if (value.trim() === "" || /[\r\n]/.test(value)) {
    throw new UsageError(`the value for ${key} must be one non-empty line`);
  }
  if (setting === "base_url") {
    validateBaseUrl({ key: setting, value, source: "flag" }, ctx.globals.insecure === true);
  }
  return value.trim();
}

export async function runConfigSet(key: string, value: string | undefined, ctx: Context): Promise<void> {
  const setting = parseSettingKey(key);
  const stored = await _valueFor(key, value, ctx);
  const path = configPath(ctx.env);
  const config = await readUserConfig(path);
  config[setting] = stored;
  await writeUserConfig(path, config);
  const shown = displayValue({ key: setting, value: stored, source: "file" });
  ctx.out.result(
    { key: settingName(setting), value: shown, path },
    (r) => `${r.key} = ${r.value} (saved to ${r.path})`,
  );
}

export async function runConfigUnset(key: string, ctx: Context): Promise<void> {
  const setting = parseSettingKey(key);
  const path = configPath(ctx.env);
  const config = await readUserConfig(path);
  const had = config[setting] !== undefined;
  delete config[setting];
  if (had) await writeUserConfig(path, config);
  ctx.out.result(
    { key: settingName(setting), removed: had, path },
    (r) => r.removed ? `removed ${r.key} from ${r.path}` : `${r.key} was not set in ${r.path}`,
  );
}

export async function runConfigGet(key: string, ctx: Context): Promise<void> {
  const setting = parseSettingKey(key);
  const config = await loadConfig(ctx);
  const entry = config[setting];
  const name = settingName(setting);
  if (entry.value === undefined) {
    // Like `git config --get`: an unset key is a failure a script can test for (exit 1), not an empty line.
    if (ctx.out.json) ctx.out.result({ key: name, value: null, source: entry.source }, () => "");
    throw new FailedError(`${name} is not set`, {
      hint: `set it with \`mixpeek config set ${name}${SETTINGS[setting].secret ? "" : " <value>"}\`, ` +
        `${SETTINGS[setting].flag} or ${SETTINGS[setting].env}`,
      reported: ctx.out.json,
    });
  }
  ctx.out.result(
    { key: name, value: displayValue(entry) ?? null, source: entry.source },
    (r) => r.value ?? "",
  );
}

export async function runConfigList(ctx: Context): Promise<void> {
  const config = await loadConfig(ctx);
  const settings = SETTING_KEYS.map((key) => ({
    key: settingName(key),
    value: displayValue(config[key]) ?? null,
    source: config[key].source,
    env: SETTINGS[key].env,
  }));
  if (ctx.out.json) {
    ctx.out.result({ path: config.path, settings }, () => "");
    return;
  }
  ctx.out.table(settings.map((s) => ({ ...s, value: s.value ?? "(unset)" })), ["key", "value", "source"]);
  ctx.out.info(`config file: ${config.path}`);
}
