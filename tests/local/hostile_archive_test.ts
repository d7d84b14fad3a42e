/**
 * The registry under a hostile upload (issue 14): a 500 MB archive of huge `.py` files (stored in a zip, so
 * the compression-ratio guard does not stop it before the scanner) is uploaded to a real `mixpeek local`
 * and confirmed. The registry extracts, checks and scans it on a worker thread (lib/local/checks.ts):
 * `/healthz` answers within 200 ms throughout, beyond what an idle control process took in the same sample
 * (tests/helpers/responsiveness.ts: a pause of the whole machine is not the registry's), the scan
 * adds less than 300 MB to the registry's memory (VmHWM after the confirm minus the peak before it, both from
 * /proc: the registry's own ~90 MiB are not the scanner's), and the upload is rejected with the scanner's
 * findings, not accepted or crashed.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, MAIN, PERMISSIONS, runProcess, tempDir } from "../helpers/cli.ts";
import { peakRssMiB, writeHostileTree } from "../helpers/hostile_tree.ts";
import { startLocalProcess } from "../helpers/local_process.ts";
import { type Sample, startControl, summarize } from "../helpers/responsiveness.ts";

/** Python's zipfile with ZIP_STORED: the archive is as large as the tree, so no ratio guard trips. */
const ZIP_STORED = `
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
top = os.path.basename(root)
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(folder, name)
            z.write(path, os.path.join(top, os.path.relpath(path, root)))
`;

Deno.test({
  name:
    "a 500 MB hostile upload: the registry stays responsive (/healthz < 200 ms); the scan adds < 300 MB RSS",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("mixpeek-hostile-upload-");
    const root = `${dir.path}/hostile_plugin`;
    const total = await writeHostileTree(root);
    assert(total > 495e6 && total < 500 * 1024 * 1024, `${total} bytes`);
    const archive = `${dir.path}/hostile.zip`;
    const zipped = await runProcess("python3", ["-c", ZIP_STORED, root, archive]);
    assertEquals(zipped.code, 0, zipped.stderr);
    await Deno.remove(root, { recursive: true }); // only the archive is needed from here on
    const size = (await Deno.stat(archive)).size;

    await Deno.mkdir(`${dir.path}/home`);
    const env = await baseEnv(`${dir.path}/home`);
    await using registry = await startLocalProcess(
      [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN],
      `${dir.path}/data`,
      env,
      ["--archive-format", "zip"],
    );
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${registry.url}/v1/namespaces/default${path}`, {
        method,
        headers: { authorization: `Bearer ${registry.key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() };
    };
    const ticket = await api("POST", "/plugins/uploads", {
      name: "hostile_plugin",
      version: "1.0.0",
      file_size_bytes: size,
    });
    assertEquals(ticket.status, 200, JSON.stringify(ticket.body));
    const put = await runProcess("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-D",
      "-",
      "-T",
      archive,
      "-H",
      "Content-Type: application/zip",
      ticket.body.presigned_url,
    ]);
    assertEquals(put.code, 0, put.stderr);
    const etag = /etag:\s*"?([^"\r\n]+)"?/i.exec(put.stdout)?.[1];
    assert(etag, put.stdout);

    await using control = await startControl();
    const healthz = `${registry.url}/healthz`;
    await control.sample(healthz); // warm
    const beforeConfirm = peakRssMiB(registry.pid); // after the 500 MB PUT
    let answer: { status: number; body: Record<string, unknown> } | undefined;
    const confirmed = api("POST", `/plugins/uploads/${ticket.body.upload_id}/confirm`, {
      etag,
      file_size_bytes: size,
    }).then((a) => answer = a);
    const samples: Sample[] = [];
    while (answer === undefined) {
      samples.push(await control.sample(healthz));
      await Promise.race([confirmed, new Promise((r) => setTimeout(r, 25))]);
    }
    const peak = peakRssMiB(registry.pid);
    const { slowest, excess, controlAtSlowest } = summarize(samples);
    const timing =
      `slowest /healthz ${slowest.toFixed(1)} ms (the idle control ${controlAtSlowest.toFixed(1)} ms ` +
      `in that sample); largest excess over the control ${excess.toFixed(1)} ms`;
    console.log(
      `hostile upload of ${(size / 1e6).toFixed(0)} MB: ${samples.length} /healthz answers, ${timing}; ` +
        `registry peak RSS ${beforeConfirm.toFixed(0)} MiB before the confirm, ${peak.toFixed(0)} MiB after`,
    );
    assert(samples.length >= 5, `only ${samples.length} health checks during the confirm`);
    // The registry's own delay: a pause of the whole machine delays the control as much (see the helper).
    assert(excess < 200, timing);
    assert(peak - beforeConfirm < 300, `the confirm took the registry from ${beforeConfirm} to ${peak} MiB`);
    assertEquals(answer.status, 200, JSON.stringify(answer.body));
    assertEquals(answer.body.success, false);
    const errors = (answer.body.validation_errors as string[]).join("\n");
    assertStringIncludes(errors, "source-too-large");
  },
});
