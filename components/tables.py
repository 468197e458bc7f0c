"""Tables on screen: French headers, sortable, a text filter, and CSV/XLSX exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import fmt
from components.exports import LABELS, SHARE_COLUMNS, french, table_csv, table_xlsx


def filter_rows(df: pd.DataFrame, text: str) -> pd.DataFrame:
    """Rows where any cell contains ``text`` (case-insensitive)."""
    if not text:
        return df
    mask = df.astype(str).apply(lambda col: col.str.contains(text, case=False, regex=False)).any(axis=1)
    return df[mask.to_numpy()]


def column_config(df: pd.DataFrame) -> dict:
    config = {}
    for col in df.columns:
        label = LABELS.get(col, col)
        if col in ("annee", "Année"):
            config[label] = st.column_config.NumberColumn(label, format="%d")
        elif col in SHARE_COLUMNS:
            config[label] = st.column_config.NumberColumn(label, format="percent")
        elif pd.api.types.is_float_dtype(df[col]):
            config[label] = st.column_config.NumberColumn(label, format="localized")
        elif pd.api.types.is_integer_dtype(df[col]):
            config[label] = st.column_config.NumberColumn(label, format="localized")
    return config


def show_table(df: pd.DataFrame, key: str, title: str | None = None, export_name: str = "tableau",
               height: int | None = None, filterable: bool = True) -> pd.DataFrame:
    """Draw ``df`` with French headers; returns the rows the user kept with the filter."""
    if title:
        st.markdown(f"#### {fmt.md(title)}")  # a title may carry a name from a file
    shown = df
    if filterable and len(df) > 5:
        text = st.text_input("Filtrer le tableau", key=f"{key}.filtre", placeholder="texte à rechercher…")
        shown = filter_rows(df, text)
    st.dataframe(french(shown), hide_index=True, width="stretch", column_config=column_config(shown),
                 height=height or "auto", key=f"{key}.table")
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button("Exporter en CSV", lambda: table_csv(shown), file_name=f"{export_name}.csv", mime="text/csv",
                       key=f"{key}.csv", icon=":material/download:")
    c2.download_button("Exporter en XLSX", lambda: table_xlsx(shown, export_name[:31]), file_name=f"{export_name}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}.xlsx", icon=":material/download:")
    return shown
