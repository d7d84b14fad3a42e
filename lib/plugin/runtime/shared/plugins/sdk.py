"""shared.plugins.sdk: concurrency helpers for plugin code (local platform runtime).

Plugin code may not start threads or processes itself (the security scan forbids `threading` and
`multiprocessing`); it asks the platform for concurrency instead:

- `parallel_io(fn, items, max_workers=8)`: `fn(item)` for every item on a thread pool, for I/O such as
  downloads; results in the order of `items`;
- `concurrent_api_calls(fn, items, max_concurrency=8)`: the same for calls to an external API; `fn` may be a
  plain function or an `async def` (run on an event loop, at most `max_concurrency` at a time).

The first exception an item raises is raised again (the other results are dropped), as on the platform.
"""

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, List

__all__ = ["concurrent_api_calls", "concurrent_api_calls_async", "parallel_io"]


def _limit(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be a whole number of at least 1, got %r" % (name, value))
    return value


def parallel_io(fn: Callable[[Any], Any], items: Iterable[Any], max_workers: int = 8) -> List[Any]:
    """`[fn(item) for item in items]`, on up to `max_workers` threads."""
    items = list(items)
    workers = min(_limit(max_workers, "max_workers"), max(1, len(items)))
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mixpeek-io") as pool:
        return list(pool.map(fn, items))


async def _gather(fn, items, limit):
    semaphore = asyncio.Semaphore(limit)

    async def one(item):
        async with semaphore:
            return await fn(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


def concurrent_api_calls(fn: Callable[[Any], Any], items: Iterable[Any], max_concurrency: int = 8) -> List[Any]:
    """`[fn(item) for item in items]` with at most `max_concurrency` calls in flight."""
    items = list(items)
    limit = _limit(max_concurrency, "max_concurrency")
    if not inspect.iscoroutinefunction(fn):
        return parallel_io(fn, items, max_workers=limit)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_gather(fn, items, limit))
    raise RuntimeError(
        "concurrent_api_calls() with an async function was called inside a running event loop; "
        "await concurrent_api_calls_async(fn, items) there instead"
    )


async def concurrent_api_calls_async(fn, items, max_concurrency: int = 8) -> List[Any]:
    """The awaitable form of concurrent_api_calls, for code already on an event loop."""
    items = list(items)
    limit = _limit(max_concurrency, "max_concurrency")
    if inspect.iscoroutinefunction(fn):
        return await _gather(fn, items, limit)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=min(limit, max(1, len(items)))) as pool:
        return list(await asyncio.gather(*(loop.run_in_executor(pool, fn, item) for item in items)))
