/**
 * The small pieces of the wire, directly: the four error shapes, the route-missing rule of the shared host,
 * the manifest's identity on the wire (name checked, version normalised), the format an s3_key names, and
 * the terminal deployment statuses in either case.
 */
import { errorFromResponse, readErrorBody, SHARED_HOST_MESSAGE } from "../../lib/api/errors.ts";
import { formatOfKey, isTerminalStatus } from "../../lib/api/types.ts";
import { AuthError, ValidationError } from "../../lib/errors.ts";
import { publishIdentity } from "../../lib/publish.ts";
import type { PluginMetadata } from "../../lib/plugin/check.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";

function assertThrows<E extends Error>(
  fn: () => unknown,
  errorClass: new (...args: never[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    assert(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    if (includes) assertStringIncludes((error as Error).message, includes);
    return error as E;
  }
  throw new Error(`expected ${errorClass.name} to be thrown`);
}

Deno.test("readErrorBody: ErrorResponse, detail text, detail object, 422 list, and what is none of them", () => {
  assertEquals(
    readErrorBody(
      '{"success":false,"status":404,"error":{"message":"Namespace not found","type":"NotFoundError"}}',
    ),
    { message: "Namespace not found", type: "NotFoundError", details: undefined },
  );
  assertEquals(readErrorBody('{"detail":"Plugin not found: x"}'), { message: "Plugin not found: x" });
  assertEquals(
    readErrorBody(
      '{"detail":{"message":"Plugin quota exceeded (10/10)","type":"QuotaExceededError","details":{"max_allowed":10}}}',
    ),
    { message: "Plugin quota exceeded (10/10)", type: "QuotaExceededError", details: { max_allowed: 10 } },
  );
  const fields = readErrorBody(
    '{"detail":[{"loc":["body","name"],"msg":"String should match pattern","type":"string_pattern_mismatch"},' +
      '{"loc":["query","source"],"msg":"Input should be \'all\'","type":"enum"}]}',
  );
  assertEquals(fields?.message, "name: String should match pattern; query.source: Input should be 'all'");
  assertEquals(fields?.fields?.length, 2);
  for (const none of ["<html>", "[]", '{"ok":true}', ""]) assertEquals(readErrorBody(none), undefined, none);
});

Deno.test("errorFromResponse: the shared host's 404/405 on custom-plugin routes; request ids only when sent", () => {
  const none = new Headers();
  const route = { label: "POST /v1/namespaces/{namespace_id}/plugins/uploads", route: "custom" as const };
  for (
    const [status, body] of [[404, '{"detail":"Not Found"}'], [405, '{"detail":"Method Not Allowed"}'], [
      404,
      "nope",
    ]]
  ) {
    const error = errorFromResponse(status as number, none, body as string, route);
    assertStringIncludes(error.message, SHARED_HOST_MESSAGE);
    assertStringIncludes(error.hint ?? "", "--base-url");
  }
  const named = errorFromResponse(404, none, '{"detail":"Plugin not found: p_1_0_0"}', route);
  assertEquals(named.message, "Plugin not found: p_1_0_0 (HTTP 404)");
  const api = errorFromResponse(404, none, '{"detail":"Not Found"}', {
    label: "GET /v1/plugins",
    route: "api",
  });
  assertEquals(api.message, "Not Found (HTTP 404)");
  const withId = errorFromResponse(500, new Headers({ "x-request-id": "req_1" }), "{}", {
    label: "x",
    route: "api",
  });
  assertStringIncludes(withId.message, "HTTP 500, request id req_1");
  const auth = errorFromResponse(403, none, '{"detail":"Not authenticated"}', { label: "x", route: "api" });
  assertEquals(auth instanceof AuthError, true);
  const quota = errorFromResponse(
    403,
    none,
    '{"detail":{"message":"Plugin quota exceeded (10/10)","type":"QuotaExceededError"}}',
    {
      label: "x",
      route: "custom",
    },
  );
  assertEquals([quota instanceof AuthError, quota.exitCode], [false, 5]);
});

Deno.test("publishIdentity: the name matches Mixpeek's pattern, v1 / 1.0 / v2.1 become X.Y.Z, exit 3 otherwise", () => {
  const meta = (name: string, version: string) =>
    ({ name, version, category: "text", resource_type: "cpu", realtime: false }) as PluginMetadata;
  assertEquals(publishIdentity(meta("my_plugin", "v1")).version, "1.0.0");
  assertEquals(publishIdentity(meta("my_plugin", "1.0")).version, "1.0.0");
  assertEquals(publishIdentity(meta("my_plugin", "v2.1")).version, "2.1.0");
  assertEquals(
    publishIdentity({ ...meta("my_plugin", "1.2.3"), description: "d" } as PluginMetadata).description,
    "d",
  );
  const badName = assertThrows(() => publishIdentity(meta("my-plugin", "1.0.0")), ValidationError);
  assertStringIncludes(badName.message, "manifest.py");
  assertEquals(badName.exitCode, 3);
  assertThrows(
    () => publishIdentity(meta("my_plugin", "1.0.0-beta")),
    ValidationError,
    "is not a version Mixpeek accepts",
  );
});

Deno.test("formatOfKey and terminal statuses", () => {
  assertEquals(formatOfKey("org_xxx/plugin_custom/plu_1/my_plugin_1_0_0.zip"), "zip");
  assertEquals(formatOfKey("ns/plugins/plu_1/my_plugin_1_0_0.tar.gz"), "tar.gz");
  assertEquals(formatOfKey("ns/plugins/plu_1/my_plugin"), undefined);
  assertEquals(formatOfKey(undefined), undefined);
  for (const s of ["deployed", "DEPLOYED", "failed", "Not_Deployed", "batch_only"]) {
    assertEquals(isTerminalStatus(s), true, s);
  }
  for (const s of ["queued", "PENDING", "in_progress", undefined]) {
    assertEquals(isTerminalStatus(s), false, String(s));
  }
});
