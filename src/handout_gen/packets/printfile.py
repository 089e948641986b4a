"""The day's print file: every packet of a run in one PDF, for one print job at the desk.

Printing a day's stack as 30 jobs is slow on most office printers and easy to get out of
order; one file sent as one two-sided job runs each packet's last page into the next one's
first when a packet has an odd page count. So the print file gives each such packet a blank
back page, and every packet starts on a sheet of its own, in the roster's row order. Its
bookmarks name each packet by roster row and packet id (never by patient), so one packet can
be found and printed again.

It is a copy for the printer, not for reading on a screen: its pages keep their text, but
not the packets' structure trees (a screen reader user gets their own packet file). The
packets stay as they are; the print file is written last, atomically, private like them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from handout_gen.core.errors import plural
from handout_gen.core.files import write_file
from handout_gen.packets.folder import index_rows
from handout_gen.render.saving import FAST_LEVEL, saved

PRINT_FILE = "print-all.pdf"


@dataclass(frozen=True)
class PrintFile:
    """What the print file holds, for the run's summary and its audit line."""

    path: Path
    packets: int
    pages: int  # blank backs included
    blanks: int
    sha256: str

    @property
    def sheets(self) -> int:
        """Sheets of paper it takes printed two-sided."""
        return self.pages // 2


def write_print_file(
    run_dir: Path, out_root: Path, stop: Callable[[], bool] = lambda: False
) -> PrintFile | None:
    """Write ``print-all.pdf`` into ``run_dir`` from the packets its index lists (none: no
    file). ``stop`` is asked between packets: a Ctrl-C leaves no print file, and the run's
    packets as they are."""
    import pikepdf

    listed = index_rows(run_dir)
    if not listed:
        return None
    combined = pikepdf.new()
    blanks, version = 0, "1.7"
    # The packets stay open until the file is saved: qpdf copies a page's streams then.
    with ExitStack() as sources:
        with combined.open_outline() as outline:
            for row, packet_id in listed:
                if stop():
                    return None
                data = (run_dir / f"packet_{packet_id}.pdf").read_bytes()
                packet = sources.enter_context(pikepdf.open(io.BytesIO(data)))
                first, version = len(combined.pages), max(version, packet.pdf_version)
                combined.pages.extend(packet.pages)
                if len(packet.pages) % 2:
                    left, bottom, right, top = (float(n) for n in packet.pages[-1].mediabox)
                    combined.add_blank_page(page_size=(right - left, top - bottom))
                    blanks += 1
                sheets = (len(combined.pages) - first) // 2  # to check the stack at the printer
                title = f"Row {row} · packet {packet_id} · {plural(sheets, 'sheet')}"
                outline.root.append(pikepdf.OutlineItem(title, first))
        for page in combined.pages:  # the structure trees stay with the packets
            if "/StructParents" in page.obj:
                del page.obj["/StructParents"]
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    del annotation["/StructParent"]
        combined.docinfo["/Title"] = f"Packets to print: run {run_dir.name}"
        combined.Root.PageMode = pikepdf.Name.UseOutlines
        data = saved(combined, level=FAST_LEVEL, deterministic_id=True, compress_streams=True,
                     min_version=version)
    if stop():  # asked once more before the file appears
        return None
    path = run_dir / PRINT_FILE
    write_file(path, data, root=out_root, private=True)
    return PrintFile(path, len(listed), len(combined.pages), blanks, hashlib.sha256(data).hexdigest())
