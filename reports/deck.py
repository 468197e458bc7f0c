"""The PowerPoint deck of the launch meeting (python-pptx): one slide per screen of the sequence of
fiche 3, 16:9, type legible from the back of a room (figures at least 40 pt, labels at least
24 pt), every text a text box and every chart a native chart, so that the team can edit them;
maps are images. The slide's notes carry the detail a speaker may need.
"""

from __future__ import annotations

import io
from pathlib import Path

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from geo.inclusion import families_sentence
from geo.markets import CLASS_LABELS, CLASSES
from views import fmt, screens
from views import text as T
from views.text import agree

BLUE = RGBColor(0x00, 0x00, 0x91)
INK = RGBColor(0x16, 0x16, 0x16)
GREY = RGBColor(0x59, 0x59, 0x59)
FONT = "Arial"
FIGURE_PT = 44
LABEL_PT = 24
TITLE_PT = 36
SOURCE_PT = 16  # the source line at the foot of each slide
SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)
TOP = Inches(1.35)
BOTTOM = Inches(6.85)

def _run(paragraph, text: str, size: int, bold: bool = False, colour: RGBColor = INK) -> None:
    r = paragraph.add_run()
    r.text = text
    r.font.size = Pt(size)
    r.font.bold = bold
    r.font.name = FONT
    r.font.color.rgb = colour


def _box(slide, x, y, w, h, name: str):
    tb = slide.shapes.add_textbox(x, y, w, h)
    tb.name = name
    tf = tb.text_frame
    tf.word_wrap = True
    tf.margin_left = tf.margin_right = Inches(0.05)
    tf.margin_top = tf.margin_bottom = Inches(0.02)
    return tb, tf


def _text(slide, x, y, w, h, text: str, size: int, name: str, bold=False, colour=INK, align=PP_ALIGN.LEFT,
          anchor=MSO_ANCHOR.TOP):
    tb, tf = _box(slide, x, y, w, h, name)
    tf.vertical_anchor = anchor
    lines = text.split("\n")
    for i, line in enumerate(lines):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.alignment = align
        _run(p, line, size, bold, colour)
    return tb


def _figure(slide, x, y, w, h, value: str, label: str, sub: str = "", name: str = "chiffre"):
    """A key figure: the number (``FIGURE_PT``) over its label (``LABEL_PT``)."""
    tb, tf = _box(slide, x, y, w, h, name)
    p = tf.paragraphs[0]
    _run(p, value, FIGURE_PT, True, BLUE)
    p2 = tf.add_paragraph()
    _run(p2, label, LABEL_PT, False, INK)
    if sub:
        p3 = tf.add_paragraph()
        _run(p3, sub, LABEL_PT, False, GREY)
    return tb


def _total(content) -> int:
    """The deck's slides: the meeting's screens, and the proposition's when a scenario is chosen."""
    return len(T.SCREENS) + (1 if getattr(content, "proposition", None) is not None else 0)


