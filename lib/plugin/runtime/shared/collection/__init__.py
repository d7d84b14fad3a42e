"""shared.collection (local runtime)."""
