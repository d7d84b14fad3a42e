/**
 * The registry validates what it receives at confirm: a set of malicious or broken archives (tar.gz, and zip
 * on a registry that asks for zip), each accepted by the upload and then refused by confirm (`success:
 * false`) with the reason in `validation_errors`, with nothing written outside the data dir.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  type Archive,
  archiveOf,
  listTree,
  pluginArchive,
  publish,
  pythonArchive,
  startRegistry,
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
      "neither a .tar.gz",
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
      const answer = await publish(reg, "hostile", `0.0.${version++}`, archive);
      assertEquals([answer.success, answer.validation_status, answer.plugin_id], [false, "failed", null]);
      assert(
        answer.validation_errors.some((e: string) => e.includes(reason)),
        `expected ${JSON.stringify(reason)} in ${JSON.stringify(answer.validation_errors)}`,
      );
      assertEquals(await listTree(target), [], "nothing may be written outside the data dir");
      assertEquals(await listTree(`${reg.dataDir}/work`), [], "the work folder is cleaned up");
    });
  }

  await t.step(
    "nothing was created, and a good archive of the same name and version is accepted",
    async () => {
      assertEquals((await reg.api("GET", reg.ns("/plugins"))).json.total, 0);
      const fixed = await publish(reg, "hostile", "0.0.0", await pluginArchive("hostile"));
      assertEquals([fixed.success, fixed.plugin_id], [true, "hostile_0_0_0"]);
    },
  );

  assert((await listTree(reg.dataDir)).every((f) => !f.startsWith("work/") && !f.startsWith("tmp/")));
});

/** Python building a zip at sys.argv[1] from the calls in `body` (a ZipFile `z` is open). */
function zipScript(body: string): string {
  return `
import sys, zipfile
def add(z, name, data=b"x = 1\\n", mode=0o100644):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    z.writestr(info, data)
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
${body.trim().split("\n").map((l) => `    ${l.trim()}`).join("\n")}
`;
}

Deno.test("malicious zip archives are refused too, on a registry that asks for zip", async (t) => {
  await using outside = await tempDir("mixpeek-outside-");
  await using reg = await startRegistry({ archiveFormat: "zip" });
  const target = outside.path;
  const zip = (body: string) => pythonArchive(zipScript(body), "zip");
  const cases: [string, () => Promise<Archive>, string][] = [
    [
      "path traversal",
      () => zip(`add(z, "p/manifest.py")\nadd(z, "../../${target.slice(1)}/pwned.py")`),
      "..",
    ],
    ["absolute path", () => zip(`add(z, "p/manifest.py")\nadd(z, "${target}/abs.py")`), "absolute"],
    ["a backslash name", () => zip(`add(z, "p\\\\..\\\\evil.py")`), "backslash"],
    [
      "symlink",
      () => zip(`add(z, "p/manifest.py")\nadd(z, "p/link", b"${target}", 0o120777)`),
      "symbolic link",
    ],
    [
      "an entry that inflates past its declared size",
      async () => {
        const good = await zip(`add(z, "p/data.bin", bytes(100000))`);
        const bytes = good.bytes.slice();
        // Shrink the declared size in the central directory: the data inflates to more than it says.
        const view = new DataView(bytes.buffer);
        for (let i = bytes.length - 22; i >= 0; i--) {
          if (view.getUint32(i, true) === 0x02014b50) {
            view.setUint32(i + 24, 1000, true);
            break;
          }
        }
        return { ...good, bytes, size: bytes.length };
      },
      "inflates past its declared",
    ],
    [
      "not a zip (a tar.gz to a zip-only host)",
      async () => ({ ...await pluginArchive("targz"), format: "zip" as const }),
      "asked for a .zip archive",
    ],
    ["truncated", async () => {
      const good = await pluginArchive("cut", { format: "zip" });
      return { ...good, bytes: good.bytes.slice(0, good.size - 30), size: good.size - 30 };
    }, "end-of-central-directory"],
    [
      "forbidden pattern (eval)",
      () =>
        pluginArchive("evalish", {
          format: "zip",
          mutate: (root) => Deno.writeTextFile(`${root}/bad.py`, "eval('1')\n"),
        }),
      "bad.py:1",
    ],
  ];
  let version = 0;
  for (const [label, build, reason] of cases) {
    await t.step(label, async () => {
      const answer = await publish(reg, "hostile", `0.0.${version++}`, await build());
      assertEquals(answer.success, false);
      assert(
        answer.validation_errors.some((e: string) => e.includes(reason)),
        `expected ${JSON.stringify(reason)} in ${JSON.stringify(answer.validation_errors)}`,
      );
      assertEquals(await listTree(target), []);
      assertEquals(await listTree(`${reg.dataDir}/work`), []);
    });
  }
  await t.step("what plugin pack --format zip writes is accepted", async () => {
    const answer = await publish(reg, "zipped", "1.0.0", await pluginArchive("zipped", { format: "zip" }));
    assertEquals([answer.success, answer.plugin_id], [true, "zipped_1_0_0"], JSON.stringify(answer));
  });
});
