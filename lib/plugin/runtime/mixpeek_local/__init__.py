"""mixpeek_local: what the `mixpeek` CLI itself uses around the local platform runtime.

Not a Mixpeek module (plugins do not import it): the test harness and the local registry's deployment
workers share these helpers so that `plugin test`, `plugin invoke` and `mixpeek local` agree on how sample
records become batch rows (rows.py), how a realtime service is found and called (services.py), and what
`container` a plugin gets outside the platform (container.py).
"""
