/**
 * Prompts, on stderr so stdout stays clean for data. Only called when the context is interactive;
 * Ctrl-C at a prompt becomes an InterruptedError (exit 130). A confirm answered "no" is the caller's
 * CancelledError ("cancelled: nothing was changed", exit 1), the same for every command that asks.
 */
import { InterruptedError } from "../errors.ts";

type Inquirer = typeof import("@inquirer/prompts");

async function _ask<T>(run: (inquirer: Inquirer, context: { output: NodeJS.WritableStream }) => Promise<T>) {
  const inquirer = await import("@inquirer/prompts");
  const process = (await import("node:process")).default;
  try {
    return await run(inquirer, { output: process.stderr });
  } catch (error) {
    if ((error as Error)?.name === "ExitPromptError") {
      throw new InterruptedError("interrupted at the prompt: nothing was changed");
    }
    throw error;
  }
}

export function askText(
  message: string,
  options: { default?: string; validate?: (v: string) => string | undefined },
) {
  return _ask((q, context) =>
    q.input({
      message,
      default: options.default,
      validate: (value: string) => options.validate?.(value) ?? true,
    }, context)
  );
}

export function askChoice<T extends string>(
  message: string,
  choices: { value: T; name?: string; description?: string }[],
  defaultValue?: T,
) {
  return _ask((q, context) => q.select<T>({ message, choices, default: defaultValue }, context));
}

export function askConfirm(message: string, defaultValue: boolean) {
  return _ask((q, context) => q.confirm({ message, default: defaultValue }, context));
}

export function askSecret(message: string) {
  return _ask((q, context) => q.password({ message, mask: "*" }, context));
}
