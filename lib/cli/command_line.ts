/**
 * The command-line parser: a declarative command tree (CommandDef) parsed, checked and rendered as help
 * with nothing but the language. It replaced commander, whose import pulled in Node's fs, process and
 * child_process polyfills: ~55 ms before any command ran, paid by every `plugin test`, `validate` and `scan`.
 *
 * The grammar is the familiar one: options before or after the subcommand (an option is looked up in the
 * command and then in its parents, so the root's are global), `--opt value`, `--opt=value`, `-o value`,
 * `-ovalue`, grouped short flags (`-vh`), `--no-x` negations, `--` ends the options, and `-` is a value.
 * `mixpeek help plugin init` and a bare group (`mixpeek plugin`) show help; help goes to stdout.
 *
 * @module
 */

export interface OptionDef {
  /** "-c, --category <category>", "--realtime", "--no-deploy", "--allow-secret <path...>". */
  flags: string;
  description: string;
  choices?: readonly string[];
  default?: string;
  /** Every occurrence adds its value to a list (`<name...>` also takes the words that follow it). */
  repeatable?: boolean;
}

export interface ArgumentDef {
  /** "<plugin-id>" (required) or "[path]" (optional). */
  spec: string;
  description: string;
  choices?: readonly string[];
}

/** What the parser hands an action: one value per declared argument, and the option values by key. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Invocation {
  /** The command path without the root: ["plugin", "init"]. */
  path: string[];
  /** One entry per declared argument, undefined when an optional one was not given. */
  args: (string | undefined)[];
  /** The command's own options (camelCase keys: --sample-data is sampleData), defaults applied. */
  options: OptionValues;
  /** The root's options, defaults applied. */
  globals: OptionValues;
}

export interface CommandDef {
  name: string;
  description: string;
  arguments?: readonly ArgumentDef[];
  options?: readonly OptionDef[];
  /** Printed after the generated help (examples, exit codes). */
  helpAfter?: string;
  commands?: readonly CommandDef[];
  /** Commands without an action are groups: they show their help. */
  action?: (invocation: Invocation) => Promise<void> | void;
}

/** A usage error: a message for `error: …`, printed with the hint to run --help (exit 2). */
export class CommandLineError extends Error {
  constructor(message: string, readonly suggestion?: string) {
    super(message);
  }
}

export type ParseResult =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "run"; command: CommandDef; invocation: Invocation };

/** An option's flags, read once. */
export interface OptionShape {
  short?: string;
  long: string;
  /** The key in OptionValues: the long name without `no-`, camelCased. */
  key: string;
  takesValue: boolean;
  /** `<name...>`: takes the words after it too. */
  variadic: boolean;
  /** `--no-x`: sets x to false. */
  negate: boolean;
  /** The placeholder: "--path <dir>" → "dir". */
  valueName?: string;
  def: OptionDef;
}

const HELP_OPTION: OptionDef = { flags: "-h, --help", description: "display help for command" };
export const VERSION_OPTION: OptionDef = { flags: "-V, --version", description: "print the version" };

function _camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Reads "-c, --category <category>" into its parts. */
export function optionShape(def: OptionDef): OptionShape {
  const match = def.flags.match(/^(?:(-[A-Za-z]),\s*)?(--[a-z][a-z0-9-]*)(?:\s+<([^>]+)>)?$/);
  if (!match) throw new Error(`option flags "${def.flags}" are not "-s, --long <value>"`);
  const [, short, long, value] = match;
  const negate = long.startsWith("--no-");
  return {
    short,
    long,
    key: _camel(negate ? long.slice(5) : long.slice(2)),
    takesValue: value !== undefined,
    variadic: value?.endsWith("...") ?? false,
    negate,
    valueName: value?.replace(/\.\.\.$/, ""),
    def,
  };
}

function _argName(arg: ArgumentDef): string {
  return arg.spec.slice(1, -1);
}

function _required(arg: ArgumentDef): boolean {
  return arg.spec.startsWith("<");
}

/** The options a command accepts itself: its own and --help (and the root's --version). */
function _ownShapes(command: CommandDef, isRoot: boolean): OptionShape[] {
  const defs = [...(command.options ?? []), ...(isRoot ? [VERSION_OPTION] : []), HELP_OPTION];
  return defs.map(optionShape);
}

/** Edit distance, for "did you mean" (commands and options are short words). */
function _distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function _suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = _distance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

interface Level {
  command: CommandDef;
  shapes: OptionShape[];
  values: OptionValues;
}

