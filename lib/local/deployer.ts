/**
 * The registry's seam for realtime deployments. The registry owns the records and the wire (statuses in the
 * store, the answers of deploy, status, undeploy, realtime/test and `/inference/…`); a Deployer owns what
 * runs. A realtime deploy is queued by the registry, then handed to `start`, which reports its progress
 * through `report` (pending → in_progress → deployed, or failed with the error).
 *
 * The default deployer is WorkerDeployer (lib/local/workers/deployer.ts): a supervised Python worker per
 * deployment hosts the plugin's realtime service. RecordingDeployer, below, records the transitions on a
 * timer and runs no plugin code; the registry's own bookkeeping tests (restart, status flow) use it.
 */
import type { RealtimeTestRequest } from "../api/types.ts";
import type { BlobStore } from "./blobs.ts";
import type { ArchiveChecks, ExtractLimits } from "./validate.ts";

/** A plugin to deploy: where its archive is, and the names the platform gives it. */
export interface DeploymentTarget {
  namespace_id: string;
  plugin_id: string;
  name: string;
  version: string;
  /** The blob key of the validated archive (BlobStore.open reads it). */
  blob_key: string;
  format: "tar.gz" | "zip";
  /** `custom_plugin_{plugin_id}` */
  deployment_name: string;
  /** `/inference/custom_plugin_{plugin_id}` */
  route_prefix: string;
}

export type DeploymentProgress =
  | { status: "pending" | "in_progress" | "deployed" }
  | { status: "failed"; error: string };

/**
 * The outcome of one call to a deployed service. `json` is the service's answer as JSON text (passed on as
 * it is by `/inference/…`), `type` its Python type name (`dict`, `list`, …).
 */
export type CallOutcome =
  | { ok: true; json: string; type: string }
  | {
    ok: false;
    /**
     * raised: the service raised (or answered something that is not JSON); timeout: no answer within the
     * call's limit; busy: too many calls wait already; not_running: nothing hosts the service.
     */
    reason: "raised" | "timeout" | "busy" | "not_running";
    /** One line: what went wrong. */
    error: string;
    /** What to do about it, or more detail (a traceback's tail). */
    message?: string;
  };

/** What a deployer may use of the registry: where the archives are and how to unpack them safely. */
export interface DeployerHost {
  blobs: BlobStore;
  /** <data dir>/work: private scratch space, emptied at every start. */
  workDir: string;
  /** The registry's safe extractor (the one confirm validates with). */
  extract: ArchiveChecks["extract"];
  limits?: Partial<ExtractLimits>;
  log(line: string): void;
}

export interface Deployer {
  /** Shown in `mixpeek local`'s log and the deploy answer's `deployment_method`. */
  readonly method: string;
  /**
   * Starts a realtime deployment (the registry has recorded it as queued), calling `report` for each step.
   * Resolves when the deployment is over: failed, or stopped through `signal` (undeploy, delete, redeploy,
   * shutdown). A deployer that keeps something running keeps the promise pending while it runs, so a later
   * report (a crash: `failed`) is still heard; once `signal` is aborted, reports are ignored.
   */
  start(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * A deployment the records say is `deployed`, found at start-up (the registry restarted): bring back what
   * it needs, reporting `failed` if that cannot be done; its life is start's. Optional: nothing to restore
   * when nothing runs.
   */
  restore?(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Stops whatever runs for this plugin (undeploy, delete); a no-op when nothing does. */
  stop(target: DeploymentTarget): Promise<void>;
  /** One call to the deployed realtime service (POST …/realtime/test, POST /inference/…). */
  invoke(target: DeploymentTarget, request: RealtimeTestRequest): Promise<CallOutcome>;
  /** Stops everything (the registry shuts down). */
  close(): Promise<void>;
}

/** Records the deployment's steps, `stepMs` apart, and runs nothing (see the module doc); for tests. */
export class RecordingDeployer implements Deployer {
  readonly method = "recorded_only";
  readonly #stepMs: number;

  constructor(stepMs = 150) {
    this.#stepMs = stepMs;
  }

  async start(
    _target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void> {
    for (const status of ["pending", "in_progress", "deployed"] as const) {
      await _sleep(this.#stepMs, signal);
      if (signal.aborted) return;
      report({ status });
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  invoke(): Promise<CallOutcome> {
    return Promise.resolve({
      ok: false,
      reason: "not_running",
      error: "this registry's RecordingDeployer records realtime deployments but does not run plugin code",
      message: "start the registry with its default deployer (supervised workers) to call the service",
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function _sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
