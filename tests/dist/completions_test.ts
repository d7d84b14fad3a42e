/**
 * `mixpeek completions bash|zsh|fish`: every command and option of the live command tree (main.ts) is in
 * each script, and the scripts complete in real shells: bash (COMP_WORDS/COMP_CWORD → COMPREPLY) for every
 * command path, fish (`complete -C`), zsh (syntax check, then the generated function run with the
 * completion builtins stubbed). zsh and fish tests are ignored, with a printed reason, where not installed.
 */
import { commandTree } from "../../main.ts";
import { type CommandDef, VERSION_OPTION } from "../../lib/cli/command_line.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { runCli, runProcess, tempDir } from "../helpers/cli.ts";

interface Node {
  path: string[];
  subcommands: string[];
  /** Its own option spellings. */
  options: string[];
}

/** The live tree, read from its definition directly (not through the generator's describeCommand). */
function _tree(command: CommandDef, path: string[] = []): Node[] {
  const own = [...(command.options ?? []), ...(path.length === 0 ? [VERSION_OPTION] : [])];
  const subcommands = command.commands ?? [];
  const node: Node = {
    path,
    subcommands: subcommands.map((c) => c.name),
    options: own.flatMap((o) => o.flags.match(/(?<![\w-])--?[A-Za-z][\w-]*/g) ?? []),
  };
  return [node, ...subcommands.flatMap((c) => _tree(c, [...path, c.name]))];
}

const TREE = _tree(commandTree());
const GLOBAL = TREE[0].options;

