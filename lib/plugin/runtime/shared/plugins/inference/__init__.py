"""shared.plugins.inference: base classes for a plugin's realtime (serve) and batch inference services."""
