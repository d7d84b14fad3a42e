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

export const CONCURRENCY_RULES: RuleEntry[] = [
  rule("concurrency-threading", "concurrency", "threads", "`{name}` starts threads", INSTEAD_CONCURRENCY, {
    paths: [
      "threading",
      "_thread",
      "_dummy_thread",
      "dummy_threading",
      "_threading_local",
      "concurrent.futures.thread",
      "concurrent.futures.ThreadPoolExecutor",
      "asyncio.to_thread", // runs the function in the default executor's threads
      "logging.handlers.QueueListener", // start() starts a thread
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
        "concurrent.futures.process",
        "concurrent.futures.ProcessPoolExecutor",
      ],
    },
  ),
];
