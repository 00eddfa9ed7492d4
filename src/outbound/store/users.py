"""Users, their roles, passwords (argon2), API tokens and web sessions (both stored as SHA-256
hashes of what the user holds)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update

from outbound.domain.errors import InvalidInput, NotFound
from outbound.store.db import reading
from outbound.store.schema import accounts, api_tokens, users, web_sessions

ROLES = ("owner", "admin", "user")
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user of one account, with a role there."""

    user_id: int
    account_id: int
    email: str
    role: str  # owner | admin | user

    @property
    def manages(self) -> bool:
        """Owners and Admins change things; Users only read."""
        return self.role in ("owner", "admin")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UsersRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, account_id: int, email: str, role: str, now: float, *,
               password: str | None = None, name: str | None = None) -> int:
        if role not in ROLES:
            raise InvalidInput("role", f"must be one of {', '.join(ROLES)} (got {role!r})")
        email = email.strip().lower()
        if "@" not in email or len(email) > 320:
            raise InvalidInput("email", f"must be an e-mail address (got {email!r})")
        if password is not None and len(password) < 8:
            raise InvalidInput("password", "must be at least 8 characters")
        with self.engine.begin() as conn:
            taken = conn.execute(select(users.c.id).where(
                users.c.account_id == account_id, users.c.email == email)).first()
            if taken:
                raise InvalidInput("email", f"{email} is already a user of this account")
            return int(conn.execute(insert(users).values(
                account_id=account_id, email=email, name=name or email, role=role,
                password_hash=_hasher.hash(password) if password else None, created_at=now,
            )).inserted_primary_key[0])

    def find(self, account_id: int, email: str) -> Any:
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(
                users.c.account_id == account_id,
                users.c.email == email.strip().lower())).first()
        if row is None:
            raise NotFound(f"no user {email!r} in this account")
        return row

    def check_password(self, account_id: int, email: str, password: str) -> Principal | None:
        try:
            row = self.find(account_id, email)
        except NotFound:
            _hasher.hash(password)  # the same work either way: no timing oracle for e-mails
            return None
        if not row.password_hash:
            return None
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(row.id, row.account_id, row.email, row.role)

    def check_login(self, email: str, password: str) -> list[Principal]:
        """Every user (one per account) with this e-mail whose password this is."""
        with reading(self.engine) as conn:
            rows = list(conn.execute(select(users).join(
                accounts, accounts.c.id == users.c.account_id).where(
                users.c.email == email.strip().lower(), users.c.password_hash.is_not(None),
            ).order_by(accounts.c.name)))
        if not rows:
            _hasher.hash(password)  # the same work either way: no timing oracle for e-mails
        found = []
        for row in rows:
            try:
                _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                continue
            found.append(Principal(row.id, row.account_id, row.email, row.role))
        return found

    def start_session(self, user_id: int, now: float, ttl: float) -> str:
        """A new web session for the user: its cookie value, returned once (only its hash is
        kept, as for API tokens). Expired sessions are cleared on the way."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            conn.execute(insert(web_sessions).values(
                token_hash=_digest(token), user_id=user_id, created_at=now,
                expires_at=now + ttl))
        return token

    def session(self, token: str, now: float) -> Principal | None:
        """The user a session cookie stands for, or None (unknown, ended or expired)."""
        with reading(self.engine) as conn:
            row = conn.execute(select(users.c.id, users.c.account_id, users.c.email,
                                      users.c.role).join(
                web_sessions, web_sessions.c.user_id == users.c.id).where(
                web_sessions.c.token_hash == _digest(token),
                web_sessions.c.expires_at > now)).first()
        return None if row is None else Principal(row.id, row.account_id, row.email, row.role)

    def end_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _digest(token)))

    def create_token(self, user_id: int, now: float) -> str:
        """A new bearer token for the user: returned once, stored only as its hash."""
        token = "ob_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(api_tokens).values(user_id=user_id, token_hash=_digest(token),
                                                   created_at=now))
        return token

    def revoke_tokens(self, user_id: int, now: float) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(update(api_tokens).where(
                api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None),
            ).values(revoked_at=now)).rowcount)

    def revoke_token(self, token: str, now: float) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(update(api_tokens).where(
                api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None),
            ).values(revoked_at=now)).rowcount)

    def authenticate(self, token: str) -> Principal | None:
        """The user a bearer token stands for, or None (unknown or revoked)."""
        with reading(self.engine) as conn:
            row = conn.execute(select(users.c.id, users.c.account_id, users.c.email,
                                      users.c.role).join(
                api_tokens, api_tokens.c.user_id == users.c.id).where(
                api_tokens.c.token_hash == _digest(token),
                api_tokens.c.revoked_at.is_(None))).first()
        return None if row is None else Principal(row.id, row.account_id, row.email, row.role)
