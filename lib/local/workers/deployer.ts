/**
 * WorkerDeployer: `mixpeek local`'s default Deployer (lib/local/deployer.ts). Each realtime deployment is a
 * supervised Python worker (worker.ts, running the embedded serve_worker.py) that hosts the plugin's
 * realtime service, the way a Ray Serve replica hosts it on Mixpeek.
 *
 * A deploy goes:
 *   pending      the registry's Python is found (`mixpeek local --python`, else MIXPEEK_PYTHON, ./.venv,
 *                python3/python on PATH) and the validated archive is copied from the blob store and
 *                unpacked with the registry's safe extractor into a private folder,
 *                <data dir>/work/deployments/<plugin_id>-<random>/ (mode 0700);
 *   in_progress  the worker starts there with the embedded platform runtime on PYTHONPATH and childEnv()'s
 *                environment (no API key, no cloud credentials, clearEnv), imports the plugin as its package,
 *                finds its BaseInferenceService (mixpeek_local.services.find_service_classes) and builds it;
 *   deployed     it listens on 127.0.0.1 (a port of its own) and answers.
 * A worker that cannot start (an import error, a service that raises in `__init__`, no Python, no ready
 * line within the start limit) turns the deployment `failed` with the error and its traceback's tail.
 *
 * While deployed:
 * - **Crashes fail, they do not restart.** A worker that exits on its own (a segfault, `kill -9`, the plugin
 *   calling `os._exit`) turns the deployment `failed` with how it exited and the tail of its stderr; the
 *   author fixes the plugin and deploys again (`mixpeek plugin deploy ID`). Mixpeek's status has no
 *   "restarting" state, and a plugin that crashes in a loop should say so, not flap.
 * - **Every call has a limit** (`invokeTimeoutMs`, `mixpeek local --invoke-timeout`, default 20 s; the wait
 *   for a free slot counts). The worker enforces it itself by cancelling the call (asyncio), answers
 *   `timeout`, and goes on serving. A service that blocks the worker's event loop (time.sleep, a busy loop)
 *   cannot be cancelled: when the worker does not even answer its timeout, it is **wedged**, and it is
 *   replaced by a fresh worker from the same folder (the status stays `deployed`; calls wait for the new
 *   one; calls in flight on the old one get an error). If the replacement cannot start, `failed`.
 * - **Calls are bounded**: at most the service's `serve_config.max_ongoing_requests` (default 32) run at
 *   once per worker; up to `queueLimit` (default 256) more wait their turn; beyond that a call is refused at
 *   once as `busy`.
 *
 * Undeploy, delete, redeploy and shutdown abort the deployment: the worker's stdin is closed (it exits at
 * once), its process group is SIGKILLed if anything lingers, and its folder is removed. A worker also exits
 * by itself when the registry dies (its stdin closes), so none is ever left behind. At start-up the registry
 * restores the deployments its records say are deployed (`restore`): a worker is started again, quietly
 * (the status stays `deployed`; calls wait for it), and a restore that fails turns the deployment `failed`.
 */
import { basename, join, resolve } from "node:path";
import type { RealtimeTestRequest } from "../../api/types.ts";
import { WORKER_FILES } from "../../embedded/worker.ts";
import { MixpeekError } from "../../errors.ts";
import { findPython } from "../../plugin/python.ts";
import { childEnv, runtimePath } from "../../plugin/runtime.ts";
import type {
  CallOutcome,
  Deployer,
  DeployerHost,
  DeploymentProgress,
  DeploymentTarget,
} from "../deployer.ts";
import { pluginRootOf } from "../validate.ts";
import { Worker, type WorkerSpec, WorkerStartError } from "./worker.ts";

export interface WorkerDeployerOptions {
  /** The interpreter for every worker (an absolute path: `mixpeek local --python`, resolved). */
  python?: string;
  /** Where Python discovery looks for `.venv/` when no python is given (default: the current folder). */
  cwd?: string;
  /** The limit of one call, waiting for a slot included (default 20 s). */
  invokeTimeoutMs?: number;
  /** How long a worker may take to import the plugin and build its service (default 120 s). */
  startTimeoutMs?: number;
  /** Calls that may wait for a slot, per deployment, before more are refused as busy (default 256). */
  queueLimit?: number;
}

