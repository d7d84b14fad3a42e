/**
 * Category `concurrency`: threads and processes started by the plugin (threading, _thread,
 * multiprocessing, concurrent.futures' executors, asyncio.to_thread, logging's QueueListener). The
 * platform runs plugins on Ray: parallelism is its job.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

const INSTEAD_CONCURRENCY =
  "use `shared.plugins.sdk.parallel_io` (or `concurrent_api_calls`) for concurrent I/O, or let Ray parallelise through the platform (`batch_size`, `max_concurrency` in compute_profile)";

/**
 * Standard library APIs that start threads or worker processes inside (reviewed against CPython 3.11's
 * sources; tests/scan/stdlib_inside_test.ts triggers each and sees the thread or process start).
 */
export const STDLIB_THREAD_APIS: readonly string[] = [
  "concurrent.futures.thread",
  "concurrent.futures.ThreadPoolExecutor",
  "asyncio.to_thread", // runs the function in the default executor's threads
  "logging.handlers.QueueListener", // start() starts a thread
];
export const STDLIB_PROCESS_POOL_APIS: readonly string[] = [
  "concurrent.futures.process",
  "concurrent.futures.ProcessPoolExecutor",
];

export const CONCURRENCY_RULES: RuleEntry[] = [
  rule("concurrency-threading", "concurrency", "threads", "`{name}` starts threads", INSTEAD_CONCURRENCY, {
    paths: [
      "threading",
      "_thread",
      "_dummy_thread",
      "dummy_threading",
      "_threading_local",
      ...STDLIB_THREAD_APIS,
    ],
  }),
  rule(
    "concurrency-multiprocessing",
    "concurrency",
    "processes for parallel work",
    "`{name}` starts worker processes",
    INSTEAD_CONCURRENCY,
    {
      paths: [
        "multiprocessing",
        "_multiprocessing",
        ...STDLIB_PROCESS_POOL_APIS,
      ],
    },
  ),
];
