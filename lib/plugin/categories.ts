/** The plugin categories and resource types of SPEC.md §2–3, with each category's default resource. */

export const CATEGORIES = ["text", "image", "video", "audio", "document", "multimodal"] as const;
export type Category = typeof CATEGORIES[number];

export const RESOURCES = ["cpu", "gpu", "api"] as const;
export type Resource = typeof RESOURCES[number];

/**
 * What a real plugin of the category usually needs: text and document work runs on CPU; image, audio,
 * video and multimodal plugins usually grow into local models (CLIP, Whisper) and want a GPU.
 */
export const DEFAULT_RESOURCE: Readonly<Record<Category, Resource>> = {
  text: "cpu",
  image: "gpu",
  video: "gpu",
  audio: "gpu",
  document: "cpu",
  multimodal: "gpu",
};

export const RESOURCE_HELP: Readonly<Record<Resource, string>> = {
  cpu: "CPU: text embeddings, classification, parsing",
  gpu: "GPU: local models such as Whisper or CLIP",
  api: "API: calls an external service such as OpenAI or Vertex",
};

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}

export function isResource(value: string): value is Resource {
  return (RESOURCES as readonly string[]).includes(value);
}
