/** Shared helpers for the pack tests: build trees, read trees back, and check archives with real tools. */
import { assertEquals } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";

export type Spec = Record<string, string | Uint8Array | { content: string | Uint8Array; mode: number }>;

const encoder = new TextEncoder();

/** Writes `spec` (path → content, or {content, mode}) under `root`, creating folders. */
export async function writeTree(root: string, spec: Spec): Promise<void> {
  for (const [path, value] of Object.entries(spec)) {
    const abs = `${root}/${path}`;
    await Deno.mkdir(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
    const content = typeof value === "string" || value instanceof Uint8Array ? value : value.content;
    await Deno.writeFile(abs, typeof content === "string" ? encoder.encode(content) : content);
    if (typeof value === "object" && !(value instanceof Uint8Array)) await Deno.chmod(abs, value.mode);
  }
}

export interface TreeFile {
  content: string;
  mode: number;
}

/** Every regular file under `dir` (path → content as latin1 text, mode bits), and the folders. */
export async function readTree(dir: string): Promise<{ files: Record<string, TreeFile>; dirs: string[] }> {
  const files: Record<string, TreeFile> = {};
  const dirs: string[] = [];
  const walk = async (abs: string, rel: string) => {
    for await (const entry of Deno.readDir(abs)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const info = await Deno.lstat(`${abs}/${entry.name}`);
      if (info.isDirectory) {
        dirs.push(path);
        await walk(`${abs}/${entry.name}`, path);
      } else if (info.isFile) {
        const bytes = await Deno.readFile(`${abs}/${entry.name}`);
        files[path] = { content: new TextDecoder("latin1").decode(bytes), mode: info.mode! & 0o7777 };
      } else {
        throw new Error(`unexpected non-regular entry ${path} in an extracted tree`);
      }
    }
  };
  await walk(dir, "");
  return { files, dirs: dirs.sort() };
}

const PY_READ = `
import json, sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    members = [{"name": m.name, "size": m.size, "mode": m.mode, "mtime": m.mtime, "uid": m.uid, "gid": m.gid,
                "uname": m.uname, "gname": m.gname, "type": m.type.decode()} for m in t.getmembers()]
    t.extractall(sys.argv[2], filter="data")
print(json.dumps(members))
`;

export interface PyMember {
  /** Without the archive's top folder. */
  name: string;
  size: number;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  type: string;
}

const PY_READ_ZIP = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    members = [{"name": i.filename, "size": i.file_size, "mode": i.external_attr >> 16 & 0o7777,
                "mtime": 0, "date_time": list(i.date_time), "uid": 0, "gid": 0, "uname": "", "gname": "",
                "type": "0", "system": i.create_system} for i in z.infolist()]
    z.extractall(sys.argv[2])
print(json.dumps(members))
`;

/**
 * Checks an archive with the tools of its format and Python. tar.gz: GNU tar (`-tzvf` lists every file;
 * `-xzf` extracts them) and tarfile (reads the headers; extracts with the strict "data" filter). zip (by the
 * `.zip` extension): Info-ZIP's `unzip -t` and `unzip`, and zipfile (testzip, then extractall). Every
 * extracted tree must equal `expected` under the archive's top folder `folder` (path → content, mode 0644
 * unless `executable` names it). Returns Python's view of the members (names without the folder).
 */
export async function verifyArchive(
  archive: string,
  expected: Record<string, string | Uint8Array>,
  executable: string[] = [],
  folder = "",
): Promise<PyMember[]> {
  const prefix = folder === "" ? "" : `${folder}/`;
  const want: Record<string, TreeFile> = {};
  for (const [path, content] of Object.entries(expected)) {
    const bytes = typeof content === "string" ? encoder.encode(content) : content;
    want[prefix + path] = {
      content: new TextDecoder("latin1").decode(bytes),
      mode: executable.includes(path) ? 0o755 : 0o644,
    };
  }
  const names = Object.keys(expected).map((n) => prefix + n).sort();
  const zip = archive.endsWith(".zip");

  if (zip && !(await hasTool("unzip"))) {
    console.warn("unzip is not installed: the Info-ZIP half of this check is skipped (.ci/run installs it)");
  } else if (zip) {
    const test = await runProcess("unzip", ["-t", archive]);
    assertEquals(test.code, 0, test.stdout + test.stderr);
    const listing = await runProcess("zipinfo", ["-1", archive]);
    const lines = listing.stdout.trim() === "" ? [] : listing.stdout.trim().split("\n");
    assertEquals(lines.sort(), names, listing.stdout);
    await using unzipped = await tempDir("mixpeek-unzip-x-");
    const x = await runProcess("unzip", ["-q", archive, "-d", unzipped.path]);
    assertEquals(x.code, 0, x.stderr);
    assertEquals((await readTree(unzipped.path)).files, want);
  } else {
    const listing = await runProcess("tar", ["-tzvf", archive]);
    assertEquals(listing.code, 0, listing.stderr);
    const lines = listing.stdout.trim() === "" ? [] : listing.stdout.trim().split("\n");
    assertEquals(lines.length, names.length, listing.stdout);
    for (const line of lines) {
      if (!/^-rw[-x]r-[-x]r-[-x] 0\/0 /.test(line)) throw new Error(`unexpected tar -tv line: ${line}`);
    }
    await using gnu = await tempDir("mixpeek-gnu-x-");
    const x = await runProcess("tar", ["-xzf", archive, "-C", gnu.path]);
    assertEquals(x.code, 0, x.stderr);
    assertEquals((await readTree(gnu.path)).files, want);
  }

  await using py = await tempDir("mixpeek-py-x-");
  const read = await runProcess("python3", ["-c", zip ? PY_READ_ZIP : PY_READ, archive, py.path]);
  assertEquals(read.code, 0, read.stderr);
  const members = JSON.parse(read.stdout) as PyMember[];
  assertEquals(members.map((m) => m.name).sort(), names);
  if (zip) {
    // zipfile's extractall does not apply modes: the contents must match, the modes are in the members.
    const contents = (files: Record<string, TreeFile>) =>
      Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.content]));
    assertEquals(contents((await readTree(py.path)).files), contents(want));
    for (const m of members) assertEquals(m.mode, want[m.name].mode, m.name);
  } else {
    assertEquals((await readTree(py.path)).files, want);
  }
  return members.map((m) => ({ ...m, name: m.name.slice(prefix.length) }));
}

/** The regular files of an archive in order, read with Python (for order and header checks). */
export async function archiveMembers(archive: string, folder = ""): Promise<PyMember[]> {
  await using py = await tempDir("mixpeek-py-x-");
  const read = await runProcess("python3", [
    "-c",
    archive.endsWith(".zip") ? PY_READ_ZIP : PY_READ,
    archive,
    py.path,
  ]);
  assertEquals(read.code, 0, read.stderr);
  const prefix = folder === "" ? "" : `${folder}/`;
  return (JSON.parse(read.stdout) as PyMember[]).map((m) => ({ ...m, name: m.name.slice(prefix.length) }));
}

/** True when `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Names in a folder (for "nothing was left behind" checks). */
export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) names.push(e.name);
  return names.sort();
}

const _tools = new Map<string, Promise<boolean>>();

/** Whether a command is on PATH (for checks with optional system tools). */
export function hasTool(name: string): Promise<boolean> {
  let found = _tools.get(name);
  if (!found) {
    found = runProcess("sh", ["-c", `command -v ${name}`]).then((r) => r.code === 0, () => false);
    _tools.set(name, found);
  }
  return found;
}
