"""engine.plugins: the plugin framework (local runtime)."""
