"""Every table, in SQLAlchemy Core. Migrations in `migrations/` create exactly this.

Times are POSIX seconds (UTC) in double-precision columns: the engine compares and orders
them on every claim, and one representation serves SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("region", String(2), nullable=False),
    # Default business hours for campaigns without an override (BusinessHours.to_dict()).
    Column("business_hours", JSON, nullable=False),
    # Telephony settings: {"kind": "sim", "network": {...}}.
    Column("provider", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    # What an abandoned call hears when its campaign sets none; None: the product's default
    # wording, naming the account and the campaign's first caller ID.
    Column("abandon_message", Text),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # owner | admin | user
    Column("password_hash", Text),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "email"),
)

phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("e164", String(20), nullable=False),
    UniqueConstraint("account_id", "e164"),
)

departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    UniqueConstraint("account_id", "name"),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("department_id", ForeignKey("departments.id", ondelete="SET NULL")),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("phone", String(20)),
    Column("sip_uri", String(300)),
    Column("availability", String(16), nullable=False),  # available | offline
    # The call attempt this agent is on or reserved for; NULL when free. Set only by an
    # atomic conditional UPDATE, so an agent is never on two calls at once.
    Column("busy_attempt_id", Integer),
    Column("idle_since", Float, nullable=False),  # longest-idle first
    UniqueConstraint("account_id", "name"),
    Index("ix_agents_free", "department_id", "busy_attempt_id", "idle_since"),
    # A call's end frees its agent by this (only busy agents are in it).
    Index("ix_agents_busy", "busy_attempt_id", sqlite_where=text("busy_attempt_id IS NOT NULL"),
          postgresql_where=text("busy_attempt_id IS NOT NULL")),
)

voice_menus = Table(
    "voice_menus",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("options", JSON, nullable=False),  # {"1": "confirm", "2": "cancel"}
    UniqueConstraint("account_id", "name"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("settings", JSON, nullable=False),  # CampaignSettings.to_dict()
    Column("start_at", Float),  # scheduled start (copied out of settings to query it)
    Column("seed", Integer, nullable=False),  # for random rotation
    Column("rotation_cursor", Integer, nullable=False, default=0),
    Column("pacer_tat", Float, nullable=False, default=0.0),  # next dial's earliest start
    # Bumped by every change of status or settings, so a worker re-reads only what changed.
    Column("version", Integer, nullable=False, default=1),
    # Campaign lease: the worker dialing this campaign, and until when its claim holds.
    Column("owner", String(64)),
    Column("owner_until", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    # What keeps the running campaign from dialing more (governor.Limit), as its owner last
    # saw it; written when it changes, at most once a second.
    Column("limited_by", String(32)),
    UniqueConstraint("account_id", "name"),
    Index("ix_campaigns_status", "status"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # list order; dials follow it
    Column("phone", String(20), nullable=False),  # E.164
    Column("name", Text),  # as uploaded: a cell may be long
    Column("fields", JSON),  # every other column of the upload
    Column("agent", Text),  # the agent this contact asks for, if any
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", Float),  # retry_queued: the earliest next dial
    Column("lease_until", Float),  # in flight: reset by the sweeper once past
    Column("caller_id", String(20)),  # the number of its first attempt (sticky rotation)
    Column("digit", String(1)),  # voice-menu answer
    Column("dnc_flagged", Boolean, nullable=False, default=False),  # on DNC at import
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("campaign_id", "phone"),
    Index("ix_contacts_queue", "campaign_id", "status", "position"),
    # Partial: only contacts queued for retry, or in flight, carry these times, so the
    # indexes stay small and an import of pending contacts does not write to them.
    Index("ix_contacts_due", "campaign_id", "status", "due_at",
          sqlite_where=text("due_at IS NOT NULL"), postgresql_where=text("due_at IS NOT NULL")),
    Index("ix_contacts_lease", "status", "lease_until",
          sqlite_where=text("lease_until IS NOT NULL"),
          postgresql_where=text("lease_until IS NOT NULL")),
)

call_attempts = Table(
    "call_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1, 2, … per contact
    Column("phone", String(20), nullable=False),
    Column("caller_id", String(20), nullable=False),
    Column("call_id", String(100)),  # the provider's id for the customer leg
    Column("agent_call_id", String(100)),  # agent-first: the agent leg
    Column("agent_id", Integer),
    Column("agent", String(200)),
    Column("started_at", Float, nullable=False),
    Column("ringing_at", Float),
    Column("answered_at", Float),
    Column("bridged_at", Float),
    Column("ended_at", Float),
    Column("outcome", String(20)),
    Column("sip_code", Integer),
    Column("duration", Float),
    Column("status_after", String(16)),
    Column("digit", String(1)),
    Column("recording", Text),
    # One attempt number per contact: a retried originate is recognised, never doubled.
    UniqueConstraint("contact_id", "attempt"),
    Index("ix_attempts_campaign", "campaign_id", "id"),
    Index("ix_attempts_call", "call_id"),
    # The abandon rate over a window: a campaign's answered calls since a moment.
    Index("ix_attempts_answered", "campaign_id", "answered_at",
          sqlite_where=text("answered_at IS NOT NULL"),
          postgresql_where=text("answered_at IS NOT NULL")),
)

dnc = Table(
    "dnc",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("phone", String(20), primary_key=True),  # E.164
    Column("added_at", Float, nullable=False),
    Column("added_by", String(320)),
    Column("source", String(200)),
    # On SQLite the table is its primary-key B-tree (no rowid and separate index): an entry
    # is written once, and a lookup reads one tree. Lists run to millions.
    sqlite_with_rowid=False,
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contact_id", Integer),
    Column("detail", JSON),
    Index("ix_events_campaign", "campaign_id", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the token: the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),  # HMAC key; write-only through the API
    Column("created_at", Float, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    # Stable per event (e.g. "call.completed:1234"): receivers dedupe on it.
    Column("event_id", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body, exactly as signed and sent
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivered_at", Float),
    Column("failed_at", Float),  # gave up (24 h of retries)
    Column("last_error", Text),
    UniqueConstraint("webhook_id", "event_id"),
    Index("ix_outbox_due", "next_attempt_at",
          sqlite_where=text("delivered_at IS NULL AND failed_at IS NULL"),
          postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL")),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    # SHA-256 of the session cookie's value: the cookie itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

upload_reports = Table(
    "upload_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE")),  # NULL: a DNC list
    Column("kind", String(16), nullable=False),  # contacts | dnc
    Column("file_name", String(300), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(320)),
    Column("summary", JSON, nullable=False),  # the report's counts
    Column("errors_csv", Text, nullable=False),  # the row errors, as the download gives them
    Index("ix_upload_reports_account", "account_id", "kind", "id"),
    Index("ix_upload_reports_campaign", "campaign_id", "id"),
)
