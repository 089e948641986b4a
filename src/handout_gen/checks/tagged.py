"""PDF/UA rules a program can check with pikepdf, for tagged packets (``check``, tests).

The items of PDF/UA-1 (ISO 14289-1) and the Matterhorn Protocol that need no human
judgement: the file is marked as tagged and has a structure tree; it has a language and
its title is what a viewer shows; figures have alternate text; every page and link is in
the parent tree and links have a description; and no content is untagged — everything a
page paints is inside an element of the tree or marked as an artifact.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from handout_gen.core.errors import agree, plural

PAINTING = frozenset({"Tj", "TJ", "'", '"', "Do", "sh", "f", "F", "f*", "B", "B*", "b", "b*", "S", "s"})


def pdfua_problems(data: bytes) -> list[tuple[str, str]]:
    """(rule, message) for each PDF/UA item ``data`` fails; [] for a conforming file."""
    import pikepdf

    pdf = pikepdf.open(io.BytesIO(data))
    root = pdf.Root
    found: list[tuple[str, str]] = []
    tree = root.get("/StructTreeRoot")
    mark_info: Any = root.get("/MarkInfo")
    if tree is None or mark_info is None or not bool(mark_info.get("/Marked", False)):
        return [
            ("pdfua.tagged", "the PDF is not tagged (no structure tree, or /MarkInfo /Marked is not true)")
        ]
    if not str(root.get("/Lang", "")).strip():
        found.append(("pdfua.lang", "the document has no language (/Lang)"))
    prefs: Any = root.get("/ViewerPreferences", {})
    title = str(pdf.docinfo.get("/Title", "")) if pdf.trailer.get("/Info") is not None else ""
    if not title.strip() or not bool(prefs.get("/DisplayDocTitle", False)):
        found.append(("pdfua.title", "the document has no title, or viewers are not told to show it"))
    elements = list(_elements(tree))
    in_tree = {e.objgen for e in elements}
    for element in elements:
        if (
            element.get("/S") == "/Figure"
            and not str(element.get("/Alt", element.get("/ActualText", ""))).strip()
        ):
            found.append(("pdfua.alt", "a figure has no alternate text (/Alt)"))
        if "/Lang" in element and not str(element.Lang).strip():
            found.append(("pdfua.lang", f"a {element.S} element has an empty /Lang"))
    parents = _parent_tree(tree)
    for number, page in enumerate(pdf.pages, start=1):
        found += [
            (rule, f"page {number}: {message}") for rule, message in _page_problems(page, parents, in_tree)
        ]
    return sorted(set(found))


def _elements(node: Any) -> Iterator[Any]:
    import pikepdf

    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if (
            isinstance(kid, pikepdf.Dictionary)
            and kid.get("/Type", "/StructElem") == "/StructElem"
            and "/S" in kid
        ):
            yield kid
            yield from _elements(kid)


def _parent_tree(tree: Any) -> dict[int, Any]:
    """The parent tree as key → value (a number tree, possibly with kids)."""
    found: dict[int, Any] = {}

    def walk(node: Any) -> None:
        nums = node.get("/Nums")
        if nums is not None:
            for i in range(0, len(nums) - 1, 2):
                found[int(nums[i])] = nums[i + 1]
        for kid in node.get("/Kids", []):
            walk(kid)

    if "/ParentTree" in tree:
        walk(tree.ParentTree)
    return found


def _page_problems(
    page: Any, parents: dict[int, Any], in_tree: set[tuple[int, int]]
) -> list[tuple[str, str]]:
    import pikepdf

    found = []
    key = page.obj.get("/StructParents")
    owners = parents.get(int(key)) if key is not None else None
    if owners is None:
        found.append(("pdfua.parent-tree", "the page has no entry in the parent tree (/StructParents)"))
        owners = pikepdf.Array()
    annots = page.obj.get("/Annots", [])
    if len(annots) and page.obj.get("/Tabs") != "/S":
        found.append(
            ("pdfua.annotations", "a page with links does not set the tab order to the structure (/Tabs /S)")
        )
    for annot in annots:
        if annot.get("/Subtype") == "/Link":
            owner = parents.get(int(annot.get("/StructParent", -1)))
            if owner is None or owner.objgen not in in_tree:
                found.append(("pdfua.annotations", "a link is not in the structure tree"))
            if not str(annot.get("/Contents", "")).strip():
                found.append(("pdfua.annotations", "a link has no description (/Contents)"))
    unmarked, mcids = _content(page.obj, page.obj.get("/Resources", {}), False)
    if unmarked:
        drawn = f"{plural(unmarked, 'drawing operation')} {agree(unmarked, 'is', 'are')}"
        found.append(("pdfua.untagged", f"{drawn} neither tagged nor artifacts"))
    if any(mcid < 0 for mcid in mcids):
        found.append(("pdfua.untagged", "a form it draws has tagged content of its own (MCIDs)"))
    for mcid in sorted(m for m in mcids if m >= 0):
        owner = owners[mcid] if mcid < len(owners) else None
        if owner is None or not isinstance(owner, pikepdf.Dictionary) or owner.objgen not in in_tree:
            found.append(("pdfua.untagged", f"marked content {mcid} belongs to no element of the tree"))
    return found


def _content(contents: Any, resources: Any, marked: bool, depth: int = 0) -> tuple[int, set[int]]:
    """(painting operations outside marked content, MCIDs) of a page's content (or a form's)
    and the forms it draws; forms drawn inside marked content count as marked."""
    import pikepdf

    if "/Contents" not in contents and not isinstance(contents, pikepdf.Stream) or depth > 8:
        return 0, set()
    stack: list[bool] = []  # is each open marked-content sequence tagged or an artifact?
    unmarked, mcids = 0, set()
    for item in pikepdf.parse_content_stream(contents):
        if isinstance(item, pikepdf.ContentStreamInlineImage):
            unmarked += not (marked or any(stack))
            continue
        op = str(item.operator)
        if op in ("BMC", "BDC"):
            props = item.operands[1] if op == "BDC" else None
            if isinstance(props, pikepdf.Name):
                props = resources.get("/Properties", {}).get(props)
            mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
            if mcid is not None:
                mcids.add(int(mcid))
            stack.append(item.operands[0] == "/Artifact" or mcid is not None)
        elif op == "EMC" and stack:
            stack.pop()
        elif op in PAINTING:
            xobject = resources.get("/XObject", {}).get(item.operands[0]) if op == "Do" else None
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                inside = marked or any(stack)
                inner, found = _content(xobject, xobject.get("/Resources", resources), inside, depth + 1)
                unmarked += inner
                mcids.update(-1 - mcid for mcid in found)  # a form's own MCIDs: no reader finds them
            elif not (marked or any(stack)):
                unmarked += 1
    return unmarked, mcids
