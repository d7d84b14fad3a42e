/**
 * The realtime lane (lib/local/realtime_lane.ts) answers realtime/test and /inference exactly as the HTTP
 * server's routes do. The same plugin (tests/deploy/fixtures/faults.py, in a real worker) is deployed in two
 * registries, one with the lane and one without (`realtimeLane: false`), and the same requests go to both:
 * answers, errors after the call, and the requests the lane declines (the server answers those in both).
 * The guard's counter shows which requests the lane answered.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { deploy, startWorkerRegistry, variantArchive } from "./_helpers.ts";

interface Probe {
  label: string;
  path: (id: string) => string;
  body: string;
  key?: string;
  /** Whether the lane answers it (else it declines and the server does). */
  lane: boolean;
}

const TEST = (id: string) => `/v1/namespaces/default/plugins/${id}/realtime/test`;
const INFERENCE = (id: string) => `/inference/custom_plugin_${id}`;

const PROBES: Probe[] = [
  { label: "realtime/test answers", path: TEST, body: '{"inputs": {"text": "lane"}}', lane: true },
  {
    label: "/inference answers",
    path: INFERENCE,
    body: '{"inputs": {"text": "lane"}, "parameters": {}}',
    lane: true,
  },
  {
    label: "realtime/test, the service raises",
    path: TEST,
    body: '{"inputs": {"mode": "raise"}}',
    lane: true,
  },
  {
    label: "/inference, the service raises",
    path: INFERENCE,
    body: '{"inputs": {"mode": "raise"}}',
    lane: true,
  },
  { label: "/inference, no body", path: INFERENCE, body: "", lane: true },
  { label: "a wrong key", path: INFERENCE, body: "{}", key: "mxp_sk_wrong", lane: false },
  { label: "inputs not an object", path: INFERENCE, body: '{"inputs": 3}', lane: false },
  { label: "realtime/test, parameters not an object", path: TEST, body: '{"parameters": []}', lane: false },
  { label: "not JSON", path: TEST, body: "{nope", lane: false },
  { label: "a plugin that is not there", path: (id) => INFERENCE(`${id}x`), body: "{}", lane: false },
  {
    label: "a namespace that is not there",
    path: (id) => TEST(id).replace("/default/", "/nowhere/"),
    body: "{}",
    lane: false,
  },
];

/** Status, headers (but the request id, date and length, checked here) and body. */
async function answerOf(url: string, key: string, probe: Probe, id: string) {
  const response = await fetch(`${url}${probe.path(id)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${probe.key ?? key}`, "content-type": "application/json" },
    body: probe.body,
  });
  const text = await response.text();
  assertEquals(Number(response.headers.get("content-length")), new TextEncoder().encode(text).length);
  assert(response.headers.has("date"));
  const headers = [...response.headers].filter(([name]) =>
    !["x-request-id", "date", "content-length"].includes(name)
  );
  // The worker's pid (the fixture reports it) differs between the two registries.
  const body = text.replace(/"pid": ?\d+/g, '"pid":0');
  return { status: response.status, headers, body };
}

Deno.test("the realtime lane answers as the routes do: answers, errors after the call, and what it declines", async () => {
  const archive = await variantArchive("lane_rt", "faults");
  await using lane = await startWorkerRegistry({ faultAdmin: true });
  await using server = await startWorkerRegistry({ realtimeLane: false });
  const a = await deploy(lane.reg, "lane_rt", archive);
  const b = await deploy(server.reg, "lane_rt", archive);
  assertEquals([a.status.status, b.status.status], ["deployed", "deployed"]);
  assertEquals(a.plugin_id, b.plugin_id);

  for (const probe of PROBES) {
    const before = lane.reg.registry.connectionStats().lane_answered;
    const viaLane = await answerOf(lane.reg.url, lane.reg.key, probe, a.plugin_id);
    const taken = lane.reg.registry.connectionStats().lane_answered - before;
    const viaServer = await answerOf(server.reg.url, server.reg.key, probe, b.plugin_id);
    assertEquals(viaLane, viaServer, probe.label);
    assertEquals(taken, probe.lane ? 1 : 0, `${probe.label}: answered by the lane`);
  }
  assertEquals(server.reg.registry.connectionStats().lane_answered, 0);

  // The answers are the plugin's: an embedding for the text, and the service's error.
  const ok = await answerOf(lane.reg.url, lane.reg.key, PROBES[0], a.plugin_id);
  assertEquals(ok.status, 200);
  const answer = JSON.parse(ok.body);
  assertEquals(answer.status, "success");
  assert(Array.isArray(answer.raw_response.embedding) && answer.raw_response.embedding.length > 0);
  const raised = await answerOf(lane.reg.url, lane.reg.key, PROBES[3], a.plugin_id);
  assertEquals(raised.status, 500);
  assertEquals(JSON.parse(raised.body).error.type, "InferenceError");

  // While a fault rule is armed, realtime calls go to the server, which applies it; then the lane again.
  const arm = await fetch(`${lane.reg.url}/_faults`, {
    method: "POST",
    headers: { authorization: `Bearer ${lane.reg.key}` },
    body: JSON.stringify([{ method: "POST", path: "/inference/*", fault: "503", times: 1 }]),
  });
  assertEquals(arm.status, 200, await arm.text());
  const counted = () => lane.reg.registry.connectionStats().lane_answered;
  const before = counted();
  assertEquals((await answerOf(lane.reg.url, lane.reg.key, PROBES[1], a.plugin_id)).status, 503);
  assertEquals(counted(), before);
  assertEquals((await answerOf(lane.reg.url, lane.reg.key, PROBES[1], a.plugin_id)).status, 200);
  assertEquals(counted(), before + 1);
});
