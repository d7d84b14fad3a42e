/**
 * Request validation the way Mixpeek's FastAPI service answers it: the body is checked against the operation's
 * schema in the vendored OpenAPI document (ajv, lib/api/openapi/validate.ts) and every problem becomes one
 * pydantic-style entry `{"type", "loc", "msg", "input"}` of a 422 `{"detail": […]}`.
 */
import type { FieldError } from "../api/types.ts";
import { bodyRequired, type SchemaError, validateRequestBody } from "../api/openapi/validate.ts";
import { validationError } from "./http.ts";

function _loc(where: "body" | "query", error: SchemaError): (string | number)[] {
  const parts = error.instancePath.split("/").slice(1).map((p) => {
    const key = p.replace(/~1/g, "/").replace(/~0/g, "~");
    return /^\d+$/.test(key) ? Number(key) : key;
  });
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  return [where, ...parts];
}

function _valueAt(value: unknown, loc: (string | number)[]): unknown {
  let current = value;
  for (const part of loc.slice(1)) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

/** One pydantic-style message for an ajv error. */
function _entry(
  where: "body" | "query",
  error: SchemaError,
  value: unknown,
): FieldError & { input?: unknown } {
  const loc = _loc(where, error);
  const p = error.params;
  let type = error.keyword;
  let msg = error.message ?? "is invalid";
  switch (error.keyword) {
    case "required":
      type = "missing";
      msg = "Field required";
      break;
    case "pattern":
      type = "string_pattern_mismatch";
      msg = `String should match pattern '${p.pattern}'`;
      break;
    case "maxLength":
      type = "string_too_long";
      msg = `String should have at most ${p.limit} characters`;
      break;
    case "minLength":
      type = "string_too_short";
      msg = `String should have at least ${p.limit} characters`;
      break;
    case "maximum":
      type = "less_than_equal";
      msg = `Input should be less than or equal to ${p.limit}`;
      break;
    case "minimum":
      type = "greater_than_equal";
      msg = `Input should be greater than or equal to ${p.limit}`;
      break;
    case "exclusiveMinimum":
      type = "greater_than";
      msg = `Input should be greater than ${p.limit}`;
      break;
    case "enum":
      type = "enum";
      msg = `Input should be ${(p.allowedValues as unknown[]).map((v) => `'${v}'`).join(" or ")}`;
      break;
    case "type": {
      const names: Record<string, string> = {
        string: "string_type",
        integer: "int_type",
        number: "float_type",
        boolean: "bool_type",
        object: "model_attributes_type",
        array: "list_type",
      };
      type = names[String(p.type)] ?? "type_error";
      msg = p.type === "object"
        ? "Input should be a valid dictionary or object to extract fields from"
        : `Input should be a valid ${
          p.type === "integer"
            ? "integer"
            : p.type === "boolean"
            ? "boolean"
            : p.type === "array"
            ? "list"
            : p.type
        }`;
      break;
    }
  }
  const entry: FieldError & { input?: unknown } = { type, loc, msg };
  if (error.keyword !== "required") entry.input = _valueAt(value, loc);
  return entry;
}

/**
 * The 422 entries for `errors`: for an `anyOf` of a value and null (pydantic's Optional), the branch the
 * value was meant for; one entry per location.
 */
export function fieldErrors(where: "body" | "query", errors: SchemaError[], value: unknown): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === "anyOf") continue;
    if (error.keyword === "type" && error.params.type === "null") continue; // the Optional's null branch
    const entry = _entry(where, error, value);
    const key = JSON.stringify(entry.loc);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  if (out.length === 0 && errors.length > 0) {
    out.push({ type: "value_error", loc: [where], msg: errors[0].message ?? "Input is invalid" });
  }
  return out;
}

/** Validates a JSON body for a documented operation; throws the 422 FastAPI would answer. */
export function checkBody(template: string, method: string, body: unknown): void {
  if (body === undefined) {
    if (bodyRequired(template, method)) {
      throw validationError([{ type: "missing", loc: ["body"], msg: "Field required" }]);
    }
    return;
  }
  const errors = validateRequestBody(template, method, body);
  if (errors && errors.length > 0) throw validationError(fieldErrors("body", errors, body));
}
