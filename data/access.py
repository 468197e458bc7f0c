"""Who may do what in which workspace: the rules of ``<store>/acces.toml`` (pure: no Streamlit).

The file, written by the Données page (an admin's form) or by hand::

    # administrateurs de tous les espaces (et de la corbeille)
    admins = ["dsi@dreets.gouv.fr"]
    # qui peut créer un espace (absent : toute personne connectée)
    createurs = ["@dreets.gouv.fr"]
    # combien d'espaces une personne peut créer (corbeille comprise ; absent : 20)
    max_espaces_par_personne = 20

    [espaces.hauts-de-france-2026]
    lecteur = ["@dreets.gouv.fr", "@plie-lille.fr"]
    editeur = ["a.b@dreets.gouv.fr"]
    admin = ["c.d@dreets.gouv.fr"]

A member is an e-mail address (``a.b@dreets.gouv.fr``), every address of a domain
(``@dreets.gouv.fr``, that exact domain) or ``*`` (anyone logged in with an e-mail). Roles add up:
``lecteur`` sees a workspace, ``editeur`` also imports and restores versions, ``admin`` also manages
its members, reads its journal and deletes it. The demo is readable by everyone. Whoever creates a
workspace becomes its admin. ``[admins]`` may also be written as a table: ``[admins] membres = [...]``.
The rules of a deleted workspace follow it to the bin (``[corbeille."<entry>"]``), so that its admins
can bring it back and nobody else inherits them.

``user`` is the logged-in person's e-mail; ``None`` means that no login is configured (one person on
their machine, or the command line without ``--user``): then everything is allowed.
"""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data import atomic

