/**
 * The registry's background work: validating confirmed uploads (pending → validating → ready | failed) and
 * realtime deployments (deploying → ready). The database is the queue: the status says what is left to do,
 * so a restart resumes whatever was interrupted. At most `concurrency` validations run at once.
 */
import type { BlobStore } from "./blobs.ts";
import type { PluginRow, RegistryStore } from "./store.ts";
import { now } from "./store.ts";
import { validateArchive, type ValidateDeps } from "./validate.ts";

export interface JobDeps extends ValidateDeps {
  store: RegistryStore;
  blobs: BlobStore;
  /** How long a simulated realtime deployment takes. */
  deployDelayMs: number;
  /** The endpoint a deployment reports, for a plugin. */
  endpointOf(plugin: PluginRow): string;
  concurrency: number;
  log(line: string): void;
}

export class JobRunner {
  readonly #deps: JobDeps;
  readonly #queue: string[] = [];
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #validating = 0;
  #closed = false;

  constructor(deps: JobDeps) {
    this.#deps = deps;
  }

  /** Picks up work a previous run left: pending/validating plugins are validated again, deploys finish. */
  resume(): void {
    for (const plugin of this.#deps.store.pluginsIn(["pending", "validating"])) {
      this.validate(plugin.plugin_id);
    }
    for (const plugin of this.#deps.store.pluginsIn(["deploying"])) this.deploy(plugin.plugin_id);
  }

  validate(pluginId: string): void {
    if (this.#closed || this.#queue.includes(pluginId) || this.#running.has(pluginId)) return;
    this.#queue.push(pluginId);
    this.#pump();
  }

  deploy(pluginId: string): void {
    if (this.#closed || this.#running.has(pluginId)) return;
    this.#start(pluginId, (signal) => this.#deploy(pluginId, signal), false);
  }

  /** Stops any work on this plugin (it is being deleted). */
  async cancel(pluginId: string): Promise<void> {
    const index = this.#queue.indexOf(pluginId);
    if (index >= 0) this.#queue.splice(index, 1);
    const job = this.#running.get(pluginId);
    if (job) {
      job.abort.abort();
      await job.done;
    }
  }

  /** Aborts everything and waits for the jobs to wind down (their plugins resume at the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    const jobs = [...this.#running.values()];
    for (const job of jobs) job.abort.abort();
    await Promise.all(jobs.map((j) => j.done));
  }

  #pump(): void {
    while (!this.#closed && this.#validating < this.#deps.concurrency && this.#queue.length > 0) {
      const pluginId = this.#queue.shift()!;
      this.#start(pluginId, (signal) => this.#validate(pluginId, signal), true);
    }
  }

  #start(pluginId: string, work: (signal: AbortSignal) => Promise<void>, counts: boolean): void {
    const abort = new AbortController();
    if (counts) this.#validating++;
    const done = work(abort.signal)
      .catch((error) => {
        if (!abort.signal.aborted) this.#deps.log(`job for ${pluginId} crashed: ${(error as Error).message}`);
      })
      .finally(() => {
        this.#running.delete(pluginId);
        if (counts) {
          this.#validating--;
          this.#pump();
        }
      });
    this.#running.set(pluginId, { abort, done });
  }

  async #validate(pluginId: string, signal: AbortSignal): Promise<void> {
    const { store } = this.#deps;
    const plugin = store.transition(pluginId, ["pending", "validating"], "validating");
    if (!plugin) return;
    let outcome;
    try {
      outcome = await validateArchive(plugin, this.#deps, signal);
    } catch (error) {
      if (signal.aborted) return; // stopped (shutdown or delete): a restart validates it again
      outcome = { ok: false as const, error: `validation could not finish: ${(error as Error).message}` };
    }
    if (signal.aborted) return;
    const next = outcome.ok
      ? store.transition(pluginId, ["validating"], "ready", { realtime: outcome.realtime, error: null })
      : store.transition(pluginId, ["validating"], "failed", { error: outcome.error });
    if (next) {
      this.#deps.log(
        `${next.name}@${next.version} (${pluginId}) → ${next.status}${next.error ? `: ${next.error}` : ""}`,
      );
    }
  }

  async #deploy(pluginId: string, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#deps.deployDelayMs);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (signal.aborted) return;
    const plugin = this.#deps.store.getPluginById(pluginId);
    if (!plugin) return;
    const deployment = {
      status: "active" as const,
      endpoint: this.#deps.endpointOf(plugin),
      updated_at: now(),
    };
    const next = this.#deps.store.transition(pluginId, ["deploying"], "ready", { deployment });
    if (next) this.#deps.log(`${next.name}@${next.version} (${pluginId}) deployed → ${deployment.endpoint}`);
  }
}
