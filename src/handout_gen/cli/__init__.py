"""The command line: Click only. Each command parses, calls one library function and prints.

:mod:`.base` holds the group and what every command shares; the other modules add the
commands of one job each.
"""

from handout_gen.cli import content, email, packets, project  # noqa: F401 - they register commands
from handout_gen.cli.base import cli, main

__all__ = ["cli", "main"]
