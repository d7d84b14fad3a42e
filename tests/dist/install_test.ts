/**
 * install.sh against a fake release on a loopback HTTP server (MIXPEEK_DOWNLOAD_URL): it asks for the asset
 * `deno task compile` names for this machine, installs it after checking SHA256SUMS, and refuses (exit 1,
 * nothing installed) when the checksum does not match or the platform has no asset.
 */
import { createHash } from "node:crypto";
import { assetName, hostTarget } from "../../scripts/compile.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { type CliResult, ROOT, tempDir } from "../helpers/cli.ts";
import { run } from "./_helpers.ts";

const isWindows = Deno.build.os === "windows";
const FAKE_BINARY = "#!/bin/sh\necho 0.1.0\n";

function _sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

interface Release extends AsyncDisposable {
  url: string;
  requests: string[];
}

/** Serves `files` under /releases/download/v0.1.0/ on 127.0.0.1. */
function _release(files: Record<string, string>): Release {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const name = path.replace(/^\/releases\/download\/v0\.1\.0\//, "");
    return name in files ? new Response(files[name]) : new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/releases/download/v0.1.0`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function _install(release: Release, dir: string, env: Record<string, string> = {}): Promise<CliResult> {
  return await run(["sh", `${ROOT}/install.sh`], {
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: `${dir}/home`,
      MIXPEEK_DOWNLOAD_URL: release.url,
      MIXPEEK_INSTALL_DIR: `${dir}/bin`,
      ...env,
    },
  });
}

Deno.test({
  name: "install.sh downloads this platform's binary, verifies SHA256SUMS and installs it",
  ignore: isWindows,
  async fn() {
    const asset = assetName(hostTarget());
    await using release = _release({
      [asset]: FAKE_BINARY,
      "SHA256SUMS": `${_sha256("other")}  mixpeek-other\n${_sha256(FAKE_BINARY)}  ${asset}\n`,
    });
    await using dir = await tempDir("mixpeek-install-");
    const r = await _install(release, dir.path);
    assertEquals(r.code, 0, r.stderr);
    const installed = `${dir.path}/bin/mixpeek`;
    assertEquals(r.stdout.trim(), installed);
    assertEquals(await Deno.readTextFile(installed), FAKE_BINARY);
    assert(((await Deno.stat(installed)).mode! & 0o111) !== 0, "not executable");
    assertStringIncludes(r.stderr, `sha256 ${_sha256(FAKE_BINARY)}`);
    assertStringIncludes(r.stderr, "add " + `${dir.path}/bin` + " to your PATH");
    assertEquals(
      release.requests.sort(),
      [`/releases/download/v0.1.0/${asset}`, "/releases/download/v0.1.0/SHA256SUMS"].sort(),
    );
    assertEquals((await Array.fromAsync(Deno.readDir(`${dir.path}/bin`))).map((e) => e.name), ["mixpeek"]);

    // Upgrading in place replaces the binary.
    const again = await _install(release, dir.path, { PATH: `${dir.path}/bin:${Deno.env.get("PATH")}` });
    assertEquals(again.code, 0, again.stderr);
    assert(!again.stderr.includes("to your PATH"), again.stderr);
  },
});

Deno.test({
  name: "install.sh refuses a binary whose checksum does not match, and installs nothing",
  ignore: isWindows,
  async fn() {
    const asset = "mixpeek-x86_64-unknown-linux-gnu";
    await using release = _release({
      [asset]: FAKE_BINARY + "tampered\n",
      "SHA256SUMS": `${_sha256(FAKE_BINARY)}  ${asset}\n`,
    });
    await using dir = await tempDir("mixpeek-install-");
    await Deno.mkdir(`${dir.path}/bin`);
    await Deno.writeTextFile(`${dir.path}/bin/mixpeek`, "the old one\n");
    const r = await _install(release, dir.path, { MIXPEEK_TARGET: "x86_64-unknown-linux-gnu" });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `checksum mismatch for ${asset}: expected ${_sha256(FAKE_BINARY)}`);
    assertStringIncludes(r.stderr, "nothing was installed");
    assertEquals(await Deno.readTextFile(`${dir.path}/bin/mixpeek`), "the old one\n");
    assertEquals((await Array.fromAsync(Deno.readDir(`${dir.path}/bin`))).map((e) => e.name), ["mixpeek"]);
  },
});

Deno.test({
  name: "install.sh: a platform without an asset, or SHA256SUMS without its line, is a clear failure",
  ignore: isWindows,
  async fn() {
    await using release = _release({
      "SHA256SUMS": `${_sha256(FAKE_BINARY)}  mixpeek-aarch64-apple-darwin\n`,
    });
    await using dir = await tempDir("mixpeek-install-");
    const missing = await _install(release, dir.path, { MIXPEEK_TARGET: "x86_64-pc-windows-msvc" });
    assertEquals(missing.code, 1, missing.stderr);
    assertStringIncludes(missing.stderr, "cannot download");
    assertStringIncludes(missing.stderr, "mixpeek-x86_64-pc-windows-msvc.exe");

    await using unlisted = _release({ "mixpeek-aarch64-apple-darwin": FAKE_BINARY, "SHA256SUMS": "\n" });
    const noLine = await _install(unlisted, dir.path, { MIXPEEK_TARGET: "aarch64-apple-darwin" });
    assertEquals(noLine.code, 1, noLine.stderr);
    assertStringIncludes(noLine.stderr, "SHA256SUMS has no line for mixpeek-aarch64-apple-darwin");
    assertEquals(await Deno.stat(`${dir.path}/bin`).catch(() => null), null);
  },
});
