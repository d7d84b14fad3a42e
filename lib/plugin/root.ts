/**
 * Finding the plugin folder from wherever the author is: `plugin test`, `validate` and the other commands
 * that take `-p/--path` accept a folder inside the plugin (processors/, tests/) and walk up to the folder
 * that holds manifest.py, as git finds its repository.
 */
import { dirname, join, resolve } from "../paths.ts";

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The nearest folder at or above `start` that holds a manifest.py, or undefined when there is none (the
 * caller then reports the folder as given: its structure check says manifest.py is missing).
 */
export async function findPluginRoot(start: string, cwd = Deno.cwd()): Promise<string | undefined> {
  let dir = resolve(cwd, start);
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) return undefined; // a file or nothing: reported as given
  for (;;) {
    if (await _isFile(join(dir, "manifest.py"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
