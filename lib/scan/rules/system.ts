/**
 * Category `system`: controlling the process and the machine: `fcntl`, `resource`, `os.fork`, `os.kill`,
 * `os.killpg`.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

const INSTEAD_SYSTEM =
  "the platform manages the plugin's process: declare what it needs in compute_profile (resource_type, actor_memory_gb, gpu_memory_gb) instead of changing limits, locks, signals or forking";

export const SYSTEM_RULES: RuleEntry[] = [
  rule("system-fcntl", "system", "fcntl", "`{name}` manipulates file descriptors and locks", INSTEAD_SYSTEM, {
    paths: ["fcntl"],
  }),
  rule(
    "system-resource",
    "system",
    "resource",
    "`{name}` changes the process's resource limits",
    INSTEAD_SYSTEM,
    {
      paths: ["resource"],
    },
  ),
  rule("system-fork", "system", "os.fork", "`{name}` forks the process", INSTEAD_SYSTEM, {
    paths: ["os.fork", "os.forkpty", "os.register_at_fork"],
  }),
  rule(
    "system-kill",
    "system",
    "os.kill / os.killpg",
    "`{name}` sends signals to processes",
    INSTEAD_SYSTEM,
    {
      paths: ["os.kill", "os.killpg"],
    },
  ),
];
