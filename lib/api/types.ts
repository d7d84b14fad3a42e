/**
 * Names for the wire types the client and the local registry use. Every body is the type openapi-typescript
 * generated from the vendored OpenAPI document (lib/api/openapi/types.gen.ts, `deno task gen-api`); this
 * module only gives them short names and adds the value sets the document states in prose.
 */
import type { components, operations, paths } from "./openapi/types.gen.ts";

type Schemas = components["schemas"];

export type { components, operations, paths };

// Uploads (namespace and organisation scope).
export type CreateUploadRequest = Schemas["api__namespaces__plugins__models__CreatePluginUploadRequest"];
export type OrgCreateUploadRequest = Schemas["api__plugins__models__CreatePluginUploadRequest"];
export type PresignedUpload = Schemas["api__namespaces__plugins__models__PluginPresignedURLResponse"];
export type OrgPresignedUpload = Schemas["api__plugins__models__PluginPresignedURLResponse"];
export type ConfirmRequest = Schemas["ConfirmPluginUploadRequest"];
export type ConfirmResponse = Schemas["ConfirmPluginUploadResponse"];
export type UploadResponse = Schemas["PluginUploadResponse"];
export type MultipartUploadBody = Schemas["Body_upload_plugin_v1_namespaces__namespace_id__plugins_post"];

// Plugins.
export type PluginList = Schemas["api__namespaces__plugins__models__PluginListResponse"];
export type OrgPluginList = Schemas["api__plugins__models__PluginListResponse"];
export type PluginListItem = Schemas["PluginListItem"];
export type PluginDetail = Schemas["api__namespaces__plugins__models__PluginDetailResponse"];
export type OrgPluginDetail = Schemas["api__plugins__models__PluginDetailResponse"];
export type PluginDocument = Schemas["api__namespaces__plugins__models__PluginDocument"];
export type OrgPluginDocument = Schemas["api__plugins__models__PluginDocument"];
export type ManifestMetadata = Schemas["api__namespaces__plugins__models__PluginManifestMetadata"];
export type DeleteResponse = Schemas["api__namespaces__plugins__models__PluginDeleteResponse"];
export type OrgDeleteResponse = Schemas["api__plugins__models__PluginDeleteResponse"];
export type DeploymentInfo = Schemas["PluginDeploymentInfo"];
export type StatusResponse = Schemas["PluginStatusResponse"];
/** The document gives deploy and undeploy a free-form object (its examples show the fields). */
export type DeployResponse =
  operations["deploy_plugin_v1_namespaces__namespace_id__plugins__plugin_id__deploy_post"]["responses"][200][
    "content"
  ]["application/json"];
export type UndeployResponse =
  operations["undeploy_plugin_v1_namespaces__namespace_id__plugins__plugin_id__undeploy_post"]["responses"][
    200
  ]["content"]["application/json"];
export type DeploymentType = NonNullable<
  NonNullable<
    operations["deploy_plugin_v1_namespaces__namespace_id__plugins__plugin_id__deploy_post"]["parameters"][
      "query"
    ]
  >["deployment_type"]
>;
export type RealtimeTestRequest = Schemas["PluginRealtimeTestRequest"];
export type RealtimeTestResponse = Schemas["PluginRealtimeTestResponse"];

// Organisation plugins in a namespace.
export type AvailablePlugins = Schemas["AvailableOrgPluginsResponse"];
export type AvailablePlugin = Schemas["AvailableOrgPluginItem"];
export type EnableRequest = Schemas["EnableOrgPluginRequest"];
export type EnableResponse = Schemas["EnableOrgPluginResponse"];
export type DisableResponse = Schemas["DisableOrgPluginResponse"];

// Extractor discovery.
export type ExtractorList = Schemas["UnifiedExtractorListResponse"];
export type Extractor = Schemas["UnifiedExtractorResponse"];
export type ExtractorSource = Schemas["ExtractorSource"];
export type FeatureExtractor = Schemas["FeatureExtractorResponseModel"];
export type ExtractorQuerySource = NonNullable<
  NonNullable<
    operations["list_extractors_v1_namespaces__namespace_id__extractors_get"]["parameters"]["query"]
  >[
    "source"
  ]
>;

// Errors.
export type ErrorResponse = Schemas["ErrorResponse"];
export type ErrorDetail = Schemas["ErrorDetail"];
export type HTTPValidationError = Schemas["HTTPValidationError"];
export type FieldError = Schemas["ValidationError"];

export type ValidationStatus = ConfirmResponse["validation_status"];

/**
 * Deployment statuses, as PluginStatusResponse's description lists them (lower case here; servers send
 * either case, so compare with `sameStatus`). Deploy may also answer `batch_only`.
 */
export const DEPLOYMENT_STATUSES = [
  "queued",
  "pending",
  "in_progress",
  "deployed",
  "failed",
  "not_deployed",
] as const;
export type DeploymentStatus = typeof DEPLOYMENT_STATUSES[number];

/** Where `status --wait` stops (SPEC §8): a deployment that will not change without another request. */
export const TERMINAL_STATUSES: readonly string[] = ["deployed", "failed", "not_deployed", "batch_only"];

/** Case-insensitive status comparison (Mixpeek's texts use both `deployed` and `DEPLOYED`). */
export function sameStatus(a: string | null | undefined, b: string): boolean {
  return typeof a === "string" && a.toLowerCase() === b.toLowerCase();
}

export function isTerminalStatus(status: string | null | undefined): boolean {
  return TERMINAL_STATUSES.some((t) => sameStatus(status, t));
}

/** What `plugin list --source` offers: the extractor query's values plus `community` (SPEC §2). */
export const LIST_SOURCES = ["all", "builtin", "custom", "community"] as const;
export type ListSource = typeof LIST_SOURCES[number];

/** Archive formats and their upload Content-Type (SPEC §7). */
export const ARCHIVE_FORMATS = ["tar.gz", "zip"] as const;
export type ArchiveFormat = typeof ARCHIVE_FORMATS[number];
export const ARCHIVE_CONTENT_TYPES: Readonly<Record<ArchiveFormat, string>> = {
  "tar.gz": "application/gzip",
  "zip": "application/zip",
};

/** The format an upload-URL answer's `s3_key` names by its extension, or undefined without a hint. */
export function formatOfKey(key: string | null | undefined): ArchiveFormat | undefined {
  if (typeof key !== "string") return undefined;
  const lower = key.toLowerCase();
  if (lower.endsWith(".zip")) return "zip";
  if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar.gz";
  return undefined;
}
