/** The plugin API's bodies (SPEC.md §5). Field names are the wire names. */

export type PluginStatus = "pending" | "validating" | "deploying" | "ready" | "failed";
export type PluginSource = "all" | "builtin" | "custom" | "community";

export interface UploadRequest {
  name: string;
  version: string;
  size_bytes: number;
  sha256: string;
}

export interface UploadTicket {
  upload_id: string;
  upload_url: string;
  method: string;
  headers: Record<string, string>;
  expires_at: string;
}

export interface Deployment {
  status: string;
  endpoint?: string | null;
  updated_at?: string;
}

export interface PluginRecord {
  plugin_id: string;
  namespace_id?: string;
  name: string;
  version: string;
  source: string;
  status: PluginStatus;
  error?: string | null;
  sha256?: string;
  size_bytes?: number;
  realtime?: boolean;
  created_at?: string;
  updated_at?: string;
  deployment?: Deployment | null;
}

export interface PluginList {
  plugins: PluginRecord[];
  next_cursor?: string | null;
}

export interface StatusResponse {
  plugin_id?: string;
  status: PluginStatus;
  error?: string | null;
  updated_at?: string;
}

export const TERMINAL_STATUSES: readonly PluginStatus[] = ["ready", "failed"];
