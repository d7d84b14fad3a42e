/**
 * The registry's seam for realtime deployments. The registry owns the records and the wire (statuses in the
 * store, the answers of deploy, status, undeploy and realtime/test); a Deployer owns what runs. A realtime
 * deploy is queued by the registry, then handed to `start`, which reports its progress through `report`
 * (pending → in_progress → deployed, or failed with the error) and may keep something running until `stop`.
 *
 * Today's deployer, RecordingDeployer, records the transitions on a timer and runs no plugin code: a
 * "deployed" realtime plugin has no worker behind it yet, and realtime/test answers `status: "error"` saying
 * so. Supervised Python workers that host the plugin's realtime service (`/inference/custom_plugin_{id}`)
 * plug in here by implementing the same interface.
 */
import type { RealtimeTestRequest, RealtimeTestResponse } from "../api/types.ts";

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

export interface Deployer {
  /** Shown in `mixpeek local`'s log and the deploy answer's `deployment_method`. */
  readonly method: string;
  /**
   * Starts a realtime deployment (the registry has recorded it as queued). Resolves once it is deployed or
   * failed, having called `report` for each step; `signal` aborts it (undeploy, delete, shutdown).
   */
  start(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * A deployment the records say is `deployed`, found at start-up (the registry restarted): bring back what
   * it needs, reporting `failed` if that cannot be done. Optional: nothing to restore when nothing runs.
   */
  restore?(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Stops whatever runs for this plugin (undeploy, delete); a no-op when nothing does. */
  stop(target: DeploymentTarget): Promise<void>;
  /** One call to the deployed realtime service (POST …/realtime/test). */
  invoke(target: DeploymentTarget, request: RealtimeTestRequest): Promise<RealtimeTestResponse>;
  /** Stops everything (the registry shuts down). */
  close(): Promise<void>;
}

/** Records the deployment's steps, `stepMs` apart, and runs nothing (see the module doc). */
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

  invoke(target: DeploymentTarget): Promise<RealtimeTestResponse> {
    return Promise.resolve({
      status: "error",
      inference_name: target.deployment_name,
      raw_response: null,
      response_type: null,
      response_keys: null,
      error: "mixpeek local records realtime deployments but does not run plugin code yet",
      message: "test realtime.py locally with `mixpeek plugin test`",
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
