/**
 * The catalogue every new namespace starts with, so `plugin list --source builtin|community` has something to
 * filter. These entries have no archive (sha256 and size_bytes are null) and cannot be deleted.
 */
import type { SeedEntry } from "./store.ts";

export const SEED_ENTRIES: readonly SeedEntry[] = [
  { name: "audio_transcription", version: "1.2.0", source: "builtin", realtime: false },
  { name: "image_captioning", version: "1.0.3", source: "builtin", realtime: true },
  { name: "text_embedding", version: "2.1.0", source: "builtin", realtime: true },
  { name: "video_scene_detection", version: "1.1.0", source: "builtin", realtime: false },
  { name: "language_detector", version: "0.4.1", source: "community", realtime: false },
];

export const DEFAULT_NAMESPACE = "default";
