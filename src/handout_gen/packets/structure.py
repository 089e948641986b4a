"""One tagged (PDF/UA) structure tree per packet, merged from the trees of its parts.

Every part of a packet is rendered tagged: the cached static parts by WeasyPrint, the cover
letter by :mod:`~handout_gen.packets.blocktags` from the tags of its blocks. Copying pages
into a packet drops their trees, so assembly merges them here, at packet speed:

- **Once per part and process** (:func:`part_tree`), the part's tree is walked and rebuilt
  in its own PDF as a *template*: a ``Sect`` (the part's Document) with the part's
  language, holding the part's elements, with WeasyPrint's one-``Span``-a-line and empty
  ``NonStruct`` wrappers folded into their parents (a third of the elements, and of the
  merge time, with the same reading order and text), every MCID of every page mapped to
  its element, and no reference up to the part's own root.
- **Per packet** (:func:`tag_packet`), one ``copy_foreign`` per part copies its template
  after its pages (qpdf maps each ``/Pg`` to the page copy already in the packet, so no
  element can point at a page of another packet), and the parent tree is numbered by
  offsets: each copied page gets the next ``/StructParents`` key and keeps its MCIDs.

Content that belongs to no element (WeasyPrint tags its running headers and footers but
leaves them out of the tree) is marked as an artifact before the part is cached
(:func:`artifact_orphans`), so every page's content is in the tree or an artifact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# A node of a structure template: (type, attributes, kids, page index). Kids are MCIDs
# (content on the node's page), link indexes ("the i-th link of the page", as a str), or nodes.
Node = tuple[str, dict[str, Any], list[Any], int]
FOLDED = ("/Span", "/NonStruct")  # wrappers with no meaning of their own (when they carry nothing else)
BARE = frozenset(("/Type", "/S", "/P", "/Pg", "/K"))
ROLE_MAP = {"/Aside": "/Sect"}  # the letter's boxes (PDF 2.0's Aside) for PDF 1.7 readers
PX = 0.75  # PDF points per CSS pixel
TEMPLATE = "/HandoutGenTemplate"  # a cached part's catalog entry for its structure template
MARKED_RE = re.compile(rb"/([A-Za-z0-9_.]+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")


@dataclass(frozen=True)
class Tree:
    """A part's structure, ready to copy into packets after the part's pages.

    ``bundle`` is one indirect array in the part's PDF: the part's ``Sect``, the parent
    array (MCID → element) of each of its pages, and (annotation, element) pairs.
    """

    bundle: Any
    role_map: tuple[tuple[str, Any], ...] = ()
    class_map: tuple[tuple[str, Any], ...] = ()


Section = tuple[Tree | None, int, list[tuple[str, int]]]  # (tree, pages, bookmarks (title, packet page))

# --- reading a part's tree ------------------------------------------------------------


def _kids(node: Any) -> list[Any]:
    import pikepdf

    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def read_nodes(pdf: Any) -> list[Node]:
    """The structure of ``pdf`` as template nodes, wrappers folded, in reading order.

    The top nodes are the children of the Document element(s). Links are numbered per
    page in the order of the page's ``/Annots`` (what :func:`page_links` lists).
    """
    import pikepdf

    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return []
    pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
    links = [page_links(page.obj) for page in pdf.pages]
    heights = [float(page.mediabox[3]) for page in pdf.pages]

    def adopt(node: Any, parent: Node | None, page: int) -> list[Any]:
        if isinstance(node, int):
            return [node] if parent is not None and parent[3] == page else []
        if not isinstance(node, pikepdf.Dictionary):
            return []
        kind = node.get("/Type")
        if kind in ("/MCR", "/OBJR"):
            where = pages.get(node.Pg.objgen, page) if "/Pg" in node else page
            if parent is None or where != parent[3] or "/Stm" in node:
                return []  # content of another page than its element's, or in a form: not made here
            if kind == "/MCR":
                return [int(node.MCID)]
            objgens = [a.objgen for a in links[where]]
            obj = node.get("/Obj")
            return [str(objgens.index(obj.objgen))] if obj is not None and obj.objgen in objgens else []
        page = pages.get(node.Pg.objgen, page) if "/Pg" in node else page
        role = str(node.get("/S", "/NonStruct"))
        if role in ("/Document", "/Part") or (
            role in FOLDED and parent is not None and parent[3] == page and BARE.issuperset(node.keys())
        ):
            return [k for kid in _kids(node) for k in adopt(kid, parent, page)]
        attrs: dict[str, Any] = {key: node[key] for key in node.keys() if key not in BARE}  # noqa: SIM118
        if "/A" in attrs:
            attrs["/A"] = _layout(attrs["/A"], heights[page])
        made: Node = (role, attrs, [], page)
        made[2].extend(k for kid in _kids(node) for k in adopt(kid, made, page))
        return [made] if made[2] or "/Alt" in attrs or "/ActualText" in attrs else []

    return [k for kid in _kids(root) for k in adopt(kid, None, 0) if isinstance(k, tuple)]


def _layout(attributes: Any, height: float) -> Any:
    """Layout attributes with the /BBox in PDF points from the bottom of the page.

    WeasyPrint writes a figure's box in CSS pixels from the top of the page.
    """
    import pikepdf

    if not isinstance(attributes, pikepdf.Dictionary) or "/BBox" not in attributes:
        return attributes
    x1, y1, x2, y2 = (float(v) * PX for v in attributes.BBox)
    fixed = pikepdf.Dictionary(dict(attributes.items()))
    fixed.BBox = pikepdf.Array([round(v, 3) for v in (x1, height - y2, x2, height - y1)])
    return fixed


def page_links(page: Any) -> list[Any]:
    """The link annotations of a page (dictionary), in their order."""
    return [a for a in page.get("/Annots", []) if a.get("/Subtype") == "/Link"]


def marked_ids(nodes: list[Node]) -> Iterator[tuple[int, int]]:
    """(page, MCID) of every piece of content the nodes reach."""
    for _, _, kids, page in nodes:
        for kid in kids:
            if isinstance(kid, int):
                yield page, kid
            elif isinstance(kid, tuple):
                yield from marked_ids([kid])


def artifact_content(content: bytes, keep: set[int]) -> bytes:
    """Mark the tagged content of a content stream that no element reaches as an artifact."""
    return MARKED_RE.sub(lambda m: m[0] if int(m[2]) in keep else b"/Artifact BMC", content)


DO_RE = re.compile(rb"(/[^\s/\[\]<>(){}%]+)\s+Do\b")


def hoist_form_marks(page: Any, content: bytes) -> bytes:
    """Move tagged content out of the forms a page draws: ``content`` with each such form's
    ``Do`` inside the form's first marked-content sequence, and the form's own marks plain.

    WeasyPrint draws an element with opacity (or a transform) as a transparency group, a
    form, and writes the element's MCID inside it, where readers look for it in vain (an
    MCID is one of its page's, or of a form named by an /Stm reference). Moved onto the
    page, the form's whole content belongs to its first element (its other MCIDs are gone).
    """
    xobjects = page.get("/Resources", {}).get("/XObject", {})
    moved: dict[bytes, bytes] = {}
    for name in list(xobjects.keys()):
        form = xobjects[name]
        if form.get("/Subtype") != "/Form":
            continue
        data = form.read_bytes()
        first = MARKED_RE.search(data)
        if first is None:
            continue
        form.write(MARKED_RE.sub(lambda m: b"/" + m[1] + b" BMC", data))
        moved[name.encode()] = b"/%s <</MCID %s>> BDC %s Do EMC" % (first[1], first[2], name.encode())
    if not moved:
        return content
    return DO_RE.sub(lambda m: moved.get(m[1], m[0]), content)


def artifact_orphans(pdf: Any) -> None:
    """Mark every orphan marked-content sequence of a tagged PDF (WeasyPrint's) an artifact,
    in place; an untagged PDF is left as it is.

    WeasyPrint tags the content of running elements and margin boxes (headers, footers)
    but leaves their elements out of the tree; PDF/UA wants such furniture marked as an
    artifact. Done once, before a part is cached.
    """
    if "/StructTreeRoot" not in pdf.Root:
        return
    reached: dict[int, set[int]] = {}
    for at, mcid in marked_ids(read_nodes(pdf)):
        reached.setdefault(at, set()).add(mcid)
    for index, page in enumerate(pdf.pages):
        content = page.obj.Contents.read_bytes() if "/Contents" in page.obj else b""
        fixed = artifact_content(hoist_form_marks(page.obj, content), reached.get(index, set()))
        if fixed != content:
            page.obj.Contents = pdf.make_stream(fixed)


# --- templates ------------------------------------------------------------------------


class Builder:
    """Makes structure elements from template nodes in one PDF, and records who owns what."""

    def __init__(self, pdf: Any, pages: list[Any]) -> None:

        self.pdf = pdf
        self.pages = pages  # page objects by the nodes' page index
        self.parents: list[dict[int, Any]] = [{} for _ in pages]  # per page: MCID → element
        self.owners: list[tuple[Any, Any]] = []  # (annotation, Link element)
        self._names: dict[str, Any] = {}

    def build(
        self,
        node: Node,
        parent: Any,
        *,
        offset: int = 0,
        links: list[Any] | None = None,
        shift: float = 0.0,
        at: int | None = None,
    ) -> Any:
        """One element and its subtree. MCIDs are moved by ``offset`` and links are the
        annotations ``links`` (or the page's own); a layout box moves up by ``shift`` pt;
        ``at`` puts it on that page instead of the node's.

        Elements are kept small (a packet has hundreds): no optional /Type, a /Pg only on
        elements with content of their own (a list or a section has none), a lone kid bare.
        """
        import pikepdf

        role, attrs, kids, page_index = node
        page_index = page_index if at is None else at
        page = self.pages[page_index]
        name = self._names.get(role)
        if name is None:
            name = self._names[role] = pikepdf.Name(role)
        elem = self.pdf.make_indirect(pikepdf.Dictionary(S=name, P=parent))
        for key, value in attrs.items():
            elem[key] = _moved(value, shift) if key == "/A" and shift else value
        made: list[Any] = []
        owned = self.parents[page_index]
        content = False
        for kid in kids:
            if isinstance(kid, int):
                made.append(kid + offset)
                owned[kid + offset] = elem
                content = True
            elif isinstance(kid, str):
                annot = (links if links is not None else page_links(page))[int(kid)]
                made.append(pikepdf.Dictionary(Type=pikepdf.Name.OBJR, Obj=annot))
                self.owners.append((annot, elem))
                content = True
            else:
                made.append(self.build(kid, elem, offset=offset, links=links, shift=shift, at=at))
        if content:
            elem.Pg = page
        elem.K = made[0] if len(made) == 1 else pikepdf.Array(made)  # one kid needs no array
        return elem

    def bundle(self, section: Any) -> Any:
        """The section, each page's parent array and the annotation owners, as one object."""
        import pikepdf

        arrays = []
        for owned in self.parents:
            count = max(owned, default=-1) + 1
            arrays.append(pikepdf.Array([owned.get(i) for i in range(count)]))
        owners = [obj for pair in self.owners for obj in pair]
        return self.pdf.make_indirect(pikepdf.Array([section, pikepdf.Array(arrays), pikepdf.Array(owners)]))


def _moved(attributes: Any, shift: float) -> Any:
    """A layout attribute dictionary with its /BBox moved up by ``shift`` pt."""
    import pikepdf

    if not isinstance(attributes, pikepdf.Dictionary) or "/BBox" not in attributes:
        return attributes
    x1, y1, x2, y2 = (float(v) for v in attributes.BBox)
    moved = pikepdf.Dictionary(dict(attributes.items()))
    moved.BBox = pikepdf.Array([x1, y1 + shift, x2, y2 + shift])
    return moved


def section(pdf: Any, lang: str, kids: list[Any] | None = None) -> Any:
    """A packet section element (``Sect``) in the part's language; kids are set by the caller."""
    import pikepdf

    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.StructElem,
            S=pikepdf.Name.Sect,
            Lang=pikepdf.String(lang),
            K=pikepdf.Array(kids or []),
        )
    )


