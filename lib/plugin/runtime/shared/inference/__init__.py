"""shared.inference: Mixpeek's built-in model services (local stand-ins, see registry.py)."""
