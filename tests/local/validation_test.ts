/**
 * The registry re-validates what it receives: a set of malicious or broken archives, each accepted by the
 * upload (the bytes are what was declared) and then refused at validation with the reason, with nothing
 * written outside the data dir.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  type Archive,
  archiveOf,
  listTree,
  pluginArchive,
  publish,
  pythonArchive,
  startRegistry,
  waitFor,
} from "./_helpers.ts";

/** Python building a tar.gz at sys.argv[1] from the calls in `body` (a tarfile `t` is open). */
function tarScript(body: string): string {
  return `
import io, sys, tarfile
def add(t, name, data=b"x = 1\\n", **kw):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    t.addfile(info, io.BytesIO(data))
with tarfile.open(sys.argv[1], "w:gz") as t:
${body.trim().split("\n").map((l) => `    ${l.trim()}`).join("\n")}
`;
}

Deno.test("malicious and broken archives are refused at validation, nothing written outside the data dir", async (t) => {
  await using outside = await tempDir("mixpeek-outside-");
  await using reg = await startRegistry();
  const target = outside.path;
  const up = "../".repeat(30);
  const cases: [string, () => Promise<Archive>, string][] = [
    [
      "path traversal",
      () => pythonArchive(tarScript(`add(t, "manifest.py")\nadd(t, "${up}${target.slice(1)}/pwned.py")`)),
      "..",
    ],
    [
      "absolute path",
      () => pythonArchive(tarScript(`add(t, "manifest.py")\nadd(t, "${target}/abs.py")`)),
      target,
    ],
    [
      "symlink out of the archive, then a file through it",
      () =>
        pythonArchive(tarScript(`
          add(t, "manifest.py")
          add(t, "evil", b"", type=tarfile.SYMTYPE, linkname="${target}")
          add(t, "evil/pwned.py")`)),
      "evil",
    ],
    [
      "hard link",
      () =>
        pythonArchive(
          tarScript(
            `add(t, "manifest.py")\nadd(t, "passwd", b"", type=tarfile.LNKTYPE, linkname="/etc/passwd")`,
          ),
        ),
      "passwd",
    ],
    [
      "device file",
      () =>
        pythonArchive(
          tarScript(
            `add(t, "manifest.py")\nadd(t, "null", b"", type=tarfile.CHRTYPE, devmajor=1, devminor=3)`,
          ),
        ),
      "null",
    ],
    [
      "gzip bomb",
      () =>
        pythonArchive(`
import sys, tarfile
class Zeros:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n)
        self.n -= k
        return bytes(k)
with tarfile.open(sys.argv[1], "w:gz") as t:
    info = tarfile.TarInfo("data/zeros.bin"); info.size = 256 * 1024 * 1024
    t.addfile(info, Zeros(info.size))
`),
      "gzip bomb",
    ],
    [
      "truncated archive",
      async () => {
        const good = await pluginArchive("truncated");
        return archiveOf(good.bytes.slice(0, Math.floor(good.size / 2)));
      },
      "truncated",
    ],
    [
      "not a gzip file",
      () => Promise.resolve(archiveOf(new TextEncoder().encode("just text\n".repeat(50)))),
      "corrupt",
    ],
    [
      "missing pipeline.py",
      () => pluginArchive("no_pipeline", { mutate: (root) => Deno.remove(`${root}/pipeline.py`) }),
      "pipeline.py",
    ],
    [
      "forbidden pattern (subprocess)",
      () =>
        pluginArchive("sneaky", {
          mutate: async (root) => {
            const core = `${root}/processors/core.py`;
            await Deno.writeTextFile(core, "import subprocess\n" + await Deno.readTextFile(core));
          },
        }),
      "processors/core.py:1",
    ],
  ];

  let version = 0;
  for (const [label, build, reason] of cases) {
    await t.step(label, async () => {
      const archive = await build();
      const record = await publish(reg, "hostile", `0.0.${version++}`, archive);
      assertEquals(
        record.status,
        "pending",
        "the upload itself is accepted: the bytes are the declared ones",
      );
      const done = await waitFor(reg, record.plugin_id);
      assertEquals(done.status, "failed", `expected failed, got ${JSON.stringify(done)}`);
      assertStringIncludes(done.error ?? "", reason);
      const status = await reg.api("GET", reg.ns(`/plugins/${record.plugin_id}/status`));
      assertEquals([status.json.status, status.json.error], ["failed", done.error]);
      assertEquals(await listTree(target), [], "nothing may be written outside the data dir");
      assertEquals(await listTree(`${reg.dataDir}/work`), [], "the work folder is cleaned up");
    });
  }

  await t.step(
    "a failed plugin cannot be deployed (409), and its version can be published again",
    async () => {
      const list = (await reg.api("GET", reg.ns("/plugins?source=custom"))).json.plugins;
      assertEquals(list.length, cases.length);
      const failed = list[0];
      const deploy = await reg.api("POST", reg.ns(`/plugins/${failed.plugin_id}/deploy`));
      assertEquals([deploy.status, deploy.json.error.type], [409, "conflict"]);
      const fixed = await publish(reg, "hostile", failed.version, await pluginArchive("hostile"));
      assertEquals((await waitFor(reg, fixed.plugin_id)).status, "ready");
      assertEquals(
        (await reg.api("GET", reg.ns(`/plugins/${failed.plugin_id}`))).status,
        404,
        "the failed one is replaced",
      );
    },
  );

  assert((await listTree(reg.dataDir)).every((f) => !f.startsWith("work/") && !f.startsWith("tmp/")));
});
