/**
 * The secret guard: files that must not leave the author's machine by accident.
 *
 * By name (checked on the archive path and, for a symlink, on its target's path too):
 * - environment files: `.env`, `.env.*`, `*.env`, `.envrc` (templates `.env.example`, `.env.sample`,
 *   `.env.template` are allowed; their content is still scanned);
 * - private keys: `*.pem`, `*.key`, `*.p12`, `*.pfx`, `*.ppk`, `*.jks`, `*.keystore`, `id_rsa*`, `id_dsa*`,
 *   `id_ecdsa*`, `id_ed25519*` (not `*.pub`);
 * - registry / tool credentials: `.npmrc`, `.pypirc`, `.netrc`, `_netrc`, `.git-credentials`, `.dockercfg`,
 *   `.docker/config.json`;
 * - cloud credentials: `.aws/credentials`, `.aws/config`, `credentials.json`, `client_secret*.json`,
 *   `service-account*.json`, `service_account*.json`, `application_default_credentials.json`, anything under
 *   `gcloud/` or `.azure/`, `.boto`, `.s3cfg`, `.kube/config`, `kubeconfig`, `.terraformrc`, `terraform.rc`.
 *
 * By content, in text files (a file with a NUL byte in its first 8,000 bytes is binary and not read, as git
 * decides): AWS access key ids (`AKIA…`, `ASIA…`; AWS's documented `…EXAMPLE` keys are allowed) and
 * `aws_secret_access_key = …` lines, PEM/OpenSSH private-key blocks, `sk-…` API keys (OpenAI, Anthropic),
 * `sk_live_…`/`sk_test_…`/`rk_…` keys (Mixpeek's own keys and Stripe's), other `sk_…` Mixpeek keys, the
 * `mxp_…` keys `mixpeek local` hands out, GitHub, Slack, Google API and Hugging Face tokens.
 *
 * The content rules apply to file names too: a key pasted into a file name (`sk_live_….txt`, a folder named
 * after a token) would leave in the archive's listing even if the file were empty.
 *
 * @module
 */

interface NameRule {
  kind: string;
  test: (path: string, base: string) => boolean;
}

const ENV_TEMPLATES = new Set([".env.example", ".env.sample", ".env.template"]);
const KEY_EXTENSIONS = /\.(pem|key|p12|pfx|ppk|jks|keystore)$/i;
const SSH_KEY = /^id_(rsa|dsa|ecdsa|ed25519)(?!.*\.pub$)/;
const REGISTRY_FILES = new Set([".npmrc", ".pypirc", ".netrc", "_netrc", ".git-credentials", ".dockercfg"]);
const CLOUD_FILES = new Set([
  "credentials.json",
  "application_default_credentials.json",
  ".boto",
  ".s3cfg",
  "kubeconfig",
  ".terraformrc",
  "terraform.rc",
]);

function _under(path: string, folder: string): boolean {
  return path.startsWith(`${folder}/`) || path.includes(`/${folder}/`);
}

function _is(path: string, suffix: string): boolean {
  return path === suffix || path.endsWith(`/${suffix}`);
}

const NAME_RULES: NameRule[] = [
  {
    kind: "environment file (may hold secrets)",
    test: (_p, base) =>
      !ENV_TEMPLATES.has(base) &&
      (base === ".env" || base.startsWith(".env.") || base === ".envrc" ||
        (base.endsWith(".env") && base !== ".env")),
  },
  { kind: "private key file", test: (_p, base) => KEY_EXTENSIONS.test(base) || SSH_KEY.test(base) },
  {
    kind: "registry credentials file",
    test: (p, base) => REGISTRY_FILES.has(base) || _is(p, ".docker/config.json"),
  },
  {
    kind: "cloud credentials file",
    test: (p, base) =>
      CLOUD_FILES.has(base) || _is(p, ".aws/credentials") || _is(p, ".aws/config") ||
      _is(p, ".kube/config") ||
      /^(client_secret|service[-_]account).*\.json$/i.test(base) || _under(p, "gcloud") ||
      _under(p, ".azure"),
  },
];

/** The kind of secret a file's path suggests, or a key written into the path itself; else undefined. */
export function secretByName(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const byRule = NAME_RULES.find((rule) => rule.test(path, base))?.kind;
  if (byRule) return byRule;
  const inName = findSecretInText(path);
  return inName ? `${inName.kind} in the file name` : undefined;
}

