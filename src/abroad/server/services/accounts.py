"""Users, API tokens and logins: every change audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from abroad.server import audit
from abroad.server.config import Settings
from abroad.server.errors import ApiError
from abroad.server.events import EventType
from abroad.server.models import (
    ApiToken,
    LoginAttempt,
    LoginSession,
    User,
    UserScope,
    utcnow,
)
from abroad.server.schemas import IssuedToken, Role, RoleIn, TokenIn, TokenOut, UserIn, UserOut
from abroad.server.security import (
    hash_password,
    new_secret,
    new_token,
    sha256_hex,
    verify_password,
)


class AccountError(ApiError):
    """A request about accounts that cannot be done (the message says why)."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(status, code, message)


def user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        role=Role(u.role),
        missions=[s.key for s in u.scopes if s.kind == "mission"],
        stations=[s.key for s in u.scopes if s.kind == "station"],
        disabled=u.disabled,
        created_at=u.created_at,
    )


def token_out(t: ApiToken) -> TokenOut:
    return TokenOut.model_validate(t, from_attributes=True)


def _check_scopes(role: str, missions: list[str], stations: list[str]) -> None:
    if role == "mission_staff" and not missions:
        raise AccountError("scope_required", "mission staff need at least one mission", 422)
    if role == "observer" and not stations:
        raise AccountError("scope_required", "observers need at least one station", 422)
    if role != "mission_staff" and missions:
        raise AccountError("scope_not_allowed", "only mission staff have missions", 422)
    if role != "observer" and stations:
        raise AccountError("scope_not_allowed", "only observers have stations", 422)


def create_user(session: Session, data: UserIn, actor: str) -> UserOut:
    _check_scopes(data.role, data.missions, data.stations)
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise AccountError("user_exists", f"user {data.username!r} already exists")
    user = User(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        scopes=[UserScope(kind="mission", key=k) for k in dict.fromkeys(data.missions)]
        + [UserScope(kind="station", key=k) for k in dict.fromkeys(data.stations)],
    )
    session.add(user)
    session.flush()
    out = user_out(user)
    audit.append(
        session,
        actor,
        EventType.USER_CREATED,
        f"user/{user.username}",
        after={"role": out.role.value, "missions": out.missions, "stations": out.stations},
    )
    return out


