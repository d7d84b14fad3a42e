/**
 * Clients written by someone else: Python's urllib runs the whole publish flow (create upload, PUT the file
 * to the upload URL exactly as to an S3 presigned URL, confirm, poll), and `curl -T` uploads as S3 users do.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";
import { createUpload, pluginArchive, startRegistry, waitFor } from "./_helpers.ts";

const PYTHON_CLIENT = String.raw`
import hashlib, json, os, sys, time, urllib.error, urllib.request

base, key, path, chunked = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "chunked"
api = base + "/v1/namespaces/default/plugins"
auth = {"Authorization": "Bearer " + key}

def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = dict(auth, **({"Content-Type": "application/json"} if data else {}))
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers)) as r:
        return r.status, json.load(r)

size = os.path.getsize(path)
digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
status, ticket = call("POST", api + "/uploads", {"name": "py_client", "version": "1.0.0", "size_bytes": size, "sha256": digest})
assert status == 201, status
headers = dict(ticket["headers"])
if not chunked:
    headers["Content-Length"] = str(size)   # what any S3 presigned PUT needs
with open(path, "rb") as f:
    request = urllib.request.Request(ticket["upload_url"], data=f, method=ticket["method"], headers=headers)
    try:
        with urllib.request.urlopen(request) as r:
            print("PUT", r.status)
    except urllib.error.HTTPError as e:
        print("PUT", e.code, e.read().decode())
        sys.exit(0)
status, record = call("POST", api + "/uploads/" + ticket["upload_id"] + "/confirm", {"sha256": digest})
print("CONFIRM", status, record["status"])
for _ in range(1200):
    status, doc = call("GET", api + "/" + record["plugin_id"] + "/status")
    if doc["status"] in ("ready", "failed"):
        break
    time.sleep(0.05)
print("FINAL", doc["status"], doc["error"])
`;

Deno.test("Python urllib publishes a plugin end to end; a chunked PUT is refused with 411", async () => {
  await using reg = await startRegistry();
  await using dir = await tempDir("mixpeek-generic-");
  const archive = await pluginArchive("py_client");
  const file = `${dir.path}/py_client.tar.gz`;
  await Deno.writeFile(file, archive.bytes);

  const chunked = await runProcess("python3", ["-c", PYTHON_CLIENT, reg.url, reg.key, file, "chunked"]);
  assertEquals(chunked.code, 0, chunked.stderr);
  assertStringIncludes(chunked.stdout, "PUT 411");
  assertStringIncludes(chunked.stdout, "<Code>MissingContentLength</Code>");

  const run = await runProcess("python3", ["-c", PYTHON_CLIENT, reg.url, reg.key, file, "sized"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stdout.trim().split("\n"), ["PUT 200", "CONFIRM 202 pending", "FINAL ready None"]);
});

Deno.test("curl -T uploads to the upload URL like to an S3 presigned URL", async () => {
  await using reg = await startRegistry();
  await using dir = await tempDir("mixpeek-generic-");
  const archive = await pluginArchive("curl_client");
  const file = `${dir.path}/curl_client.tar.gz`;
  await Deno.writeFile(file, archive.bytes);
  const ticket = (await createUpload(reg, "curl_client", "1.0.0", archive)).json;
  const headers = Object.entries(ticket.headers as Record<string, string>).flatMap((
    [k, v],
  ) => ["-H", `${k}: ${v}`]);
  const put = await runProcess("curl", [
    "-sS",
    "--fail-with-body",
    "-T",
    file,
    ...headers,
    ticket.upload_url,
  ]);
  assertEquals(put.code, 0, put.stdout + put.stderr);
  // Without the ticket's headers, curl gets S3's answer for an unsigned header.
  const bare = await runProcess("curl", ["-sS", "-w", "%{http_code}", "-T", file, ticket.upload_url]);
  assertStringIncludes(bare.stdout, "SignatureDoesNotMatch");
  assertStringIncludes(bare.stdout, "403");
  const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
    sha256: archive.sha256,
  });
  assertEquals(confirmed.status, 202);
  assertEquals((await waitFor(reg, confirmed.json.plugin_id)).status, "ready");
});