interface ContentRule {
  kind: string;
  regex: RegExp;
  /** Extra check on the matched text (to skip documented examples and placeholders). */
  accept?: (match: string) => boolean;
}

export const CONTENT_RULES: readonly ContentRule[] = [
  {
    kind: "AWS access key id",
    regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
    accept: (m) => !m.endsWith("EXAMPLE"),
  },
  {
    kind: "AWS secret access key",
    regex: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
    accept: (m) => !m.endsWith("EXAMPLEKEY"),
  },
  { kind: "private key block", regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  {
    kind: "API key (sk-…)",
    regex: /\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
    // Real keys are random: they contain digits. "sk-your-key-goes-here-please" is a placeholder.
    accept: (m) => /[0-9]/.test(m),
  },
  {
    // Mixpeek's keys are spelled sk_live_…/sk_test_… in its docs, as Stripe's are; test keys are secrets too.
    kind: "secret key (sk_live_/sk_test_…)",
    regex: /(?<![A-Za-z0-9])[rs]k_(?:live|test)_[A-Za-z0-9]{12,}/g,
    accept: (m) => /[0-9]/.test(m),
  },
  {
    kind: "Mixpeek API key (sk_…)",
    regex: /(?<![A-Za-z0-9])sk_(?!live_|test_)[A-Za-z0-9]{16,}/g,
    accept: (m) => /[0-9]/.test(m) && /[a-zA-Z]/.test(m.slice(3)),
  },
  {
    // `mixpeek local` prints mxp_local_<32 hex>; tests and examples use other mxp_… spellings.
    kind: "Mixpeek API key (mxp_…)",
    regex: /(?<![A-Za-z0-9])mxp_[A-Za-z0-9_]{16,}/g,
    accept: (m) => /[0-9]/.test(m),
  },
  { kind: "GitHub token", regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b/g },
  { kind: "Slack token", regex: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  { kind: "Google API key", regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { kind: "Hugging Face token", regex: /\bhf_[A-Za-z]{34}\b/g },
];

/** Bytes git reads to decide a file is binary. */
export const BINARY_SNIFF_BYTES = 8000;
/** The read size of the scan; callers scanning many files pass one reusable buffer of this size. */
export const SCAN_BUFFER_BYTES = 64 * 1024;
/** Characters carried over between chunks so a key split across two reads is still found. */
const OVERLAP = 512;

/** Finds the first secret-looking string in `text`, with the index where it starts. */
export function findSecretInText(text: string): { kind: string; index: number } | undefined {
  let best: { kind: string; index: number } | undefined;
  for (const rule of CONTENT_RULES) {
    rule.regex.lastIndex = 0;
    for (let m = rule.regex.exec(text); m !== null; m = rule.regex.exec(text)) {
      if (rule.accept && !rule.accept(m[0])) continue;
      if (!best || m.index < best.index) best = { kind: rule.kind, index: m.index };
      break;
    }
  }
  return best;
}

function _countNewlines(text: string, end = text.length): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * Reads a file and reports the first secret-looking string in it (kind and line), or undefined. Binary files
 * are not read past their first 8,000 bytes. Memory stays at one 64 KiB `buffer` (reused when given).
 */
export async function scanFileForSecrets(
  absPath: string,
  buffer: Uint8Array = new Uint8Array(SCAN_BUFFER_BYTES),
): Promise<{ kind: string; line: number } | undefined> {
  using file = await Deno.open(absPath, { read: true });
  const decoder = new TextDecoder();
  let carry = "";
  let linesBeforeCarry = 0;
  let first = true;
  for (;;) {
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) return undefined;
    const bytes = buffer.subarray(0, filled);
    if (first && bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return undefined;
    first = false;
    const text = carry + decoder.decode(bytes, { stream: true });
    const hit = findSecretInText(text);
    if (hit) return { kind: hit.kind, line: linesBeforeCarry + _countNewlines(text, hit.index) + 1 };
    if (filled < buffer.length) return undefined;
    const keep = text.slice(-OVERLAP);
    linesBeforeCarry += _countNewlines(text) - _countNewlines(keep);
    carry = keep;
  }
}
