/**
 * Upload URLs for the disk backend, signed by the server itself like an S3 presigned URL: the query carries
 * `expires` (unix seconds) and `signature`, an HMAC-SHA256 over the method, upload id, the one signed header
 * (Content-Type) and expiry, with a secret kept in the database. Changing any of them (or the id in the path)
 * breaks the signature; the URL carries no API key.
 */

const encoder = new TextEncoder();

export interface SignedFields {
  upload_id: string;
  content_type: string;
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

  /** A download URL for `path` (the archive route) on `baseUrl`, valid until `expires` (unix seconds). */
  async downloadUrl(baseUrl: string, path: string, expires: number): Promise<string> {
    const url = new URL(path, baseUrl);
    url.searchParams.set("expires", String(expires));
    url.searchParams.set("signature", await this.#hmac(["GET", path, String(expires)].join("\n")));
    return url.toString();
  }

  async verifyDownload(path: string, expires: number, signatureHex: string): Promise<boolean> {
    if (!/^[0-9a-f]{64}$/.test(signatureHex)) return false;
    const signature = new Uint8Array(signatureHex.match(/../g)!.map((h) => parseInt(h, 16)));
    const payload = encoder.encode(["GET", path, String(expires)].join("\n"));
    return await crypto.subtle.verify("HMAC", await this.#key, signature, payload);
  }

  async #hmac(text: string): Promise<string> {
    return _hex(new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(text))));
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
  return encoder.encode(["PUT", f.upload_id, f.content_type.toLowerCase(), String(f.expires)].join("\n"));
}

function _hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
