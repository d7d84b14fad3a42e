/**
 * The registry's checks of an uploaded archive, run at confirm (the server-side half of publish, SPEC §9):
 * the client's checks are advice, these decide. Steps:
 * 1. the object is copied into a private folder under <data dir>/work, measured and hashed (sha256 for
 *    `code_hash`, MD5 to compare with the PUT's ETag on S3), in bounded memory;
 * 2. safe extraction (lib/pack/extract.ts: tar.gz or zip, no absolute paths, `..`, links or special files;
 *    Mixpeek's size and count limits, compression-ratio limit); the archive must be the format its upload
 *    named (the `s3_key` extension);
 * 3. the structure check and the security scan on the plugin root (the archive's single top-level folder,
 *    or the archive root when manifest.py is there);
 * 4. realtime = realtime.py at the plugin root.
 * Every problem is one line of `validation_errors` (file, line and what is wrong). The work folder is
 * removed afterwards, whatever happened.
 *
 * The ArchiveChecks seam is what the registry runs (lib/local/checks.ts binds the shared implementations);
 * more checks (the manifest's, the scanner's severities) plug in here.
 */
import { blockingFindings, nonBlockingFindings } from "../scan/policy.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { BlobStore } from "./blobs.ts";

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
  /** "warning" findings (the platform's non-strict mode) are reported but do not fail the upload. */
  severity?: "error" | "warning";
}

export interface LayoutProblem {
  path: string;
  message: string;
  line?: number;
}

/** The shared checks the registry re-runs (lib/pack/extract.ts, lib/plugin/layout.ts, lib/scan/scan.ts). */
export interface ArchiveChecks {
  /** Extracts the archive file (tar.gz or zip, by its first bytes) into the empty folder `dest`. */
  extract(
    archive: string,
    dest: string,
    limits?: Partial<ExtractLimits>,
  ): Promise<{ files: string[]; total_bytes: number; format: "tar.gz" | "zip" }>;
  checkLayout(root: string): Promise<LayoutProblem[]>;
  scanTree(root: string): Promise<{ findings: ScanFinding[] }>;
  /** Releases what the checks hold (the scanner's worker threads); called when the registry closes. */
  close?(): void;
}

export interface ArchiveVerdict {
  passed: boolean;
  validation_errors: string[];
  /** Warnings that did not fail the upload (scanner warnings). */
  warnings: string[];
  security_scan_passed: boolean;
  realtime: boolean;
  /** sha256 hex of the archive. */
  code_hash: string;
  md5: string;
  size: number;
}

export interface ValidateDeps {
  blobs: BlobStore;
  /** <data dir>/work */
  workDir: string;
  checks: ArchiveChecks;
  limits?: Partial<ExtractLimits>;
}

/** Findings and problems listed before "… and N more". */
const MAX_LISTED = 50;

export async function validateArchive(
  blobKey: string,
  expectedFormat: "tar.gz" | "zip",
  deps: ValidateDeps,
  signal: AbortSignal,
): Promise<ArchiveVerdict> {
  const work = join(deps.workDir, crypto.randomUUID());
  await Deno.mkdir(work, { recursive: true, mode: 0o700 });
  try {
    return await _validate(blobKey, expectedFormat, deps, work, signal);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

function _listed(lines: string[]): string[] {
  return lines.length > MAX_LISTED
    ? [...lines.slice(0, MAX_LISTED), `… and ${lines.length - MAX_LISTED} more`]
    : lines;
}

async function _validate(
  blobKey: string,
  expectedFormat: "tar.gz" | "zip",
  deps: ValidateDeps,
  work: string,
  signal: AbortSignal,
): Promise<ArchiveVerdict> {
  // 1. Copy the object into the work folder, hashing it; everything after reads the verified copy.
  const archive = join(work, "archive");
  const digest = await _copyHashed(await deps.blobs.open(blobKey, signal), archive, signal);
  const verdict: ArchiveVerdict = {
    passed: false,
    validation_errors: [],
    warnings: [],
    security_scan_passed: false,
    realtime: false,
    code_hash: digest.sha256,
    md5: digest.md5,
    size: digest.size,
  };
  signal.throwIfAborted();

  // 2. Safe extraction.
  const tree = join(work, "tree");
  let format: "tar.gz" | "zip";
  try {
    format = (await deps.checks.extract(archive, tree, deps.limits)).format;
  } catch (error) {
    verdict.validation_errors.push(`archive: ${(error as Error).message}`);
    return verdict;
  }
  if (format !== expectedFormat) {
    verdict.validation_errors.push(
      `archive: this upload asked for a .${expectedFormat} archive (see s3_key), but a .${format} arrived`,
    );
    return verdict;
  }
  signal.throwIfAborted();

  // 3. Structure and security scan on the plugin root.
  const root = await pluginRootOf(tree);
  const problems = await deps.checks.checkLayout(root);
  for (const p of problems) {
    verdict.validation_errors.push(`${p.path}${p.line ? `:${p.line}` : ""}: ${p.message}`);
  }
  signal.throwIfAborted();
  const report = await deps.checks.scanTree(root);
  const errors = blockingFindings(report);
  const line = (f: ScanFinding) =>
    `${f.file}:${f.line}:${f.column}: ${f.rule_id} (${f.category}): ${f.message}`;
  verdict.validation_errors.push(...errors.map((f) => `security: ${line(f)}`));
  verdict.warnings.push(...nonBlockingFindings(report).map(line));
  verdict.security_scan_passed = errors.length === 0;

  // 4. Realtime support.
  verdict.realtime = await Deno.stat(join(root, "realtime.py")).then((i) => i.isFile, () => false);
  verdict.validation_errors = _listed(verdict.validation_errors);
  verdict.passed = verdict.validation_errors.length === 0;
  return verdict;
}

/** The folder holding the plugin: the archive root, or its single top-level folder when files are nested. */
export async function pluginRootOf(tree: string): Promise<string> {
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
): Promise<{ sha256: string; md5: string; size: number }> {
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let size = 0;
  try {
    for await (const chunk of source) {
      signal.throwIfAborted();
      sha256.update(chunk);
      md5.update(chunk);
      size += chunk.length;
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    }
  } finally {
    file.close();
  }
  return { sha256: sha256.digest("hex"), md5: md5.digest("hex"), size };
}
