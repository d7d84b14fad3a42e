/**
 * Shell completion scripts (bash, zsh, fish) generated from the command tree, so a new command, option or
 * choice is completed without touching this file.
 *
 * All three scripts work the same way: walk the words before the cursor to find the command path
 * ("plugin publish"), skipping option values, then offer that path's subcommands, its options (with the
 * root's global options), an option's choices, or files / folders for options whose value is a path.
 * Path-aware on purpose: `plugin list` and `config list` are different commands with different options.
 */

export interface OptionSpec {
  /** Long and short spellings, e.g. ["--category"] or ["-V", "--version"]. */
  names: string[];
  takesValue: boolean;
  /** The value's placeholder in the help (`dir`, `file`, `seconds`…): picks folder or file completion. */
  valueName?: string;
  choices?: string[];
  description: string;
}

export interface ArgumentSpec {
  name: string;
  choices?: string[];
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  subcommands: CommandSpec[];
  /** Positional arguments; those with choices are completed. */
  arguments?: ArgumentSpec[];
}

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = typeof SHELLS[number];

/** Added to every command: the parser's own help flag (not in `options`). */
const HELP: OptionSpec = {
  names: ["-h", "--help"],
  takesValue: false,
  description: "display help for command",
};

/** One command path with everything a script needs about it. */
interface PathInfo {
  key: string;
  spec: CommandSpec;
  subs: CommandSpec[];
  /** Its own options, then the root's (global) ones, then --help. */
  options: OptionSpec[];
  argumentChoices: string[];
}

type ValueKind = { kind: "choices"; values: string[] } | { kind: "dirs" } | { kind: "files" } | {
  kind: "none";
};

/** Every command path with its spec: [["plugin", "init"], spec] … (the root is []). */
function _walk(spec: CommandSpec, prefix: string[] = []): [string[], CommandSpec][] {
  return [[prefix, spec], ...spec.subcommands.flatMap((s) => _walk(s, [...prefix, s.name]))];
}

function _infos(root: CommandSpec): PathInfo[] {
  return _walk(root).map(([path, spec]) => ({
    key: path.join(" "),
    spec,
    subs: spec.subcommands,
    options: [...spec.options, ...(path.length ? root.options : []), HELP],
    argumentChoices: (spec.arguments ?? []).flatMap((a) => a.choices ?? []),
  }));
}

function _valueKind(option: OptionSpec): ValueKind {
  if (option.choices?.length) return { kind: "choices", values: option.choices };
  const name = (option.valueName ?? "").replace(/\.\.\.$/, "").toLowerCase();
  if (["dir", "directory", "folder"].includes(name)) return { kind: "dirs" };
  if (["file", "path"].includes(name)) return { kind: "files" };
  return { kind: "none" };
}

function _names(options: OptionSpec[]): string[] {
  return [...new Set(options.flatMap((o) => o.names))];
}

function _valued(options: OptionSpec[]): string[] {
  return _names(options.filter((o) => o.takesValue));
}

