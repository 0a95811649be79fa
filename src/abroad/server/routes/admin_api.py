"""Administration: accounts, API tokens, the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from abroad.server import audit
from abroad.server.access import Principal, allow
from abroad.server.models import AuditEntry
from abroad.server.routes.common import ERRORS, PageQuery, db_of, page, paged
from abroad.server.schemas import (
    AuditOut,
    IssuedToken,
    Page,
    Role,
    RoleIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    VerifyOut,
)
from abroad.server.services import accounts

router = APIRouter(prefix="/api", tags=["admin"], responses=ERRORS)


@router.get("/users", response_model=Page[UserOut])
def list_users(request: Request, paging: PageQuery, _: Principal = allow(Role.ADMIN)) -> Any:
    """Every account (no password hashes)."""
    with db_of(request).read() as s:
        users, total = accounts.list_users(s, paging.offset, paging.limit)
    return page(users, total, paging)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(data: UserIn, request: Request, me: Principal = allow(Role.ADMIN)) -> UserOut:
    """Create an account with a role (and its missions or stations)."""
    with db_of(request).write() as s:
        return accounts.create_user(s, data, me.name)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(username: str, request: Request, me: Principal = allow(Role.ADMIN)) -> UserOut:
    """Disable an account; its sessions end at once."""
    with db_of(request).write() as s:
        return accounts.disable_user(s, username, me.name)


@router.put("/users/{username}/role", response_model=UserOut)
def change_role(
    username: str, data: RoleIn, request: Request, me: Principal = allow(Role.ADMIN)
) -> UserOut:
    """Give an account another role or scopes; its sessions end."""
    with db_of(request).write() as s:
        return accounts.change_role(s, username, data, me.name)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, _: Principal = allow(Role.ADMIN)) -> list[TokenOut]:
    """Every API token (never the secret)."""
    with db_of(request).read() as s:
        return accounts.list_tokens(s)


@router.post("/tokens", response_model=IssuedToken, status_code=201)
def issue_token(data: TokenIn, request: Request, me: Principal = allow(Role.ADMIN)) -> IssuedToken:
    """Issue a token for a station or mission device; the secret is in this response only."""
    with db_of(request).write() as s:
        return accounts.issue_token(s, data, me.name)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(token_id: int, request: Request, me: Principal = allow(Role.ADMIN)) -> TokenOut:
    """Revoke a token at once."""
    with db_of(request).write() as s:
        return accounts.revoke_token(s, token_id, me.name)


@router.get("/audit", response_model=Page[AuditOut])
def audit_entries(request: Request, paging: PageQuery, _: Principal = allow(Role.ADMIN)) -> Any:
    """The audit log, oldest first."""
    with db_of(request).read() as s:
        return paged(
            s,
            select(AuditEntry),
            AuditEntry.seq,
            paging,
            lambda e: AuditOut.model_validate(audit.entry_dict(e)),
        )


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(request: Request, _: Principal = allow(Role.ADMIN)) -> VerifyOut:
    """Recompute the hash chain; the first broken link, if any."""
    with db_of(request).read() as s:
        v = audit.verify(s)
    return VerifyOut(
        ok=v.ok, entries=v.entries, head_hash=v.head_hash, broken_seq=v.broken_seq, reason=v.reason
    )


@router.get(
    "/audit/export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)
def audit_export(request: Request, _: Principal = allow(Role.ADMIN)) -> Response:
    """The audit log as JSON lines."""
    with db_of(request).read() as s:
        text = "".join(line + "\n" for line in audit.export_lines(s))
    return Response(text, media_type="application/x-ndjson")
