"""Altair charts, legible when projected: 16 px labels or more, never truncated, French axis titles
and French numbers, colour-blind-safe colours.

Every axis and legend carries its own label size and limit (Streamlit's chart theme would otherwise
shrink labels to 12 px and cut them at 100 px). Long category names are wrapped on several lines
(``labelExpr`` returns the lines of each name) instead of being cut. Numbers are written the French
way whatever the browser: axes and legends through the French locale of the spec (``config.locale``,
honoured by Streamlit's Vega and by vl-convert), bar labels and tooltips as texts formatted here
(``part_txt``, ``valeur_txt``).
"""

from __future__ import annotations

import json
import textwrap

import altair as alt
import numpy as np
import pandas as pd

from data.indicators import dimension_label
from views import fmt
from views.palette import PALETTE

FONT = "'Source Sans', 'Source Sans Pro', 'Source Sans 3', 'DejaVu Sans', Arial, sans-serif"
FONT_SIZE = 16  # labels and legends: at least 16 px on a wall screen
TITLE_SIZE = 20
WRAP = 26  # characters per line of a wrapped category name (about 190 px at 16 px)
LABEL_LIMIT = 0  # no limit: names are wrapped, never cut with an ellipsis
NNBSP = "\u202f"
LOCALE = {"number": {"decimal": ",", "thousands": NNBSP, "grouping": [3], "currency": ["", NNBSP + "€"],
                     "percent": NNBSP + "%", "minus": "\u2212"}}
# axis labels: d3 formats read with the French locale of the spec (honoured by Streamlit and vl-convert)
PCT_FORMAT = "~%"  # with config.locale: "20 %", "2,5 %"
NUM_FORMAT = ",~r"  # with config.locale: "1 500", "0,5"
REGION_FRANCE = ["Région", "France"]
REGION_FRANCE_COLOURS = ["#000091", "#E69F00"]


def wrap(text, width: int = WRAP) -> list[str]:
    """A category name as lines of at most ``width`` characters (a longer word stays whole)."""
    lines = textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=False)
    return lines or [str(text)]


def lines_expr(values, width: int = WRAP) -> str:
    """A Vega expression giving each category's name as its lines (multi-line axis labels)."""
    mapping = {str(v): wrap(v, width) for v in pd.unique(pd.Series(list(values), dtype=object).astype(str))}
    return f"({json.dumps(mapping, ensure_ascii=False)})[datum.value] || datum.label"


def max_lines(values, width: int = WRAP) -> int:
    return max([len(wrap(v, width)) for v in values] or [1])


def category_axis(values, width: int = WRAP, title=None, **kw) -> alt.Axis:
    return alt.Axis(title=title, labelExpr=lines_expr(values, width), labelFontSize=FONT_SIZE, labelLimit=LABEL_LIMIT,
                    labelLineHeight=FONT_SIZE + 3, titleFontSize=FONT_SIZE, labelFont=FONT, titleFont=FONT,
                    labelPadding=8, labelColor="#161616", titleColor="#161616", **kw)


VALUE_TICKS = 6  # labels of a value axis: as many as a 1280 px wall reads at 16 px (« 0 1 2 3 4 5 6 », not 31)


def value_axis(title: str, percent: bool = False, **kw) -> alt.Axis:
    kw.setdefault("tickCount", VALUE_TICKS)
    return alt.Axis(title=title, format=PCT_FORMAT if percent else NUM_FORMAT, labelFontSize=FONT_SIZE,
                    titleFontSize=FONT_SIZE, labelFont=FONT, titleFont=FONT, labelLimit=LABEL_LIMIT,
                    labelColor="#161616", titleColor="#161616", labelFlush=False, labelOverlap=True, **kw)


def legend(title=None, **kw) -> alt.Legend:
    return alt.Legend(title=title, labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelFont=FONT, titleFont=FONT,
                      labelLimit=LABEL_LIMIT, symbolSize=200, labelColor="#161616", titleColor="#161616", **kw)


# what a chart's own fields are called where a person reads them: a screen reader reads each mark's
# description (« ETP financés : 1,5 ; Source : FSE »), made of its fields' titles
FIELD_TITLES = {"part_txt": "Part", "part_tip": "Part", "valeur_txt": "Valeur", "etp_txt": "ETP",
                "etp_finances": "ETP financés", "source": "Source", "part": "Part", "valeur": "Valeur",
                "territoire_lib": "Territoire", "annee": "Année", "modalite": "Catégorie", "modalite_2": "Croisement"}


def field_title(field: str) -> str:
    from views.columns import label_of

    return FIELD_TITLES.get(field) or label_of(field)


