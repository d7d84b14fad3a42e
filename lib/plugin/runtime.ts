/**
 * The local Mixpeek platform runtime (lib/plugin/runtime/, SPEC.md §5) on disk, and the environment of
 * every child process that runs plugin code.
 *
 * The runtime is embedded in the program (lib/embedded/runtime.ts), so a compiled binary carries it; the
 * first run writes it to a folder named after its content hash, which later runs reuse:
 *   <user data dir>/mixpeek/runtime/<version>   when this run may write there, else
 *   <temp dir>/mixpeek-runtime-<user>/<version>  (created private to the user, and checked to be).
 * A folder is complete once its `.complete` marker exists; it is written under a temporary name and renamed
 * into place, so concurrent runs never see half a runtime.
 *
 * `childEnv()` is the one place that decides what a plugin's Python sees: the parent's environment without
 * the API key and without anything that looks like a credential, plus PYTHONPATH with the runtime first.
 */
import { dirname, join } from "../paths.ts";
import { RUNTIME_FILES, RUNTIME_FILES_SHA256 } from "../embedded/runtime.ts";
import { FailedError } from "../errors.ts";
import type { EnvLike } from "./python.ts";

/**
 * `<first 16 hex digits of the sha256 of every runtime file>`: changes whenever a file changes. The hash is
 * taken when the runtime is embedded (`deno task embed`; CI checks it is current).
 */
export function runtimeVersion(): string {
  return RUNTIME_FILES_SHA256.slice(0, 16);
}

function _nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function _get(env: EnvLike, name: string): string | undefined {
  try {
    return _nonEmpty(env.get(name));
  } catch {
    return undefined; // a scoped --allow-env without this variable
  }
}

/** `<user data dir>/mixpeek/runtime`, like the local registry's data dir; undefined without a home. */
export function userRuntimeBase(env: EnvLike = Deno.env, os: string = Deno.build.os): string | undefined {
  const home = _get(env, "HOME") ?? _get(env, "USERPROFILE");
  if (os === "windows") {
    const local = _get(env, "LOCALAPPDATA") ?? (home ? `${home}\\AppData\\Local` : undefined);
    return local ? `${local}\\mixpeek\\runtime` : undefined;
  }
  if (os === "darwin") return home ? `${home}/Library/Application Support/mixpeek/runtime` : undefined;
  const data = _get(env, "XDG_DATA_HOME") ?? (home ? `${home}/.local/share` : undefined);
  return data ? `${data}/mixpeek/runtime` : undefined;
}

function _mayWrite(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "write", path }).state === "granted" &&
      Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The system temp folder, without reading TMPDIR ourselves (that may need an env grant we lack). */
async function _tempRoot(): Promise<string> {
  const probe = await Deno.makeTempDir({ prefix: "mixpeek-probe-" });
  await Deno.remove(probe).catch(() => {});
  return dirname(probe);
}