async function _has(shell: string): Promise<boolean> {
  try {
    return (await new Deno.Command(shell, { args: ["-c", "exit 0"], stdout: "null", stderr: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

const HAS_BASH = Deno.build.os !== "windows" && await _has("bash");
const HAS_ZSH = Deno.build.os !== "windows" && await _has("zsh");
const HAS_FISH = Deno.build.os !== "windows" && await _has("fish");
if (!HAS_ZSH) console.log("completions_test: zsh tests ignored: zsh is not installed (apt-get install zsh)");
if (!HAS_FISH) {
  console.log("completions_test: fish tests ignored: fish is not installed (apt-get install fish)");
}
if (!HAS_BASH) console.log("completions_test: bash tests ignored: no bash on this machine");

const scripts = new Map<string, string>();
async function _script(shell: string): Promise<string> {
  if (!scripts.has(shell)) {
    const r = await runCli(["completions", shell]);
    assertEquals(r.code, 0, r.stderr);
    scripts.set(shell, r.stdout);
  }
  return scripts.get(shell)!;
}

Deno.test("the live tree is what the scripts are checked against", () => {
  const paths = TREE.map((n) => n.path.join(" "));
  for (const p of ["plugin init", "plugin publish", "plugin scan", "local", "completions", "config list"]) {
    assert(paths.includes(p), `${p} missing from ${paths}`);
  }
  assert(GLOBAL.includes("--json") && GLOBAL.includes("--base-url"));
});

for (const shell of ["bash", "zsh", "fish"]) {
  Deno.test(`the ${shell} script names every command and option of the live tree`, async () => {
    const script = await _script(shell);
    for (const node of TREE) {
      for (const sub of node.subcommands) assert(new RegExp(`\\b${sub}\\b`).test(script), `${shell}: ${sub}`);
      for (const option of node.options) {
        // fish spells options as `-l name` / `-s V`.
        const spelled = shell === "fish"
          ? (option.startsWith("--") ? `-l ${option.slice(2)}` : `-s ${option.slice(1)}`)
          : option;
        assert(script.includes(spelled), `${shell}: ${option} of "${node.path.join(" ")}"`);
      }
    }
  });
}

Deno.test("completions --json wraps the script; an unknown shell is a usage error", async () => {
  const r = await runCli(["--json", "completions", "fish"]);
  assertEquals(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assertEquals([doc.shell, doc.script], ["fish", await _script("fish")]);
  const bad = await runCli(["completions", "powershell"]);
  assertEquals(bad.code, 2);
});

/** COMPREPLY for each line of words, from one bash that sourced the script. */
async function _bashComplete(script: string, cases: string[][]): Promise<string[][]> {
  await using dir = await tempDir("mixpeek-comp-");
  await Deno.writeTextFile(`${dir.path}/mixpeek.bash`, script);
  const driver = [
    `source ${dir.path}/mixpeek.bash`,
    ...cases.map((words) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); ` +
      `_mixpeek_complete; echo "\${COMPREPLY[*]}"`
    ),
  ].join("\n");
  await Deno.writeTextFile(`${dir.path}/driver.bash`, driver);
  const r = await runProcess("bash", ["--norc", "--noprofile", `${dir.path}/driver.bash`]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  return r.stdout.split("\n").slice(0, cases.length).map((l) => (l === "" ? [] : l.split(" ")));
}

Deno.test({
  name: "bash: `mixpeek plugin pu` completes to publish; every path offers its subcommands and options",
  ignore: !HAS_BASH,
  async fn() {
    const script = await _script("bash");
    const [pu] = await _bashComplete(script, [["mixpeek", "plugin", "pu"]]);
    assertEquals(pu, ["publish"]);

    const cases = TREE.flatMap((n) => [["mixpeek", ...n.path, ""], ["mixpeek", ...n.path, "-"]]);
    const replies = await _bashComplete(script, cases);
    TREE.forEach((node, i) => {
      const [subs, options] = [replies[2 * i], replies[2 * i + 1]];
      const where = `"${node.path.join(" ")}"`;
      for (const sub of node.subcommands) {
        assert(subs.includes(sub), `${where}: ${sub} not offered in ${subs}`);
      }
      for (const option of [...node.options, ...GLOBAL, "--help"]) {
        assert(options.includes(option), `${where}: ${option} not offered`);
      }
    });

    const [category, source, shells, configList, afterValue, configKeys, configGet] = await _bashComplete(
      script,
      [
        ["mixpeek", "plugin", "init", "--category", "te"],
        ["mixpeek", "plugin", "list", "--source", "c"],
        ["mixpeek", "completions", ""],
        ["mixpeek", "config", "list", "--s"],
        ["mixpeek", "--namespace", "plugin", "pl"],
        ["mixpeek", "config", "set", ""],
        ["mixpeek", "config", "get", "base"],
      ],
    );
    assertEquals(configKeys, ["api-key", "base-url", "namespace"], "config set completes the setting names");
    assertEquals(configGet, ["base-url"]);
    assertEquals(category, ["text"]);
    assertEquals(source.sort(), ["community", "custom"]);
    assertEquals(shells, ["bash", "zsh", "fish"]);
    assertEquals(configList, [], "config list has no --source (plugin list has)");
    assertEquals(afterValue, ["plugin"], "the value of --namespace is skipped, not taken for a command");
  },
});

Deno.test({
  name: "fish: `mixpeek plugin pu` completes to publish; paths and choices",
  ignore: !HAS_FISH,
  async fn() {
    await using dir = await tempDir("mixpeek-comp-");
    await Deno.writeTextFile(`${dir.path}/mixpeek.fish`, await _script("fish"));
    const syntax = await runProcess("fish", ["--no-config", "-n", `${dir.path}/mixpeek.fish`]);
    assertEquals(syntax.code, 0, syntax.stderr);
    const complete = async (line: string) => {
      const r = await runProcess("fish", [
        "--no-config",
        "-c",
        `source ${dir.path}/mixpeek.fish; complete -C ${JSON.stringify(line)}`,
      ]);
      assertEquals([r.code, r.stderr], [0, ""]);
      return r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]);
    };
    assertEquals(await complete("mixpeek plugin pu"), ["publish"]);
    assertEquals((await complete("mixpeek ")).sort(), ["completions", "config", "local", "plugin"]);
    assertEquals(await complete("mixpeek plugin init --category te"), ["text"]);
    assertEquals(await complete("mixpeek completions z"), ["zsh"]);
    const configList = await complete("mixpeek config list --");
    assert(configList.includes("--json") && !configList.includes("--source"), String(configList));
  },
});

Deno.test({
  name: "zsh: the script parses, and its function completes `mixpeek plugin pu` to publish",
  ignore: !HAS_ZSH,
  async fn() {
    await using dir = await tempDir("mixpeek-comp-");
    await Deno.writeTextFile(`${dir.path}/_mixpeek`, await _script("zsh"));
    const syntax = await runProcess("zsh", ["-n", `${dir.path}/_mixpeek`]);
    assertEquals(syntax.code, 0, syntax.stderr);
    // Outside a completion widget compadd and friends do not exist: stand-ins print what would be offered,
    // filtered by the word being completed, the way zsh matches.
    const driver = `
compdef() { :; }
_mixpeek_offer() { local w; for w in "$@"; do [[ "$w" == "\${words[CURRENT]}"* ]] && print -r -- "$w"; done; }
compadd() { [[ "$1" == -- ]] && shift; _mixpeek_offer "$@"; }
_describe() { local -a items; items=("\${(@P)4}"); _mixpeek_offer "\${items[@]%%:*}"; }
_files() { print -r -- "_files $*"; }
_message() { :; }
source ${dir.path}/_mixpeek
complete_words() { local -a words; words=("$@"); local CURRENT=\${#words}; _mixpeek; print -- "--"; }
complete_words mixpeek plugin pu
complete_words mixpeek plugin init --category te
complete_words mixpeek plugin test --path ""
complete_words mixpeek completions ""
`;
    await Deno.writeTextFile(`${dir.path}/driver.zsh`, driver);
    const r = await runProcess("zsh", ["-f", `${dir.path}/driver.zsh`]);
    assertEquals([r.code, r.stderr], [0, ""]);
    const blocks = r.stdout.split("--\n").map((b) => b.split("\n").filter(Boolean));
    assertEquals(blocks.slice(0, 4), [["publish"], ["text"], ["_files -/"], ["bash", "zsh", "fish"]]);
  },
});
