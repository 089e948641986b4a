"""The one content source, read and validated: schema, YAML with line numbers, Markdown, procedures.

Loading collects every problem (file:line: field) instead of stopping at the first one.
"""
