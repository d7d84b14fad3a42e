/**
 * Ctrl-C (and SIGTERM) for the commands that talk to the API or run long: the first one aborts the work,
 * which then ends with an InterruptedError ("… interrupted", exit 130, printed without "error:"); a second
 * one exits at once, for a step that does not stop promptly. The same for every command that takes it.
 */
export interface Interrupt {
  signal: AbortSignal;
  dispose: () => void;
}

export function interruptSignal(): Interrupt {
  const controller = new AbortController();
  const abort = () => {
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, abort);
  return {
    signal: controller.signal,
    dispose: () => signals.forEach((s) => Deno.removeSignalListener(s, abort)),
  };
}
