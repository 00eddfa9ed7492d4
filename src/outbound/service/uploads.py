"""The reports of uploads made through the dashboard (a campaign's contacts, the DNC list),
kept so a page can show them again and offer their row errors as a download after the
upload's own request has ended."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from outbound.domain.errors import NotFound
from outbound.store import Store

UploadKind = Literal["contacts", "dnc"]


class Report(Protocol):
    """An import's report: its figures and its row errors (ingest's ImportReport and
    DncReport)."""

    def to_dict(self) -> dict[str, Any]: ...

    def errors_csv(self) -> str: ...


def keep_upload(store: Store, account_id: int, campaign_id: int | None, kind: UploadKind,
                file_name: str, by: str, report: Report, now: float) -> int:
    """Keep an upload's report: its figures (without the row errors) as a summary, and its
    row errors as a spreadsheet-safe CSV. The report's id."""
    summary = {k: v for k, v in report.to_dict().items() if k != "errors"}
    return store.uploads.add(account_id, campaign_id, kind, file_name, now, by, summary,
                             report.errors_csv())


def latest_uploads(store: Store, account_id: int, kind: UploadKind,
                   campaign_id: int | None = None, limit: int = 5) -> list[Any]:
    """The newest reports of an account's DNC uploads, or of one campaign's contacts."""
    return store.uploads.latest(account_id, kind, campaign_id, limit)


def upload_errors_csv(store: Store, account_id: int, report_id: int) -> str:
    """The row errors of one of the account's upload reports, as CSV; NotFound otherwise."""
    body = store.uploads.errors_csv(account_id, report_id)
    if body is None:
        raise NotFound(f"no upload {report_id}")
    return body
