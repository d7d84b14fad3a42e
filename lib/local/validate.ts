/**
 * Re-validation of an uploaded archive, the server-side half of publish (SPEC.md §6): the client's checks are
 * advice, these decide. Steps, each failing with a reason a plugin author can act on:
 * 1. the object exists with the declared size and sha256 (hashed while it is read, in bounded memory);
 * 2. safe extraction into a private folder under <data dir>/work (no absolute paths, `..`, links or special
 *    files; size, count and compression-ratio limits);
 * 3. the structure check (manifest.py, pipeline.py, …) and the security scan, on the extracted files;
 * 4. realtime = realtime.py at the plugin root.
 * The work folder is removed afterwards, whatever happened.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { BlobStore } from "./blobs.ts";
import type { PluginRow } from "./store.ts";

export interface ExtractLimits {
  max_total_bytes: number;
  max_files: number;
  max_file_bytes: number;
  max_compression_ratio: number;
}

export interface ScanFinding {
  file: string;
  line: number;
  column: number;
  rule_id: string;
  category: string;
  message: string;
}

/** The shared checks the registry re-runs (lib/pack/extract.ts, lib/plugin/layout.ts, lib/scan/scan.ts). */
export interface ArchiveChecks {
  extract(
    source: ReadableStream<Uint8Array>,
    dest: string,
    limits?: Partial<ExtractLimits>,
  ): Promise<{ files: string[]; total_bytes: number }>;
  checkLayout(root: string): Promise<{ path: string; message: string; line?: number }[]>;
  scanTree(root: string): Promise<{ findings: ScanFinding[] }>;
}

export type ValidationResult = { ok: true; realtime: boolean } | { ok: false; error: string };

export interface ValidateDeps {
  blobs: BlobStore;
  /** <data dir>/work */
  workDir: string;
  checks: ArchiveChecks;
  limits?: Partial<ExtractLimits>;
}

/** Findings and problems listed in an error message before "… and N more". */
const MAX_LISTED = 5;

export async function validateArchive(
  plugin: PluginRow,
  deps: ValidateDeps,
  signal: AbortSignal,
): Promise<ValidationResult> {
  const work = join(deps.workDir, plugin.plugin_id);
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await Deno.mkdir(work, { recursive: true, mode: 0o700 });
  try {
    return await _validate(plugin, deps, work, signal);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

async function _validate(
  plugin: PluginRow,
  deps: ValidateDeps,
  work: string,
  signal: AbortSignal,
): Promise<ValidationResult> {
  if (!plugin.blob_key || !plugin.sha256 || plugin.size_bytes === null) {
    return { ok: false, error: "the plugin has no archive" };
  }
  // 1. Copy the object into the work folder, hashing it; everything after reads the verified copy.
  const archive = join(work, "archive.tar.gz");
  const stored = await deps.blobs.size(plugin.blob_key);
  if (stored === undefined) {
    return { ok: false, error: "the uploaded archive is missing from the blob store" };
  }
  if (stored !== plugin.size_bytes) {
    return {
      ok: false,
      error: `the uploaded archive is ${stored} bytes, but the upload declared ${plugin.size_bytes}`,
    };
  }
  const digest = await _copyHashed(await deps.blobs.open(plugin.blob_key, signal), archive, signal);
  if (digest.size !== plugin.size_bytes || digest.sha256 !== plugin.sha256) {
    return {
      ok: false,
      error:
        `the uploaded archive (sha256 ${digest.sha256}, ${digest.size} bytes) does not match the upload's ` +
        `declared sha256 ${plugin.sha256} (${plugin.size_bytes} bytes)`,
    };
  }
  signal.throwIfAborted();

  // 2. Safe extraction.
  const tree = join(work, "tree");
  await Deno.mkdir(tree, { mode: 0o700 });
  try {
    const source = (await Deno.open(archive, { read: true })).readable;
    await deps.checks.extract(source, tree, deps.limits);
  } catch (error) {
    return { ok: false, error: `the archive was refused: ${(error as Error).message}` };
  }
  signal.throwIfAborted();

  // 3. Structure and security scan on the plugin root.
  const root = await _pluginRoot(tree);
  const problems = await deps.checks.checkLayout(root);
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED).map((p) =>
      `${p.path}${p.line ? `:${p.line}` : ""}: ${p.message}`
    );
    return { ok: false, error: `invalid plugin structure: ${listed.join("; ")}${_more(problems.length)}` };
  }
  signal.throwIfAborted();
  const report = await deps.checks.scanTree(root);
  if (report.findings.length > 0) {
    const listed = report.findings.slice(0, MAX_LISTED).map((f) =>
      `${f.file}:${f.line}:${f.column} ${f.rule_id} (${f.category}): ${f.message}`
    );
    const count = report.findings.length;
    return {
      ok: false,
      error: `security scan rejected the plugin (${count} finding${count === 1 ? "" : "s"}): ` +
        `${listed.join("; ")}${_more(count)}`,
    };
  }

  // 4. Realtime support.
  const realtime = await Deno.stat(join(root, "realtime.py")).then((i) => i.isFile, () => false);
  return { ok: true, realtime };
}

function _more(count: number): string {
  return count > MAX_LISTED ? `; … and ${count - MAX_LISTED} more` : "";
}

/** The folder holding the plugin: the archive root, or its single top-level folder when files are nested. */
async function _pluginRoot(tree: string): Promise<string> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(tree)) entries.push(entry);
  if (entries.some((e) => e.name === "manifest.py")) return tree;
  if (entries.length === 1 && entries[0].isDirectory) return join(tree, entries[0].name);
  return tree;
}

async function _copyHashed(
  source: ReadableStream<Uint8Array>,
  path: string,
  signal: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let size = 0;
  try {
    for await (const chunk of source) {
      signal.throwIfAborted();
      hash.update(chunk);
      size += chunk.length;
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    }
  } finally {
    file.close();
  }
  return { sha256: hash.digest("hex"), size };
}