def add_part_tree(pdf: Any) -> None:
    """Build the template of a whole static part (see the module doc) into ``pdf`` and note
    it in the catalog, where :func:`part_tree` finds it; nothing for an untagged part.

    Call once per rendered part, after :func:`~handout_gen.packets.assemble.prepare_part`
    (links it dropped are left out), before the part is cached: opening a cached part then
    costs no walk of its tree. Packets copy pages and the template, never the catalog.
    """
    import pikepdf

    if "/StructTreeRoot" not in pdf.Root:
        return
    nodes = read_nodes(pdf)
    builder = Builder(pdf, [page.obj for page in pdf.pages])
    for page in builder.pages:
        page.Tabs = pikepdf.Name.S  # links in structure order; the packet's copies keep it
    sect = section(pdf, str(pdf.Root.get("/Lang", "")))
    sect.K = pikepdf.Array([builder.build(node, sect) for node in nodes])
    pdf.Root[TEMPLATE] = builder.bundle(sect)


def part_tree(pdf: Any) -> Tree | None:
    """The template :func:`add_part_tree` built into a part; None if the part is untagged."""
    import pikepdf

    root, bundle = pdf.Root.get("/StructTreeRoot"), pdf.Root.get(TEMPLATE)
    if root is None or bundle is None:
        return None
    maps = [
        tuple((str(k), v) for k, v in root[name].items())
        if isinstance(root.get(name), pikepdf.Dictionary)
        else ()
        for name in ("/RoleMap", "/ClassMap")
    ]
    return Tree(bundle, maps[0], maps[1])


