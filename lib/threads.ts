/**
 * What a module needs to know before it starts worker threads (lib/scan/scan.ts's parse workers,
 * lib/pack/deflate.ts's compressors): whether the worker's module can load here, and how many cores there
 * are. Both callers fall back to the calling thread, with the same result, when a worker cannot start.
 *
 * @module
 */

/**
 * Whether this run may load the worker module at `url`: a `deno run` whose --allow-read does not reach lib/
 * (a scope for the plugin only) cannot, since module loading is exempt from permissions on the main thread
 * but not in a worker, which would die with an "Uncaught" error line. Remote modules (`deno run jsr:`) can.
 */
export function workerLoadable(url: URL): boolean {
  if (url.protocol !== "file:") return true;
  try {
    return Deno.permissions.querySync({ name: "read", path: url }).state === "granted";
  } catch {
    return false;
  }
}

/** The cores this process may use (1 where the platform does not say). */
export function coreCount(): number {
  try {
    return navigator.hardwareConcurrency || 1;
  } catch {
    return 1;
  }
}
