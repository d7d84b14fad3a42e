"""shared.collection.features.extractors (local runtime)."""
