"""Settings from the environment (OUTBOUND_*): the only place that reads it."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from outbound.store.db import sqlite_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", extra="ignore")

    data_dir: Path = Path(".outbound")  # SQLite file and recordings live here
    database_url: str | None = None  # e.g. postgresql://user@host/db; default: SQLite in data_dir
    log_level: str = "WARNING"

    def store_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"