/** Double-quoted for sh/zsh: only word characters, '-', '.', ':' and spaces are expected, but be safe. */
function _dq(text: string): string {
  return `"${text.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** Single-quoted for sh/zsh (a ' becomes '\''). */
function _sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function _fnPrefix(program: string): string {
  return `_${program.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

// ---------------------------------------------------------------------------------------------------- bash

function _bashValueCases(infos: PathInfo[], root: CommandSpec): string[] {
  const line = (pattern: string, kind: ValueKind) => {
    switch (kind.kind) {
      case "choices":
        return `    ${pattern}) COMPREPLY=($(compgen -W ${_dq(kind.values.join(" "))} -- "$cur")) ;;`;
      case "dirs":
        return `    ${pattern}) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;`;
      case "files":
        return `    ${pattern}) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;`;
      case "none":
        return undefined;
    }
  };
  const own = infos.flatMap((info) =>
    info.spec.options.filter((o) => o.takesValue).map((o) =>
      line(o.names.map((n) => _dq(`${info.key}|${n}`)).join("|"), _valueKind(o))
    )
  );
  // The root's options apply after any subcommand too.
  const global = root.options.filter((o) => o.takesValue).map((o) =>
    line(o.names.map((n) => `*${_dq(`|${n}`)}`).join("|"), _valueKind(o))
  );
  return [...own, ...global].filter((l): l is string => l !== undefined);
}

function _bash(root: CommandSpec, program: string): string {
  const fn = `${_fnPrefix(program)}_complete`;
  const infos = _infos(root);
  const specCases = infos.map((info) =>
    `    ${_dq(info.key)})\n      subs=${_dq(info.subs.map((s) => s.name).join(" "))}\n` +
    `      opts=${_dq(_names(info.options).join(" "))}\n` +
    `      valued=${_dq(_valued(info.options).join(" "))}\n` +
    `      args=${_dq(info.argumentChoices.join(" "))} ;;`
  );
  return `# bash completion for ${program} (generated by \`${program} completions bash\`)
# Install: ${program} completions bash > ~/.local/share/bash-completion/completions/${program}
#      or: echo 'source <(${program} completions bash)' >> ~/.bashrc
${fn}_spec() {
  case "$1" in
${specCases.join("\n")}
    *) subs=""; opts=""; valued=""; args="" ;;
  esac
}
${fn}_value() {
  COMPREPLY=()
  case "$1|$2" in
${_bashValueCases(infos, root).join("\n")}
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" word subs opts valued args
  local -i i skip=0
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command path so far: subcommand words extend it; options and their values are skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    ${fn}_spec "$path"
    case " $valued " in *" $word "*) skip=1; continue ;; esac
    [[ "$word" == -* ]] && continue
    case " $subs " in *" $word "*) path="\${path:+$path }$word" ;; esac
  done
  ${fn}_spec "$path"
  if ((skip)); then
    ${fn}_value "$path" "$prev"
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n "$subs" ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$args" -- "$cur"))
  fi
}
complete -F ${fn} ${program}
`;
}

// ----------------------------------------------------------------------------------------------------- zsh

/** "name:description" for _describe (a ':' in the name is escaped). */
function _zshItem(name: string, description: string): string {
  return _sq(`${name.replace(/:/g, "\\:")}:${description}`);
}

function _zsh(root: CommandSpec, program: string): string {
  const fn = _fnPrefix(program);
  const infos = _infos(root);
  const specCases = infos.map((info) => {
    const subs = info.subs.map((s) => _zshItem(s.name, s.description));
    const opts = info.options.flatMap((o) => o.names.map((n) => _zshItem(n, o.description)));
    return `    ${_dq(info.key)})\n      names=(${info.subs.map((s) => s.name).join(" ")})\n` +
      `      subs=(${subs.join(" ")})\n      opts=(${opts.join(" ")})\n` +
      `      valued=(${_valued(info.options).join(" ")})\n      args=(${info.argumentChoices.join(" ")}) ;;`;
  });
  const valueLine = (pattern: string, kind: ValueKind) => {
    switch (kind.kind) {
      case "choices":
        return `    ${pattern}) compadd -- ${kind.values.map(_sq).join(" ")} ;;`;
      case "dirs":
        return `    ${pattern}) _files -/ ;;`;
      case "files":
        return `    ${pattern}) _files ;;`;
      case "none":
        return `    ${pattern}) _message 'value' ;;`;
    }
  };
  const valueCases = [
    ...infos.flatMap((info) =>
      info.spec.options.filter((o) => o.takesValue).map((o) =>
        valueLine(o.names.map((n) => _dq(`${info.key}|${n}`)).join("|"), _valueKind(o))
      )
    ),
    ...root.options.filter((o) => o.takesValue).map((o) =>
      valueLine(o.names.map((n) => `*${_dq(`|${n}`)}`).join("|"), _valueKind(o))
    ),
  ];
  return `#compdef ${program}
# zsh completion for ${program} (generated by \`${program} completions zsh\`)
# Install: ${program} completions zsh > "\${fpath[1]}/_${program}"   (then restart zsh, or run compinit)
#      or: echo 'source <(${program} completions zsh)' >> ~/.zshrc   (after compinit)
${fn}_spec() {
  case "$1" in
${specCases.join("\n")}
    *) names=(); subs=(); opts=(); valued=(); args=() ;;
  esac
}
${fn}_value() {
  case "$1|$2" in
${valueCases.join("\n")}
  esac
}
${fn}() {
  local -a names subs opts valued args
  local path="" word
  local -i i skip=0
  # The command path so far: subcommand words extend it; options and their values are skipped.
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    if ((skip)); then skip=0; continue; fi
    ${fn}_spec "$path"
    if ((\${valued[(Ie)$word]})); then skip=1; continue; fi
    [[ "$word" == -* ]] && continue
    if ((\${names[(Ie)$word]})); then path="\${path:+$path }$word"; fi
  done
  ${fn}_spec "$path"
  if ((skip)); then
    ${fn}_value "$path" "\${words[CURRENT-1]}"
  elif [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options 'option' opts
  elif ((\${#subs})); then
    _describe -t commands 'command' subs
  elif ((\${#args})); then
    compadd -- "\${args[@]}"
  fi
}
if [[ "\${funcstack[1]}" == "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${program}
fi
`;
}

// ---------------------------------------------------------------------------------------------------- fish

function _fishQuote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function _fish(root: CommandSpec, program: string): string {
  const fn = `__${program.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const infos = _infos(root);
  const subsCases = infos.filter((i) => i.subs.length).map((i) =>
    `        case ${_fishQuote(i.key)}\n            printf '%s\\n' ${i.subs.map((s) => s.name).join(" ")}`
  );
  const valuedCases = infos.map((i) =>
    `        case ${_fishQuote(i.key)}\n            printf '%s\\n' -- ${_valued(i.options).join(" ")}`
  );
  const lines = [
    `# fish completion for ${program} (generated by \`${program} completions fish\`)`,
    `# Install: ${program} completions fish > ~/.config/fish/completions/${program}.fish`,
    `function ${fn}_subs`,
    `    switch "$argv[1]"`,
    ...subsCases,
    `    end`,
    `end`,
    `function ${fn}_valued`,
    `    switch "$argv[1]"`,
    ...valuedCases,
    `    end`,
    `end`,
    `# The command path before the cursor ("plugin publish"): option values are skipped.`,
    `function ${fn}_path`,
    `    set -l path`,
    `    set -l skip 0`,
    `    for word in (commandline -opc)[2..-1]`,
    `        if test $skip = 1`,
    `            set skip 0`,
    `            continue`,
    `        end`,
    `        set -l key (string join ' ' -- $path)`,
    `        if contains -- $word (${fn}_valued "$key")`,
    `            set skip 1`,
    `            continue`,
    `        end`,
    `        string match -q -- '-*' $word; and continue`,
    `        contains -- $word (${fn}_subs "$key"); and set -a path $word`,
    `    end`,
    `    string join ' ' -- $path`,
    `end`,
    `function ${fn}_at`,
    `    set -l path (${fn}_path)`,
    `    test "$path" = "$argv[1]"`,
    `end`,
    `complete -c ${program} -f`,
  ];
  const optionLine = (o: OptionSpec, cond: string) => {
    const long = o.names.filter((n) => n.startsWith("--")).map((n) => `-l ${n.slice(2)}`);
    const short = o.names.filter((n) => /^-[^-]$/.test(n)).map((n) => `-s ${n.slice(1)}`);
    const kind = _valueKind(o);
    const value = !o.takesValue
      ? ""
      : kind.kind === "choices"
      ? ` -x -a ${_fishQuote(kind.values.join(" "))}`
      : kind.kind === "dirs"
      ? " -x -a '(__fish_complete_directories)'"
      : kind.kind === "files"
      ? " -r -F"
      : " -x";
    return `complete -c ${program}${cond} ${[...short, ...long].join(" ")}${value} -d ${
      _fishQuote(o.description)
    }`;
  };
  for (const info of infos) {
    const cond = ` -n ${_fishQuote(`${fn}_at ${_fishQuote(info.key)}`)}`;
    for (const sub of info.subs) {
      lines.push(`complete -c ${program}${cond} -a ${sub.name} -d ${_fishQuote(sub.description)}`);
    }
    if (info.argumentChoices.length) {
      lines.push(`complete -c ${program}${cond} -a ${_fishQuote(info.argumentChoices.join(" "))}`);
    }
    // The root's options (and --help) apply everywhere: written once, without a condition.
    const own = info.key === "" ? [...info.spec.options, HELP] : info.spec.options;
    for (const o of own) lines.push(optionLine(o, info.key === "" ? "" : cond));
  }
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`, for the command tree `root` (as describeCommand gives it). */
export function completionScript(shell: Shell, root: CommandSpec, program = "mixpeek"): string {
  switch (shell) {
    case "bash":
      return _bash(root, program);
    case "zsh":
      return _zsh(root, program);
    case "fish":
      return _fish(root, program);
  }
}
