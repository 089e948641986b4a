"""How the command line shows warnings: ``Warning: …`` on stderr, once.

WeasyPrint's own messages are collected per document by render/pdf.py and re-reported under
the file they concern, so its logger is kept from printing them a second time.
"""

from __future__ import annotations

import logging
import sys


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        label = "Warning" if record.levelno == logging.WARNING else record.levelname.title()
        return f"{label}: {record.getMessage()}"


def setup_cli_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("handout_gen")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logging.getLogger("weasyprint").propagate = False
