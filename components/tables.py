"""Tables on screen: French headers, numbers formatted by the app (never by the browser), a text
filter, and CSV/XLSX exports.

``st.column_config.NumberColumn(format="localized")`` follows the browser's language (``1,016,984``
in an English browser) and a printf format has no decimal comma, so numbers are formatted here:

- tables up to ``STYLER_CELLS`` cells go through a pandas ``Styler`` whose display values are French
  (``1 016 984``, ``12,50``, ``87,3 %``, ``−5,8 pt``) while the cells keep their numbers, so that
  sorting a column stays numeric;
- larger tables (a Styler costs about 60 µs a cell) get printf formats with a narrow no-break space
  as thousands separator (``%'\u202f,d``) on rounded numbers, percentages as whole percents, and
  decimals as French text.

Exports always hold numbers (``views.columns``, written by ``data.formats.xlsx``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from components.state import SharedFrame
from components.uploads import key_class
from data.formats import xlsx
from views import columns, fmt
from views.columns import french, kinds_of, label_of, table_csv
from views.text import agree

STYLER_CELLS = 40_000
INT_PRINTF = "%'\u202f,d"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATTERS = {
    "int": fmt.integer, "euros": fmt.integer, "year": fmt.year,
    "dec1": lambda v: fmt.decimal(v, 1), "dec2": lambda v: fmt.decimal(v, 2),
    "pct": lambda v: fmt.percent(v, 1), "points": fmt.points,
}
TEXT_FORMATTERS = {"date": fmt.date}  # text columns written the French way (the cell keeps its ISO text)


def filter_rows(df: pd.DataFrame, text: str) -> pd.DataFrame:
    """Rows where any cell contains ``text`` (case-insensitive)."""
    if not text:
        return df
    mask = df.astype(str).apply(lambda col: col.str.contains(text, case=False, regex=False)).any(axis=1)
    return df[mask.to_numpy()]


def column_config(df: pd.DataFrame, labels: dict | None = None, kinds: dict | None = None) -> dict:
    """Column settings for ``st.dataframe(french(df))`` without a Styler (prefer :func:`show_frame`):
    integers with French thousands separators and years without one whatever the browser; shares
    and decimals can only follow the browser there (no printf format has a decimal comma)."""
    config = {}
    shown = french(df, labels).columns
    for name, kind in zip(shown, kinds_of(df, kinds)):
        if kind == "year":
            config[name] = st.column_config.NumberColumn(name, format="%d")
        elif kind in ("int", "euros"):
            config[name] = st.column_config.NumberColumn(name, format=INT_PRINTF)
        elif kind == "pct":
            config[name] = st.column_config.NumberColumn(name, format="percent")
        elif kind in FORMATTERS:
            config[name] = st.column_config.NumberColumn(name, format="%.2f")
    return config


def display(df: pd.DataFrame, labels: dict | None = None, kinds: dict | None = None,
            styler_cells: int = STYLER_CELLS):
    """``(data, column_config)`` for ``st.dataframe``: French headers and French numbers."""
    kinds = kinds_of(df, kinds)
    view = french(df, labels).reset_index(drop=True)
    names = list(view.columns)
    config = {}
    if df.size <= styler_cells:
        formats = {}
        for j, (name, kind) in enumerate(zip(names, kinds)):
            if kind in FORMATTERS and view.iloc[:, j].isna().any():
                # the data grid writes « None » over the Styler's text of a missing number: French text
                view[name] = view.iloc[:, j].map(FORMATTERS[kind])
                config[name] = st.column_config.TextColumn(name, alignment="right")
            elif kind in FORMATTERS:
                formats[name] = FORMATTERS[kind]
                config[name] = st.column_config.NumberColumn(name)  # no format: the Styler's text shows
            elif kind in TEXT_FORMATTERS:  # 16/12/2024 shown, sorted by its ISO text: by date
                formats[name] = TEXT_FORMATTERS[kind]
                config[name] = st.column_config.TextColumn(name)
            else:
                config[name] = st.column_config.TextColumn(name)
        return (view.style.format(formats) if formats else view), config
    for j, (name, kind) in enumerate(zip(names, kinds)):
        col = view.iloc[:, j]
        if kind in ("int", "euros"):
            view[name] = pd.to_numeric(col, errors="coerce").round().astype("Int64")
            config[name] = st.column_config.NumberColumn(name, format=INT_PRINTF)
        elif kind == "year":
            config[name] = st.column_config.NumberColumn(name, format="%d")
        elif kind == "pct":
            view[name] = (100 * pd.to_numeric(col, errors="coerce")).round().astype("Int64")
            config[name] = st.column_config.NumberColumn(name, format="%d\u202f%%")
        elif kind in FORMATTERS:  # decimals: French text (a decimal comma no printf format gives)
            view[name] = col.map(FORMATTERS[kind])
            config[name] = st.column_config.TextColumn(name, alignment="right")
        elif kind in TEXT_FORMATTERS:
            view[name] = col.map(TEXT_FORMATTERS[kind])
            config[name] = st.column_config.TextColumn(name)
        else:
            config[name] = st.column_config.TextColumn(name)
    return view, config


def show_frame(df: pd.DataFrame | SharedFrame, key: str, height: int | str = "auto", labels: dict | None = None,
               kinds: dict | None = None) -> None:
    """A table with French headers and numbers, nothing else (no filter, no export).

    A :class:`~components.state.SharedFrame` is rendered once for every session (its key names its
    content); a plain frame at each run."""
    if isinstance(df, SharedFrame):
        content = f"{df.key}|{height}|{sorted((labels or {}).items())!r}|{sorted((kinds or {}).items())!r}"
        state.draw_once(f"frame|{content}", lambda: show_frame(df.df, key, height, labels, kinds))
        return
    data, config = display(df, labels, kinds)
    st.dataframe(data, hide_index=True, width="stretch", column_config=config, height=height, key=key)


def table_xlsx(df: pd.DataFrame, sheet: str = "Tableau", labels: dict | None = None,
               kinds: dict | None = None) -> bytes:
    """The table as a one-sheet workbook: French headers, numbers with the formats Excel applies."""
    return xlsx.workbook([columns.sheet(df, sheet, labels, kinds)])


def _fingerprint(df: pd.DataFrame, *parts) -> str:
    """A cheap value that changes with the table's content, its columns and how they are written."""
    try:
        rows = int(pd.util.hash_pandas_object(df, index=False).sum()) if len(df) else 0
    except TypeError:  # a cell holding a list or a dict: fall back on its text
        rows = int(pd.util.hash_pandas_object(df.astype(str), index=False).sum()) if len(df) else 0
    return f"{rows}:{list(df.columns)!r}:{parts!r}"