def change_role(session: Session, username: str, data: RoleIn, actor: str) -> UserOut:
    """Give an account another role or other scopes; its sessions end (log in again)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError("not_found", f"no user {username!r}", 404)
    _check_scopes(data.role, data.missions, data.stations)
    before = user_out(user)
    user.role = data.role
    user.scopes = [UserScope(kind="mission", key=k) for k in dict.fromkeys(data.missions)] + [
        UserScope(kind="station", key=k) for k in dict.fromkeys(data.stations)
    ]
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    after = user_out(user)
    audit.append(
        session,
        actor,
        EventType.USER_ROLE_CHANGED,
        f"user/{username}",
        before={
            "role": before.role.value,
            "missions": before.missions,
            "stations": before.stations,
        },
        after={"role": after.role.value, "missions": after.missions, "stations": after.stations},
    )
    return after


def list_users(session: Session, offset: int = 0, limit: int = 1000) -> tuple[list[UserOut], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    users = session.scalars(select(User).order_by(User.id).offset(offset).limit(limit)).all()
    return [user_out(u) for u in users], total


def disable_user(session: Session, username: str, actor: str) -> UserOut:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError("not_found", f"no user {username!r}", 404)
    if not user.disabled:
        user.disabled = True
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        audit.append(
            session,
            actor,
            EventType.USER_DISABLED,
            f"user/{username}",
            before={"disabled": False},
            after={"disabled": True},
        )
    return user_out(user)


def issue_token(session: Session, data: TokenIn, actor: str) -> IssuedToken:
    token, lookup, digest = new_token()
    row = ApiToken(
        lookup=lookup,
        secret_sha256=digest,
        name=data.name,
        scope_kind=data.scope_kind,
        scope_key=data.scope_key,
        created_by=actor,
        expires_at=utcnow() + dt.timedelta(days=data.expires_in_days),
    )
    session.add(row)
    session.flush()
    out = token_out(row)
    audit.append(
        session,
        actor,
        EventType.TOKEN_ISSUED,
        f"token/{row.id}",
        after={
            "name": row.name,
            "scope": f"{row.scope_kind}/{row.scope_key}",
            "expires_at": row.expires_at.isoformat(),
            "lookup": lookup,
        },
    )
    return IssuedToken(**out.model_dump(), token=token)


def revoke_token(session: Session, token_id: int, actor: str) -> TokenOut:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError("not_found", f"no token {token_id}", 404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(
            session,
            actor,
            EventType.TOKEN_REVOKED,
            f"token/{row.id}",
            before={"revoked_at": None},
            after={"revoked_at": row.revoked_at.isoformat()},
        )
    return token_out(row)


def list_tokens(session: Session) -> list[TokenOut]:
    return [token_out(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]


# ---------------------------------------------------------------------------------------------
# Logins


@dataclass(frozen=True)
class LoginOutcome:
    """``session_id`` (the cookie's secret) on success; else ``code`` and ``message``."""

    user: User | None
    session_id: str | None = None
    csrf_token: str | None = None
    code: str = ""
    message: str = ""
    retry_after_seconds: int | None = None


def login(
    session: Session, username: str, password: str, client: str, settings: Settings
) -> LoginOutcome:
    """Check a password login, with rate limit and lock-out; audited either way."""
    now = utcnow()
    window = now - dt.timedelta(minutes=1)
    # forget what no longer matters: attempts older than a day, expired sessions
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    recent = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client == client, LoginAttempt.at >= window)
    )
    session.add(LoginAttempt(client=client, username=username[:120], succeeded=False, at=now))
    if (recent or 0) >= settings.login_attempts_per_minute:
        return LoginOutcome(
            None, code="rate_limited", message="too many login attempts", retry_after_seconds=60
        )
    user = session.scalar(select(User).where(User.username == username))
    subject = f"user/{username[:120]}"
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)
        audit.append(
            session,
            "anonymous",
            EventType.LOGIN_FAILED,
            subject,
            after={"client": client, "reason": "locked", "failures": user.failed_logins},
        )
        wait = int((user.locked_until - now).total_seconds()) + 1
        return LoginOutcome(
            None,
            code="account_locked",
            message="account locked after repeated failures; try again later",
            retry_after_seconds=wait,
        )
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        reason = "unknown user" if user is None else ("disabled" if ok else "wrong password")
        failures = 0
        if user is not None and not ok:
            user.failed_logins += 1
            failures = user.failed_logins
        audit.append(
            session,
            "anonymous",
            EventType.LOGIN_FAILED,
            subject,
            after={"client": client, "reason": reason, "failures": failures},
        )
        if user is not None and failures >= settings.lockout_failures:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            audit.append(
                session,
                "system",
                EventType.ACCOUNT_LOCKED,
                subject,
                after={"locked_until": user.locked_until.isoformat()},
            )
        return LoginOutcome(None, code="bad_credentials", message="wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    sid, csrf = new_secret(), new_secret()
    session.add(
        LoginSession(
            id_sha256=sha256_hex(sid),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_hours),
        )
    )
    audit.append(
        session, user.username, EventType.LOGIN_SUCCEEDED, subject, after={"client": client}
    )
    return LoginOutcome(user, session_id=sid, csrf_token=csrf)


def end_session(session: Session, session_id: str) -> None:
    """Forget a session (before a new login: a planted session id never becomes valid)."""
    session.execute(delete(LoginSession).where(LoginSession.id_sha256 == sha256_hex(session_id)))


def logout(session: Session, session_id: str) -> None:
    row = session.get(LoginSession, sha256_hex(session_id))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    if user is not None:
        audit.append(session, user.username, EventType.LOGGED_OUT, f"user/{user.username}")
