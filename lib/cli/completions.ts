/** `mixpeek completions bash|zsh|fish`: prints the completion script for the live command tree. */
import { type CommandSpec, completionScript, type Shell } from "../completions.ts";
import { type CommandDef, optionShape, VERSION_OPTION } from "./command_line.ts";
import type { Context } from "./context.ts";

/** The command tree as plain data (names, options, value placeholders, choices, argument choices). */
export function describeCommand(command: CommandDef, isRoot = true): CommandSpec {
  const options = [...(command.options ?? []), ...(isRoot ? [VERSION_OPTION] : [])];
  return {
    name: command.name,
    description: command.description,
    options: options.map(optionShape).map((o) => ({
      names: [o.short, o.long].filter((n): n is string => typeof n === "string"),
      takesValue: o.takesValue,
      valueName: o.valueName,
      choices: o.def.choices ? [...o.def.choices] : undefined,
      description: o.def.description,
    })),
    subcommands: (command.commands ?? []).map((c) => describeCommand(c, false)),
    arguments: (command.arguments ?? []).map((a) => ({
      name: a.spec.slice(1, -1),
      choices: a.choices ? [...a.choices] : undefined,
    })),
  };
}

export function runCompletions(shell: Shell, root: CommandDef, ctx: Context): void {
  const script = completionScript(shell, describeCommand(root), root.name);
  if (ctx.out.json) ctx.out.result({ shell, script }, () => "");
  else ctx.out.writeStdout(script);
}
