"""Uploads from the chat or the `upload` API: checked, stored by content hash, ingested behind any
running ingest, and reported file by file in Japanese, by the names the files were uploaded under.

Nothing here knows Gradio: files come in as (path, original name) pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import HyokaError, UserInputError
from ingest.labelling import Labels, check_municipality
from ingest.limits import FileLimits
from ingest.sandbox import Sandbox
from vectorstore.indexer import IngestSummary
from vectorstore.store import Store
from vectorstore.uploads import Stored, UploadStore, safe_name

from . import presenter as P

log = logging.getLogger("hyoka.intake")
Step = Callable[[float, str], None]   # (fraction done, Japanese description)

STATUS_WORDS = {"indexed": "取り込みました", "unchanged": "変更なし（取り込み済みと同じ内容です）",
                "unofficial": "非公式版として保存しました", "duplicate": "重複のため取り込みませんでした",
                "skipped": "スキップしました", "failed": "失敗しました"}


@dataclass(frozen=True)
class Outcome:
    """What became of one uploaded file: status (indexed, unchanged, unofficial, duplicate, skipped,
    failed) and a Japanese sentence that names the file as it was uploaded."""

    name: str
    status: str
    message: str

    def markdown(self) -> str:
        tag = {"unofficial": "【非公式版】"}.get(self.status, P.STATUS_TAG.get(self.status, ""))
        return f"- {tag}**{P.md_escape(self.name)}**: {P.md_escape(self.message)}"


@dataclass
class Received:
    """One Outcome per file, in the order given, and report lines about the upload as a whole
    (what the sheets do not say, where the stated municipality disagrees with a sheet)."""

    outcomes: list[Outcome]
    notes: list[str] = field(default_factory=list)


class Intake:
    def __init__(self, store: Store, limits: FileLimits, sandbox: Sandbox, max_files: int, wait_seconds: float,
                 embed_units: tuple[str, ...] = ()) -> None:
        self.store = store
        self.uploads = UploadStore(store, limits, sandbox)
        self.max_files = max_files
        self.wait_seconds = wait_seconds
        self.embed_units = embed_units

    def receive(self, incoming: list[tuple[Path, str]], uploader: str = "", municipality: str = "",
                step: Step | None = None) -> Received:
        """Store and ingest the files. `municipality` (the field beside the upload) names the city of
        sheets that do not name it themselves."""
        if len(incoming) > self.max_files:
            return Received([Outcome(safe_name(n), "failed", f"一度に取り込めるのは {self.max_files} ファイルまでです"
                                                             f"（{len(incoming)} ファイルが選ばれました）")
                             for _, n in incoming])
        try:
            labels = Labels(check_municipality(municipality, "自治体名") if municipality.strip() else "")
        except UserInputError as exc:
            return Received([Outcome(safe_name(n), "failed", exc.message_ja) for _, n in incoming])
        self._notes: list[str] = []
        outcomes: dict[int, Outcome] = {}
        stored: list[tuple[int, Stored]] = []
        for i, (path, name) in enumerate(incoming):
            try:
                stored.append((i, self.uploads.keep(path, name, uploader, municipality)))
            except UserInputError as exc:
                shown = safe_name(name)
                outcomes[i] = Outcome(shown, "failed", exc.message_ja.removeprefix(f"{shown}: "))
            except OSError:
                log.exception("keeping upload %s failed", name)
                outcomes[i] = Outcome(safe_name(name), "failed", "ファイルを受け取れませんでした。もう一度お試しください")
        if stored:
            outcomes.update(self._ingest(stored, uploader, labels, step))
        return Received([outcomes[i] for i in range(len(incoming))], self._notes)

    def _ingest(self, stored: list[tuple[int, Stored]], uploader: str, labels: Labels,
                step: Step | None) -> dict[int, Outcome]:
        files = [s for _, s in stored]

        def progress(i: int, n: int, path: str) -> None:
            if step is not None:
                step((i - 1) / max(n, 1), f"{names.get(path, Path(path).name)} を読み込み中（{i}/{n}）")

        def waiting() -> None:
            if step is not None:
                step(0.0, "別の取り込みが終わるのを待っています…")

        names = {str(s.path): s.name for s in files}
        before = self.store.sheet_hashes()
        try:
            summary = self.uploads.ingest(files, uploader, labels, progress, self.wait_seconds, waiting,
                                          self.embed_units)
        except HyokaError as exc:
            return {i: Outcome(s.name, "failed", exc.message_ja) for i, s in stored}
        except Exception:
            log.exception("ingesting uploads %s failed", [s.name for s in files])
            return {i: Outcome(s.name, "failed", "読み込み中に予期しないエラーが発生しました（詳細はサーバーのログにあります）")
                    for i, s in stored}
        if step is not None:
            step(1.0, "完了")
        self._notes = self._label_notes(summary, stored, names)
        return self._outcomes(stored, summary, before, names)

    def _label_notes(self, summary: IngestSummary, stored: list[tuple[int, Stored]], names: dict[str, str]) -> list[str]:
        """What nobody stated of the sheets (municipality, year), and where the stated municipality
        disagrees with a sheet: said once for the upload, each line naming the file."""
        lines = [_shown(n, stored[0][1], names) for n in summary.notes] if stored else []
        for path, (n_muni, n_year) in summary.unknown.items():
            name = names.get(path, Path(path).name)
            if n_muni:
                lines.append(f"{name}: 自治体名がシートに記載されていません（{n_muni} シートを「不明」として取り込みました）。"
                             "「自治体名」欄に入れて同じファイルをもう一度取り込むと設定されます")
            if n_year:
                lines.append(f"{name}: 評価年度がシートから読み取れません（{n_year} シート、「不明」）")
        if summary.relabelled:
            lines.append(f"自治体名を設定しました（{summary.relabelled} シート）")
        return lines

    def _outcomes(self, stored: list[tuple[int, Stored]], summary: IngestSummary, before: dict[str, str],
                  names: dict[str, str]) -> dict[int, Outcome]:
        after = self.store.sheet_hashes()
        by_path = {path: (status, n) for path, status, n in summary.files}
        reasons: dict[str, list[str]] = {}
        for path, msg in summary.failed + summary.skipped + summary.unofficial:
            reasons.setdefault(path, []).append(msg)
        for line in summary.duplicates:
            path = next((p for p in names if line.startswith(p) or line.startswith(names[p])), None)
            if path is not None:
                reasons.setdefault(path, []).append(line)
        out = {}
        for i, s in stored:
            key = str(s.path)
            status, _ = by_path.get(key, ("failed", 0))
            text = STATUS_WORDS.get(status, status)
            if status == "indexed":
                row = self.store.file(str(s.path.resolve()))
                text = P.indexed_outcome(row.sheet_ids, before, after) if row else text
            why = [_shown(r, s, names) for r in reasons.get(key, [])]
            why = [w for w in why if w and w.rstrip("。") not in text]
            out[i] = Outcome(s.name, status, " — ".join([text, *why]))
        return out


def _shown(message: str, stored: Stored, names: dict[str, str]) -> str:
    """A message for the page: stored (content-hash) paths become the names files came under, and
    the file's own name at the start is dropped (the line already names it)."""
    for path, name in names.items():
        message = message.replace(path, name)
    return message.removeprefix(f"{stored.name}: ").removeprefix(f"{stored.name} ")


def report_markdown(received: Received) -> str:
    lines = [o.markdown() for o in received.outcomes]
    lines += [f"- 【確認】{P.md_escape(n)}" for n in received.notes]
    return "### 取り込み結果\n" + "\n".join(lines)