function _level(command: CommandDef, isRoot: boolean): Level {
  return { command, shapes: _ownShapes(command, isRoot), values: {} };
}

function _checkChoice(shape: OptionShape, value: string): void {
  const choices = shape.def.choices;
  if (choices && !choices.includes(value)) {
    throw new CommandLineError(
      `option '${shape.def.flags}' argument '${value}' is invalid. Allowed choices are ${
        choices.join(", ")
      }.`,
    );
  }
}

function _assign(level: Level, shape: OptionShape, value: string | boolean): void {
  if (typeof value === "string") _checkChoice(shape, value);
  if (shape.def.repeatable || shape.variadic) {
    const list = level.values[shape.key];
    level.values[shape.key] = [...(Array.isArray(list) ? list : []), value as string];
  } else level.values[shape.key] = value;
}

/** Defaults: a declared default, and true for an `--no-x` whose `--x` is not declared (commander's rule). */
function _withDefaults(level: Level): OptionValues {
  const out: OptionValues = {};
  for (const shape of level.shapes) {
    if (shape.long === "--help" || shape.long === "--version") continue;
    const positive = level.shapes.some((s) => !s.negate && s.key === shape.key);
    if (shape.negate && !positive) out[shape.key] = true;
    if (shape.def.default !== undefined) out[shape.key] = shape.def.default;
  }
  return Object.assign(out, level.values);
}

/** Parses `argv` (without the program name) against the tree rooted at `root`. */
export function parseCommandLine(root: CommandDef, argv: readonly string[]): ParseResult {
  const chain: Level[] = [_level(root, true)];
  const positionals: string[] = [];
  let helpAsked = false;
  let helpCommand = false;
  let optionsEnded = false;
  const current = () => chain[chain.length - 1];

  const find = (test: (shape: OptionShape) => boolean): [Level, OptionShape] | undefined => {
    for (let i = chain.length - 1; i >= 0; i--) {
      const shape = chain[i].shapes.find(test);
      if (shape) return [chain[i], shape];
    }
    return undefined;
  };
  const unknownOption = (word: string): never => {
    const known = chain.flatMap((l) => l.shapes.map((s) => s.long));
    const guess = _suggest(word, known);
    throw new CommandLineError(`unknown option '${word}'`, guess && `(Did you mean ${guess}?)`);
  };
  const takeValue = (shape: OptionShape, inline: string | undefined, i: number): [string, number] => {
    if (inline !== undefined) return [inline, i];
    // As commander did: the next word is the value whatever it looks like (`--inputs -`, `-n -1`).
    const next = argv[i + 1];
    if (next === undefined) throw new CommandLineError(`option '${shape.def.flags}' argument missing`);
    return [next, i + 1];
  };
  const positional = (word: string) => {
    const level = current();
    const subcommands = level.command.commands ?? [];
    const expectsCommand = subcommands.length > 0 && (helpCommand || positionals.length === 0);
    if (chain.length === 1 && !helpCommand && positionals.length === 0 && word === "help") {
      helpCommand = true;
      return;
    }
    if (expectsCommand) {
      const next = subcommands.find((c) => c.name === word);
      if (!next) {
        const guess = _suggest(word, subcommands.map((c) => c.name));
        throw new CommandLineError(`unknown command '${word}'`, guess && `(Did you mean ${guess}?)`);
      }
      chain.push(_level(next, false));
      return;
    }
    if (helpCommand) throw new CommandLineError(`unknown command '${word}'`);
    positionals.push(word);
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (optionsEnded || word === "-" || !word.startsWith("-")) {
      positional(word);
      continue;
    }
    if (word === "--") {
      optionsEnded = true;
      continue;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word : word.slice(0, eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const found = find((s) => s.long === name);
      if (!found) unknownOption(name);
      const [level, shape] = found!;
      if (shape.long === "--help") helpAsked = true;
      else if (shape.long === "--version") return { kind: "version" };
      else if (!shape.takesValue) {
        if (inline !== undefined) throw new CommandLineError(`option '${shape.def.flags}' takes no value`);
        _assign(level, shape, !shape.negate);
      } else {
        const [value, at] = takeValue(shape, inline, i);
        i = at;
        _assign(level, shape, value);
        while (shape.variadic && argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) {
          _assign(level, shape, argv[++i]);
        }
      }
      continue;
    }
    // Short flags: -v, -vh (grouped), -c value, -cvalue.
    for (let j = 1; j < word.length; j++) {
      const flag = `-${word[j]}`;
      const found = find((s) => s.short === flag);
      if (!found) unknownOption(j === 1 ? word : flag);
      const [level, shape] = found!;
      if (shape.long === "--help") helpAsked = true;
      else if (shape.long === "--version") return { kind: "version" };
      else if (!shape.takesValue) _assign(level, shape, true);
      else {
        const rest = word.slice(j + 1);
        const [value, at] = takeValue(shape, rest === "" ? undefined : rest, i);
        i = at;
        _assign(level, shape, value);
        break;
      }
    }
  }

  const level = current();
  const path = chain.slice(1).map((l) => l.command.name);
  if (helpAsked || helpCommand || !level.command.action) {
    return { kind: "help", text: renderHelp(root, chain.map((l) => l.command)) };
  }
  const declared = level.command.arguments ?? [];
  if (positionals.length > declared.length) {
    const n = declared.length;
    throw new CommandLineError(
      `too many arguments for '${path.join(" ")}'. Expected ${n} argument${
        n === 1 ? "" : "s"
      } but got ${positionals.length}.`,
    );
  }
  declared.forEach((arg, k) => {
    const value = positionals[k];
    if (value === undefined && _required(arg)) {
      throw new CommandLineError(`missing required argument '${_argName(arg)}'`);
    }
    if (value !== undefined && arg.choices && !arg.choices.includes(value)) {
      throw new CommandLineError(
        `command-argument value '${value}' is invalid for argument '${_argName(arg)}'. Allowed choices are ${
          arg.choices.join(", ")
        }.`,
      );
    }
  });
  return {
    kind: "run",
    command: level.command,
    invocation: {
      path,
      args: declared.map((_, k) => positionals[k]),
      options: _withDefaults(level),
      globals: _withDefaults(chain[0]),
    },
  };
}

/** The width help is wrapped to: the examples' width (deno.json's lineWidth), or a narrower terminal's. */
const HELP_WIDTH = 110;

function _width(): number {
  try {
    if (Deno.stdout.isTerminal()) return Math.max(40, Math.min(HELP_WIDTH, Deno.consoleSize().columns));
  } catch {
    // not a terminal
  }
  return HELP_WIDTH;
}

function _wrap(text: string, indent: number, width: number): string {
  const room = Math.max(20, width - indent);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(indent));
}