# --- merging, per packet --------------------------------------------------------------


def tag_packet(out: Any, parts: list[Section], lang: str) -> None:
    """Give the packet ``out`` (pages already copied, in part order) its structure and outline.

    ``parts`` are (tree, page count, bookmarks as (title, packet page)) in page order: a
    Document with one ``Sect`` per part holding the part's tree (titled by its first
    bookmark), the parent tree numbered by offsets, and one outline item per bookmark
    pointing at its page and its section (``/SE``). The outline is written here, as plain
    dictionaries, because pikepdf's outline editor costs half a millisecond a packet.
    """
    import pikepdf

    document = out.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, Lang=pikepdf.String(lang))
    )
    pages = [page.obj for page in out.pages]
    nums: list[Any] = []
    sections: list[Any] = []
    marks: list[tuple[str, int, Any]] = []  # (title, page, section)
    maps: tuple[dict[str, Any], dict[str, Any]] = (dict(ROLE_MAP), {})
    first = 0
    for tree, count, bookmarks in parts:
        here = pages[first : first + count]
        first += count
        sect = None if tree is None else _copy_part(out, tree, here, nums, maps)
        if sect is not None:
            sect.P = document
            if bookmarks:
                sect.T = pikepdf.String(bookmarks[0][0])
            sections.append(sect)
        marks += [(title, page, sect) for title, page in bookmarks]
    document.K = pikepdf.Array(sections)
    root = out.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.StructTreeRoot,
            K=document,
            ParentTree=out.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(nums))),
            ParentTreeNextKey=len(nums) // 2,
            RoleMap=pikepdf.Dictionary({k: pikepdf.Name(str(v)) for k, v in maps[0].items()}),
        )
    )
    if maps[1]:
        root.ClassMap = pikepdf.Dictionary(maps[1])
    document.P = root
    out.Root.StructTreeRoot = root
    out.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    if marks:
        _outline(out, pages, marks)


