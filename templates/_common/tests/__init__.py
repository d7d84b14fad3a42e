"""Tests of {{title}}: run them with `mixpeek plugin test`, or with `eval "$(mixpeek plugin env)"; python3 -m pytest`."""
