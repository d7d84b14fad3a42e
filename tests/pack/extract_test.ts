/**
 * The safe reader (lib/pack/extract.ts) against archives built by hand with Python's tarfile: every unsafe
 * or damaged one is refused with a ValidationError naming the entry, nothing is written outside the
 * destination, and whatever was written is removed.
 */
import zlib from "node:zlib";
import { extractArchive, type ExtractLimits, extractTarGz, extractZip } from "../../lib/pack/extract.ts";
import { packPlugin } from "../../lib/pack/pack.ts";
import { FailedError, ValidationError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";
import { exists, hasTool, listDir, readTree, writeTree } from "./_helpers.ts";

/** Writes one archive per case into argv[1]; each case is a list of entries built with tarfile. */
const PY_BUILD = String.raw`
import io, os, sys, tarfile, gzip, unicodedata

out = sys.argv[1]

def entry(name, data=b"", type=tarfile.REGTYPE, linkname="", mode=0o644, pax=None):
    info = tarfile.TarInfo(name)
    info.type = type
    info.size = len(data) if type in (tarfile.REGTYPE,) else 0
    info.linkname = linkname
    info.mode = mode
    if pax:
        info.pax_headers = pax
    return info, (io.BytesIO(data) if info.size else None)

def write(case, entries, fmt=tarfile.PAX_FORMAT, compress=True, tail=b""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in entries:
            t.addfile(info, data)
    raw = buf.getvalue() + tail
    with open(os.path.join(out, case + ".tar.gz"), "wb") as f:
        f.write(gzip.compress(raw, mtime=0) if compress else raw)
    return raw

def ok():
    return [entry("ok.py", b"print('ok')\n")]
write("traversal", ok() + [entry("../evil.txt", b"evil")])
write("nested_traversal", ok() + [entry("a/../../evil.txt", b"evil")])
write("absolute", [entry("/tmp/mixpeek-evil-absolute.txt", b"evil")])
write("backslash", [entry("..\\evil.txt", b"evil")])
write("drive", [entry("C:/evil.txt", b"evil")])
write("symlink", ok() + [entry("link", type=tarfile.SYMTYPE, linkname="/etc/passwd")])
write("hardlink", ok() + [entry("hard", type=tarfile.LNKTYPE, linkname="ok.py")])
write("chardev", [entry("dev", type=tarfile.CHRTYPE)])
write("blockdev", [entry("blk", type=tarfile.BLKTYPE)])
write("fifo", [entry("pipe", type=tarfile.FIFOTYPE)])
write("duplicate", ok() + [entry("ok.py", b"again")])
write("dot_duplicate", ok() + [entry("./ok.py", b"again")])
write("case_collision", [entry("README.md", b"a"), entry("readme.md", b"b")])
nfc = unicodedata.normalize("NFC", "caf\u00e9.py")
nfd = unicodedata.normalize("NFD", nfc)
write("nfd_collision", [entry(nfc, b"a"), entry(nfd, b"b")])
write("file_then_dir", [entry("a", b"file"), entry("a/b.py", b"x")])
write("dir_then_file", [entry("a/b.py", b"x"), entry("a", b"file")])
write("pax_traversal", [entry("safe.py", b"evil", pax={"path": "../evil.txt"})])
write("gnu_long_traversal", [entry("x/" + "../" * 40 + "evil.txt", b"evil")], fmt=tarfile.GNU_FORMAT)
write("big_file", [entry("big.bin", b"\0" * 3000)])
write("many_files", [entry("f%d.py" % i, b"") for i in range(5)])
write("total", [entry("a.bin", b"1" * 600), entry("b.bin", b"2" * 600)])
# 64 MiB of zeros after a tiny valid archive: a classic bomb, ~64 KiB compressed.
write("bomb_tail", ok(), tail=b"\0" * (64 * 1024 * 1024))
write("bomb_file", [entry("zeros.bin", b"\0" * (8 * 1024 * 1024))])
write("trailing_garbage", ok(), tail=b"\0" * 1024 + b"garbage" + b"\0" * 505)
raw = write("valid_mixed", [
    entry("./", type=tarfile.DIRTYPE),
    entry("pkg/", type=tarfile.DIRTYPE, mode=0o700),
    entry("pkg/run.sh", b"#!/bin/sh\n", mode=0o4755),
    entry("pkg/" + "n" * 150 + ".py", b"long"),
    entry("empty_dir/", type=tarfile.DIRTYPE),
    entry("\u65e5\u672c.py", b"unicode"),
    entry(nfd, b"decomposed"),
    entry("empty.txt", b""),
])
write("valid_gnu", [entry("d/" + "g" * 120 + ".py", b"gnu long name")], fmt=tarfile.GNU_FORMAT)
plain = write("valid_ustar", [entry("plain.py", b"ustar")], fmt=tarfile.USTAR_FORMAT)
# Damaged copies of a good archive.
good = open(os.path.join(out, "valid_mixed.tar.gz"), "rb").read()
open(os.path.join(out, "truncated.tar.gz"), "wb").write(good[: len(good) // 2])
open(os.path.join(out, "truncated_trailer.tar.gz"), "wb").write(good[:-4])
bad = bytearray(good); bad[len(bad) // 2] ^= 0xFF
open(os.path.join(out, "corrupt.tar.gz"), "wb").write(bytes(bad))
header = bytearray(raw); header[0] ^= 0x01  # checksum no longer matches
open(os.path.join(out, "bad_checksum.tar.gz"), "wb").write(gzip.compress(bytes(header), mtime=0))
# One whole entry, no end blocks.
open(os.path.join(out, "no_end_marker.tar.gz"), "wb").write(gzip.compress(plain[:1024], mtime=0))
open(os.path.join(out, "not_gzip.tar.gz"), "wb").write(raw)
`;

let built: Promise<string> | undefined;

/** Builds every case once per test run, into a folder removed at exit. */
function archives(): Promise<string> {
  built ??= (async () => {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mixpeek-tar-cases-" }));
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const r = await runProcess("python3", ["-c", PY_BUILD, dir]);
    assertEquals(r.code, 0, r.stderr);
    return dir;
  })();
  return built;
}

async function extractCase(name: string, dest: string, limits: Partial<ExtractLimits> = {}) {
  const file = await Deno.open(`${await archives()}/${name}.tar.gz`);
  return await extractTarGz(file.readable, dest, limits);
}

/** The case is refused with a message containing `includes`, and `dest` (created by the call) is gone. */
async function refused(name: string, includes: string, limits: Partial<ExtractLimits> = {}): Promise<void> {
  await using work = await tempDir();
  const dest = `${work.path}/dest`;
  const error = await assertRejects(() => extractCase(name, dest, limits), ValidationError, includes);
  assertEquals(error.exitCode, 3, name);
  assert(!(await exists(dest)), `${name}: the destination it created is removed`);
  assertEquals(await listDir(work.path), [], `${name}: nothing written beside the destination`);
}

Deno.test("extract: paths that leave the destination are refused", async () => {
  await refused("traversal", '"../evil.txt" climbs out of the destination');
  await refused("nested_traversal", '"a/../../evil.txt" climbs out');
  await refused("absolute", '"/tmp/mixpeek-evil-absolute.txt" has an absolute path');
  assert(!(await exists("/tmp/mixpeek-evil-absolute.txt")));
  await refused("backslash", "contains a backslash");
  await refused("drive", "starts with a drive letter");
  await refused("pax_traversal", '"../evil.txt" climbs out');
  await refused("gnu_long_traversal", "climbs out of the destination");
});

Deno.test("extract: links, devices and FIFOs are refused", async () => {
  await refused("symlink", '"link" is a symbolic link (→ "/etc/passwd")');
  await refused("hardlink", '"hard" is a hard link (→ "ok.py")');
  await refused("chardev", '"dev" is a character device');
  await refused("blockdev", '"blk" is a block device');
  await refused("fifo", '"pipe" is a FIFO');
});

Deno.test("extract: entries colliding after normalisation are refused", async () => {
  await refused("duplicate", '"ok.py" collides with an earlier entry');
  await refused("dot_duplicate", '"./ok.py" collides with an earlier entry');
  await refused("case_collision", '"readme.md" collides');
  await refused("nfd_collision", "collides with an earlier entry");
  await refused("file_then_dir", '"a/b.py" needs the folder "a" where a file already is');
  await refused("dir_then_file", '"a" collides with a folder');
});

Deno.test("extract: size and count limits, gzip bombs", async () => {
  await refused("big_file", '"big.bin" is 2.9 KiB, over the 2.0 KiB limit', { max_file_bytes: 2048 });
  await refused("many_files", '"f4.py" is one file more than the 4-file limit', { max_files: 4 });
  await refused("total", '"b.bin" takes the archive past the 1000 B total size limit', {
    max_total_bytes: 1000,
  });
  // The trailing zeros are read only until the expansion limit is passed, then reading stops.
  await refused("bomb_tail", "expands to more than", { max_total_bytes: 1024 * 1024, max_files: 10 });
  // A file within the per-file limit but expanding far more than its compressed size.
  await refused("bomb_file", "expands more than 100× its compressed size", { max_compression_ratio: 100 });
  // With the default limits the zero tail is cut off after 1 MiB of padding; the 8 MiB file is fine.
  await refused("bomb_tail", "more than 1.0 MiB of padding follows the end of the archive");
  await using ok = await tempDir();
  assertEquals((await extractCase("bomb_file", `${ok.path}/d`)).total_bytes, 8 * 1024 * 1024);
});

Deno.test("extract: truncated, corrupt and malformed archives are refused", async () => {
  await refused("truncated", "corrupt or truncated");
  await refused("truncated_trailer", "corrupt or truncated");
  await refused("corrupt", "corrupt or truncated");
  await refused("bad_checksum", "header checksum mismatch");
  await refused("no_end_marker", "ends without its end marker");
  await refused("not_gzip", "corrupt or truncated");
  await refused("trailing_garbage", "data after the end-of-archive marker");
});

Deno.test("extract: a failure after some files were written removes them, and keeps a given empty folder", async () => {
  await using work = await tempDir();
  // "symlink" writes ok.py first, then meets the link.
  await assertRejects(() => extractCase("symlink", work.path), ValidationError, "symbolic link");
  assertEquals(await listDir(work.path), [], "ok.py was removed; the folder itself stays");
  await writeTree(work.path, { "x.txt": "" });
  await assertRejects(() => extractCase("valid_ustar", work.path), FailedError, "is not empty");
  assertEquals(await listDir(work.path), ["x.txt"]);
});

Deno.test("extract: valid archives (pax, GNU, ustar, folders, ./, unicode) extract with normalised modes", async () => {
  await using work = await tempDir();
  const result = await extractCase("valid_mixed", `${work.path}/mixed`);
  const long = `pkg/${"n".repeat(150)}.py`;
  assertEquals(result.files, ["caf\u00e9.py", "empty.txt", long, "pkg/run.sh", "\u65e5\u672c.py"]);
  assertEquals(result.total_bytes, 10 + 4 + 7 + 10);
  const tree = await readTree(`${work.path}/mixed`);
  assertEquals(tree.dirs, ["empty_dir", "pkg"]);
  assertEquals(tree.files["pkg/run.sh"], { content: "#!/bin/sh\n", mode: 0o755 }, "setuid is dropped");
  assertEquals(tree.files["caf\u00e9.py"], { content: "decomposed", mode: 0o644 }, "stored as NFC");
  assertEquals((await Deno.stat(`${work.path}/mixed/pkg`)).mode! & 0o777, 0o755);

  const gnu = await extractCase("valid_gnu", `${work.path}/gnu`);
  assertEquals(gnu.files, [`d/${"g".repeat(120)}.py`]);
  const ustar = await extractCase("valid_ustar", `${work.path}/ustar`);
  assertEquals(ustar.files, ["plain.py"]);
});

Deno.test("extract: what plugin pack writes (tar.gz and zip) extracts to the same files", async () => {
  await using work = await tempDir();
  const spec = {
    "manifest.py": "metadata = {}\n",
    "processors/core.py": "def run(x):\n    return x\n",
    [`deep/${"x".repeat(120)}.py`]: "long\n",
    "caf\u00e9.py": "unicode\n",
    "empty.txt": "",
  };
  await writeTree(`${work.path}/p`, spec);
  await Deno.chmod(`${work.path}/p/manifest.py`, 0o755);
  for (const format of ["tar.gz", "zip"] as const) {
    const packed = await packPlugin(`${work.path}/p`, { output: `${work.path}/p.${format}`, format });
    const result = await extractArchive(packed.path, `${work.path}/out-${format}`);
    assertEquals(result.format, format);
    assertEquals(result.files, packed.files.map((f) => `p/${f}`));
    const tree = await readTree(`${work.path}/out-${format}/p`);
    assertEquals(Object.keys(tree.files).sort(), Object.keys(spec).sort());
    assertEquals(tree.files["manifest.py"].mode, 0o755);
    assertEquals(tree.files["processors/core.py"], { content: spec["processors/core.py"], mode: 0o644 });
  }
});

Deno.test("extract: zip archives from other writers (Python, Info-ZIP) and the ones refused", async () => {
  await using work = await tempDir();
  await writeTree(`${work.path}/src/pkg`, { "a.py": "x = 1\n", "sub/b.txt": "b\n" });
  const py = await runProcess("python3", [
    "-c",
    `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("pkg/", "")
    z.write(sys.argv[2] + "/pkg/a.py", "pkg/a.py")
    with z.open("pkg/streamed.txt", "w") as f:  # written with a data descriptor
        f.write(b"streamed" * 100)
`,
    `${work.path}/py.zip`,
    `${work.path}/src`,
  ]);
  assertEquals(py.code, 0, py.stderr);
  assertEquals((await extractZip(`${work.path}/py.zip`, `${work.path}/py`)).files, [
    "pkg/a.py",
    "pkg/streamed.txt",
  ]);
  if (await hasTool("zip")) {
    const info = await runProcess("zip", ["-qr", `${work.path}/info.zip`, "pkg"], {
      cwd: `${work.path}/src`,
    });
    assertEquals(info.code, 0, info.stderr);
    assertEquals((await extractZip(`${work.path}/info.zip`, `${work.path}/info`)).files, [
      "pkg/a.py",
      "pkg/sub/b.txt",
    ]);
  } else console.warn("zip is not installed: the Info-ZIP archive case is skipped (.ci/run installs it)");

  const bytes = await Deno.readFile(`${work.path}/py.zip`);
  const cases: [string, Uint8Array, string][] = [
    ["junk after the end", new Uint8Array([...bytes, 1, 2, 3]), "end-of-central-directory"],
    ["a prefix before the first entry", new Uint8Array([0, ...bytes]), "end record says"],
    ["cut short", bytes.slice(0, bytes.length - 10), "end-of-central-directory"],
  ];
  for (const [label, data, message] of cases) {
    await Deno.writeFile(`${work.path}/bad.zip`, data);
    await assertRejects(
      () => extractZip(`${work.path}/bad.zip`, `${work.path}/bad`),
      ValidationError,
      message,
    );
    assert(!(await exists(`${work.path}/bad`)), label);
  }
  await Deno.writeTextFile(`${work.path}/neither`, "hello");
  await assertRejects(
    () => extractArchive(`${work.path}/neither`, `${work.path}/n`),
    ValidationError,
    "neither",
  );
  await assertRejects(
    () => extractZip(`${work.path}/py.zip`, `${work.path}/limited`, { max_files: 1 }),
    ValidationError,
    "1-file limit",
  );
});

Deno.test("extract: bytes arriving in odd chunk sizes make no difference", async () => {
  await using work = await tempDir();
  const bytes = await Deno.readFile(`${await archives()}/valid_mixed.tar.gz`);
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const n = 1 + (offset % 7);
      controller.enqueue(bytes.slice(offset, offset + n));
      offset += n;
    },
  });
  const result = await extractTarGz(stream, `${work.path}/d`);
  assertEquals(result.files.length, 5);
  // And a single huge chunk of a bomb is still cut into small inflate steps (no giant allocation).
  const bomb = zlib.gzipSync(new Uint8Array(256 * 1024 * 1024));
  const once = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(bomb));
      controller.close();
    },
  });
  await assertRejects(() => extractTarGz(once, `${work.path}/b`, { max_total_bytes: 1024 }), ValidationError);
  assertEquals(await listDir(work.path), ["d"], "the refused extraction removed its folder");
});
