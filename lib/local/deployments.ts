/**
 * Deployments of namespace plugins: the records (deployment_status in the store) on one side, the Deployer
 * (lib/local/deployer.ts) on the other. Batch-only deploys are immediate (`deployed`, deployment_type
 * batch_only); realtime deploys are queued and handed to the Deployer, whose reports move the record through
 * pending → in_progress → deployed (or failed, also later: a worker that dies). A restart resumes what was
 * queued or in progress, and gives the Deployer the deployed ones to restore. Calls to a deployed service go
 * through here too: `call` (the /inference route) and `invoke` (realtime/test's PluginRealtimeTestResponse).
 */
import type { DeploymentType, RealtimeTestRequest, RealtimeTestResponse } from "../api/types.ts";
import type { CallOutcome, Deployer, DeploymentProgress, DeploymentTarget } from "./deployer.ts";
import { deploymentName, routePrefix } from "./records.ts";
import { now, type PluginRow, type RegistryStore } from "./store.ts";

const IN_FLIGHT = ["queued", "pending", "in_progress"];

function _key(row: PluginRow): string {
  return `${row.owner}/${row.plugin_id}`;
}

export function targetOf(row: PluginRow): DeploymentTarget {
  return {
    namespace_id: row.owner,
    plugin_id: row.plugin_id,
    name: row.name,
    version: row.version,
    blob_key: row.blob_key,
    format: row.format,
    deployment_name: deploymentName(row.plugin_id),
    route_prefix: routePrefix(row.plugin_id),
  };
}

export class Deployments {
  readonly #store: RegistryStore;
  readonly #deployer: Deployer;
  readonly #log: (line: string) => void;
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #closed = false;

  constructor(store: RegistryStore, deployer: Deployer, log: (line: string) => void) {
    this.#store = store;
    this.#deployer = deployer;
    this.#log = log;
  }

  get method(): string {
    return this.#deployer.method;
  }

  /** Picks up what a previous run left: in-flight deployments start again, deployed ones are restored. */
  resume(): void {
    for (const row of this.#store.pluginsInDeployment(IN_FLIGHT)) {
      if (row.scope !== "namespace") continue;
      const queued = this.#store.setDeployment(row, { deployment_status: "queued", queued_at: now() });
      if (queued) this.#run(queued, "start");
    }
    if (!this.#deployer.restore) return;
    for (const row of this.#store.pluginsInDeployment(["deployed"])) {
      if (row.scope === "namespace" && row.deployment_type === "realtime") this.#run(row, "restore");
    }
  }

  /**
   * Deploys a namespace plugin: batch_only at once, realtime queued for the Deployer. Returns the record after
   * the change (the route builds its answer from it).
   */
  deploy(row: PluginRow, type: DeploymentType): PluginRow {
    const key = _key(row);
    if (type === "batch_only") {
      this.#cancel(key);
      return this.#store.setDeployment(row, {
        deployment_status: "deployed",
        deployment_type: "batch_only",
        deployment_error: null,
        queued_at: null,
        deployed_at: now(),
      }) ?? row;
    }
    if (IN_FLIGHT.includes(row.deployment_status) && this.#running.has(key)) return row; // already on its way
    this.#cancel(key);
    const queued = this.#store.setDeployment(row, {
      deployment_status: "queued",
      deployment_type: "realtime",
      deployment_error: null,
      queued_at: now(),
      deployed_at: null,
    }) ?? row;
    this.#run(queued, "start");
    return queued;
  }

  /** Stops the plugin's deployment and records it as not deployed; whether anything was deployed. */
  async undeploy(row: PluginRow): Promise<boolean> {
    const was = !["not_deployed", "validated"].includes(row.deployment_status);
    await this.stop(row);
    this.#store.setDeployment(row, {
      deployment_status: "not_deployed",
      deployment_error: null,
      queued_at: null,
      deployed_at: null,
    });
    return was;
  }

  /** Stops whatever runs for the plugin (before it is deleted). */
  async stop(row: PluginRow): Promise<void> {
    const job = this.#running.get(_key(row));
    if (job) {
      job.abort.abort();
      await job.done;
    }
    await this.#deployer.stop(targetOf(row));
  }

  /** One call to the plugin's deployed service (the caller checked that it is deployed for realtime). */
  call(row: PluginRow, request: RealtimeTestRequest): Promise<CallOutcome> {
    return this.#deployer.invoke(targetOf(row), request);
  }

  /** One call, answered as realtime/test answers: PluginRealtimeTestResponse, `status` success or error. */
  async invoke(row: PluginRow, request: RealtimeTestRequest): Promise<RealtimeTestResponse> {
    return realtimeTestAnswer(deploymentName(row.plugin_id), await this.call(row, request));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const jobs = [...this.#running.values()];
    for (const job of jobs) job.abort.abort();
    await Promise.all(jobs.map((j) => j.done));
    await this.#deployer.close();
  }

  #cancel(key: string): void {
    this.#running.get(key)?.abort.abort();
  }

  #run(row: PluginRow, how: "start" | "restore"): void {
    if (this.#closed) return;
    const key = _key(row);
    const abort = new AbortController();
    const report = (progress: DeploymentProgress) => {
      if (abort.signal.aborted) return;
      const fields = progress.status === "failed"
        ? { deployment_status: "failed", deployment_error: progress.error }
        : progress.status === "deployed"
        ? { deployment_status: "deployed", deployed_at: now() }
        : { deployment_status: progress.status };
      const next = this.#store.setDeployment(row, fields);
      if (next) {
        this.#log(
          `${row.name}@${row.version} (${row.plugin_id}) deployment → ${next.deployment_status}` +
            (progress.status === "failed" ? `: ${progress.error}` : ""),
        );
      }
    };
    const work = how === "start"
      ? this.#deployer.start(targetOf(row), report, abort.signal)
      : this.#deployer.restore!(targetOf(row), report, abort.signal);
    const done = work
      .catch((error) => {
        if (!abort.signal.aborted) report({ status: "failed", error: (error as Error).message });
      })
      .finally(() => {
        if (this.#running.get(key)?.abort === abort) this.#running.delete(key);
      });
    this.#running.set(key, { abort, done });
  }
}

/**
 * realtime/test's answer for a call's outcome: on success the service's answer as `raw_response`, its Python
 * type and (for a dict) its keys; otherwise `status: "error"` with the reason in `error` (a timeout says
 * "timed out", which `plugin invoke` turns into exit 6) and what to do in `message`.
 */
export function realtimeTestAnswer(inferenceName: string, outcome: CallOutcome): RealtimeTestResponse {
  if (!outcome.ok) {
    return {
      status: "error",
      inference_name: inferenceName,
      raw_response: null,
      response_type: null,
      response_keys: null,
      error: outcome.error,
      message: outcome.message ?? null,
    };
  }
  const answer: unknown = JSON.parse(outcome.json);
  const isDict = typeof answer === "object" && answer !== null && !Array.isArray(answer);
  return {
    status: "success",
    inference_name: inferenceName,
    raw_response: answer,
    response_type: outcome.type,
    response_keys: isDict ? Object.keys(answer) : null,
    error: null,
    message: null,
  };
}
