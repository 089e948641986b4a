"""Tagged cover letters: each laid-out block's content and structure, re-emitted on its page.

Blocks are laid out tagged (WeasyPrint), each on a page of its own. A block's page becomes a
:class:`Marked` template once: its content stream split at its MCIDs, its resources renamed
apart (a prefix per layout document, so blocks of different documents never clash on a
page), and its structure as template nodes (:func:`~handout_gen.packets.structure.read_nodes`).
Composing a letter page writes the blocks' content *into the page's own content stream*,
each block's MCIDs moved past the previous block's, and builds the block's elements with
``/Pg`` on that page: plain page-level marked content, which every reader of tagged PDF
handles.

Why not keep stacking the blocks as Form XObjects: marked content inside a form needs
marked-content references with ``/Stm`` and a ``/StructParents`` entry on the form (one
form per patient, then, as the parent tree maps one form to one set of elements), and
readers handle those partly or not at all (poppler reads MCIDs by page, PDFium and pdf.js
skip ``/Stm`` references). Re-emitting costs one join of byte strings per block.

The stationery (header, footer) is drawn as a form inside ``/Artifact``: page furniture.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from handout_gen.packets.structure import (
    Builder,
    Node,
    Tree,
    artifact_content,
    hoist_form_marks,
    page_links,
    read_nodes,
    section,
)

MCID_RE = re.compile(rb"/MCID\s+(\d+)")
NAME_CHARS = rb"[^\s/\[\]<>(){}%]"
ROLE_RE = re.compile(r'^\s*<\w+\b[^>]*?\srole="([a-z]+)"')  # the ARIA role of a block's first element
LABEL_RE = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*?\saria-label="([^"]*)"')
_HOLDERS = itertools.count()  # resource dictionaries of letter blocks, numbered in this process
ROLES = {"note": "/Aside", "complementary": "/Aside"}  # ARIA role → structure type


@dataclass(frozen=True)
class Marked:
    """A laid-out block's page as a template: content, resources, structure and links."""

    holder: int  # names ``resources`` in this process (blocks of a document may share them)
    resources: Any  # indirect pikepdf.Dictionary: category → {renamed resource: object}
    segments: tuple[bytes, ...]  # the content, split at its MCIDs
    mcids: tuple[int, ...]  # the MCID between each two segments
    count: int  # MCIDs the block uses: the next block on the page starts after them
    nodes: tuple[Node, ...]  # structure (page index 0)
    links: tuple[tuple[tuple[float, float, float, float], str, str], ...]  # (rect pt, URI, description)
    band: tuple[float, float, float]  # (low, high, width) pt: the part of the page the block drew

    def content(self, offset: int) -> bytes:
        """The content with MCIDs from ``offset``."""
        out = [self.segments[0]]
        for mcid, segment in zip(self.mcids, self.segments[1:], strict=True):
            out += [b"/MCID %d" % (mcid + offset), segment]
        return b"".join(out)

    def copied_to(self, pdf: Any) -> Marked:
        return replace(self, resources=pdf.copy_foreign(self.resources))


def marked_pages(pdf: Any, name: str, blocks: list[str], bands: list[tuple[float, float]]) -> list[Marked]:
    """The :class:`Marked` template of each page of a tagged layout of blocks.

    ``blocks`` is each page's block HTML (for its ARIA role and link descriptions; "" for
    none), ``bands`` each page's (low, high) in pt. ``name`` names the layout document:
    resource names get it as a prefix. An element with content on several pages (a list
    that runs over a page break) becomes one element per page, each with that page's part.
    """
    found: list[list[Node]] = [[] for _ in pdf.pages]
    for node in read_nodes(pdf):
        for index, part in _by_page(node).items():
            if 0 <= index < len(found):
                found[index].append(part)
    prefix = b"/%s_" % name.encode()
    rename = _renamer(pdf, prefix)
    made = []
    holders: dict[tuple[Any, ...], tuple[int, Any]] = {}
    for index, (page, block, (low, high)) in enumerate(zip(pdf.pages, blocks, bands, strict=True)):
        content = page.obj.Contents.read_bytes() if "/Contents" in page.obj else b""
        content = hoist_form_marks(page.obj, content)
        present = {int(m) for m in MCID_RE.findall(content)}
        tops = [_detached(node, present) for node in _unwrap(found[index], block)]
        keep = {mcid for node in tops for mcid in _mcids(node)}
        parts = MCID_RE.split(artifact_content(rename(content), keep))
        made.append(
            Marked(
                *_holder(pdf, page.obj, prefix.decode(), holders),
                tuple(parts[0::2]),
                tuple(int(m) for m in parts[1::2]),
                max(keep, default=-1) + 1,
                tuple(tops),
                _links(page.obj, block),
                (low, high, float(page.mediabox[2])),
            )
        )
    return made