def _frame(prs, content, n: int, title: str | None = None):
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    _text(slide, Inches(0.45), Inches(0.3), Inches(11.2), Inches(0.95), title or T.SCREENS[n - 1], TITLE_PT, "titre",
          bold=True, colour=BLUE, anchor=MSO_ANCHOR.MIDDLE)
    _text(slide, Inches(11.7), Inches(0.3), Inches(1.2), Inches(0.95), f"{n} / {_total(content)}", LABEL_PT,
          "numero", colour=GREY, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
    line = slide.shapes.add_connector(1, Inches(0.45), Inches(1.25), SLIDE_W - Inches(0.45), Inches(1.25))
    line.line.color.rgb = BLUE
    line.line.width = Pt(2)
    # as the wall's subtitle: the région's name once (« Occitanie 2026 », not « Occitanie · Occitanie 2026 »)
    src = " · ".join(x for x in (content.region_name if content.region_name not in content.workspace else "",
                                 content.workspace, "millésimes : " + content.vintages if content.vintages else "")
                   if x)
    _text(slide, Inches(0.45), Inches(6.9), Inches(12.4), Inches(0.55), src, SOURCE_PT, "source", colour=GREY,
          anchor=MSO_ANCHOR.MIDDLE)
    return slide


def _picture(slide, image, x, y, w, h, name: str):
    """A map image fitted into a box, centred, aspect kept."""
    iw, ih = image.size
    scale = min(w / iw, h / ih)
    pw, ph = int(iw * scale), int(ih * scale)
    pic = slide.shapes.add_picture(io.BytesIO(image.png), x + (w - pw) // 2, y + (h - ph) // 2, Emu(pw), Emu(ph))
    pic.name = name
    return pic


def _message(slide, sentence: str, x=Inches(0.45), y=TOP + Inches(0.3), w=Inches(12.4), h=Inches(2.5)):
    _text(slide, x, y, w, h, sentence + "\nImportez le fichier sur la page « Données » de l'application.",
          LABEL_PT + 4, "message", colour=INK)


def _no_map(slide, x, y, w, h):
    _text(slide, x, y, w, h, "Carte indisponible : le référentiel des communes n'a pas de contours.", LABEL_PT,
          "message", colour=GREY)


LINE_PT = LABEL_PT * 1.2  # one line of a label
CHAR_PT = LABEL_PT * 0.54  # the width of an average character of a label (Arial), to wrap names ahead
NAME_SHARE = 0.55  # of a bar chart's width, for its names


def _chars(width) -> int:
    """Characters of a label on one line of a box ``width`` wide (EMU)."""
    return max(8, int((Emu(width).pt - 8) / CHAR_PT))


def _plot_area_fills(chart) -> None:
    """The bars fill the chart's frame (its inner plot area set by hand): each bar's centre is then where the
    names beside it expect it, in PowerPoint and in LibreOffice alike."""
    from lxml import etree
    from pptx.oxml.ns import qn

    plot = chart._chartSpace.find(qn("c:chart")).find(qn("c:plotArea"))
    layout = plot.find(qn("c:layout"))
    if layout is None:
        layout = etree.SubElement(plot, qn("c:layout"))
        plot.remove(layout)
        plot.insert(0, layout)
    for child in list(layout):
        layout.remove(child)
    manual = etree.SubElement(layout, qn("c:manualLayout"))
    for tag, val in (("c:layoutTarget", "inner"), ("c:xMode", "edge"), ("c:yMode", "edge"), ("c:x", "0"),
                     ("c:y", "0"), ("c:w", "1"), ("c:h", "1")):
        etree.SubElement(manual, qn(tag)).set("val", val)


def _bar_chart(slide, x, y, w, h, rows: list[tuple[str, float | None, str]], number_format: str, name: str):
    """Horizontal bars, one row per (name, value, value as text), the first on top: the values a native chart
    (the team can edit them), the names text boxes beside the bars, written whole and wrapped (a viewer may
    drop a chart's category names it finds crowded: LibreOffice did). A name of two lines takes two of the
    chart's evenly spaced slots, its bar beside its first line. A row without a value is a gap in a ranking
    (« 3 autres structures, de 0,96 à 0,76 »), written across the chart."""
    name_w = int(w * NAME_SHARE)
    chars = _chars(name_w)
    lines = [1 if value is None else screens.name_lines(label, chars) for label, value, _ in rows]
    slots = max(sum(lines), 1)
    pitch = int(min(h / slots, Pt(2 * LINE_PT)))
    bars_x, bars_w = x + name_w + Inches(0.1), w - name_w - Inches(0.1)
    categories, values, texts = [], [], []
    for (label, value, text), k in zip(rows, lines):
        categories += [label] + [" "] * (k - 1)  # a name's second line: a slot without a bar
        values += [value] + [None] * (k - 1)
        texts += [text] + [""] * (k - 1)
    data = CategoryChartData(number_format=number_format)
    data.categories = categories
    data.add_series("Valeur", values)
    gf = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, bars_x, y, bars_w, pitch * slots, data)
    gf.name = name
    chart = gf.chart
    chart.has_title = False
    chart.has_legend = False
    chart.font.size = Pt(LABEL_PT)
    chart.font.name = FONT
    plot = chart.plots[0]
    plot.gap_width = 45
    series = plot.series[0]
    series.format.fill.solid()
    series.format.fill.fore_color.rgb = BLUE
    # each value written the French way by the app (the viewer's locale would write 0.49)
    for point, value, text in zip(series.points, values, texts):
        if value is None:
            continue
        label = point.data_label
        label.position = XL_LABEL_POSITION.OUTSIDE_END
        tf = label.text_frame
        tf.text = text
        for run in tf.paragraphs[0].runs:
            run.font.size = Pt(LABEL_PT)
            run.font.name = FONT
            run.font.color.rgb = INK
    cat = chart.category_axis
    cat.reverse_order = True  # first category on top
    cat.tick_labels.font.size = Pt(LABEL_PT)
    cat.visible = False  # the names are the text boxes beside the bars
    val = chart.value_axis
    val.visible = False
    val.has_major_gridlines = False
    val.minimum_scale = 0
    val.maximum_scale = max([v for v in values if v is not None] + [0]) * 1.45 or 1  # room for the values
    _plot_area_fills(chart)
    slot = 0
    inset = max(0, int((pitch - Pt(LINE_PT)) / 2))  # the first line of a name level with its bar
    for (label, value, _), k in zip(rows, lines):
        top = y + slot * pitch
        slot += k
        if value is None:  # a gap in the ranking, across the chart
            _text(slide, x, top, w, pitch, label, LABEL_PT, "ecart_classement", colour=GREY, align=PP_ALIGN.CENTER,
                  anchor=MSO_ANCHOR.MIDDLE)
            continue
        tb = _text(slide, x, top, name_w, k * pitch, label, LABEL_PT, "nom_barre", align=PP_ALIGN.RIGHT)
        tb.text_frame.margin_top = inset
        tb.text_frame.margin_bottom = 0
    return gf


def _title_height(w, text: str) -> int:
    return int(Inches(0.12) + screens.name_lines(text, int(_chars(w) * 0.92)) * Pt(LINE_PT))  # bold: wider


def _chart_title(slide, x, y, w, text: str) -> int:
    """A chart's title over it, as tall as its lines; returns its height (EMU)."""
    height = _title_height(w, text)
    _text(slide, x, y, w, height, text, LABEL_PT, "legende_graphique", bold=True)
    return height


# ------------------------------------------------------------------------------------------------
# the screens: a visual on the left (map or chart), up to four key figures on the right

VISUAL = (Inches(0.3), TOP + Inches(0.1), Inches(8.1), BOTTOM - TOP - Inches(0.1))
COLUMN_X, COLUMN_W = Inches(8.55), Inches(4.5)


def _column(slide, figures: list[tuple[str, str]]) -> None:
    """Key figures stacked on the right: the number (``FIGURE_PT``) over a one-line label."""
    step = (BOTTOM - TOP) / 4
    for i, (value, label) in enumerate(figures[:4]):
        _figure(slide, COLUMN_X, TOP + Inches(0.05) + i * step, COLUMN_W, step - Inches(0.05), value, label)


def _map(slide, maps, key: str, name: str) -> None:
    if maps.get(key):
        _picture(slide, maps[key], *VISUAL, name)
    else:
        _no_map(slide, *VISUAL)


def _room(w, h) -> screens.Room:
    """A slide's chart of named bars: its rows' height, a slot of one line for each line of a name."""
    return screens.Room(height=Emu(h).pt, line=LINE_PT, gap=0, chars=_chars(int(w * NAME_SHARE)))


def _glance(prs, c, maps):
    s = c.summary
    slide = _frame(prs, c, 1)
    _map(slide, maps, "couverture", "carte_couverture")
    _column(slide, screens.glance(c))
    slide.notes_slide.notes_text_frame.text = (
        f"{c.region_name} ({c.region}) – espace de travail « {c.workspace} ». "
        f"{fmt.integer(s['qpv']['total'])} QPV, {fmt.integer(len(c.zones_emploi))} "
        f"{agree(len(c.zones_emploi), 'zone', 'zones')} d'emploi. "
        "Carte : aires d'intervention des structures (communes de la région) ; zones blanches en gris foncé."
        + (f" {c.referentiel_sources}." if c.referentiel_sources else "")
        + " Sources des données : " + " ; ".join(f"{what} : {where}" for what, where in c.sources) + ".")


def _means(prs, c):
    slide = _frame(prs, c, 2)
    if not c.has["facilitateurs"]:
        _message(slide, c.missing["facilitateurs"])
        return
    _column(slide, screens.means(c))
    # the load of each facilitator, ranked by its ratio, highest first (the wall's chart): every structure
    # when their names fit, else the highest and the lowest ratios, as many as fit under the chart's title
    x, y, w, h = VISUAL
    # the title says what the chart measures; what is left out is said where it is, between the bars
    rank = screens.fitting_ranking(c.structures, _room(w, h - _title_height(w, screens.LOAD_TITLE)))
    if len(rank.top):
        top = _chart_title(slide, x, y, w, screens.LOAD_TITLE)

        def row(r):
            v = round(float(r.etp_pour_100k_hab), 2)
            return (str(r.nom), v, fmt.decimal(v, 2))

        rows = ([row(r) for r in rank.top.itertuples(index=False)] + ([(rank.between, None, "")] if rank.between else [])
                + [row(r) for r in rank.bottom.itertuples(index=False)])
        _bar_chart(slide, x, y + top, w, h - top, rows, "#,##0.00", "graphique_charge")
    notes = [f"{r.nom} : {fmt.integer(r.nb_facilitateurs)} {agree(r.nb_facilitateurs, 'personne', 'personnes')}, "
             f"{fmt.decimal(r.etp)} ETP, "
             f"{fmt.decimal(r.etp_pour_100k_hab, 2)} ETP pour 100 000 hab." + (f" – {r.alerte}" if r.alerte else "")
             for r in c.structures.itertuples(index=False)]
    slide.notes_slide.notes_text_frame.text = "\n".join(([rank.note] if rank.note else []) + notes)


def _gaps(prs, c, maps):
    s = c.summary
    slide = _frame(prs, c, 3)
    _map(slide, maps, "qpv" if c.has["qpv"] else "zones_blanches", "carte_zones_blanches_qpv")
    _column(slide, screens.gaps(c))
    top = c.zones_blanches.head(10)
    slide.notes_slide.notes_text_frame.text = (
        f"{fmt.percent(s['population']['part_non_couverte'])} de la population n'est pas couverte. "
        f"QPV partiellement couverts : {fmt.integer(s['qpv']['partiels'])} sur {fmt.integer(s['qpv']['total'])}. "
        "Zones blanches les plus peuplées : " + ", ".join(f"{n} ({fmt.integer(p)} hab.)" for n, p in
                                                           zip(top["nom"], top["population"])) + ".")


def _employment(prs, c, maps):
    slide = _frame(prs, c, 4)
    ze = c.zones_emploi
    _map(slide, maps, "zones_emploi", "carte_zones_emploi")
    _column(slide, screens.employment(c))
    slide.notes_slide.notes_text_frame.text = "\n".join(
        f"{r.nom} ({r.code}) : {fmt.percent(r.part_couverte)} de la population couverte, "
        f"{fmt.integer(r.nb_structures)} {agree(r.nb_structures, 'structure', 'structures')}"
        for r in ze.itertuples(index=False))


def _markets(prs, c):
    slide = _frame(prs, c, 5)
    if not c.has["marches"]:
        _message(slide, c.missing["marches"])
        return
    m = c.market_summary
    _column(slide, screens.markets(c))
    x, y, w, h = VISUAL
    top = _chart_title(slide, x, y, w, "Marchés à clause sociale, par couverture")
    values = [int(m[k]) for k in CLASSES]
    _bar_chart(slide, x, y + top, w, h - top, [(CLASS_LABELS[k], v, fmt.integer(v)) for k, v in zip(CLASSES, values)],
               "#,##0", "graphique_marches")
    buyers = c.market_buyers.head(10)
    slide.notes_slide.notes_text_frame.text = (
        "« Sans structure unique » : marchés qu'aucune aire ne contient seule (fiche 3, § 3b : un interlocuteur "
        "unique pour l'acheteur). Acheteurs concernés : " + ", ".join(
            f"{a} ({fmt.integer(n)})" for a, n in zip(buyers["acheteur"], buyers["marches"])) + ".")


def _needs(prs, c):
    """« Besoins et moyens »: social markets per ETP by structure, inclusion structures in zones blanches."""
    slide = _frame(prs, c, T.SCREENS.index(T.SCREEN_NEEDS) + 1)
    for kind in ("facilitateurs", "marches"):
        if not c.has[kind]:
            _message(slide, c.missing[kind])
            return
    figures = screens.needs(c)
    step = (BOTTOM - TOP) / 4
    for i, item in enumerate(figures[:4]):
        _figure(slide, COLUMN_X, TOP + Inches(0.05) + i * step, COLUMN_W, step - Inches(0.05), item[0], item[1])
    x, y, w, h = VISUAL
    rank = screens.fitting_needs_ranking(c.needs.structures, _room(w, h - _title_height(w, screens.NEEDS_TITLE)))
    if len(rank.top):
        top = _chart_title(slide, x, y, w, screens.NEEDS_TITLE)

        def row(r):
            v = round(float(r.marches_sociaux_par_etp), 1)
            return (str(r.nom), v, fmt.decimal(v, 1))

        rows = ([row(r) for r in rank.top.itertuples(index=False)] + ([(rank.between, None, "")] if rank.between else [])
                + [row(r) for r in rank.bottom.itertuples(index=False)])
        _bar_chart(slide, x, y + top, w, h - top, rows, "#,##0.0", "graphique_besoins")
    notes = [rank.note] + [f"{r.nom} : {fmt.integer(r.marches_sociaux)} "
                           f"{agree(r.marches_sociaux, 'marché social', 'marchés sociaux')}, {fmt.decimal(r.etp)} ETP, "
                           f"{fmt.decimal(r.marches_sociaux_par_etp, 1)} par ETP" + (f" – {r.alerte}" if r.alerte else "")
                           for r in c.needs.structures.itertuples(index=False)]
    if c.needs.inclusion is None:
        notes.append(c.missing["structures_inclusion"])
    else:
        notes.append(families_sentence(c.needs.inclusion["dans_zones_blanches"],
                                       "dans des communes qu'aucun facilitateur ne couvre") + ".")
    slide.notes_slide.notes_text_frame.text = "\n".join(n for n in notes if n)


def _indicators(prs, c):
    slide = _frame(prs, c, T.SCREENS.index(T.SCREEN_INDICATORS) + 1)
    if not c.has["indicateurs"]:
        _message(slide, c.missing["indicateurs"])
        return
    fu = c.followup
    if fu.empty:
        _message(slide, "Le fichier d'indicateurs ne contient pas les tableaux du suivi (T03, T06 à T09, T18).")
        return
    latest = fu[fu["annee"] == fu["annee"].max()].reset_index(drop=True)
    w, h = Inches(4.1), Inches(2.7)
    for i, row in enumerate(latest.head(6).itertuples(index=False)):
        label = screens.short_indicator(row.indicateur)
        x = Inches(0.45) + (i % 3) * Inches(4.2)
        y = TOP + Inches(0.1) + (i // 3) * Inches(2.75)
        value = "secret" if row.region != row.region and row.secret else fmt.percent(row.region)
        france = "–" if row.france != row.france else fmt.percent(row.france)
        _figure(slide, x, y, w, h, value, label, f"France : {france}")
    notes = [f"{r.indicateur} ({r.annee}) : région {fmt.percent(r.region)}, France {fmt.percent(r.france)}"
             for r in fu.itertuples(index=False)]
    if c.followup_secret:
        notes.append(T.SECRET_NOTE)
    slide.notes_slide.notes_text_frame.text = (f"Année {int(latest['annee'].iloc[0])}. Source : "
                                               f"{c.indicator_source}.\n" + "\n".join(notes))


def _proposition(prs, c, maps):
    """The « Proposition » slide: the map of the change and the four key figures after, each with its value before
    and its change (a scenario against the current facilitators, fiche 3 § 3b)."""
    from views import proposition as P

    p = c.proposition
    slide = _frame(prs, c, _total(c), P.TITLE)
    _map(slide, maps, "proposition", "carte_proposition")
    step = (BOTTOM - TOP) / 4
    for i, (value, label, sub) in enumerate(P.key_figures(p)):  # three lines a figure: smaller than the screens'
        tb, tf = _box(slide, COLUMN_X, TOP + Inches(0.05) + i * step, COLUMN_W, step - Inches(0.05), "chiffre")
        _run(tf.paragraphs[0], value, FIGURE_PT - 10, True, BLUE)
        _run(tf.add_paragraph(), label, LABEL_PT - 4, False, INK)
        _run(tf.add_paragraph(), sub, LABEL_PT - 6, False, GREY)
    slide.notes_slide.notes_text_frame.text = (P.states_sentence(p) + ".\n" + P.summary_sentence(p))


def write(path: Path, content, maps: dict) -> Path:
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    prs.core_properties.title = f"{T.TITLE} – {content.region_name}"
    prs.core_properties.subject = content.workspace
    prs.core_properties.language = "fr-FR"
    _glance(prs, content, maps)
    _means(prs, content)
    _gaps(prs, content, maps)
    _employment(prs, content, maps)
    _markets(prs, content)
    _needs(prs, content)
    _indicators(prs, content)
    if getattr(content, "proposition", None) is not None:
        _proposition(prs, content, maps)
    prs.save(str(path))
    return Path(path)
