"""Altair charts, legible when projected: large type, colour-blind-safe colours, French labels."""

from __future__ import annotations

import altair as alt
import pandas as pd

from components.maps import PALETTE

FONT_SIZE = 16


def theme(chart: alt.Chart, title: str | None = None, height: int = 360) -> alt.Chart:
    if title:
        chart = chart.properties(title=alt.TitleParams(title, fontSize=20, anchor="start"))
    return (chart.properties(height=height)
            .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=360)
            .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=360)
            .configure_view(strokeWidth=0)
            .configure(locale={"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3],
                                          "currency": ["", " €"]}}))


def funding_chart(df: pd.DataFrame) -> alt.Chart:
    """ETP funded by each source (a ranked bar chart)."""
    base = alt.Chart(df).encode(
        y=alt.Y("source:N", sort="-x", title=None),
        x=alt.X("etp_finances:Q", title="ETP financés"),
        color=alt.Color("source:N", scale=alt.Scale(range=PALETTE), legend=None),
        tooltip=[alt.Tooltip("source:N", title="Source"), alt.Tooltip("etp_finances:Q", title="ETP", format=",.1f"),
                 alt.Tooltip("part:Q", title="Part", format=".0%")])
    bars = base.mark_bar()
    text = base.mark_text(align="left", dx=6, fontSize=FONT_SIZE).encode(text=alt.Text("part:Q", format=".0%"))
    return theme(bars + text, "Financement des postes de facilitateurs, par source (ETP)", height=280)


def indicator_chart(df: pd.DataFrame, table: str, title: str, unit: str, source: str) -> alt.Chart:
    """The chart type follows the table's shape.

    - a distribution: ranked horizontal bars, région and France shares side by side;
    - a cross table: a heat map of the région's shares (latest year);
    - T18 (situation after 6/12/18/24 months): lines of each situation's share by delay.
    """
    latest = int(df["annee"].max())
    last = df[df["annee"] == latest]
    subtitle = f"{unit} – {source}, {latest}"
    pct = alt.Axis(format="%")
    if table == "T18":
        reg = last[last["territoire"] != "FR"]
        chart = alt.Chart(reg).mark_line(point=alt.OverlayMarkDef(size=90), strokeWidth=3).encode(
            x=alt.X("modalite:N", title="Délai après le premier contrat",
                    sort=["6 mois", "12 mois", "18 mois", "24 mois"]),
            y=alt.Y("part:Q", title="Part des bénéficiaires", axis=pct),
            color=alt.Color("modalite_2:N", title="Situation", scale=alt.Scale(range=PALETTE)),
            tooltip=[alt.Tooltip("modalite:N", title="Délai"), alt.Tooltip("modalite_2:N", title="Situation"),
                     alt.Tooltip("part:Q", title="Part", format=".0%")])
    elif df["modalite_2"].ne("").any():
        reg = last[last["territoire"] != "FR"]
        chart = alt.Chart(reg).mark_rect().encode(
            x=alt.X("modalite_2:N", title=str(reg["dimension_2"].iloc[0]) if len(reg) else None,
                    axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("modalite:N", title=None),
            color=alt.Color("valeur:Q", title=unit, scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("modalite:N", title="Catégorie"), alt.Tooltip("modalite_2:N", title="Croisement"),
                     alt.Tooltip("valeur:Q", title="Valeur", format=",.0f")])
        text = alt.Chart(reg).mark_text(fontSize=14).encode(
            x="modalite_2:N", y="modalite:N", text=alt.Text("valeur:Q", format=",.0f"),
            color=alt.condition("datum.valeur > 0", alt.value("black"), alt.value("black")))
        chart = chart + text
    else:
        order = (last[last["territoire"] != "FR"].sort_values("part", ascending=False)["modalite"].tolist())
        chart = alt.Chart(last).mark_bar().encode(
            y=alt.Y("modalite:N", sort=order, title=None),
            x=alt.X("part:Q", title=f"Part ({unit})", axis=pct),
            yOffset=alt.YOffset("territoire_lib:N", sort=["Région", "France"]),
            color=alt.Color("territoire_lib:N", title=None, sort=["Région", "France"],
                            scale=alt.Scale(domain=["Région", "France"], range=["#000091", "#E69F00"])),
            tooltip=[alt.Tooltip("modalite:N", title="Catégorie"), alt.Tooltip("territoire_lib:N", title="Territoire"),
                     alt.Tooltip("part:Q", title="Part", format=".0%"),
                     alt.Tooltip("valeur:Q", title="Valeur", format=",.0f")])
    return theme(chart.properties(title=alt.TitleParams(title, subtitle=subtitle, fontSize=20, subtitleFontSize=15,
                                                        anchor="start")), height=380)


def evolution_chart(df: pd.DataFrame, unit: str) -> alt.Chart:
    """Région shares by year, one group per category (grouped bars)."""
    reg = df[df["territoire"] != "FR"].copy()
    reg["annee"] = reg["annee"].astype(str)
    chart = alt.Chart(reg).mark_bar().encode(
        y=alt.Y("modalite:N", title=None), x=alt.X("part:Q", title=f"Part ({unit})", axis=alt.Axis(format="%")),
        yOffset="annee:N", color=alt.Color("annee:N", title="Année", scale=alt.Scale(range=["#9ECAE1", "#000091",
                                                                                          "#E69F00"])),
        tooltip=[alt.Tooltip("modalite:N"), alt.Tooltip("annee:N", title="Année"),
                 alt.Tooltip("part:Q", title="Part", format=".0%")])
    return theme(chart, "Évolution dans la région", height=320)


def to_png(chart: alt.Chart, scale: float = 2.0) -> bytes:
    """The chart as PNG, rendered offline by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_json(), scale=scale)