def _by_page(node: Node) -> dict[int, Node]:
    """``node``'s subtree split by page: for each page it has content on, the part there
    (one walk of the tree, however many pages the layout has)."""
    role, attrs, kids, page = node
    parts: dict[int, list[Any]] = {}
    for kid in kids:
        if isinstance(kid, tuple):
            for index, part in _by_page(kid).items():
                parts.setdefault(index, []).append(part)
        elif page is not None:
            parts.setdefault(page, []).append(kid)
    if page is not None and page not in parts and ("/Alt" in attrs or "/ActualText" in attrs):
        parts[page] = []
    return {index: (role, attrs, kept, index) for index, kept in parts.items()}


def _renamer(pdf: Any, prefix: bytes) -> Callable[[bytes], bytes]:
    """Prunes each page's resources to what it uses, and returns what renames them in content."""
    names: set[bytes] = set()
    for page in pdf.pages:
        page.remove_unreferenced_resources()  # WeasyPrint shares one resource list per document
        for category in page.obj.get("/Resources", {}).values():
            names.update(str(name)[1:].encode() for name in category)
    if not names:
        return lambda content: content
    alternatives = b"|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rb"/(" + alternatives + rb")(?!" + NAME_CHARS + rb")")
    return lambda content: pattern.sub(lambda m: prefix + m[1], content)


def _holder(
    pdf: Any, page: Any, prefix: str, holders: dict[tuple[Any, ...], tuple[int, Any]]
) -> tuple[int, Any]:
    """The page's resources, renamed, as (number, indirect dictionary). Blocks of a document
    that use the same resources (most greetings: one font, one graphics state) share one, so
    a letter page merges few of them."""
    import pikepdf

    used = [
        (str(cat), prefix + str(name)[1:], obj)
        for cat, d in page.get("/Resources", {}).items()
        if isinstance(d, pikepdf.Dictionary)
        for name, obj in d.items()
    ]
    same = tuple((c, n, o.objgen if o.is_indirect else o.unparse()) for c, n, o in used)
    if same not in holders:
        grouped: dict[str, dict[str, Any]] = {}
        for category, name, obj in used:
            grouped.setdefault(category, {})[name] = obj
        resources = pikepdf.Dictionary({c: pikepdf.Dictionary(e) for c, e in grouped.items()})
        holders[same] = (next(_HOLDERS), pdf.make_indirect(resources))
    return holders[same]


def _detached(node: Node, present: set[int]) -> Node:
    """A node whose attributes belong to no PDF (the layout's PDF is closed after a while),
    without the MCIDs its page's content does not have (see ``hoist_form_marks``)."""
    role, attrs, kids, page = node
    return (
        role,
        {k: _plain(v) for k, v in attrs.items()},
        [
            _detached(k, present) if isinstance(k, tuple) else k
            for k in kids
            if not isinstance(k, int) or k in present
        ],
        page,
    )


def _plain(value: Any) -> Any:
    import pikepdf

    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({k: _plain(v) for k, v in value.items()})
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_plain(v) for v in value])
    if isinstance(value, pikepdf.String):
        return pikepdf.String(str(value))
    if isinstance(value, pikepdf.Name):
        return pikepdf.Name(str(value))
    return value if isinstance(value, (bool, int, float)) else float(value)


def _mcids(node: Node) -> Iterable[int]:
    for kid in node[2]:
        if isinstance(kid, int):
            yield kid
        elif isinstance(kid, tuple):
            yield from _mcids(kid)


