/**
 * JSON Schema validation against the vendored OpenAPI document (ajv, draft 2020-12, the dialect of OpenAPI
 * 3.1), compiled lazily per schema. The local registry validates every request body with it (and answers
 * FastAPI-style 422s); the contract tests validate every request and answer with it.
 */
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { OPENAPI, operationOf, requestSchema, responseSchema } from "./document.ts";

const DOCUMENT_ID = "mixpeek-openapi";

/** One ajv error, as ajv reports it (instancePath is a JSON pointer into the value). */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  schemaPath: string;
}

type Validate = ((value: unknown) => boolean) & { errors?: SchemaError[] | null };

interface AjvLike {
  addSchema(schema: unknown, key?: string): unknown;
  compile(schema: unknown): Validate;
}

let _ajv: AjvLike | undefined;
const _compiled = new Map<string, Validate>();

function _instance(): AjvLike {
  if (_ajv) return _ajv;
  // deno-lint-ignore no-explicit-any
  const ajv = new (Ajv2020 as any)({ allErrors: true, strict: false, validateFormats: true });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  ajv.addFormat("binary", true); // a multipart file part: nothing to check in JSON
  ajv.addSchema({ $id: DOCUMENT_ID, components: OPENAPI.components }, DOCUMENT_ID);
  _ajv = ajv as AjvLike;
  return _ajv;
}

/** Rewrites the document's local `#/components/…` references to the added document. */
function _rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(_rebase);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "$ref" && typeof value === "string" && value.startsWith("#/")
      ? `${DOCUMENT_ID}${value}`
      : _rebase(value);
  }
  return out;
}

function _validator(key: string, schema: unknown): Validate {
  let validate = _compiled.get(key);
  if (!validate) {
    validate = _instance().compile(_rebase(schema));
    _compiled.set(key, validate);
  }
  return validate;
}

/** Validates `value` against a schema of the document (or a component by name); [] when it conforms. */
export function validateAgainst(schema: Record<string, unknown>, value: unknown, key: string): SchemaError[] {
  const validate = _validator(key, schema);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

export function validateComponent(name: string, value: unknown): SchemaError[] {
  return validateAgainst({ $ref: `#/components/schemas/${name}` }, value, `component:${name}`);
}

/** Errors of a request body for a documented operation; undefined when the operation takes no JSON body. */
export function validateRequestBody(
  template: string,
  method: string,
  body: unknown,
): SchemaError[] | undefined {
  const schema = requestSchema(template, method);
  if (!schema) return undefined;
  return validateAgainst(schema, body, `request:${method}:${template}`);
}

/** Errors of an answer; undefined when the document gives no JSON schema for this status. */
export function validateResponseBody(
  template: string,
  method: string,
  status: number,
  body: unknown,
): SchemaError[] | undefined {
  const schema = responseSchema(template, method, status);
  if (!schema) return undefined;
  return validateAgainst(schema, body, `response:${method}:${template}:${status}`);
}

/** Whether the operation's request body is required (`requestBody.required`). */
export function bodyRequired(template: string, method: string): boolean {
  return operationOf(template, method)?.requestBody?.required === true;
}

/** "…/name: must match pattern …" lines for messages and test failures. */
export function describeErrors(errors: SchemaError[]): string {
  return errors.map((e) => `${e.instancePath || "(root)"} ${e.message ?? e.keyword}`).join("; ");
}
