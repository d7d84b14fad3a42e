"""Mixpeek's `shared` package, as the `mixpeek` CLI's local platform runtime provides it (see README.md)."""
