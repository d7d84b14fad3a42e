/**
 * Clients that are not ours. A Python urllib client written from SPEC §9's description of Mixpeek's original
 * CLI (the one in Mixpeek's Python SDK): it sends `{name, version, description, file_size_bytes}` and accepts
 * only a 200, PUTs the whole archive with no header but `Content-Type: application/gzip`, strips the quotes
 * from the ETag and confirms with `{etag, file_size_bytes}` (only 200 with `success: true` will do), then
 * lists with `GET /v1/collections/features/extractors` and `X-Namespace`. And `curl -T`, as S3 users upload.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";
import { confirm, createUpload, pluginArchive, startRegistry } from "./_helpers.ts";

const ORIGINAL_CLI = String.raw`
import json, os, sys, urllib.error, urllib.request

base, key, path, name, version, mode = sys.argv[1:7]
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}

def call(method, url, body=None, extra=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers, **(extra or {})))
    with urllib.request.urlopen(request) as r:
        if r.status != 200:
            sys.exit("expected 200, got %d" % r.status)
        return json.load(r)

size = os.path.getsize(path)
ticket = call("POST", base + "/v1/namespaces/default/plugins/uploads",
              {"name": name, "version": version, "description": "published by the original CLI", "file_size_bytes": size})
with open(path, "rb") as f:
    data = f.read() if mode == "whole" else f   # a file object makes urllib send it chunked
    put = urllib.request.Request(ticket["presigned_url"], data=data, method="PUT",
                                 headers={"Content-Type": "application/gzip"})
    try:
        with urllib.request.urlopen(put) as r:
            etag = r.headers["ETag"].strip('"')
    except urllib.error.HTTPError as e:
        print("PUT", e.code, e.read().decode())
        sys.exit(0)
result = call("POST", base + "/v1/namespaces/default/plugins/uploads/" + ticket["upload_id"] + "/confirm",
              {"etag": etag, "file_size_bytes": size})
if not result["success"]:
    sys.exit("confirm failed: %s" % result.get("validation_errors"))
print("PUBLISHED", result["plugin_id"], result["feature_uri"])
listed = call("GET", base + "/v1/collections/features/extractors", extra={"X-Namespace": "default"})
assert isinstance(listed, list), listed
for e in listed:
    if e["source"] == "custom":
        print("LISTED", e["feature_extractor_name"], e["version"], e["source"], e["description"])
`;

Deno.test("Mixpeek's original CLI (Python urllib) publishes to mixpeek local and lists from it", async () => {
  await using reg = await startRegistry();
  await using dir = await tempDir("mixpeek-original-");
  const archive = await pluginArchive("py_client");
  const file = `${dir.path}/py_client.tar.gz`;
  await Deno.writeFile(file, archive.bytes);

  const run = await runProcess("python3", [
    "-c",
    ORIGINAL_CLI,
    reg.url,
    reg.key,
    file,
    "py_client",
    "1.0.0",
    "whole",
  ]);
  assertEquals(run.code, 0, run.stdout + run.stderr);
  assertEquals(run.stdout.trim().split("\n"), [
    "PUBLISHED py_client_1_0_0 mixpeek://py_client@1.0.0",
    "LISTED py_client 1.0.0 custom published by the original CLI",
  ]);
  // Its version spelling `v2` is taken as 2.0.0, as the newer server does.
  const v2 = await runProcess("python3", [
    "-c",
    ORIGINAL_CLI,
    reg.url,
    reg.key,
    file,
    "py_client",
    "v2",
    "whole",
  ]);
  assertEquals(v2.code, 0, v2.stdout + v2.stderr);
  assertStringIncludes(v2.stdout, "PUBLISHED py_client_2_0_0 mixpeek://py_client@2.0.0");

  // A chunked PUT (no Content-Length) is refused as S3 refuses it.
  const chunked = await runProcess("python3", [
    "-c",
    ORIGINAL_CLI,
    reg.url,
    reg.key,
    file,
    "py_other",
    "1.0.0",
    "chunked",
  ]);
  assertEquals(chunked.code, 0, chunked.stderr);
  assertStringIncludes(chunked.stdout, "PUT 411");
  assertStringIncludes(chunked.stdout, "<Code>MissingContentLength</Code>");
});

Deno.test("curl -T uploads to the presigned URL as to S3's", async () => {
  await using reg = await startRegistry();
  await using dir = await tempDir("mixpeek-generic-");
  const archive = await pluginArchive("curl_client");
  const file = `${dir.path}/curl_client.tar.gz`;
  await Deno.writeFile(file, archive.bytes);
  const ticket = (await createUpload(reg, "curl_client", "1.0.0", archive)).json;
  // Without the signed Content-Type, curl gets S3's answer for a header the signature covers.
  const bare = await runProcess("curl", ["-sS", "-w", "%{http_code}", "-T", file, ticket.presigned_url]);
  assertStringIncludes(bare.stdout, "SignatureDoesNotMatch");
  assertStringIncludes(bare.stdout, "403");
  const put = await runProcess("curl", [
    "-sS",
    "--fail-with-body",
    "-D",
    "-",
    "-o",
    "/dev/null",
    "-T",
    file,
    "-H",
    "Content-Type: application/gzip",
    ticket.presigned_url,
  ]);
  assertEquals(put.code, 0, put.stdout + put.stderr);
  const etag = /^etag: "([0-9a-f]{32})"\r?$/im.exec(put.stdout)?.[1];
  assertEquals(etag, archive.md5, put.stdout);
  const confirmed = await confirm(reg, ticket.upload_id, { etag, file_size_bytes: archive.size });
  assert(confirmed.json.success, confirmed.text);
});