@st.cache_data(max_entries=256, show_spinner=False)
def _export(fmt_: str, fingerprint: str, sheet: str, _df: pd.DataFrame, _labels, _kinds) -> bytes:
    """The file of one table, made once per content (shared by every session showing the same table)."""
    return table_csv(_df, _labels, _kinds) if fmt_ == "csv" else table_xlsx(_df, sheet, _labels, _kinds)


@st.cache_resource(max_entries=64, show_spinner=False)
def _filtered(content_key: str, text: str, _df: pd.DataFrame) -> pd.DataFrame:
    return filter_rows(_df, text)


def export_buttons(df: pd.DataFrame | SharedFrame, key: str, export_name: str, labels: dict | None = None,
                   kinds: dict | None = None) -> None:
    """CSV and XLSX of ``df``; labels never cut ("Exp…").

    The files are real bytes, made once per table content and cached: a deferred file (a callable)
    is forgotten at each rerun, so a click that arrived in between found nothing ("Deferred file not
    found"); bytes of unchanged content keep the same address across reruns.
    """
    if isinstance(df, SharedFrame):  # named by its key: no need to hash its content
        fp = f"{df.key}|{sorted((labels or {}).items())!r}|{sorted((kinds or {}).items())!r}"
        df = df.df
    else:
        fp = _fingerprint(df, sorted((labels or {}).items()), sorted((kinds or {}).items()))
    with st.container(horizontal=True, gap="small", key=f"{key}.exports"):
        st.download_button("Exporter en CSV", _export("csv", fp, "", df, labels, kinds), file_name=f"{export_name}.csv",
                           mime="text/csv", key=f"{key}.csv", icon=":material/download:", width="content",
                           on_click="ignore", help="Exporter ce tableau en CSV (séparateur « ; », virgule décimale)")
        st.download_button("Exporter en XLSX", _export("xlsx", fp, export_name[:31], df, labels, kinds),
                           file_name=f"{export_name}.xlsx", mime=XLSX_MIME, key=f"{key}.xlsx",
                           icon=":material/download:", width="content", on_click="ignore",
                           help="Exporter ce tableau en XLSX")


