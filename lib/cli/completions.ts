/** `mixpeek completions bash|zsh|fish`: prints the completion script for the live command tree. */
import type { Command } from "@commander-js/extra-typings";
import { type CommandSpec, completionScript, type Shell } from "../completions.ts";
import type { Context } from "./context.ts";

/** The command tree as plain data (names, options, value-taking options and their choices). */
export function describeCommand(command: Command<unknown[], Record<string, unknown>>): CommandSpec {
  return {
    name: command.name(),
    description: command.description(),
    options: command.options.map((o) => ({
      names: [o.short, o.long].filter((n): n is string => typeof n === "string"),
      takesValue: o.required || o.optional,
      choices: o.argChoices ? [...o.argChoices] : undefined,
      description: o.description,
    })),
    subcommands: command.commands.map((c) =>
      describeCommand(c as Command<unknown[], Record<string, unknown>>)
    ),
  };
}

export function runCompletions(
  shell: Shell,
  root: Command<unknown[], Record<string, unknown>>,
  ctx: Context,
): void {
  const script = completionScript(shell, describeCommand(root), root.name());
  if (ctx.out.json) ctx.out.result({ shell, script }, () => "");
  else ctx.out.writeStdout(script);
}