def _titled(spec) -> None:
    """Every encoded field given a French title where it has none (its axis and legend keep theirs)."""
    if isinstance(spec, dict):
        enc = spec.get("encoding")
        if isinstance(enc, dict):
            for value in enc.values():
                for d in (value if isinstance(value, list) else [value]):
                    if isinstance(d, dict) and isinstance(d.get("field"), str) and "title" not in d:
                        d["title"] = field_title(d["field"])
        for value in spec.values():
            _titled(value)
    elif isinstance(spec, list):
        for value in spec:
            _titled(value)


def french_fields(chart):
    """``chart`` with a French title on every encoded field: no internal name (« etp_finances ») in the marks'
    descriptions that a screen reader reads, nor in a tooltip."""
    spec = chart.to_dict(validate=False)
    _titled(spec)
    return type(chart).from_dict(spec, validate=False)


def theme(chart: alt.Chart, title: str | None = None, height: int = 360, subtitle: str | None = None) -> alt.Chart:
    chart = french_fields(chart)
    if title:
        chart = chart.properties(title=alt.TitleParams(title, subtitle=subtitle or alt.Undefined, fontSize=TITLE_SIZE,
                                                       subtitleFontSize=FONT_SIZE, anchor="start", font=FONT,
                                                       subtitleFont=FONT, color="#161616", subtitleColor="#3A3A3A"))
    return (chart.properties(height=height)
            .configure(locale=LOCALE, font=FONT)
            .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=LABEL_LIMIT,
                            titleFontWeight="normal", labelFont=FONT, titleFont=FONT)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=LABEL_LIMIT,
                              labelFont=FONT, titleFont=FONT)
            .configure_text(font=FONT)
            .configure_view(strokeWidth=0))


def _texts(df: pd.DataFrame) -> pd.DataFrame:
    """French texts of the values, for bar labels and tooltips."""
    out = df.copy()
    if "part" in out.columns:
        out["part_txt"] = [fmt.percent(v) if v == v and v is not None else "" for v in out["part"]]
        out["part_tip"] = [fmt.percent(v, 1) for v in out["part"]]
    if "valeur" in out.columns:
        values = pd.to_numeric(out["valeur"], errors="coerce")
        whole = values.dropna().pipe(lambda v: bool(np.allclose(v, np.round(v))))
        out["valeur_txt"] = [("masqué" if np.isnan(v) else (fmt.integer(v) if whole else fmt.decimal(v, 1)))
                             for v in values]
    return out


def funding_chart(df: pd.DataFrame) -> alt.Chart:
    """ETP funded by each source (a ranked bar chart)."""
    data = df.assign(etp_txt=[fmt.decimal(v, 2) for v in df["etp_finances"]],
                     part_txt=[fmt.percent(v) for v in df["part"]])
    base = alt.Chart(data).encode(
        y=alt.Y("source:N", sort="-x", axis=category_axis(data["source"])),
        x=alt.X("etp_finances:Q", axis=value_axis("ETP financés")),
        color=alt.Color("source:N", scale=alt.Scale(range=PALETTE), legend=None),
        tooltip=[alt.Tooltip("source:N", title="Source"), alt.Tooltip("etp_txt:N", title="ETP"),
                 alt.Tooltip("part_txt:N", title="Part")])
    bars = base.mark_bar()
    text = base.mark_text(align="left", dx=6, fontSize=FONT_SIZE).encode(text="part_txt:N")
    return theme(bars + text, "Financement des postes de facilitateurs, par source (ETP)",
                 height=_bar_height(data["source"], 1))


CHROME = 130  # title, subtitle, legend and value axis around the plot (Streamlit fits the whole chart)


def _bar_height(categories, bars_per_category: int) -> int:
    """Total height: room for each category's bars and for its name on as many lines as it takes."""
    n = len(categories)
    lines = max_lines(categories)
    per = max(bars_per_category * 20 + 14, lines * (FONT_SIZE + 3) + 14)
    return int(max(160, n * per)) + CHROME