/** Our uid, without --allow-sys: the owner of a file we just created (null where there are no uids). */
async function _ownUid(dir: string): Promise<number | null> {
  const probe = await Deno.makeTempFile({ dir, prefix: ".mixpeek-owner-" });
  try {
    return (await Deno.lstat(probe)).uid;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

/** A folder in a shared place must be ours alone: a real folder, owned by us, writable by no one else. */
async function _checkPrivate(dir: string, tempRoot: string): Promise<void> {
  const info = await Deno.lstat(dir);
  const uid = info.isDirectory ? await _ownUid(tempRoot) : null;
  const problem = !info.isDirectory
    ? "is not a folder"
    : uid !== null && info.uid !== null && info.uid !== uid
    ? `belongs to another user (uid ${info.uid})`
    : info.mode !== null && (info.mode & 0o022) !== 0
    ? "is writable by other users"
    : undefined;
  if (problem) {
    throw new FailedError(`the platform runtime folder ${dir} ${problem}, so its code cannot be trusted`, {
      hint: "remove it, or run with HOME set so the runtime goes to your user data folder",
    });
  }
}

async function _materialise(base: string): Promise<string> {
  const version = runtimeVersion();
  const dir = join(base, version);
  if (await _exists(join(dir, ".complete"))) return dir;
  await Deno.mkdir(base, { recursive: true, mode: 0o700 });
  const staging = await Deno.makeTempDir({ dir: base, prefix: `.${version}-` });
  try {
    for (const [path, text] of Object.entries(RUNTIME_FILES)) {
      const target = join(staging, ...path.split("/"));
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeTextFile(target, text);
    }
    await Deno.writeTextFile(join(staging, ".complete"), version + "\n");
    await Deno.rename(staging, dir).catch(async (error) => {
      // Another run finished first (the rename cannot replace a non-empty folder): use its copy.
      if (!(await _exists(join(dir, ".complete")))) throw error;
    });
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return dir;
}

let _path: Promise<string> | undefined;

/**
 * The folder to put on PYTHONPATH so that `engine.*`, `shared.*` and `mixpeek_local` import: the embedded
 * runtime, written on first use (see the module doc). Cached for the life of the process.
 */
export function runtimePath(env: EnvLike = Deno.env): Promise<string> {
  _path ??= _runtimePath(env).catch((error) => {
    _path = undefined;
    throw error;
  });
  return _path;
}

async function _runtimePath(env: EnvLike): Promise<string> {
  const base = userRuntimeBase(env);
  if (base && _mayWrite(base)) {
    try {
      return await _materialise(base);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      // A read-only home, a full disk: fall back to the temp folder.
    }
  }
  const user = (_get(env, "USER") ?? _get(env, "USERNAME") ?? "user").replace(/[^A-Za-z0-9_.-]/g, "_");
  const tempRoot = await _tempRoot();
  const shared = join(tempRoot, `mixpeek-runtime-${user}`);
  await Deno.mkdir(shared, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await _checkPrivate(shared, tempRoot);
  try {
    return await _materialise(shared);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof FailedError) throw error;
    throw new FailedError(`cannot write the platform runtime to ${shared}: ${(error as Error).message}`, {
      cause: error,
      hint: "free some disk space, or check the permissions of your temp folder",
    });
  }
}

// -- the environment of plugin code -------------------------------------------------------------------

/** Name parts that mark a credential; matched case-insensitively anywhere in the variable's name. */
const SECRET_PARTS = [
  "TOKEN",
  "SECRET",
  "PASSWORD",
  "PASSWD",
  "API_KEY",
  "APIKEY",
  "CREDENTIAL",
  "PRIVATE_KEY",
];
/** Cloud credentials and Mixpeek's own settings: every variable with these prefixes. */
const SECRET_PREFIXES = ["MIXPEEK_API_KEY", "AWS_", "GOOGLE_", "AZURE_", "GCLOUD_", "CLOUDSDK_"];
/** Names that match a rule above but are no credential. */
const NOT_SECRET = new Set(["TOKENIZERS_PARALLELISM"]);

/** Whether a variable must never reach plugin code (see SECRET_PARTS / SECRET_PREFIXES). */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  if (NOT_SECRET.has(upper)) return false;
  return SECRET_PREFIXES.some((p) => upper.startsWith(p)) || SECRET_PARTS.some((p) => upper.includes(p));
}

/**
 * Variables passed on to plugin code when this run may not list the whole environment (a scoped
 * `--allow-env`, the compiled binary): each is read only if granted. With full access every variable that
 * is not a secret is passed on.
 */
export const CHILD_PASSTHROUGH_ENV = [
  "PATH",
  "Path",
  "PATHEXT",
  "HOME",
  "USERPROFILE",
  "USER",
  "USERNAME",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "TEMP",
  "TMP",
  "SYSTEMROOT",
  "SystemRoot",
  "WINDIR",
  "COMSPEC",
  "APPDATA",
  "LOCALAPPDATA",
  "PROGRAMDATA",
  "XDG_CACHE_HOME",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "VIRTUAL_ENV",
  "CONDA_PREFIX",
  "PYTHONPATH",
  "PYTHONHOME",
  "PYTHONUTF8",
  "PYTHONWARNINGS",
  "LD_LIBRARY_PATH",
  "DYLD_LIBRARY_PATH",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "REQUESTS_CA_BUNDLE",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "NO_COLOR",
  "TERM",
  "CUDA_VISIBLE_DEVICES",
  "HF_HOME",
  "TORCH_HOME",
  "OMP_NUM_THREADS",
  "PYTEST_ADDOPTS",
  "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
] as const;

/** The parent's environment as far as this run may read it. */
export function parentEnv(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    const env: Record<string, string> = {};
    for (const variable of CHILD_PASSTHROUGH_ENV) {
      try {
        if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") continue;
        const value = Deno.env.get(variable);
        if (value !== undefined) env[variable] = value;
      } catch {
        // not readable: not passed on
      }
    }
    return env;
  }
}

export interface ChildEnvOptions {
  /** The environment to start from (default: this process's, see parentEnv()). */
  source?: Record<string, string>;
  /** The platform runtime folder, put first on PYTHONPATH. */
  runtime?: string;
  /** Added last (after the secrets are removed): the caller's own variables. */
  extra?: Record<string, string>;
  os?: typeof Deno.build.os;
}

/**
 * The complete environment for a child that runs plugin code (the harness, pytest, the registry's
 * deployment workers): spawn it with `clearEnv: true` and this as `env`. No MIXPEEK_API_KEY, no AWS_*,
 * GOOGLE_*, AZURE_*, no *TOKEN*, *SECRET*, *PASSWORD* (see isSecretName); no .pyc files left behind; UTF-8
 * I/O; PYTHONPATH = the runtime, then whatever PYTHONPATH the user had.
 */
export function childEnv(options: ChildEnvOptions = {}): Record<string, string> {
  const source = options.source ?? parentEnv();
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (!isSecretName(name)) env[name] = value;
  env.PYTHONDONTWRITEBYTECODE = "1";
  env.PYTHONIOENCODING = "utf-8";
  if (options.runtime) {
    const sep = (options.os ?? Deno.build.os) === "windows" ? ";" : ":";
    env.PYTHONPATH = env.PYTHONPATH ? `${options.runtime}${sep}${env.PYTHONPATH}` : options.runtime;
  }
  return { ...env, ...(options.extra ?? {}) };
}

/** The environment of plugin code with the runtime on PYTHONPATH (runtimePath() + childEnv()). */
export async function pluginEnv(
  options: Omit<ChildEnvOptions, "runtime"> = {},
): Promise<Record<string, string>> {
  return childEnv({ ...options, runtime: await runtimePath() });
}
