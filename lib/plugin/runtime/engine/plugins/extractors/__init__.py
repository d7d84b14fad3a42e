"""engine.plugins.extractors: the declarative pipeline API that plugins build their batch steps with."""
