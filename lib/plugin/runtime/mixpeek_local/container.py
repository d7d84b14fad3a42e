"""The `container` build_steps() receives: on Mixpeek it carries platform services; locally, honest stand-ins.

- `container.secrets.get(name, default=None)`: the namespace's secrets on the platform; locally only the
  values the caller passes in (none by default), never the environment of the machine.
- `container.llm`: the platform's hosted LLMs; they cannot run locally, so any use raises an error that
  says so (there is no fake answer).
"""

from typing import Any, Dict, Optional

__all__ = ["LocalContainer", "LocalSecrets", "PlatformServiceUnavailable"]


class PlatformServiceUnavailable(RuntimeError):
    """A platform service was used where only the platform can provide it."""


class LocalSecrets:
    def __init__(self, values: Optional[Dict[str, str]] = None):
        self._values = dict(values or {})

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self._values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> str:
        if name not in self._values:
            raise KeyError("secret %r is not set locally (the platform reads it from the namespace's secrets)" % name)
        return self._values[name]

    def __repr__(self):
        return "<local secrets: %d set>" % len(self._values)


class _UnavailableLLM:
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise PlatformServiceUnavailable(
            "container.llm.%s: the platform's LLM service is not available in the local runtime; test this "
            "code path on Mixpeek, or give build_steps a parameter that turns it off locally" % name
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise PlatformServiceUnavailable("container.llm is not available in the local runtime")

    def __repr__(self):
        return "<container.llm: not available locally>"


class LocalContainer:
    def __init__(self, secrets: Optional[Dict[str, str]] = None):
        self.secrets = LocalSecrets(secrets)
        self.llm = _UnavailableLLM()

    def __repr__(self):
        return "<local container>"
