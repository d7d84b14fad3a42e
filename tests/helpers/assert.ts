/** Assertions for tests (@std/assert cannot be installed here): thin wrappers over node:assert. */
import nodeAssert from "node:assert/strict";

export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    message ?? `expected to find ${JSON.stringify(expected)} in:\n${actual}`,
  );
}

export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  nodeAssert.match(actual, expected, message);
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    nodeAssert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    if (includes) assertStringIncludes((error as Error).message, includes);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${errorClass.name} to be thrown` });
}

export function assertThrows<E extends Error>(fn: () => unknown, errorClass: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    nodeAssert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${error}`);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${errorClass.name} to be thrown` });
}
