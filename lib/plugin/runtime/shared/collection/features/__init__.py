"""shared.collection.features (local runtime)."""
