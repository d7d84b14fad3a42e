/** `mixpeek completions bash|zsh|fish`: prints the completion script for the live command tree. */
import type { Command } from "@commander-js/extra-typings";
import { type CommandSpec, completionScript, type Shell } from "../completions.ts";
import type { Context } from "./context.ts";

type AnyCommand = Command<unknown[], Record<string, unknown>>;

/** The value placeholder of an option's flags: "--path <dir>" → "dir", "--allow-secret <path...>" → "path". */
function _valueName(flags: string): string | undefined {
  return flags.match(/[<[]([^>\]]+)[>\]]/)?.[1].replace(/\.\.\.$/, "");
}

/** The command tree as plain data (names, options, value placeholders, choices, argument choices). */
export function describeCommand(command: AnyCommand): CommandSpec {
  return {
    name: command.name(),
    description: command.description(),
    options: command.options.filter((o) => !o.hidden).map((o) => ({
      names: [o.short, o.long].filter((n): n is string => typeof n === "string"),
      takesValue: o.required || o.optional,
      valueName: _valueName(o.flags),
      choices: o.argChoices ? [...o.argChoices] : undefined,
      description: o.description,
    })),
    subcommands: command.commands.map((c) => describeCommand(c as AnyCommand)),
    arguments: command.registeredArguments.map((a) => ({
      name: a.name(),
      choices: a.argChoices ? [...a.argChoices] : undefined,
    })),
  };
}

export function runCompletions(shell: Shell, root: AnyCommand, ctx: Context): void {
  const script = completionScript(shell, describeCommand(root), root.name());
  if (ctx.out.json) ctx.out.result({ shell, script }, () => "");
  else ctx.out.writeStdout(script);
}