FILE_NAME = "acces.toml"
ROLES = ("lecteur", "editeur", "admin")
ROLE_LABELS = {"lecteur": "lecteur", "editeur": "éditeur", "admin": "administrateur"}
ACTIONS = {  # action -> the least role that allows it
    "voir": "lecteur",
    "importer": "editeur",
    "restaurer": "editeur",
    "scenarios": "editeur",  # create, edit, delete and adopt scenarios (seeing them is « voir »)
    "supprimer": "admin",
    "membres": "admin",
    "journal": "admin",
}
DEMO = "demo"
MAX_CREATED = 20  # default of ``max_espaces_par_personne``
EVERYONE = "*"
_EMAIL_RE = re.compile(r"^[^@\s\"\\]+@[^@\s\"\\]+\.[^@\s\"\\]+$")
_DOMAIN_RE = re.compile(r"^@[^@\s\"\\]+\.[^@\s\"\\]+$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class AccessError(Exception):
    """A refused change of access; the message is French and meant for the user."""


@dataclass
class Rules:
    admins: list[str] = field(default_factory=list)
    creators: list[str] | None = None  # None: anyone logged in
    max_created: int = 20  # workspaces one person may create (live or in the bin); global admins: no bound
    spaces: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    bin: dict[str, dict[str, list[str]]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading and writing the file


def path() -> Path:
    from data.store.workspaces import store_dir

    return store_dir() / FILE_NAME


def _members(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [normalise(v) for v in value if isinstance(v, str) and normalise(v)]


def _roles(table) -> dict[str, list[str]]:
    if not isinstance(table, dict):
        return {}
    return {r: _members(table.get(r, [])) for r in ROLES if _members(table.get(r, []))}


def parse(text: str) -> Rules:
    """The rules written in ``text`` (TOML); raises ``AccessError`` when it is not valid TOML."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AccessError(f"le fichier {FILE_NAME} n'est pas un TOML valide ({exc}).") from exc
    admins = raw.get("admins", [])
    if isinstance(admins, dict):
        admins = admins.get("membres", admins.get("admins", []))
    creators = raw.get("createurs")
    if isinstance(creators, dict):
        creators = creators.get("membres")
    bound = raw.get("max_espaces_par_personne", MAX_CREATED)
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
        bound = MAX_CREATED
    return Rules(admins=_members(admins), creators=None if creators is None else _members(creators),
                 max_created=bound,
                 spaces={str(k): _roles(v) for k, v in (raw.get("espaces") or {}).items()},
                 bin={str(k): _roles(v) for k, v in (raw.get("corbeille") or {}).items()})


_cache: dict[str, tuple[tuple, Rules]] = {}


def read() -> Rules:
    """The current rules (re-read only when the file changed). A missing file: no rule.

    A file that cannot be read gives no rule at all (only the demo stays readable): access is
    never granted by a broken file.
    """
    p = path()
    try:
        st = p.stat()
    except FileNotFoundError:
        return Rules()
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _cache.get(str(p))
    if hit and hit[0] == key:
        return hit[1]
    try:
        rules = parse(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, AccessError):
        rules = Rules(admins=[], creators=[])
    _cache[str(p)] = (key, rules)
    return rules


def _str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string of these characters is a TOML basic string


def _key(k: str) -> str:
    return k if _KEY_RE.match(k) else _str(k)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_str(v) for v in values) + "]"


def dumps(rules: Rules) -> str:
    lines = ["# Droits d'accès aux espaces de travail (voir data/access.py et le README).",
             "# Membres : une adresse (a.b@dreets.gouv.fr), un domaine (@dreets.gouv.fr) ou * (toute personne "
             "connectée).", "",
             "# administrateurs de tous les espaces et de la corbeille",
             f"admins = {_list(rules.admins)}"]
    if rules.creators is not None:
        lines += ["# qui peut créer un espace de travail", f"createurs = {_list(rules.creators)}"]
    if rules.max_created != MAX_CREATED:
        lines += ["# combien d'espaces une personne peut créer (corbeille comprise)",
                  f"max_espaces_par_personne = {rules.max_created}"]
    for section, tables in (("espaces", rules.spaces), ("corbeille", rules.bin)):
        for name in sorted(tables):
            roles = tables[name]
            if not any(roles.get(r) for r in ROLES):
                continue
            lines += ["", f"[{section}.{_key(name)}]"]
            lines += [f"{r} = {_list(roles[r])}" for r in ROLES if roles.get(r)]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _editing():
    """Read-modify-write of the file under an exclusive lock; written atomically (``os.replace``)."""
    p = path()
    with atomic.locked(p.parent / f".{FILE_NAME}.lock"):
        text = p.read_text(encoding="utf-8") if p.exists() else ""
        rules = parse(text)
        yield rules
        atomic.write(p, dumps(rules).encode("utf-8"))


def _journal(what: str, by: str | None, workspace: str = "", **details) -> None:
    from data.store import journal

    journal.append(what, who=by, workspace=workspace, **details)


# ---------------------------------------------------------------------------------------------
# Members


def normalise(member: str) -> str:
    return str(member).strip().lower()


def check_member(member: str) -> str:
    """``member`` normalised; raises ``AccessError`` (French) when it is neither an address, a
    domain nor ``*``."""
    m = normalise(member)
    if m == EVERYONE or _EMAIL_RE.match(m) or _DOMAIN_RE.match(m):
        return m
    raise AccessError(f"« {member.strip()} » n'est ni une adresse électronique (prenom.nom@domaine.fr), ni un "
                      "domaine (@domaine.fr), ni * (toute personne connectée).")


def matches(user: str | None, member: str) -> bool:
    u = normalise(user or "")
    if not u or "@" not in u:
        return False
    m = normalise(member)
    if m == EVERYONE:
        return True
    if m.startswith("@"):
        return u.rsplit("@", 1)[1] == m[1:]
    return u == m


def _any(user: str | None, members: list[str]) -> bool:
    return any(matches(user, m) for m in members)


# ---------------------------------------------------------------------------------------------
# Questions


def is_admin(user: str | None, rules: Rules | None = None) -> bool:
    """A global admin (``admins``), or nobody logs in (``user is None``)."""
    if user is None:
        return True
    return _any(user, (rules or read()).admins)


def _role_in(user: str | None, roles: dict[str, list[str]]) -> str | None:
    for r in reversed(ROLES):
        if _any(user, roles.get(r, [])):
            return r
    return None


def role(user: str | None, slug: str, rules: Rules | None = None) -> str | None:
    """The highest role of ``user`` in workspace ``slug`` (``None``: not a member)."""
    if user is None:
        return "admin"
    rules = rules or read()
    if is_admin(user, rules):
        return "admin"
    found = _role_in(user, rules.spaces.get(slug, {}))
    if found is None and slug == DEMO:
        return "lecteur"
    return found


def can(user: str | None, slug: str, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    r = role(user, slug)
    return r is not None and ROLES.index(r) >= ROLES.index(ACTIONS[action])


def visible(user: str | None, slugs) -> list[str]:
    """The workspaces of ``slugs`` that ``user`` may see, in the same order."""
    rules = read()
    return [s for s in slugs if role(user, s, rules) is not None]


def can_create(user: str | None) -> bool:
    """May ``user`` create workspaces at all (the ``createurs`` list)."""
    if user is None:
        return True
    rules = read()
    if not normalise(user) or "@" not in user:
        return False
    return is_admin(user, rules) or rules.creators is None or _any(user, rules.creators)


def check_can_create(user: str | None) -> None:
    """``AccessError`` (French) unless ``user`` may create one more workspace now: in the ``createurs``
    list (or no list), and fewer than ``max_espaces_par_personne`` created so far, those in the bin
    included (a global admin has no bound)."""
    if not can_create(user):
        raise AccessError(f"{user or 'cette personne'} n'est pas autorisé(e) à créer un espace de travail (liste "
                          f"« createurs » du fichier {FILE_NAME}).")
    if user is None:
        return
    from data.store.workspaces import created_by

    rules = read()
    if is_admin(user, rules):
        return
    n = created_by(normalise(user))
    if n >= rules.max_created:
        raise AccessError(f"vous avez déjà créé {n} espaces de travail (corbeille comprise) : c'est la limite par "
                          f"personne ({rules.max_created}, réglage « max_espaces_par_personne » du fichier "
                          f"{FILE_NAME}). Supprimez un espace et faites vider la corbeille, ou demandez à un "
                          "administrateur.")


def members(slug: str) -> dict[str, list[str]]:
    """The members of ``slug`` by role, as written in the file."""
    roles = read().spaces.get(slug, {})
    return {r: list(roles.get(r, [])) for r in ROLES}


def bin_admin(user: str | None, entry: str) -> bool:
    """May ``user`` bring back the deleted workspace ``entry`` (its admins when it was deleted)."""
    rules = read()
    return is_admin(user, rules) or _role_in(user, rules.bin.get(entry, {})) == "admin"


# ---------------------------------------------------------------------------------------------
# Changes (journaled)


def set_members(slug: str, new: dict[str, list[str]], by: str | None) -> dict[str, list[str]]:
    """Replace the members of workspace ``slug``; returns them normalised.

    Raises ``AccessError`` for an invalid member, or when ``by`` (not a global admin) would no longer
    be an admin of the workspace (nobody locks themself out by mistake).
    """
    from data.store.workspaces import SLUG_RE

    if not SLUG_RE.match(slug or ""):
        raise AccessError(f"identifiant d'espace « {slug} » invalide.")
    if slug == DEMO:
        raise AccessError("l'espace de démonstration est lisible par tous : il n'a pas de membres.")
    clean: dict[str, list[str]] = {}
    for r in ROLES:
        seen: list[str] = []
        for m in new.get(r, []) or []:
            if str(m).strip():
                m = check_member(m)
                if m not in seen:
                    seen.append(m)
        clean[r] = seen
    with _editing() as rules:
        if by is not None and not is_admin(by, rules) and _role_in(by, clean) != "admin":
            raise AccessError("vous ne pouvez pas vous retirer vous-même des administrateurs de l'espace : "
                              "ajoutez d'abord un autre administrateur, qui pourra vous retirer.")
        before = rules.spaces.get(slug, {})
        rules.spaces[slug] = {r: v for r, v in clean.items() if v}
        _journal("droits d'accès", by, slug, before={r: before.get(r, []) for r in ROLES if before.get(r)},
                 after={r: v for r, v in clean.items() if v})
    return clean


def on_created(slug: str, creator: str | None) -> None:
    """A new workspace: its creator becomes its admin. Any rule left under the same identifier (written
    by hand, or by a store older than the reserved identifiers) is dropped: its members must not inherit
    the new one, and the new one's journal must not name them (the drop goes to the global journal)."""
    with _editing() as rules:
        stale = rules.spaces.pop(slug, None)
        if creator and "@" in creator:
            rules.spaces[slug] = {"admin": [normalise(creator)]}
        if stale:
            _journal("droits d'accès", creator, "", dropped=stale, dropped_for=slug,
                     reason="règles d'un ancien espace du même identifiant écartées")
        if creator:
            _journal("droits d'accès", creator, slug, after=rules.spaces.get(slug, {}), reason="créateur de l'espace")


def on_deleted(slug: str, entry: str, by: str | None) -> None:
    """A workspace went to the bin as ``entry``: its rules go with it."""
    with _editing() as rules:
        roles = rules.spaces.pop(slug, None)
        if roles:
            rules.bin[entry] = roles
            _journal("droits d'accès", by, slug, entry=entry, reason="règles placées dans la corbeille avec l'espace")


def on_undeleted(entry: str, slug: str, by: str | None) -> None:
    """A workspace came back from the bin as ``slug``: its rules come back with it."""
    with _editing() as rules:
        roles = rules.bin.pop(entry, None)
        rules.spaces.pop(slug, None)
        if roles:
            rules.spaces[slug] = roles
        if roles:
            _journal("droits d'accès", by, slug, entry=entry, after=rules.spaces.get(slug, {}),
                     reason="règles revenues de la corbeille avec l'espace")


def on_bin_emptied(entries: list[str], by: str | None) -> None:
    with _editing() as rules:
        gone = [e for e in entries if rules.bin.pop(e, None) is not None]
        if gone:
            _journal("droits d'accès", by, "", entries=gone, reason="règles effacées avec la corbeille")
