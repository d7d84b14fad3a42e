/**
 * The vendored OpenAPI document (plugins.openapi.json, see SOURCE.md), imported into the module graph so a
 * compiled binary or a `deno run` from JSR carries it, and small lookups over it: the documented path
 * templates, an operation's request and response schemas, and the shallow "required fields" check the client
 * applies to every answer. Full JSON Schema validation (ajv, draft 2020-12) is in validate.ts.
 */
import raw from "./plugins.openapi.json" with { type: "json" };

export type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses: Record<
    string,
    {
      description?: string;
      content?: Record<string, { schema?: JsonSchema; example?: unknown; examples?: unknown }>;
    }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/** The document as vendored. Treat it as read-only. */
export const OPENAPI: OpenApiDocument = raw as unknown as OpenApiDocument;

export const HTTP_METHODS = ["get", "post", "put", "delete", "patch"] as const;

export interface DocumentedOperation {
  template: string;
  method: string;
  operation: OpenApiOperation;
}

/** Every documented path and method. */
export function documentedOperations(): DocumentedOperation[] {
  const out: DocumentedOperation[] = [];
  for (const [template, item] of Object.entries(OPENAPI.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) out.push({ template, method, operation });
    }
  }
  return out;
}

const _matchers = Object.keys(OPENAPI.paths).map((template) => {
  const names: string[] = [];
  const source = template.split("/").map((part) => {
    const param = /^\{([a-z_]+)\}$/.exec(part);
    if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    names.push(param[1]);
    return "([^/]+)";
  }).join("/");
  // Literal segments win over parameters (`…/plugins/available` over `…/plugins/{plugin_id}`).
  const literals = template.split("/").filter((p) => p !== "" && !p.startsWith("{")).length;
  return { template, names, literals, regex: new RegExp(`^${source}$`) };
}).sort((a, b) => b.literals - a.literals);

export interface TemplateMatch {
  template: string;
  params: Record<string, string>;
}

/**
 * Every documented template a concrete path fits, literal segments first (`…/plugins/uploads` before
 * `…/plugins/{plugin_id}`), each with its parameters decoded. A router picks the first that has the method,
 * as FastAPI does.
 */
export function matchTemplates(pathname: string): TemplateMatch[] {
  const out: TemplateMatch[] = [];
  for (const m of _matchers) {
    const found = m.regex.exec(pathname);
    if (!found) continue;
    const params: Record<string, string> = {};
    try {
      m.names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1])));
    } catch {
      continue; // a malformed %-escape names nothing
    }
    out.push({ template: m.template, params });
  }
  return out;
}

/** The documented operation a request is for (path and method), else the path's first template. */
export function matchTemplate(pathname: string, method?: string): TemplateMatch | undefined {
  const all = matchTemplates(pathname);
  if (method !== undefined) {
    const withMethod = all.find((m) => operationOf(m.template, method) !== undefined);
    if (withMethod) return withMethod;
  }
  return all[0];
}

export function operationOf(template: string, method: string): OpenApiOperation | undefined {
  return OPENAPI.paths[template]?.[method.toLowerCase()];
}

/** Follows `#/components/schemas/…` references. */
export function resolveSchema(schema: JsonSchema | undefined): JsonSchema | undefined {
  let current = schema;
  for (let depth = 0; current && typeof current.$ref === "string" && depth < 16; depth++) {
    const name = (current.$ref as string).replace(/^#\/components\/schemas\//, "");
    current = OPENAPI.components.schemas[name];
  }
  return current;
}

/** The JSON schema of an operation's request body, if it has one. */
export function requestSchema(template: string, method: string): JsonSchema | undefined {
  return operationOf(template, method)?.requestBody?.content?.["application/json"]?.schema;
}

/** The JSON schema of an answer with this status, if the document gives one. */
export function responseSchema(template: string, method: string, status: number): JsonSchema | undefined {
  return operationOf(template, method)?.responses[String(status)]?.content?.["application/json"]?.schema;
}

/** The statuses the document lists for an operation. */
export function documentedStatuses(template: string, method: string): number[] {
  return Object.keys(operationOf(template, method)?.responses ?? {}).map(Number);
}

/**
 * The top-level fields the document requires in this answer that `body` lacks (the client's check that it
 * is talking to a Mixpeek API at all). A wrong type at the top counts as every field missing.
 */
export function missingFields(template: string, method: string, status: number, body: unknown): string[] {
  const schema = resolveSchema(responseSchema(template, method, status));
  if (!schema) return [];
  if (schema.type === "array") return Array.isArray(body) ? [] : ["a JSON array"];
  const required = Array.isArray(schema.required) ? schema.required as string[] : [];
  if (required.length === 0) return [];
  if (typeof body !== "object" || body === null || Array.isArray(body)) return required;
  return required.filter((field) => !(field in body));
}
