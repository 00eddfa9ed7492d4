"""Reports of uploads made through the dashboard, kept so a page can show them again and
offer their row errors as a download after the upload's own request has ended."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Row

from outbound.store.db import reading
from outbound.store.schema import upload_reports

_LISTED = (upload_reports.c.id, upload_reports.c.account_id, upload_reports.c.campaign_id,
           upload_reports.c.kind, upload_reports.c.file_name, upload_reports.c.created_at,
           upload_reports.c.created_by, upload_reports.c.summary)


class UploadsRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, account_id: int, campaign_id: int | None, kind: str, file_name: str,
            now: float, created_by: str | None, summary: dict[str, Any],
            errors_csv: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(upload_reports).values(
                account_id=account_id, campaign_id=campaign_id, kind=kind,
                file_name=file_name[:300], created_at=now, created_by=created_by,
                summary=summary, errors_csv=errors_csv,
            )).inserted_primary_key[0])

    def latest(self, account_id: int, kind: str, campaign_id: int | None = None,
               limit: int = 5) -> list[Row[Any]]:
        """The newest reports of an account's DNC uploads, or of one campaign's contacts."""
        query = select(*_LISTED).where(upload_reports.c.account_id == account_id,
                                       upload_reports.c.kind == kind)
        if campaign_id is not None:
            query = query.where(upload_reports.c.campaign_id == campaign_id)
        with reading(self.engine) as conn:
            return list(conn.execute(query.order_by(upload_reports.c.id.desc()).limit(limit)))

    def errors_csv(self, account_id: int, report_id: int) -> str | None:
        """The row errors of a report of this account, or None when there is no such one."""
        with reading(self.engine) as conn:
            value = conn.execute(select(upload_reports.c.errors_csv).where(
                upload_reports.c.id == report_id,
                upload_reports.c.account_id == account_id)).scalar()
        return None if value is None else str(value)