function _section(title: string, rows: [string, string][], width: number): string {
  if (rows.length === 0) return "";
  const pad = Math.max(...rows.map(([term]) => term.length)) + 2;
  const body = rows.map(([term, text]) =>
    text === "" ? `  ${term}` : `  ${term.padEnd(pad)}${_wrap(text, pad + 2, width)}`
  );
  return `\n${title}:\n${body.join("\n")}\n`;
}

function _optionText(def: OptionDef): string {
  const extra = [
    def.choices ? `(choices: ${def.choices.join(", ")})` : "",
    def.default !== undefined ? `(default: ${def.default})` : "",
  ].filter(Boolean);
  return [def.description, ...extra].join(" ");
}

function _usageArgs(command: CommandDef): string {
  const parts = ["[options]"];
  if (command.commands?.length) parts.push("[command]");
  for (const arg of command.arguments ?? []) parts.push(arg.spec);
  return parts.join(" ");
}

/** The help of the last command of `chain` (root first), with the root's options as Global Options. */
export function renderHelp(root: CommandDef, chain: readonly CommandDef[], width = _width()): string {
  const command = chain[chain.length - 1];
  const isRoot = chain.length === 1;
  const name = chain.map((c) => c.name).join(" ");
  let text = `Usage: ${name} ${_usageArgs(command)}\n\n${_wrap(command.description, 0, width)}\n`;
  text += _section(
    "Arguments",
    (command.arguments ?? []).map((a) => [
      _argName(a),
      a.choices ? `${a.description} (choices: ${a.choices.join(", ")})` : a.description,
    ]),
    width,
  );
  const own = [...(command.options ?? []), ...(isRoot ? [VERSION_OPTION] : []), HELP_OPTION];
  text += _section("Options", own.map((d) => [d.flags, _optionText(d)]), width);
  if (!isRoot) {
    const globals = [...(root.options ?? []), VERSION_OPTION];
    text += _section("Global Options", globals.map((d) => [d.flags, _optionText(d)]), width);
  }
  const subcommands = command.commands ?? [];
  const rows: [string, string][] = subcommands.map((c) => [`${c.name} ${_usageArgs(c)}`, c.description]);
  if (isRoot) rows.push(["help [command]", "display help for command"]);
  text += _section("Commands", rows, width);
  return text + (command.helpAfter ?? "");
}