def _unwrap(nodes: list[Node], block: str) -> list[Node]:
    """A block's own elements: without the layout's wrapper <div>, the first one given the
    structure type its ARIA role asks for (the blood-thinner box is an Aside)."""
    if len(nodes) == 1 and nodes[0][0] == "/Div" and all(isinstance(k, tuple) for k in nodes[0][2]):
        nodes = list(nodes[0][2])
    role = ROLE_RE.match(block)
    if nodes and role and role[1] in ROLES:
        first = nodes[0]
        nodes[0] = (ROLES[role[1]], first[1], first[2], first[3])
    return nodes


def _links(page: Any, block: str) -> tuple[tuple[tuple[float, float, float, float], str, str], ...]:
    """The block's web links: (rectangle, URI, description from the link's aria-label)."""
    labels = {html.unescape(href): html.unescape(label) for href, label in LABEL_RE.findall(block)}
    found = []
    for annot in page_links(page):
        action = annot.get("/A")
        uri = str(action.URI) if action is not None and action.get("/S") == "/URI" else ""
        x1, y1, x2, y2 = (float(v) for v in annot.Rect)  # any two opposite corners
        found.append(((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), uri, labels.get(uri, uri)))
    return tuple(found)


class LetterTags:
    """The tagged pages of one letter and, at the end, its structure (a Tree bundle)."""

    def __init__(self, out: Any, lang: str, copied: dict[int, dict[str, dict[str, Any]]]) -> None:
        self.out = out
        self.lang = lang
        self.builder = Builder(out, [])
        self.kids: list[Any] = []
        self.section = section(out, lang)
        self._copied = copied  # resources already copied into ``out``, by id of the source holder

    def page(self, page: Any, stationery: Any, placed: list[tuple[Marked, float]]) -> None:
        """Draw the stationery (an artifact) and ``placed`` blocks (moved up by the shift, pt)
        on ``page``, with their structure."""
        import pikepdf

        builder = self.builder
        builder.pages.append(page)
        builder.parents.append({})
        at = len(builder.pages) - 1
        ops = [b"/Artifact BMC q /Pg Do Q EMC\n"]
        resources: dict[str, dict[str, Any]] = {"/XObject": {"/Pg": stationery}}
        annots = []
        offset = 0
        for marked, shift in placed:
            low, high, width = marked.band
            ops.append(b"q 1 0 0 1 0 %.3f cm 0 %.3f %.3f %.3f re W n\n" % (shift, low, width, high - low))
            ops += [marked.content(offset), b"\nQ\n"]
            for category, entries in self._resources(marked).items():
                resources.setdefault(category, {}).update(entries)
            links = []
            for (x1, y1, x2, y2), uri, label in marked.links:
                links.append(
                    self.out.make_indirect(
                        pikepdf.Dictionary(
                            Type=pikepdf.Name.Annot,
                            Subtype=pikepdf.Name.Link,
                            Rect=pikepdf.Array([x1, y1 + shift, x2, y2 + shift]),
                            BS=pikepdf.Dictionary(W=0),
                            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri)),
                            Contents=pikepdf.String(label),
                            F=4,
                        )
                    )
                )
            annots += links
            for node in marked.nodes:
                self.kids.append(
                    builder.build(node, self.section, offset=offset, links=links, shift=shift, at=at)
                )
            offset += marked.count
        page.Resources = pikepdf.Dictionary({c: pikepdf.Dictionary(e) for c, e in resources.items()})
        page.Contents = self.out.make_stream(b"".join(ops))
        page.Tabs = pikepdf.Name.S
        if annots:
            page.Annots = pikepdf.Array(annots)

    def _resources(self, marked: Marked) -> dict[str, dict[str, Any]]:
        if marked.holder not in self._copied:
            holder = self.out.copy_foreign(marked.resources)
            self._copied[marked.holder] = {str(c): dict(d.items()) for c, d in holder.items()}
        return self._copied[marked.holder]

    def tree(self) -> Any:
        """The letter's structure: a Tree bundle for :func:`~handout_gen.packets.structure.tag_packet`."""
        import pikepdf

        self.section.K = pikepdf.Array(self.kids)
        return Tree(self.builder.bundle(self.section))