export const DEFAULT_INVOKE_TIMEOUT_MS = 20_000;
export const DEFAULT_START_TIMEOUT_MS = 120_000;
export const DEFAULT_QUEUE_LIMIT = 256;
/** Until the worker says what its service allows (serve_config.max_ongoing_requests). */
const DEFAULT_MAX_ONGOING = 32;
/** Longest error text recorded for a failed deployment. */
const MAX_ERROR_CHARS = 4000;

/** A live worker's facts, for `mixpeek local`'s log and for tests (orphan checks). */
export interface WorkerInfo {
  namespace_id: string;
  plugin_id: string;
  pid: number;
  port: number;
  service: string;
}

function _key(target: DeploymentTarget): string {
  return `${target.namespace_id}/${target.plugin_id}`;
}

function _seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function _clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

function _errorText(error: unknown): string {
  if (error instanceof MixpeekError && error.hint) return `${error.message} (${error.hint})`;
  return (error as Error)?.message ?? String(error);
}

export class WorkerDeployer implements Deployer {
  readonly method = "local_worker";
  readonly #host: DeployerHost;
  readonly #options: Required<Omit<WorkerDeployerOptions, "python">> & { python?: string };
  readonly #live = new Map<string, _Live>();
  #python?: Promise<string>;

  constructor(host: DeployerHost, options: WorkerDeployerOptions = {}) {
    this.#host = host;
    this.#options = {
      python: options.python,
      cwd: options.cwd ?? Deno.cwd(),
      invokeTimeoutMs: options.invokeTimeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
    };
  }

  /** The workers running now. */
  workers(): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const live of this.#live.values()) {
      const worker = live.running;
      if (worker) {
        out.push({
          namespace_id: live.target.namespace_id,
          plugin_id: live.target.plugin_id,
          pid: worker.pid,
          port: worker.facts.port,
          service: worker.facts.service,
        });
      }
    }
    return out;
  }

  start(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.#run(target, report, signal, true);
  }

  restore(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.#run(target, report, signal, false);
  }

  async stop(target: DeploymentTarget): Promise<void> {
    const live = this.#live.get(_key(target));
    if (live) {
      this.#live.delete(_key(target));
      await live.shutdown();
    }
  }

  async invoke(target: DeploymentTarget, request: RealtimeTestRequest): Promise<CallOutcome> {
    const live = this.#live.get(_key(target));
    if (!live) {
      return {
        ok: false,
        reason: "not_running",
        error: `no worker hosts ${target.deployment_name}`,
        message: `deploy it again with \`mixpeek plugin deploy ${target.plugin_id}\``,
      };
    }
    return await live.call(request);
  }

  async close(): Promise<void> {
    const all = [...this.#live.values()];
    this.#live.clear();
    await Promise.all(all.map((live) => live.shutdown()));
  }

  /** The deployment's whole life: prepare, start, supervise until it fails or is aborted, clean up. */
  async #run(
    target: DeploymentTarget,
    report: (progress: DeploymentProgress) => void,
    signal: AbortSignal,
    fresh: boolean,
  ): Promise<void> {
    const key = _key(target);
    const label = `${target.name}@${target.version} (${target.plugin_id})`;
    let dir: string | undefined;
    const live = new _Live(target, this.#options, signal, (line) => this.#host.log(`${label} ${line}`));
    // Registered at once, so that calls during a restore wait for its worker instead of finding none.
    this.#live.get(key)?.shutdown(); // a stray one (cannot happen through Deployments, which aborts first)
    this.#live.set(key, live);
    try {
      if (fresh) report({ status: "pending" });
      await live.begin(async () => {
        const python = await this.#pythonPath();
        const runtime = await runtimePath();
        signal.throwIfAborted();
        const unpacked = await this.#unpack(target, signal);
        dir = unpacked.dir;
        signal.throwIfAborted();
        if (fresh) report({ status: "in_progress" });
        return {
          python,
          script: unpacked.script,
          cwd: unpacked.dir,
          root: unpacked.root,
          package: unpacked.package,
          route: target.route_prefix,
          env: childEnv({ runtime, extra: { PYTHONUNBUFFERED: "1" } }),
          startTimeoutMs: this.#options.startTimeoutMs,
          onLine: (line) => this.#host.log(`${target.plugin_id} | ${line}`),
        };
      });
      if (fresh) report({ status: "deployed" });
      const failure = await live.ended;
      if (failure !== undefined && !signal.aborted) report({ status: "failed", error: _clip(failure) });
    } catch (error) {
      if (!signal.aborted) report({ status: "failed", error: _clip(_errorText(error)) });
    } finally {
      if (this.#live.get(key) === live) this.#live.delete(key);
      await live.shutdown();
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** The registry's interpreter: the one given, else discovery (again next time, if it fails). */
  #pythonPath(): Promise<string> {
    if (this.#options.python) return Promise.resolve(this.#options.python);
    this.#python ??= findPython(this.#options.cwd).then((choice) => choice.command).catch((error) => {
      this.#python = undefined;
      throw error;
    });
    return this.#python;
  }

  /** Copies the validated archive into a private folder and unpacks it with the registry's extractor. */
  async #unpack(
    target: DeploymentTarget,
    signal: AbortSignal,
  ): Promise<{ dir: string; root: string; package: string; script: string }> {
    const base = resolve(this.#host.workDir, "deployments"); // absolute: the worker runs inside it
    await Deno.mkdir(base, { recursive: true, mode: 0o700 });
    const dir = await Deno.makeTempDir({ dir: base, prefix: `${target.plugin_id}-` });
    try {
      const archive = join(dir, `archive.${target.format}`);
      const file = await Deno.open(archive, { write: true, createNew: true, mode: 0o600 });
      await (await this.#host.blobs.open(target.blob_key, signal)).pipeTo(file.writable, { signal });
      const tree = join(dir, "tree");
      try {
        await this.#host.extract(archive, tree, this.#host.limits);
      } catch (error) {
        throw new Error(`the archive cannot be unpacked: ${(error as Error).message}`);
      }
      await Deno.remove(archive);
      let root = await pluginRootOf(tree);
      if (root === tree) {
        // The archive holds the plugin's files at its top: the package is named after the plugin.
        root = join(dir, target.name);
        await Deno.rename(tree, root);
      }
      const script = join(dir, "serve_worker.py");
      await Deno.writeTextFile(script, WORKER_FILES["serve_worker.py"], { mode: 0o600 });
      return { dir, root, package: basename(root), script };
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }
}

interface _Waiter {
  grant(): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One deployment's worker, its replacements, and the slots of the calls to it. */
class _Live {
  readonly target: DeploymentTarget;
  /** Resolves with the error when the deployment fails, or undefined when it is aborted. */
  readonly ended: Promise<string | undefined>;
  #spec?: WorkerSpec;
  readonly #options: { invokeTimeoutMs: number; queueLimit: number };
  readonly #signal: AbortSignal;
  readonly #log: (line: string) => void;
  #end!: (failure: string | undefined) => void;
  #over = false;
  /** The worker answering calls, or the one starting in its place. */
  #current?: Promise<Worker>;
  #running?: Worker;
  #limit = DEFAULT_MAX_ONGOING;
  #active = 0;
  readonly #waiting: _Waiter[] = [];

  constructor(
    target: DeploymentTarget,
    options: { invokeTimeoutMs: number; queueLimit: number },
    signal: AbortSignal,
    log: (line: string) => void,
  ) {
    this.target = target;
    this.#options = options;
    this.#signal = signal;
    this.#log = log;
    this.ended = new Promise((resolve) => (this.#end = resolve));
    const onAbort = () => this.#finish(undefined);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }

  get running(): Worker | undefined {
    return this.#running;
  }

  /** Prepares the worker's folder and starts the first worker; throws when either fails. */
  async begin(prepare: () => Promise<WorkerSpec>): Promise<void> {
    this.#current = prepare().then((spec) => {
      this.#spec = spec;
      return this.#launch();
    });
    await this.#current;
  }

  #launch(): Promise<Worker> {
    return Worker.start(this.#spec!, this.#signal).then((worker) => {
      if (this.#over) {
        worker.stop();
        throw new WorkerStartError("the deployment was stopped");
      }
      this.#running = worker;
      this.#limit = worker.facts.max_ongoing_requests;
      const f = worker.facts;
      this.#log(
        `worker ${worker.pid} ready: ${f.service}.${f.entry_point} on 127.0.0.1:${f.port} (Python ${f.python}, ` +
          `up to ${f.max_ongoing_requests} calls at once)`,
      );
      worker.exited.then((exit) => {
        if (worker.stopping || this.#over) return;
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        const tail = worker.tail().trim();
        this.#finish(`the worker (pid ${worker.pid}) ${how}${tail ? `; its last output:\n${tail}` : ""}`);
      });
      return worker;
    });
  }

  #finish(failure: string | undefined): void {
    if (this.#over) return;
    this.#over = true;
    for (const waiter of this.#waiting.splice(0)) {
      clearTimeout(waiter.timer);
      this.#active++; // each released call frees its slot again
      waiter.grant();
    }
    this.#end(failure);
  }

  /** Replaces a wedged worker by a fresh one from the same folder (once, however many calls saw it). */
  #replace(worker: Worker): void {
    if (this.#over || this.#running !== worker) return;
    this.#running = undefined;
    this.#log(
      `worker ${worker.pid} did not answer a call's timeout (its event loop is blocked): restarting it`,
    );
    const old = worker.kill();
    this.#current = old.then(() => this.#launch());
    this.#current.catch((error) => {
      this.#finish(
        `the worker was restarted after a call hung, but could not start again: ${_errorText(error)}`,
      );
    });
  }

  async call(request: RealtimeTestRequest): Promise<CallOutcome> {
    const limit = this.#options.invokeTimeoutMs;
    const deadline = performance.now() + limit;
    const body = JSON.stringify({ inputs: request.inputs ?? {}, parameters: request.parameters ?? {} });
    const timedOut = (what: string, message: string): CallOutcome => ({
      ok: false,
      reason: "timeout",
      error: `timed out after ${_seconds(limit)}${what ? ` ${what}` : ""}`,
      message,
    });
    if (this.#active >= this.#limit && this.#waiting.length >= this.#options.queueLimit) {
      return {
        ok: false,
        reason: "busy",
        error:
          `busy: ${this.#active} calls run and ${this.#waiting.length} wait for ${this.target.deployment_name}`,
        message: "try again in a moment, or send fewer calls at once",
      };
    }
    if (!(await this.#acquire(limit))) {
      return timedOut(
        "waiting for a free slot",
        `${this.#limit} calls were running (serve_config.max_ongoing_requests) the whole time`,
      );
    }
    try {
      if (this.#over) return this.#gone();
      const worker = await this.#worker(deadline - performance.now());
      if (worker === "timeout") {
        return timedOut("waiting for the worker to start", "its service is still being built");
      }
      if (worker === undefined) return this.#gone();
      const outcome = await worker.call(body, Math.max(1, deadline - performance.now()));
      if (outcome.ok || outcome.reason !== "timeout") return outcome;
      if (outcome.wedged) {
        this.#replace(worker);
        return timedOut(
          "",
          "the service did not answer and blocked its worker's event loop, so the worker was restarted " +
            "(calls running on it at the time got an error); raise mixpeek local's --invoke-timeout if it " +
            "needs longer",
        );
      }
      return timedOut(
        "",
        "the service did not answer within mixpeek local's --invoke-timeout; the call was cancelled and the " +
          "worker goes on serving",
      );
    } finally {
      this.#release();
    }
  }

  #gone(): CallOutcome {
    return {
      ok: false,
      reason: "not_running",
      error: `${this.target.deployment_name} is no longer running`,
      message: `see \`mixpeek plugin status ${this.target.plugin_id}\``,
    };
  }

  /** The running worker, waiting (at most `ms`) for one that is starting; undefined when there is none. */
  async #worker(ms: number): Promise<Worker | "timeout" | undefined> {
    if (this.#running) return this.#running;
    const current = this.#current;
    if (!current) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        current.catch(() => undefined),
        new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, ms)))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #acquire(ms: number): Promise<boolean> {
    if (this.#active < this.#limit || this.#over) {
      this.#active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter: _Waiter = {
        grant: () => resolve(true),
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          resolve(false);
        }, ms),
      };
      this.#waiting.push(waiter);
    });
  }

  /** Hands the slot to the next waiting call, or frees it. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.grant();
    } else this.#active--;
  }

  /** Stops whatever runs (the abort usually did already): the worker, or the one starting. */
  async shutdown(): Promise<void> {
    this.#finish(undefined);
    const current = this.#current;
    const worker = await current?.catch(() => undefined);
    await worker?.stop();
    if (this.#running && this.#running !== worker) await this.#running.stop();
    this.#running = undefined;
  }
}
