"""Per-person access to the served apps: secret links, hashed at rest, resolved to a scope.

A link carries a long random token (``secrets.token_urlsafe``, 256 bits). The
access file (``access.yaml``) stores, per person, only a random salt and
``SHA-256(salt || token)``: the token itself is printed once when the link is
issued and never written anywhere. A slow password hash (scrypt) buys nothing
here because the secret is not a password: 256 random bits cannot be guessed
offline, so a fast salted hash is as strong and lets a server check a token
against hundreds of entries in microseconds on every page load.

Scopes
------
* ``rep``: one rep (their own statement, credit, quotas, payments and disputes);
* ``manager``: a manager and every rep below them at any depth;
* ``finance``: the whole company.

Example ``access.yaml``::

    version: 1
    entries:
    - name: Jamie Lee (R0013)
      scope: rep
      rep_id: R0013
      salt: 3f0c...
      sha256: 9a1b...
      issued: '2026-10-01T09:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

from spm_model.errors import SpmConfigError

ScopeKind = Literal["rep", "manager", "finance"]
SCOPE_KINDS: tuple[str, ...] = ("rep", "manager", "finance")
TOKEN_BYTES = 32
"""Random bytes in a token (256 bits)."""
SALT_BYTES = 16

APPS: dict[str, tuple[str, ...]] = {
    "my_pay": ("rep", "manager"),
    "my_team": ("manager", "finance"),
    "comp_cost": ("finance",),
}
"""Which scopes may open which app (notebook stem under ``notebooks/apps``)."""


@dataclass(frozen=True)
class Scope:
    """What one link may see.

    Parameters
    ----------
    kind : {"rep", "manager", "finance"}
        One rep, a manager's whole subtree, or the whole company.
    rep_id : str or None
        The rep (``rep``) or the manager at the top of the subtree (``manager``);
        ``None`` for finance.
    name : str
        Who the link was issued to (for display and the access file).
    """

    kind: ScopeKind
    rep_id: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise SpmConfigError(
                f"scope must be one of {', '.join(SCOPE_KINDS)}, got {self.kind!r}"
            )
        if self.kind != "finance" and not self.rep_id:
            raise SpmConfigError(f"a {self.kind} scope needs a rep_id")

    @property
    def key(self) -> str:
        """Stable file-name-safe identifier of the scope (``rep-R0013``, ``finance``)."""
        return "finance" if self.kind == "finance" else f"{self.kind}-{self.rep_id}"

    def allows(self, app: str) -> bool:
        """Return True when this scope may open ``app`` (a key of :data:`APPS`)."""
        return self.kind in APPS.get(app, ())


def hash_token(token: str, salt: bytes) -> str:
    """Return the hex SHA-256 of ``salt || token`` (what the access file stores)."""
    return hashlib.sha256(salt + token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """Return a new URL-safe random token (:data:`TOKEN_BYTES` bytes of ``secrets``)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def read_access(path: str | Path) -> list[dict[str, object]]:
    """Read the entries of an access file (an empty list when the file does not exist).

    Raises
    ------
    SpmConfigError
        The file is not a valid access file (the message names the entry).
    """
    p = Path(path)
    if not p.exists():
        return []
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SpmConfigError(f"{p}: not valid YAML ({exc})") from None
    entries = doc.get("entries", []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise SpmConfigError(f"{p}: expected a mapping with a list 'entries'")
    for i, e in enumerate(entries, 1):
        missing = [k for k in ("scope", "salt", "sha256") if not isinstance(e, dict) or k not in e]
        if missing:
            raise SpmConfigError(f"{p}: entry {i} lacks {', '.join(missing)}")
        Scope(e["scope"], e.get("rep_id"), str(e.get("name", "")))  # validates
    return entries


def write_access(path: str | Path, entries: Sequence[dict[str, object]]) -> Path:
    """Write an access file atomically, readable by its owner only (mode 0600)."""
    from spm_model.data.io import atomic_write_text

    text = (
        "# spm serve access file: salted SHA-256 hashes of the link tokens (the links were\n"
        "# printed once when issued). Remove an entry to revoke a link.\n"
        + yaml.safe_dump({"version": 1, "entries": list(entries)}, sort_keys=False)
    )
    p = atomic_write_text(path, text)
    p.chmod(0o600)
    return p


def resolve_token(token: str | None, entries: Iterable[dict[str, object]]) -> Scope | None:
    """Return the scope a token grants, or ``None`` for a missing or unknown token.

    Every entry is compared in constant time (``hmac.compare_digest``).
    """
    if not token:
        return None
    found: Scope | None = None
    for e in entries:
        salt = bytes.fromhex(str(e["salt"]))
        if hmac.compare_digest(hash_token(token, salt), str(e["sha256"])):
            found = Scope(e["scope"], e.get("rep_id"), str(e.get("name", "")))  # type: ignore[arg-type]
    return found


def scopes_for_company(reps: pd.DataFrame, as_of: object = None) -> list[Scope]:
    """Default links for a company: every rep, every manager's subtree, and one finance link.

    A rep with direct reports gets a ``manager`` scope (which also opens their own
    pay); everyone else a ``rep`` scope. With ``as_of``, people who left before
    it (``end_date``) get none: they have no current statement to see.
    """
    if as_of is not None and "end_date" in reps:
        left = pd.to_datetime(reps["end_date"]) < pd.Timestamp(str(as_of))
        reps = reps[~left.fillna(False).to_numpy()]
    ids = reps["rep_id"].astype(object)
    mgrs = set(reps["manager_id"].dropna().astype(object)) if "manager_id" in reps else set()
    names = reps["name"].astype(object) if "name" in reps else ids
    out = [
        Scope("manager" if r in mgrs else "rep", str(r), f"{n} ({r})")
        for r, n in zip(ids, names, strict=True)
    ]
    return [*out, Scope("finance", None, "Finance")]


def issue_links(
    path: str | Path,
    scopes: Sequence[Scope],
    *,
    now: dt.datetime | None = None,
) -> list[tuple[Scope, str]]:
    """Issue a new token per scope and store its hash in the access file.

    An existing entry with the same scope key is replaced (its old link stops
    working); other entries are kept.

    Returns
    -------
    list of (Scope, token)
        The tokens, to be shown once: they are not stored.
    """
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    keep = {Scope(e["scope"], e.get("rep_id")).key: e for e in read_access(path)}  # type: ignore[arg-type]
    issued = []
    for s in scopes:
        token = new_token()
        salt = secrets.token_bytes(SALT_BYTES)
        keep[s.key] = {
            "name": s.name or s.key,
            "scope": s.kind,
            **({"rep_id": s.rep_id} if s.rep_id else {}),
            "salt": salt.hex(),
            "sha256": hash_token(token, salt),
            "issued": stamp,
        }
        issued.append((s, token))
    write_access(path, list(keep.values()))
    return issued
