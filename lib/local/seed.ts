/**
 * The extractors every namespace of the local registry offers besides its custom plugins, so the extractor
 * lists (`plugin list --source all|builtin|community`) have something to show. They are catalogue entries,
 * typed by the document's FeatureExtractorResponseModel: there is no archive behind them and nothing runs.
 */
import type { FeatureExtractor } from "../api/types.ts";

export const DEFAULT_NAMESPACE = "default";
export const ORGANIZATION_ID = "org_local";

function _text(name: string, description: string, inputs: string[], dim: number): FeatureExtractor {
  return {
    feature_extractor_name: name,
    version: "v1",
    feature_extractor_id: `${name}_v1`,
    description,
    icon: "box",
    source: "builtin",
    input_schema: {
      type: "object",
      properties: Object.fromEntries(inputs.map((i) => [i, { type: "string" }])),
    },
    output_schema: {
      type: "object",
      properties: { embedding: { type: "array", items: { type: "number" }, minItems: dim, maxItems: dim } },
    },
    parameter_schema: null,
    supported_input_types: inputs,
    max_inputs: Object.fromEntries(inputs.map((i) => [i, 1])),
    default_parameters: {},
    costs: null,
    required_vector_indexes: null,
    required_payload_indexes: null,
    position_fields: [],
  };
}

export const SEED_EXTRACTORS: readonly FeatureExtractor[] = [
  _text("text_extractor", "Extract text embeddings from documents", ["text"], 1024),
  _text("image_extractor", "Embeddings and descriptions of images", ["image"], 768),
  _text(
    "multimodal_extractor",
    "One embedding space for video, image and text",
    ["video", "image", "text"],
    1408,
  ),
  _text("document_graph_extractor", "Layout-aware chunks and embeddings of PDF documents", ["pdf"], 1024),
  {
    ..._text("language_detector", "Detects the language of text (community)", ["text"], 16),
    source: "community",
  },
];

/** The primary feature URI of a seeded extractor, as Mixpeek's example shows it. */
export function seedFeatureUri(e: FeatureExtractor): string {
  return `mixpeek://${e.feature_extractor_name}@${e.version}/embedding`;
}
