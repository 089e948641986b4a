"""Governance: how old a clinician's sign-off may get (review due, review too old) and
which texts still wait for one (drafts), against the practice's review cycle."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from handout_gen.checks.findings import Finding
from handout_gen.content.schema import Practice, Review, Signoff
from handout_gen.content.yamlfile import KeyLines, parse_yaml


def months_between(earlier: date, later: date) -> int:
    """Whole months from ``earlier`` to ``later`` (2024-03-15 → 2026-03-14 is 23)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def governance(
    meta: Signoff, source: str, key_lines: KeyLines, today: date, review: Review | None,
    prints: str = "the handout prints",
) -> list[Finding]:
    """Review age against the practice's review cycle (``review:`` of practice.yaml; None when
    there is none: :func:`practice_review` says so) and draft status; ``prints`` says what
    carries the DRAFT banner."""
    findings = []
    line = key_lines.get(("last_reviewed",))
    age = months_between(meta.last_reviewed, today)
    own = meta.review_interval_months
    if meta.last_reviewed > today:
        findings.append(Finding(source, line, "governance.review-date", "warning",
                                f"last_reviewed {meta.last_reviewed} is in the future",
                                "enter the date the review actually happened"))
    elif review is not None:
        limit = review.limit_months
        interval = min(own if own is not None else review.interval_months, limit)
        if age >= limit:
            findings.append(Finding(
                source, line, "governance.review-age", "error",
                f"last reviewed {meta.last_reviewed}, {age} months ago (limit {limit})",
                f"have it reviewed (reviewer_role: {meta.reviewer_role}), "
                "then update last_reviewed and version"))
        elif age >= interval:
            findings.append(Finding(
                source, line, "governance.review-due", "warning",
                f"last reviewed {meta.last_reviewed}, {age} months ago; "
                f"review is due every {interval} months",
                f"schedule a review (reviewer_role: {meta.reviewer_role}); it fails at {limit} months"))
    if review is not None and own is not None and own > review.limit_months:
        findings.append(Finding(
            source, key_lines.get(("review_interval_months",)), "governance.review-interval", "warning",
            f"review_interval_months {own} is longer than the practice's limit "
            f"({review.limit_months} months in practice.yaml): check fails before the review is due",
            f"set it to {review.limit_months} or less, or remove it to use the practice's "
            f"{review.interval_months}"))
    if meta.status == "draft":
        findings.append(Finding(
            source, key_lines.get(("status",)), "governance.draft", "warning",
            f"status is draft: {prints} a DRAFT banner",
            "after clinical review set 'status: approved'"))
    return findings


def practice_review(root: Path, practice: Practice | None) -> tuple[Review | None, list[Finding]]:
    """The practice's review cycle: the loaded practice.yaml's (``practice``), or when the
    file did not load (its problems are findings already) its ``review:`` block alone, so
    texts are still aged; and a finding when it has none (an older practice.yaml)."""
    source = "content/practice.yaml"
    if practice is not None:
        review, has_block = practice.review, practice.review is not None
    else:
        path = root / source
        data = parse_yaml(path.read_text(encoding="utf-8-sig"), source)[0] if path.is_file() else None
        block = data.get("review") if isinstance(data, dict) else None
        has_block = block is not None or not isinstance(data, dict)  # no file, no YAML: said already
        try:
            review = Review.model_validate(block) if block is not None else None
        except ValueError:  # pydantic's ValidationError: the schema finding names it
            review = None
    if has_block:
        return review, []
    return None, [Finding(
        source, None, "governance.missing", "error",
        "no review: the practice's review cycle, which check ages every text by",
        "add to content/practice.yaml (with your practice's own numbers):\n"
        "      review:\n        interval_months: 24\n        limit_months: 36")]
