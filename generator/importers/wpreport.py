"""What an import did: counts per kind and language, drafts and scheduled posts, what was
skipped and why, what could not be converted (by WordPress post ID) and which media files
were not copied. Printed at the end of ``newshub import wordpress``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Report:
    """What an import did, printed at the end."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, lang)
    drafts: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    comments: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)
    missing: list[tuple[int, str, str]] = field(default_factory=list)  # post, path, why
    copied: int = 0
    attachments: int = 0
    attachments_used: int = 0
    redirects: int = 0
    notes: list[str] = field(default_factory=list)
    languages: tuple[str, ...] = ()
    files: int = 0

    def problem(self, post_id: int, text: str) -> None:
        found = self.problems.setdefault(post_id, [])
        if text not in found:
            found.append(text)

    def to_text(self, target: Path) -> str:
        lines = [f"Imported into {target}: {self.files} files"]
        for kind in ("article", "page"):
            per = [f"{lang} {n}" for (k, lang), n in sorted(self.counts.items()) if k == kind]
            if per:
                lines.append(f"  {kind}s: {', '.join(per)}")
        lines.append(f"  media: {self.copied} files copied into page bundles; "
                     f"{self.attachments_used} of {self.attachments} attachments used")
        lines.append(f"  old addresses: {self.redirects} (aliases in front matter and "
                     "redirects.txt)")
        if self.drafts:
            lines.append(f"  drafts (draft: true): {len(self.drafts)}: "
                         + ", ".join(self.drafts))
        if self.scheduled:
            lines.append(f"  scheduled (future date): {', '.join(self.scheduled)}")
        skipped = dict(self.skipped)
        if self.comments:
            skipped["comments (not imported)"] = self.comments
        unused = self.attachments - self.attachments_used
        if unused:
            skipped["attachments no imported post uses (not copied)"] = unused
        if skipped:
            lines.append("Skipped:")
            lines += [f"  {reason}: {count}" for reason, count in sorted(skipped.items())]
        if self.notes:
            lines.append("Notes:")
            lines += [f"  {note}" for note in self.notes]
        if self.problems:
            lines.append("Not converted (by WordPress post ID):")
            for post_id, problems in sorted(self.problems.items()):
                lines += [f"  post {post_id}: {problem}" for problem in problems]
        if self.missing:
            files: dict[tuple[str, str], list[str]] = {}
            for post_id, path, why in self.missing:
                files.setdefault((path, why), []).append(str(post_id))
            lines.append(f"Media not copied ({len(files)} files; the pages link their old "
                         "address instead; give --media a copy of wp-content/uploads):")
            lines += [f"  {path} ({why}; post{'s' if len(posts) > 1 else ''} "
                      f"{', '.join(posts)})" for (path, why), posts in sorted(files.items())]
        return "\n".join(lines)