def _copy_part(
    out: Any, tree: Tree, pages: list[Any], nums: list[Any], maps: tuple[dict[str, Any], dict[str, Any]]
) -> Any:
    """Copy one part's template after its pages; number its pages and links from ``nums``."""

    sect, arrays, owners = out.copy_foreign(tree.bundle)
    for page, array in zip(pages, arrays, strict=True):
        key = len(nums) // 2
        page.StructParents = key
        nums += [key, array]
    for i in range(0, len(owners), 2):
        key = len(nums) // 2
        owners[i].StructParent = key
        nums += [key, owners[i + 1]]
    for role, value in tree.role_map:
        maps[0].setdefault(role, value)
    for name, value in tree.class_map:
        maps[1].setdefault(name, out.copy_foreign(value) if value.is_indirect else value)
    return sect


def _outline(out: Any, pages: list[Any], marks: list[tuple[str, int, Any]]) -> None:
    """A flat outline: one item per bookmark, each to its page (fit) and section."""
    import pikepdf

    outlines = out.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Outlines, Count=len(marks)))
    items = []
    for title, page, sect in marks:
        item = pikepdf.Dictionary(
            Title=pikepdf.String(title), Parent=outlines, Dest=pikepdf.Array([pages[page], pikepdf.Name.Fit])
        )
        if sect is not None:
            item.SE = sect
        items.append(out.make_indirect(item))
    for before, after in zip(items, items[1:], strict=False):
        before.Next, after.Prev = after, before
    outlines.First, outlines.Last = items[0], items[-1]
    out.Root.Outlines = outlines
