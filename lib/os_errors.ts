/**
 * Operating-system errors as sentences. Deno reports them as `No such file or directory (os error 2): mkdir
 * '/proc/x'`, and code that wraps them appends that text to its own message ("cannot write to /proc: No such
 * file or directory (os error 2): tmpdir"). A person needs the reason in words, the operation and the path,
 * and what to do. `plainOsText` rewrites every such fragment of a message; `osErrorHint` picks the hint.
 * Output.error applies both to every error it prints, so no command shows a raw OS error.
 */

/** `<reason> (os error N)` optionally followed by `: <syscall> '<path>'` and `-> '<path>'` (rename, link). */
const OS_ERROR =
  /([A-Za-z][^():\n]*?) \(os error (\d+)\)(?::\s*([a-z_]+)(?:\s+'([^']*)')?(?:\s*->\s*'([^']*)')?)?/g;

/** The operation Deno names, as words. */
const OPERATIONS: Readonly<Record<string, string>> = {
  mkdir: "creating the folder",
  tmpdir: "creating a temporary folder",
  open: "opening",
  read: "reading",
  write: "writing",
  readdir: "listing the folder",
  stat: "reading",
  lstat: "reading",
  realpath: "resolving",
  rename: "moving",
  remove: "removing",
  copy: "copying",
  chmod: "changing the mode of",
  symlink: "linking",
  link: "linking",
  truncate: "truncating",
  utime: "setting the time of",
};

interface OsErrorFacts {
  errno: number;
  path?: string;
}

/** The first OS error named in `message`: its errno and path, if any. */
export function osErrorFacts(message: string): OsErrorFacts | undefined {
  OS_ERROR.lastIndex = 0;
  const m = OS_ERROR.exec(message);
  if (!m) return undefined;
  return { errno: Number(m[2]), ...(m[4] ? { path: m[4] } : {}) };
}

/** `message` with each raw OS error fragment turned into words: "no such file or directory (creating …)". */
export function plainOsText(message: string): string {
  return message.replace(
    OS_ERROR,
    (
      _all,
      reason: string,
      _errno: string,
      syscall: string | undefined,
      path: string | undefined,
      target: string | undefined,
      offset: number,
    ) => {
      const words = reason.charAt(0).toLowerCase() + reason.slice(1);
      if (!syscall) return words;
      const operation = OPERATIONS[syscall] ?? syscall;
      // Deno's tmpdir error names no folder: when nothing before it does either, it was TMPDIR's.
      const at = path ?? (syscall === "tmpdir" && offset === 0 ? `in ${_tempRoot()}` : undefined);
      const where = at && !message.includes(`${at}:`) ? ` ${at}${target ? ` to ${target}` : ""}` : "";
      return `${words} (${operation}${where})`;
    },
  );
}

/** The folder temporary folders go in (TMPDIR as Deno reads it), for messages only. */
function _tempRoot(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "the temp folder"; // no --allow-env for TMPDIR: say it in words
  }
}

/** What to do about the OS error in `message`, or undefined when it names none. */
export function osErrorHint(message: string): string | undefined {
  const facts = osErrorFacts(message);
  if (!facts) return undefined;
  const path = facts.path ? ` ${facts.path}` : "";
  const syscall = /\(os error \d+\):\s*([a-z_]+)/.exec(message)?.[1];
  switch (facts.errno) {
    case 2: // ENOENT
      if (syscall === "tmpdir" && !facts.path && message.search(OS_ERROR) === 0) {
        return `the temp folder ${_tempRoot()} does not exist: create it, or set TMPDIR to a folder that exists`;
      }
      if (syscall === "mkdir" || syscall === "tmpdir") {
        return `check that the folder above${path || " it"} exists and that you may create folders there`;
      }
      return `check that${path || " the path"} exists`;
    case 1: // EPERM
    case 13: // EACCES
      return `check the permissions${path ? ` of${path}` : ""}, or choose another folder`;
    case 17: // EEXIST
      return `something already exists at${path || " that path"}: remove it or choose another path`;
    case 20: // ENOTDIR
      return `a part of the path${path} is a file, not a folder`;
    case 21: // EISDIR
      return `${path.trim() || "the path"} is a folder; a file was expected`;
    case 28: // ENOSPC
      return "the disk is full: free some space and try again";
    case 30: // EROFS
      return "that file system is read-only: choose a folder you can write to";
    case 36: // ENAMETOOLONG
      return "the path is too long: choose a shorter one";
    default:
      return undefined;
  }
}
