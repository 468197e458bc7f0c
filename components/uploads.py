"""File upload in French: ``st.file_uploader`` draws English words ("Upload", "200MB per file",
"Drag and drop…") that its API cannot relabel. They are hidden by CSS scoped to the widget's key and
replaced by French words drawn by the same CSS, and the widget is preceded by a French instruction.

What the person sees: a « Choisir un fichier » button, « ou déposez-le dans ce cadre – 200 Mo au
plus par fichier – CSV, XLSX… » beside it, a chosen file by its name (its size, written "1.2MB", is
hidden). The widget works as before (click, drag and drop, keyboard). Attributes that only a screen
reader reads (``aria-label="Remove m.csv"``) cannot be reached from here.
"""

from __future__ import annotations

import re

import streamlit as st

from views import fmt


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the container of a keyed widget (``st-key-<key>``)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", str(key).strip())


def max_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal (quotes and backslashes escaped, no line break)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def kind_max_mb(kind: str) -> int:
    """The largest file of a kind the page takes, in Mo: the kind's limit (``data.formats.limits``), within the
    server's (``server.maxUploadSize``); the one number the tab, its drop zone and the server agree on."""
    from data.formats.limits import MB, limit_of

    return max(1, min(max_mb(), limit_of(kind).max_bytes // MB))


def french_css(key: str, types: list[str] | None, multiple: bool = False, max_size_mb: int | None = None) -> str:
    """The rules that hide the uploader's English words and write French ones instead."""
    scope = "." + key_class(key)
    formats = ", ".join(t.upper().lstrip(".") for t in (types or []))
    size = max_size_mb or max_mb()
    hint = (f"ou déposez-l{'es' if multiple else 'e'} dans ce cadre – {fmt.integer(size)}\u202fMo au plus"
            f" par fichier" + (f" – {formats}" if formats else ""))
    button = "Choisir des fichiers" if multiple else "Choisir un fichier"
    zone = f'{scope} [data-testid="stFileUploaderDropzone"]'
    return (
        "<style>"
        f'{zone} [data-testid="stFileUploaderDropzoneInstructions"]{{display:none}}'
        f'{zone} button [data-testid="stMarkdownContainer"]{{display:none}}'
        f'{zone} button [data-has-shortcut]::after{{content:{_css_text(button)}}}'
        # a file's size is written "100.0B", "1.2MB": not French, and not needed to check a file
        f'{scope} [data-testid="stFileChipName"] + div{{display:none}}'
        f"{zone}::after{{content:{_css_text(hint)};font-size:0.95rem;color:#3A3A3A;margin-left:0.75rem;align-self:center}}"
        "</style>"
    )


def file_uploader(label: str, type: list[str] | None = None, key: str = "upload", help: str | None = None,
                  accept_multiple_files: bool = False, max_mb: int | None = None, **kwargs):
    """``st.file_uploader`` with French words only (``key`` is required: it scopes the CSS); ``max_mb``: the
    largest file taken (the kind's limit, :func:`kind_max_mb`), said in the drop zone and enforced by it."""
    st.html(french_css(key, type, accept_multiple_files, max_mb))
    if max_mb:
        kwargs["max_upload_size"] = int(max_mb)
    return st.file_uploader(label, type=type, key=key, help=help, accept_multiple_files=accept_multiple_files,
                            **kwargs)
