"""The live preview: :mod:`.site` makes the pages, :mod:`.server` serves them on 127.0.0.1."""

from handout_gen.preview.server import PreviewServer, serve
from handout_gen.preview.site import MARKER, PreviewSite

__all__ = ["MARKER", "PreviewServer", "PreviewSite", "serve"]
