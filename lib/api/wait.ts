/**
 * Polling a plugin's deployment status until it settles: `deployed`, `failed`, `not_deployed` or
 * `batch_only`, in either case (SPEC §8), within a time limit.
 */
import { TimeoutError } from "../errors.ts";
import type { MixpeekClient } from "./client.ts";
import { sleep } from "./retry.ts";
import { isTerminalStatus, type StatusResponse } from "./types.ts";

export interface WaitOptions {
  timeoutMs: number;
  /** First poll interval; it doubles up to `maxIntervalMs` so short deployments return quickly. */
  intervalMs?: number;
  /** Mixpeek suggests polling every 10-15 s; against a local registry 2 s is plenty. Default 5 s. */
  maxIntervalMs?: number;
  signal?: AbortSignal;
  /** Called whenever the status changes (for progress lines). */
  onChange?: (status: StatusResponse) => void;
}

export async function waitForDeployment(
  client: MixpeekClient,
  pluginId: string,
  options: WaitOptions,
): Promise<StatusResponse> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 200;
  const maxInterval = options.maxIntervalMs ?? 5000;
  let previous: string | undefined;
  for (;;) {
    const status = await client.getStatus(pluginId);
    const current = String(status.status).toLowerCase();
    if (current !== previous) {
      previous = current;
      options.onChange?.(status);
    }
    if (isTerminalStatus(status.status)) return status;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new TimeoutError(
        `plugin ${pluginId} is still "${status.status}" after ${Math.round(options.timeoutMs / 1000)}s`,
        { hint: `check again later with \`mixpeek plugin status ${pluginId} --wait\`, or raise --timeout` },
      );
    }
    // The last poll is at the deadline itself, so the limit is the one the user gave.
    await sleep(Math.min(interval, left), options.signal);
    interval = Math.min(interval * 2, maxInterval);
  }
}