def show_table(df: pd.DataFrame | SharedFrame, key: str, title: str | None = None, export_name: str = "tableau",
               height: int | None = None, filterable: bool = True, labels: dict | None = None,
               kinds: dict | None = None) -> pd.DataFrame:
    """Draw ``df`` with French headers and numbers; returns the rows the user kept with the filter.

    ``labels`` overrides the French header of some columns (e.g. ``{"valeur": "Heures d'insertion"}``),
    ``kinds`` their kind (see ``views.columns.column_kind``). A
    :class:`~components.state.SharedFrame` (``state.shared_frame``) is filtered, rendered and exported
    once for every session that shows it with the same filter text.
    """
    if title:
        st.markdown(f"#### {fmt.md(title)}")  # a title may carry a name from a file
    shared = df if isinstance(df, SharedFrame) else None
    frame = shared.df if shared else df
    shown = df
    if filterable and len(frame) > 5:
        # Streamlit's "Press Enter to apply" under the field: hidden (the filter applies on Enter or on leaving)
        st.html(f'<style>.{key_class(f"{key}.filtre")} [data-testid="InputInstructions"]{{display:none}}</style>')
        text = st.text_input("Filtrer le tableau", key=f"{key}.filtre", placeholder="texte à rechercher…",
                             help="Le tableau garde les lignes qui contiennent ce texte (touche Entrée pour "
                                  "appliquer).")
        if shared and text:
            shown = SharedFrame(f"{shared.key}|filtre={text}", _filtered(shared.key, text, shared.df))
        elif not shared:
            shown = filter_rows(df, text)
    show_frame(shown, key=f"{key}.table", height=height or "auto", labels=labels, kinds=kinds)
    export_buttons(shown, key, export_name, labels, kinds)
    return shown.df if isinstance(shown, SharedFrame) else shown


def refusal_text(report, tail: str, head: str | None = None) -> str:
    """The French text of a refusal's alert: ``head`` (the import's sentence, ``Loaded.outcome``) or the
    report's summary, ``tail``, then the first errors written out whole; names from files stay text."""
    lines = [f"{fmt.md(head) if head else report.summary().capitalize() + '.'} {tail}".strip()]
    first = report.first_errors()
    if first:
        more = len(report.errors) - len(first)
        lines.append("\n".join(f"- {fmt.md(e)}" for e in first)
                     + (f"\n- … et {fmt.integer(more)} {agree(more, 'autre erreur', 'autres erreurs')}, dans le "
                        "tableau ci-dessous." if more > 0 else ""))
    return "\n\n".join(lines)


REPORT_CSS = ("<style>.{scope} table td, .{scope} table th {{white-space: normal; overflow-wrap: anywhere; "
              "vertical-align: top}} .{scope} table td:last-child {{min-width: 24em}}</style>")


def report_table(frame: pd.DataFrame, key: str, title: str = "Rapport de validation",
                 export_name: str = "rapport") -> None:
    """A validation report: every message written out whole, wrapped in its cell (a data grid cuts a long
    message at its column's width), at most ``REPORT_HEIGHT`` pixels high, scrolled beyond; CSV and XLSX."""
    st.markdown(f"#### {fmt.md(title)}")
    st.html(REPORT_CSS.format(scope=key_class(f"{key}.rapport")))
    view = frame.copy()
    for col in view.columns:  # a line number as a spreadsheet shows it (« 12 »); none is an empty cell, not « <NA> »
        if str(view[col].dtype) == "Int64":
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else str(int(v)))
    with st.container(key=f"{key}.rapport", height=REPORT_HEIGHT if len(view) > 8 else "content"):
        st.table(view, hide_index=True)
    export_buttons(frame, key, export_name)


REPORT_HEIGHT = 420


__all__ = ["SharedFrame", "column_config", "display", "export_buttons", "filter_rows", "label_of", "refusal_text",
           "report_table", "show_frame", "show_table"]
