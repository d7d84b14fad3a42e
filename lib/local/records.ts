/**
 * The documents the local registry answers with, built from its records. Every return type is a body type
 * generated from the vendored OpenAPI document (lib/api/types.ts): nothing here restates a body by hand.
 */
import type {
  AvailablePlugin,
  Extractor,
  FeatureExtractor,
  OrgPluginDocument,
  PluginDocument,
  PluginListItem,
  StatusResponse,
} from "../api/types.ts";
import { featureUriOf } from "../plugin/identity.ts";
import type { EnabledRow, PluginRow } from "./store.ts";
import { ORGANIZATION_ID, seedFeatureUri } from "./seed.ts";

export function deploymentName(pluginId: string): string {
  return `custom_plugin_${pluginId}`;
}

export function routePrefix(pluginId: string): string {
  return `/inference/${deploymentName(pluginId)}`;
}

/** Deployed in the document's sense: available for use (batch or realtime). */
export function isDeployed(row: PluginRow): boolean {
  return row.deployment_status === "deployed";
}

export function listItem(row: PluginRow): PluginListItem {
  return {
    plugin_id: row.plugin_id,
    name: row.name,
    version: row.version,
    description: row.description,
    deployed: isDeployed(row),
    validation_status: row.validation_status,
    feature_uri: featureUriOf(row.name, row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function _common(row: PluginRow, archiveUrl: string) {
  const feature_uri = featureUriOf(row.name, row.version);
  const realtimeDeployed = isDeployed(row) && row.deployment_type === "realtime";
  return {
    plugin_id: row.plugin_id,
    name: row.name,
    version: row.version,
    description: row.description,
    s3_archive_url: archiveUrl,
    code_hash: row.code_hash,
    validation_status: row.validation_status,
    validation_errors: row.validation_errors,
    security_scan_passed: row.security_scan_passed,
    deployed: isDeployed(row),
    deployment_info: isDeployed(row)
      ? {
        ray_cluster_url: null,
        ray_deployment_name: realtimeDeployed ? deploymentName(row.plugin_id) : null,
        feature_uri,
        deployed_at: row.deployed_at,
      }
      : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    deployed_at: row.deployed_at,
    resolved_inference_name: row.realtime ? deploymentName(row.plugin_id) : null,
  };
}

export function pluginDocument(row: PluginRow, archiveUrl: string): PluginDocument {
  return {
    ..._common(row, archiveUrl),
    namespace_id: row.scope === "namespace" ? row.owner : null,
    organization_id: row.scope === "org" ? row.owner : null,
    manifest: {
      feature_extractor_name: row.name,
      version: row.version,
      description: row.description,
      feature_uri: null,
      dependencies: [],
    },
  };
}

export function orgPluginDocument(row: PluginRow, archiveUrl: string): OrgPluginDocument {
  return {
    ..._common(row, archiveUrl),
    organization_id: ORGANIZATION_ID,
    manifest: {
      feature_extractor_name: row.name,
      version: row.version,
      description: row.description,
      feature_uri: null,
      dependencies: [],
    },
  };
}

/**
 * The status the wire shows: a plugin validated and never deployed is `pending` (as confirm's answer says);
 * the other record states are the document's own.
 */
export function wireStatus(row: PluginRow): string {
  return row.deployment_status === "validated" ? "pending" : row.deployment_status;
}

/** PluginStatusResponse, with the messages the document's status descriptions give. */
export function statusDocument(row: PluginRow, namespaceId: string): StatusResponse {
  const messages: Record<string, string> = {
    validated: "Plugin is validated and waits for a deploy (POST …/deploy).",
    pending: "Deployment has been triggered.",
    queued: "Plugin is queued for deployment.",
    in_progress: "Deployment in progress.",
    deployed: row.deployment_type === "realtime"
      ? "Plugin successfully deployed and ready for realtime inference (a worker of mixpeek local hosts it)."
      : "Plugin deployed for batch processing (no realtime endpoint).",
    failed: `Deployment failed: ${row.deployment_error ?? "no reason recorded"}`,
    not_deployed: "Plugin has not been deployed for realtime inference.",
  };
  const realtime = row.deployment_type === "realtime";
  return {
    plugin_id: row.plugin_id,
    namespace_id: namespaceId,
    status: wireStatus(row),
    name: row.name,
    version: row.version,
    realtime_enabled: realtime && isDeployed(row),
    message: messages[row.deployment_status] ?? null,
    queued_at: row.queued_at,
    estimated_completion_seconds: ["queued", "pending", "in_progress"].includes(row.deployment_status) &&
        row.deployment_type === "realtime"
      ? 5
      : null,
    deployed: isDeployed(row),
    route_prefix: realtime ? routePrefix(row.plugin_id) : null,
    feature_uri: featureUriOf(row.name, row.version),
    deployed_at: row.deployed_at,
    error: row.deployment_status === "failed" ? row.deployment_error : null,
  };
}

export function availableItem(row: PluginRow, enabled: boolean): AvailablePlugin {
  return {
    plugin_id: row.plugin_id,
    name: row.name,
    version: row.version,
    description: row.description,
    feature_uri: featureUriOf(row.name, row.version),
    validation_status: row.validation_status,
    enabled_in_namespace: enabled,
    created_at: row.created_at,
  };
}

/** A custom plugin as the extractor catalogue shows it (its schemas are not known without running Python). */
export function customFeatureExtractor(row: PluginRow): FeatureExtractor {
  return {
    feature_extractor_name: row.name,
    version: row.version,
    feature_extractor_id: row.plugin_id,
    description: row.description ?? "",
    icon: "box",
    source: "custom",
    input_schema: { type: "object" },
    output_schema: { type: "object" },
    parameter_schema: null,
    supported_input_types: [],
    max_inputs: {},
    default_parameters: {},
    costs: null,
    required_vector_indexes: null,
    required_payload_indexes: null,
    position_fields: [],
  };
}

export function customExtractor(row: PluginRow, enabled?: EnabledRow): Extractor {
  return {
    ...customFeatureExtractor(row),
    source: "custom",
    default_parameters: enabled?.params ?? {},
    feature_uri: featureUriOf(row.name, row.version),
    plugin_id: row.plugin_id,
    deployed: enabled ? enabled.deployment_status === "deployed" : isDeployed(row),
    validation_status: row.validation_status,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function seedExtractor(e: FeatureExtractor): Extractor {
  return {
    ...e,
    source: e.source ?? "builtin",
    feature_uri: seedFeatureUri(e),
    plugin_id: null,
    deployed: null,
    validation_status: null,
    created_at: null,
    updated_at: null,
  };
}
