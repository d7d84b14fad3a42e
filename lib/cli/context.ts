/** What every command action gets: the global options, the output, and lazily the resolved config. */
import {
  configPath,
  type Env,
  type Flags,
  readUserConfig,
  resolveConfig,
  type ResolvedConfig,
} from "../config.ts";
import { Output } from "../output.ts";

export interface GlobalOptions {
  apiKey?: string;
  baseUrl?: string;
  namespace?: string;
  json?: boolean;
  color?: boolean;
  input?: boolean;
  verbose?: boolean;
  insecure?: boolean;
}

export interface Context {
  globals: GlobalOptions;
  out: Output;
  env: Env;
  /** Prompts are allowed: stdin is a terminal and `--no-input` was not given. */
  interactive: boolean;
}

export function createContext(globals: GlobalOptions, env: Env = Deno.env): Context {
  const out = new Output({
    json: globals.json === true,
    color: globals.color !== false,
    verbose: globals.verbose === true,
  });
  const interactive = globals.input !== false && Deno.stdin.isTerminal();
  return { globals, out, env, interactive };
}

export function flagSettings(globals: GlobalOptions): Flags {
  return { api_key: globals.apiKey, base_url: globals.baseUrl, namespace: globals.namespace };
}

/** Reads the user config file and applies flag > env > file > default. */
export async function loadConfig(ctx: Context): Promise<ResolvedConfig & { path: string }> {
  const path = configPath(ctx.env);
  const file = await readUserConfig(path);
  return { ...resolveConfig(flagSettings(ctx.globals), ctx.env, file), path };
}
