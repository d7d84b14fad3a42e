"{{title}}: a Mixpeek {{category}} plugin. See README.md; Mixpeek imports manifest.py and pipeline.py from this folder."

__version__ = "{{version}}"
