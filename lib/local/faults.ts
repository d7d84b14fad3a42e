/**
 * Fault injection for reliability tests of clients (retries, timeouts, resumable publish). Off unless asked:
 * `mixpeek local --faults FILE` loads rules at start; `--fault-admin` also enables the `/_faults` admin route
 * (GET lists the rules with what is left of them, POST adds rules with the same body as the file, DELETE
 * clears them; it needs the API key like every API route).
 *
 * Format (the file, or the POST /_faults body; a bare array of rules is accepted too):
 *
 *   { "faults": [
 *     { "method": "PUT",  "path": "/_uploads/*", "fault": "503", "times": 2 },
 *     { "method": "POST", "path": "/v1/namespaces/*\/plugins/uploads", "fault": "429", "retry_after": 3 },
 *     { "method": "GET",  "path": "/v1/namespaces/*\/plugins/*\/status", "fault": "slow", "delay_ms": 2000, "times": 0 },
 *     { "method": "PUT",  "path": "/_uploads/*", "fault": "drop", "after_bytes": 65536 },
 *     { "method": "GET",  "path": "/v1/namespaces/*\/plugins", "fault": "hang" },
 *     { "method": "POST", "path": "/v1/namespaces/*\/plugins/uploads", "fault": "expire" }
 *   ] }
 *
 * (In the paths above, `*\/` stands for `*` followed by `/`: escaped only because this is a comment.)
 *
 * Fields of a rule:
 * - `method`: HTTP method, or "*" (the default) for any.
 * - `path`: the URL path (no query) as a glob: `*` matches one path segment, `**` any number of segments.
 *   Any path of the API (`/v1/namespaces/{ns}/plugins…`, `/v1/plugins…`, the extractor lists), and the disk
 *   backend's upload route `/_uploads/{upload_id}` (PUT). `/_faults` itself is never faulted.
 * - `fault`: what happens instead of the normal answer:
 *   - "500" / "503": that status with an ErrorResponse of type `InternalServerError` /
 *     `ServiceUnavailableError` (S3-style XML InternalError / SlowDown on the upload route); `retry_after`
 *     adds a Retry-After header.
 *   - "429": 429 `RateLimitError` (XML TooManyRequests on the upload route) with `Retry-After: retry_after`
 *     (seconds, default 1).
 *   - "drop": reads `after_bytes` of the request body (default: half its Content-Length, else 0), then sends
 *     the status line with `status` (default 200) and a Content-Length the body never reaches, and resets the
 *     connection mid-body. Only a client that reads the whole response notices: it must treat that as a
 *     network error, whatever the status said.
 *   - "slow": waits `delay_ms` (default 1000) and then answers normally.
 *   - "hang": never answers (and stops reading the request body) until the server stops; the client has to
 *     time out.
 *   - "expire": on POST …/plugins/uploads (namespace or organisation), the presigned URL is already expired
 *     (both backends); on the upload route, 403 AccessDenied "Request has expired". Ignored (and not counted)
 *     on other routes.
 * - `times`: how many matching requests get the fault (default 1); 0 means every one. Rules are tried in
 *   order; the first one that matches and has uses left fires.
 */
import { UsageError } from "../errors.ts";

export const FAULT_KINDS = ["500", "503", "429", "drop", "slow", "hang", "expire"] as const;
export type FaultKind = typeof FAULT_KINDS[number];

export interface FaultRule {
  method: string;
  path: string;
  fault: FaultKind;
  times: number;
  retry_after?: number;
  delay_ms?: number;
  after_bytes?: number;
  status?: number;
}

/** A rule as written in a file or passed to startLocalRegistry: `method` defaults to "*", `times` to 1. */
export type FaultRuleInput = Omit<FaultRule, "method" | "times" | "fault"> & {
  method?: string;
  times?: number;
  fault: FaultKind | 500 | 503 | 429;
};

/** A rule with its counters, as GET /_faults shows it. */
export interface FaultState extends FaultRule {
  /** Uses left (null: unlimited). */
  remaining: number | null;
  fired: number;
}

const RULE_KEYS = new Set([
  "method",
  "path",
  "fault",
  "times",
  "retry_after",
  "delay_ms",
  "after_bytes",
  "status",
]);

function _nonNegativeInteger(value: unknown, where: string, key: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(`${where}: "${key}" must be a non-negative integer`);
  }
  return value;
}

