"""Processing code for this plugin: core.py holds the steps, runner.py runs them like Mixpeek does."""
