/**
 * Upload URLs for the disk backend, signed by the server itself like an S3 presigned URL: the query carries
 * `expires` (unix seconds) and `signature`, an HMAC-SHA256 over the method, upload id, size, sha256 and
 * expiry with a secret kept in the database. Changing any of them (or the id in the path) breaks the
 * signature; the URL carries no API key.
 */

const encoder = new TextEncoder();

export interface SignedFields {
  upload_id: string;
  size_bytes: number;
  sha256: string;
  /** Unix seconds. */
  expires: number;
}

export class UploadSigner {
  readonly #key: Promise<CryptoKey>;

  /** `secretHex`: at least 32 random bytes, hex-encoded. */
  constructor(secretHex: string) {
    const bytes = new Uint8Array(secretHex.match(/../g)!.map((h) => parseInt(h, 16)));
    this.#key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
  }

  static newSecret(): string {
    return _hex(crypto.getRandomValues(new Uint8Array(32)));
  }

  async sign(fields: SignedFields): Promise<string> {
    return _hex(new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, _payload(fields))));
  }

  /** Constant-time check (crypto.subtle.verify) of a hex signature. */
  async verify(fields: SignedFields, signatureHex: string): Promise<boolean> {
    if (!/^[0-9a-f]{64}$/.test(signatureHex)) return false;
    const signature = new Uint8Array(signatureHex.match(/../g)!.map((h) => parseInt(h, 16)));
    return await crypto.subtle.verify("HMAC", await this.#key, signature, _payload(fields));
  }

  /** The full upload URL for `baseUrl` (the server's own origin). */
  async url(baseUrl: string, fields: SignedFields): Promise<string> {
    const url = new URL(`/_uploads/${encodeURIComponent(fields.upload_id)}`, baseUrl);
    url.searchParams.set("expires", String(fields.expires));
    url.searchParams.set("signature", await this.sign(fields));
    return url.toString();
  }
}

function _payload(f: SignedFields): Uint8Array<ArrayBuffer> {
  return encoder.encode(["PUT", f.upload_id, String(f.size_bytes), f.sha256, String(f.expires)].join("\n"));
}

function _hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