/** Validates a faults document (see the module doc); errors name the rule and the field. */
export function parseFaults(document: unknown, source: string): FaultRule[] {
  const list = Array.isArray(document) ? document : document !== null && typeof document === "object" &&
      Array.isArray((document as { faults?: unknown }).faults)
    ? (document as { faults: unknown[] }).faults
    : undefined;
  if (!list) throw new UsageError(`${source}: expected {"faults": [ … ]} or an array of fault rules`);
  return list.map((raw, index) => {
    const where = `${source}: fault rule ${index + 1}`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new UsageError(`${where} is not an object`);
    }
    const rule = raw as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (!RULE_KEYS.has(key)) {
        throw new UsageError(`${where}: unknown field "${key}" (known: ${[...RULE_KEYS].join(", ")})`);
      }
    }
    const fault = String(rule.fault ?? "");
    if (!(FAULT_KINDS as readonly string[]).includes(fault)) {
      throw new UsageError(`${where}: "fault" must be one of ${FAULT_KINDS.join(", ")}`);
    }
    if (typeof rule.path !== "string" || !rule.path.startsWith("/")) {
      throw new UsageError(`${where}: "path" must be a URL path starting with "/" (globs: * and **)`);
    }
    const method = rule.method === undefined ? "*" : rule.method;
    if (typeof method !== "string" || !/^(\*|[A-Za-z]+)$/.test(method)) {
      throw new UsageError(`${where}: "method" must be an HTTP method or "*"`);
    }
    const status = _nonNegativeInteger(rule.status, where, "status");
    if (status !== undefined && (status < 100 || status > 599)) {
      throw new UsageError(`${where}: "status" must be an HTTP status (100–599)`);
    }
    return {
      method: method.toUpperCase(),
      path: rule.path,
      fault: fault as FaultKind,
      times: _nonNegativeInteger(rule.times, where, "times") ?? 1,
      retry_after: _nonNegativeInteger(rule.retry_after, where, "retry_after"),
      delay_ms: _nonNegativeInteger(rule.delay_ms, where, "delay_ms"),
      after_bytes: _nonNegativeInteger(rule.after_bytes, where, "after_bytes"),
      status,
    };
  });
}

/** Reads and validates a faults file. */
export async function loadFaultsFile(path: string): Promise<FaultRule[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read the faults file ${path}: ${(error as Error).message}`, {
      hint: "pass --faults with a JSON file (format: see lib/local/faults.ts)",
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseFaults(document, path);
}

function _globToRegExp(glob: string): RegExp {
  const parts = glob.split(/(\*\*|\*)/).map((part) =>
    part === "**" ? ".*" : part === "*" ? "[^/]+" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${parts.join("")}$`);
}

interface _Armed {
  rule: FaultRule;
  pattern: RegExp;
  remaining: number | null;
  fired: number;
}

/** The armed rules of one server (no global state: each server has its own). */
export class FaultInjector {
  #rules: _Armed[] = [];

  constructor(rules: FaultRule[] = []) {
    this.add(rules);
  }

  add(rules: FaultRule[]): void {
    for (const rule of rules) {
      this.#rules.push({
        rule,
        pattern: _globToRegExp(rule.path),
        remaining: rule.times === 0 ? null : rule.times,
        fired: 0,
      });
    }
  }

  clear(): void {
    this.#rules = [];
  }

  /** Whether a rule may still fire. */
  get armed(): boolean {
    return this.#rules.some((a) => a.remaining !== 0);
  }

  list(): FaultState[] {
    return this.#rules.map((a) => ({ ...a.rule, remaining: a.remaining, fired: a.fired }));
  }

  /** The fault for this request, consuming one use; `expireApplies`: whether "expire" means anything here. */
  take(method: string, path: string, expireApplies: boolean): FaultRule | undefined {
    for (const armed of this.#rules) {
      if (armed.remaining === 0) continue;
      if (armed.rule.method !== "*" && armed.rule.method !== method.toUpperCase()) continue;
      if (!armed.pattern.test(path)) continue;
      if (armed.rule.fault === "expire" && !expireApplies) continue;
      if (armed.remaining !== null) armed.remaining--;
      armed.fired++;
      return armed.rule;
    }
    return undefined;
  }
}