def indicator_chart(df: pd.DataFrame, table: str, title: str, unit: str, source: str) -> alt.Chart:
    """The chart type follows the table's shape.

    - a distribution: ranked horizontal bars, région and France shares side by side;
    - a cross table: a heat map of the région's values (latest year);
    - T18 (situation after 6/12/18/24 months): lines of each situation's share by delay.
    """
    latest = int(df["annee"].max())
    last = _texts(df[df["annee"] == latest])
    subtitle = f"{unit} – {source}, {latest}"
    dim = dimension_label(df["dimension"].iloc[0]) if "dimension" in df.columns and len(df) else None
    dim2 = dimension_label(df["dimension_2"].iloc[0]) if "dimension_2" in df.columns and len(df) else None
    if table == "T18":
        reg = last[last["territoire"] != "FR"]
        delays = ["6 mois", "12 mois", "18 mois", "24 mois"]
        chart = alt.Chart(reg).mark_line(point=alt.OverlayMarkDef(size=110), strokeWidth=3).encode(
            x=alt.X("modalite:N", sort=delays, axis=category_axis(reg["modalite"], title=dim or "Délai",
                                                                  labelAngle=0)),
            y=alt.Y("part:Q", axis=value_axis("Part des bénéficiaires", percent=True)),
            color=alt.Color("modalite_2:N", scale=alt.Scale(range=PALETTE),
                            legend=legend(dim2 or "Situation", orient="bottom", columns=2, direction="vertical")),
            tooltip=[alt.Tooltip("modalite:N", title=dim or "Délai"),
                     alt.Tooltip("modalite_2:N", title=dim2 or "Situation"),
                     alt.Tooltip("part_tip:N", title="Part")])
        height = 420 + 30 * ((reg["modalite_2"].nunique() + 1) // 2)
    elif df["modalite_2"].ne("").any():
        reg = last[last["territoire"] != "FR"]
        top = float(pd.to_numeric(reg["valeur"], errors="coerce").max() or 0)
        cols = reg["modalite_2"].unique()
        x = alt.X("modalite_2:N", axis=category_axis(cols, width=14, title=dim2, labelAngle=0))
        y = alt.Y("modalite:N", axis=category_axis(reg["modalite"], title=None))
        chart = alt.Chart(reg).mark_rect(stroke="white", strokeWidth=2).encode(
            x=x, y=y, color=alt.Color("valeur:Q", scale=alt.Scale(scheme="blues"),
                                      legend=legend(unit.capitalize(), format=NUM_FORMAT)),
            tooltip=[alt.Tooltip("modalite:N", title=dim or "Catégorie"),
                     alt.Tooltip("modalite_2:N", title=dim2 or "Croisement"),
                     alt.Tooltip("valeur_txt:N", title=unit.capitalize()),
                     alt.Tooltip("part_tip:N", title="Part")])
        text = alt.Chart(reg).mark_text(fontSize=FONT_SIZE).encode(
            x=alt.X("modalite_2:N"), y=alt.Y("modalite:N"), text="valeur_txt:N",
            color=alt.condition(f"datum.valeur > {0.55 * top}", alt.value("white"), alt.value("#161616")))
        chart = chart + text
        height = _bar_height(reg["modalite"].unique(), 2) + 20 * max_lines(cols, 14)
    else:
        reg = last[last["territoire"] != "FR"]
        order = reg.sort_values("part", ascending=False)["modalite"].tolist()
        order += [m for m in last["modalite"].unique() if m not in order]
        base = alt.Chart(last).encode(
            y=alt.Y("modalite:N", sort=order, axis=category_axis(order, title=None)),
            x=alt.X("part:Q", axis=value_axis(f"Part des {unit}" if not unit.startswith("montant") else "Part du montant",
                                              percent=True)),
            yOffset=alt.YOffset("territoire_lib:N", sort=REGION_FRANCE),
            color=alt.Color("territoire_lib:N", sort=REGION_FRANCE,
                            scale=alt.Scale(domain=REGION_FRANCE, range=REGION_FRANCE_COLOURS),
                            legend=legend(None, orient="top", direction="horizontal")),
            tooltip=[alt.Tooltip("modalite:N", title=dim or "Catégorie"),
                     alt.Tooltip("territoire_lib:N", title="Territoire"),
                     alt.Tooltip("part_tip:N", title="Part"),
                     alt.Tooltip("valeur_txt:N", title=unit.capitalize())])
        chart = base.mark_bar() + base.mark_text(align="left", dx=5, fontSize=FONT_SIZE).encode(text="part_txt:N")
        height = _bar_height(order, 2)
    return theme(chart, title, height=height, subtitle=subtitle)


def evolution_chart(df: pd.DataFrame, unit: str) -> alt.Chart:
    """Région shares by year, one group per category (grouped bars)."""
    reg = _texts(df[df["territoire"] != "FR"])
    reg["annee"] = reg["annee"].astype(str)
    years = sorted(reg["annee"].unique())
    cats = reg["modalite"].unique()
    colours = ["#9ECAE1", "#000091", "#E69F00", "#009E73"][-len(years):] if len(years) <= 4 else PALETTE
    chart = alt.Chart(reg).mark_bar().encode(
        y=alt.Y("modalite:N", axis=category_axis(cats, title=None)),
        x=alt.X("part:Q", axis=value_axis(f"Part des {unit}" if not unit.startswith("montant") else "Part du montant",
                                          percent=True)),
        yOffset=alt.YOffset("annee:N", sort=years),
        color=alt.Color("annee:N", sort=years, scale=alt.Scale(domain=years, range=colours),
                        legend=legend("Année", orient="top", direction="horizontal")),
        tooltip=[alt.Tooltip("modalite:N", title="Catégorie"), alt.Tooltip("annee:N", title="Année"),
                 alt.Tooltip("part_tip:N", title="Part")])
    return theme(chart, "Évolution dans la région", height=_bar_height(cats, len(years)))
