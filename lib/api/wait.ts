/** Polling a plugin's status until it settles (ready or failed), within a time limit. */
import { TimeoutError } from "../errors.ts";
import type { MixpeekClient } from "./client.ts";
import { sleep } from "./retry.ts";
import { type StatusResponse, TERMINAL_STATUSES } from "./types.ts";

export interface WaitOptions {
  timeoutMs: number;
  /** First poll interval; it grows to at most 2 s so short validations return quickly. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called whenever the status changes (for progress lines). */
  onChange?: (status: StatusResponse) => void;
}

export async function waitForSettled(
  client: MixpeekClient,
  pluginId: string,
  options: WaitOptions,
): Promise<StatusResponse> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = options.intervalMs ?? 100;
  let previous: string | undefined;
  for (;;) {
    const status = await client.getStatus(pluginId);
    if (status.status !== previous) {
      previous = status.status;
      options.onChange?.(status);
    }
    if (TERMINAL_STATUSES.includes(status.status)) return status;
    if (Date.now() + interval > deadline) {
      throw new TimeoutError(
        `plugin ${pluginId} is still "${status.status}" after ${Math.round(options.timeoutMs / 1000)}s`,
        { hint: `check again later with \`mixpeek plugin status ${pluginId} --wait\`, or raise --timeout` },
      );
    }
    await sleep(interval, options.signal);
    interval = Math.min(interval * 2, 2000);
  }
}
