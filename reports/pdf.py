"""The PDF report (ReportLab): cover, key figures, maps, tables, indicators, bilan, definitions.

A4 portrait, DejaVu Sans (shipped with matplotlib: no font from the internet, no system font
needed). Long tables repeat their header on every page and wrap their cells: nothing is clipped.
Lists too long to read in the body (zones blanches, markets) are cut to their first rows there,
and given in full in an annex.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    Image,
    KeepInFrame,
    KeepTogether,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import Paragraph as _Paragraph

from data.indicators import SECRET_THRESHOLD
from data.schemas import INDICATOR_TABLES
from geo.inclusion import ALL_TYPES, families_sentence
from views import fmt
from views import text as T
from views.columns import place_type_label
from views.text import agree

BLUE = colors.HexColor("#000091")
GREY = colors.HexColor("#5A5A5A")
LIGHT = colors.HexColor("#F3F5FA")
RULE = colors.HexColor("#C8CCD8")
RED = colors.HexColor("#B2182B")
MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN
BODY_ROWS = 30  # rows of a long list shown in the body; the rest goes to an annex
MIN_ROWS_AT_BREAK = 3  # rows of a table on either side of a page break

FONT = "DejaVu"


def Paragraph(text: str, style) -> _Paragraph:  # noqa: N802 (ReportLab's name, with French spaces held)
    """ReportLab's paragraph, its narrow no-break spaces (``12 345``, ``16 %``) made unbreakable:
    ReportLab breaks lines at U+202F but not at U+00A0."""
    return _Paragraph(text.replace("\u202f", "\u00a0"), style)


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (FONT + "-Bold", "DejaVuSans-Bold.ttf"),
                       (FONT + "-Oblique", "DejaVuSans-Oblique.ttf"),
                       (FONT + "-BoldOblique", "DejaVuSans-BoldOblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(base / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT + "-Bold", italic=FONT + "-Oblique",
                                  boldItalic=FONT + "-BoldOblique")


def _styles() -> dict[str, ParagraphStyle]:
    s = {}
    s["body"] = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, spaceAfter=5)
    s["small"] = ParagraphStyle("small", parent=s["body"], fontSize=8, leading=10.5, textColor=GREY, spaceAfter=4)
    s["caption"] = ParagraphStyle("caption", parent=s["small"], fontName=FONT + "-Oblique")
    s["note"] = ParagraphStyle("note", parent=s["body"], textColor=RED)
    s["H1"] = ParagraphStyle("H1", fontName=FONT + "-Bold", fontSize=17, leading=21, textColor=BLUE, spaceAfter=9)
    s["H2"] = ParagraphStyle("H2", fontName=FONT + "-Bold", fontSize=12, leading=15, textColor=BLUE, spaceBefore=9,
                             spaceAfter=5)
    s["cell"] = ParagraphStyle("cell", fontName=FONT, fontSize=7.6, leading=9.2)
    s["cell_r"] = ParagraphStyle("cell_r", parent=s["cell"], alignment=TA_RIGHT)
    s["head"] = ParagraphStyle("head", parent=s["cell"], fontName=FONT + "-Bold", textColor=colors.white)
    s["head_r"] = ParagraphStyle("head_r", parent=s["head"], alignment=TA_RIGHT)
    s["figure"] = ParagraphStyle("figure", fontName=FONT + "-Bold", fontSize=18, leading=22, textColor=BLUE)
    s["figure_label"] = ParagraphStyle("figure_label", fontName=FONT, fontSize=8.5, leading=10.5)
    s["cover_title"] = ParagraphStyle("cover_title", fontName=FONT + "-Bold", fontSize=24, leading=30,
                                      textColor=BLUE, spaceAfter=14)
    s["cover_region"] = ParagraphStyle("cover_region", fontName=FONT + "-Bold", fontSize=20, leading=26,
                                       spaceAfter=18)
    s["cover"] = ParagraphStyle("cover", parent=s["body"], fontSize=11, leading=16, spaceAfter=7, alignment=TA_LEFT)
    return s


# ------------------------------------------------------------------------------------------------
# values and tables


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (v is pd.NA) or (v is pd.NaT)


def cell_text(value, kind: str) -> str:
    """A value as the report writes it (French formats)."""
    if kind == "text":
        return "" if _missing(value) or str(value) == "nan" else str(value)
    if _missing(value):
        return "–"
    if kind == "int":
        return fmt.integer(value)
    if kind == "dec1":
        return fmt.decimal(value, 1)
    if kind == "dec2":
        return fmt.decimal(value, 2)
    if kind == "pct":
        return fmt.percent(value)
    if kind == "pct1":
        return fmt.percent(value, 1)
    if kind == "euros":
        return fmt.integer(value) + "\u202f€"
    if kind == "bool":
        return "oui" if bool(value) else "non"
    if kind == "year":
        return str(int(value))
    if kind == "raw":  # already written the French way, aligned as a number
        return str(value)
    if kind == "points":
        return ("+" if value > 0 else "") + fmt.decimal(100 * value, 1) + "\u202fpt"
    return str(value)


NUMERIC = {"int", "dec1", "dec2", "pct", "pct1", "euros", "year", "points", "raw"}


MAX_CELL = 500  # characters of a cell; a row never outgrows a page (the workbook keeps the whole text)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[:MAX_CELL].rstrip() + " … (suite dans le classeur XLSX)"


PADDING = 6.5  # left + right padding of a cell, and a little air
BREAKS = re.compile(r"[ \t\n]+")


def _words(text: str) -> list[str]:
    """The words a line may break between (no-break spaces hold ``12 345`` together)."""
    return [w for w in BREAKS.split(text) if w]


def _widths(columns, texts, size: float, bold_last: bool = False) -> list[float]:
    """Column widths as a browser lays out an automatic table: never narrower than the longest word
    (of the bold header or of a cell) or the widest number, so that no word is cut and no number
    overflows; the room left goes first to the cells that would wrap, then to the headers."""
    def width(t: str, bold: bool = False) -> float:
        return pdfmetrics.stringWidth(t, FONT + "-Bold" if bold else FONT, size)

    mins, body, head = [], [], []
    for (_, header, kind, _), col in zip(columns, texts):
        head_words = max(pdfmetrics.stringWidth(w, FONT + "-Bold", 7.6) for w in _words(header))
        head_line = min(pdfmetrics.stringWidth(header, FONT + "-Bold", 7.6), 0.3 * WIDTH)
        sample = col if len(col) <= 400 else col[:399] + col[-1:]
        last = len(sample) - 1 if bold_last else -1
        if kind in NUMERIC:
            words = line = max([width(t, i == last) for i, t in enumerate(sample)] or [0])
        else:
            words = min(max([width(w, i == last) for i, t in enumerate(sample) for w in _words(t)] or [0]),
                        0.4 * WIDTH)
            line = min(max([width(t, i == last) for i, t in enumerate(sample)] or [0]), 0.45 * WIDTH)
        mins.append(max(head_words, words) + PADDING)
        body.append(max(mins[-1], line + PADDING))
        head.append(max(body[-1], head_line + PADDING))

    def grow(low: list[float], high: list[float]) -> list[float]:
        room, lack = WIDTH - sum(low), [h - lo for lo, h in zip(low, high)]
        return [lo + room * lk / sum(lack) for lo, lk in zip(low, lack)] if sum(lack) else low

    if sum(head) <= WIDTH:  # everything on one line: the spare room to the text columns
        text = [h if c[2] not in NUMERIC else 0.0 for h, c in zip(head, columns)]
        share = text if sum(text) else head
        return [h + (WIDTH - sum(head)) * x / sum(share) for h, x in zip(head, share)]
    if sum(body) <= WIDTH:  # every cell on one line, the headers wrap as little as the room allows
        return grow(body, head)
    if sum(mins) >= WIDTH:  # more than the page can hold: every column shrinks alike
        return [m * WIDTH / sum(mins) for m in mins]
    return grow(mins, body)


def table(df: pd.DataFrame, columns: list[tuple[str, str, str, float]], st: dict, total: dict | None = None,
          font_size: float | None = None):
    """A table that breaks across pages with its header repeated; every cell wraps.

    ``columns``: (column, header, kind, relative width). ``total``: an optional last row
    (column -> value) set in bold.
    """
    cell, cell_r = st["cell"], st["cell_r"]
    size = font_size or cell.fontSize
    if font_size:
        cell = ParagraphStyle("c", parent=cell, fontSize=font_size, leading=font_size * 1.22)
        cell_r = ParagraphStyle("cr", parent=cell_r, fontSize=font_size, leading=font_size * 1.22)
    values = [df[c].tolist() if c in df.columns else [None] * len(df) for c, _, _, _ in columns]
    texts = [[_cut(cell_text(v, kind)) for v in col] for (_, _, kind, _), col in zip(columns, values)]
    if total:
        for j, (c, _, kind, _) in enumerate(columns):
            texts[j].append(cell_text(total.get(c), kind) if c in total else "")
    widths = _widths(columns, texts, size, bold_last=bool(total))
    head = [Paragraph(_e(h), st["head_r"] if k in NUMERIC else st["head"]) for _, h, k, _ in columns]
    rows = [head]
    styles = [cell_r if kind in NUMERIC else cell for _, _, kind, _ in columns]
    room = [w - PADDING for w in widths]

    def value(j: int, t: str):
        # a text that fits its column is drawn as it is (fast); a longer one is a paragraph that wraps
        if pdfmetrics.stringWidth(t, FONT, size) <= room[j]:
            return t
        return Paragraph(_e(t), styles[j])

    for i in range(len(df)):
        rows.append([value(j, texts[j][i]) for j in range(len(columns))])
    if total:
        rows.append([Paragraph("<b>" + _e(texts[j][-1]) + "</b>", styles[j]) for j in range(len(columns))])
    cls = LongTable if len(rows) > 60 else Table
    # a page never holds one or two rows of a table alone: a short table is kept whole, a longer one breaks
    # with at least three rows on each side
    n = len(rows)
    split = (n, n) if n - 1 < 2 * MIN_ROWS_AT_BREAK else (1 + MIN_ROWS_AT_BREAK, n - MIN_ROWS_AT_BREAK)
    t = cls(rows, colWidths=widths, repeatRows=1, hAlign="LEFT", rowSplitRange=split)
    style = [("BACKGROUND", (0, 0), (-1, 0), BLUE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("FONT", (0, 1), (-1, -1), FONT, size, size * 1.22),
             ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, LIGHT]),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE), ("TOPPADDING", (0, 0), (-1, -1), 2.2),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    style += [("ALIGN", (j, 1), (j, -1), "RIGHT") for j, c in enumerate(columns) if c[2] in NUMERIC]
    if total:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, BLUE))
    t.setStyle(TableStyle(style))
    return t


def _image(png: bytes, size: tuple[int, int], max_w: float = WIDTH, max_h: float = 120 * mm) -> Image:
    w, h = size
    scale = min(max_w / w, max_h / h)
    return Image(io.BytesIO(png), width=w * scale, height=h * scale, hAlign="CENTER")


def _png_size(png: bytes) -> tuple[int, int]:
    from reports.maps import png_size

    return png_size(png)


def _wrap_at(text: str, width: float, size: float) -> list[str]:
    """``text`` in lines of at most ``width`` points, broken between its parts (`` · ``) where it can,
    between words otherwise; no word is cut."""
    from reportlab.lib.utils import simpleSplit

    lines: list[str] = []
    for part in text.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and pdfmetrics.stringWidth(joined, FONT, size) <= width:
            lines[-1] = joined
        elif pdfmetrics.stringWidth(part, FONT, size) <= width:
            lines.append(part)
        else:
            lines += simpleSplit(part, FONT, size, width)
    return lines


def footer_lines(text: str, width: float) -> tuple[float, list[str], float]:
    """The page foot (edition date and every vintage) whole: (type size, lines, leading) — one line when it
    fits at 7.5 pt, else wrapped on two, else on three at 6.5 pt, else on as many as it takes (no word cut)."""
    for size, most in ((7.5, 2), (6.5, 3)):
        lines = _wrap_at(text, width, size)
        if len(lines) <= most:
            return size, lines, size * 1.2
    return 6.5, lines, 6.5 * 1.2


def _place(kind, codes) -> str:
    codes = ", ".join(x for x in str(codes).replace("|", ";").split(";") if x.strip())
    return f"{place_type_label(kind).lower()} {codes}".strip()


def _e(value) -> str:
    """User or app text made inert for ReportLab's markup."""
    return escape(str(value))


# ------------------------------------------------------------------------------------------------
# the document


class _Doc(BaseDocTemplate):
    def __init__(self, target, content, **kw):
        super().__init__(target, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 4 * mm,
                         bottomMargin=MARGIN + 2 * mm, **kw)
        self.content = content
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body", leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate("cover", [frame], onPage=self._cover_page),
                               PageTemplate("body", [frame], onPage=self._page)])
        self._bookmarks = 0

    def _cover_page(self, canv, doc):
        canv.saveState()
        canv.setFillColor(BLUE)
        canv.rect(0, A4[1] - 12 * mm, A4[0], 12 * mm, stroke=0, fill=1)
        canv.restoreState()

    def _page(self, canv, doc):
        c = self.content
        canv.saveState()
        canv.setFont(FONT, 7.5)
        canv.setFillColor(GREY)
        left = f"{T.TITLE} – {c.region_name}"
        canv.drawString(MARGIN, A4[1] - MARGIN + 2 * mm, left)
        room = WIDTH - pdfmetrics.stringWidth(left, FONT, 7.5) - 8 * mm
        if pdfmetrics.stringWidth(c.workspace, FONT, 7.5) <= room:
            canv.drawRightString(A4[0] - MARGIN, A4[1] - MARGIN + 2 * mm, c.workspace)
        else:  # a long name, whole, on the lines above the title (never cut)
            size, lines, leading = footer_lines(c.workspace, WIDTH)
            y = A4[1] - MARGIN + 2 * mm + 3.4 * mm
            canv.setFont(FONT, size)
            for line in reversed(lines):
                canv.drawRightString(A4[0] - MARGIN, y, line)
                y += leading
            canv.setFont(FONT, 7.5)
        canv.setStrokeColor(RULE)
        canv.line(MARGIN, A4[1] - MARGIN + 0.5 * mm, A4[0] - MARGIN, A4[1] - MARGIN + 0.5 * mm)
        number = f"page {canv.getPageNumber()}"
        size, lines, leading = footer_lines(f"Édité le {c.generated}" + (f" – millésimes : {c.vintages}" if c.vintages
                                                                             else ""),
                                            WIDTH - pdfmetrics.stringWidth(number, FONT, 7.5) - 8 * mm)
        # every vintage, whole: the foot wraps between vintages, its first line where a one-line foot sits, the
        # second under it (three lines or more, in smaller type, start one line higher, still under the body)
        y = MARGIN - 4 * mm + (leading if len(lines) > 2 else 0)
        canv.setFont(FONT, 7.5)
        canv.drawRightString(A4[0] - MARGIN, y, number)
        canv.setFont(FONT, size)
        for line in lines:
            canv.drawString(MARGIN, y, line)
            y -= leading
        canv.restoreState()

    def afterFlowable(self, flowable):
        if isinstance(flowable, _Paragraph) and flowable.style.name in ("H1", "H2"):
            self._bookmarks += 1
            key = f"b{self._bookmarks}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0 if flowable.style.name == "H1" else 1)


def _key_figures(c, st) -> Table:
    s = c.summary
    m = c.market_summary
    def n(value, singular: str, plural: str) -> str:
        return f"{fmt.integer(value)} {agree(value, singular, plural)}"

    items = [
        (fmt.integer(s["population"]["non_couverte"]) + " hab.", "Population non couverte",
         f"{fmt.percent(s['population']['part_non_couverte'])} de la population de la région"),
        (fmt.integer(s["communes"]["non_couvertes"]), agree(s["communes"]["non_couvertes"], "Zone blanche (commune "
         "non couverte)", "Zones blanches (communes non couvertes)"), "sur " + n(s['communes']['total'], "commune",
                                                                                 "communes")),
        (fmt.integer(s["communes"]["multi_couvertes"]), agree(s["communes"]["multi_couvertes"], "Commune couverte par "
         "plusieurs structures", "Communes couvertes par plusieurs structures"), ""),
        (fmt.integer(s["qpv"]["non_couverts"]), agree(s["qpv"]["non_couverts"], "QPV non couvert", "QPV non couverts"),
         f"{n(s['qpv']['partiels'], 'partiellement couvert', 'partiellement couverts')}, sur "
         f"{fmt.integer(s['qpv']['total'])} QPV" if c.has["qpv"] else c.missing["qpv"]),
        (fmt.integer(s["qpv"]["population_non_couverte"]) + " hab.", "Population des QPV non couverts", ""),
        (fmt.integer(s["population"]["totale"]) + " hab.", "Population de la région",
         f"{n(s['communes']['total'], 'commune', 'communes')}, {n(len(c.zones_emploi), 'zone', 'zones')} d'emploi"),
        (fmt.integer(s["structures"]["total"]), agree(s["structures"]["total"], "Structure porteuse",
                                                      "Structures porteuses"),
         n(s['structures']['personnes'], "facilitateur (personne)", "facilitateurs (personnes)")),
        (fmt.decimal(s["structures"]["etp"]), "ETP de facilitateurs", ""),
        (fmt.decimal(s["structures"]["etp_pour_100k_hab"], 2), "ETP pour 100 000 habitants", ""),
    ]
    if c.has["marches"]:
        items += [(fmt.integer(m["avec_consideration_sociale"]), agree(m["avec_consideration_sociale"],
                   "Marché avec considération sociale", "Marchés avec considération sociale"),
                   f"sur {n(m['total'], 'marché lu', 'marchés lus')}"),
                  (fmt.integer(c.markets_not_single), agree(c.markets_not_single, "Marché qu'aucune structure ne "
                   "couvre seule", "Marchés qu'aucune structure ne couvre seule"),
                   f"dont {n(m['regional'], 'marché régional', 'marchés régionaux')} au total"),
                  (fmt.integer(m["hors_couverture"]), agree(m["hors_couverture"], "Marché hors couverture",
                                                            "Marchés hors couverture"), "")]
    cells = []
    for value, label, sub in items:
        block = [Paragraph(_e(value), st["figure"]), Paragraph(_e(label), st["figure_label"])]
        if sub:
            block.append(Paragraph(_e(sub), st["small"]))
        cells.append(block)
    while len(cells) % 3:
        cells.append("")
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    t = Table(rows, colWidths=[WIDTH / 3] * 3)
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                           ("INNERGRID", (0, 0), (-1, -1), 0.5, RULE), ("TOPPADDING", (0, 0), (-1, -1), 6),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 6), ("LEFTPADDING", (0, 0), (-1, -1), 7)]))
    return t


def _source_line(c) -> str:
    line = f"Données : {c.workspace}" + (f" ({c.vintages})." if c.vintages else ".")
    if c.referentiel_sources:
        line += " " + c.referentiel_sources + "."
    return _e(line)


def _cover(c, st) -> list:
    out = [Spacer(1, 22 * mm), Paragraph(_e(T.TITLE), st["cover_title"]),
           Paragraph(_e(f"{c.region_name} ({c.region})"), st["cover_region"])]
    if c.is_demo:
        out.append(Paragraph("<b>Données fictives de démonstration</b> : communes, structures et marchés sont "
                             "inventés.", st["note"]))
    out += [Paragraph(f"<b>Espace de travail</b> : {_e(c.workspace)}", st["cover"]),
            *([Paragraph(f"<b>Millésimes</b> : {_e(c.vintages)}", st["cover"])] if c.vintages else []),
            Paragraph(f"<b>Édité le</b> {_e(c.generated)}", st["cover"])]
    if c.referentiel_sources:
        out.append(Paragraph(_e(c.referentiel_sources if c.referentiel_sources.startswith("Sources")
                                else "Sources : " + c.referentiel_sources), st["cover"]))
    out.append(Spacer(1, 4 * mm))
    out.append(Paragraph("<b>Sources des données</b>", st["cover"]))
    for what, where in c.sources:
        out.append(Paragraph(f"{_e(what)} : {_e(where)}", st["body"]))
    for kind, sentence in c.missing.items():
        out.append(Paragraph(_e(sentence), st["body"]))
    out += [Spacer(1, 8 * mm), Paragraph(_e(T.INSTRUCTION) + " (« Stratégie de développement des clauses "
                                         "sociales »), § 3 et § 6.", st["small"]),
            Spacer(1, 6 * mm), Paragraph("<b>Sommaire</b>", st["cover"])]
    for i, name in enumerate(_sections(c), start=1):
        out.append(Paragraph(f"{i}. {_e(name)}", st["body"]))
    return out


def _sections(c) -> list[str]:
    return ["Chiffres clés", "Cartes", "Zones blanches et quartiers prioritaires", "Structures : moyens et charge",
            "Cohérence avec les zones d'emploi", "Chevauchements entre structures",
            "Marchés qu'aucune structure ne couvre seule", "Besoins et moyens",
            "Indicateurs ABC Clauses face à la France",
            "Bilan des facilitateurs (fiche 3, § 6c)"] + ([PROPOSITION] if getattr(c, "proposition", None) is not None
                                                          else []) + ["Définitions", "Annexes"]


def _h1(c, title: str, st) -> list:
    """A section's title, numbered as the cover's contents number it (:func:`_sections`)."""
    return [PageBreak(), Paragraph(f"{_sections(c).index(title) + 1}. {_e(title)}", st["H1"])]


SHORT_SECTION = 3  # flowables after its title: a section this short never opens a page of its own


def _no_lonely_sections(story: list) -> list:
    """A section of a sentence or two (« Aucun fichier d'indicateurs n'a été importé… ») follows the one before on
    its page, when it has room, instead of opening a page that holds nothing else."""
    out = list(story)
    starts = [i for i, f in enumerate(out) if isinstance(f, PageBreak) and i + 1 < len(out)
              and isinstance(out[i + 1], _Paragraph) and out[i + 1].style.name == "H1"]
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(out)
        body = out[i + 2:end]
        if i > 0 and len(body) <= SHORT_SECTION and all(isinstance(f, (_Paragraph, Spacer)) for f in body):
            out[i] = CondPageBreak(60 * mm)
    return out


def _missing_par(c, kind: str, st) -> _Paragraph:
    return Paragraph(_e(c.missing[kind]) + " Cette partie sera remplie après l'import du fichier sur la page "
                     "« Données ».", st["body"])


def _maps_section(c, maps, st) -> list:
    out = _h1(c, "Cartes", st)
    if not maps:

        return out + [Paragraph(_e(T.NO_OUTLINES), st["body"])]
    for key in ("couverture", "zones_blanches", "qpv", "zones_emploi"):
        m = maps.get(key)
        if m is None:
            continue
        out.append(KeepTogether([Paragraph(_e(m.title), st["H2"]), _image(m.png, m.size, max_h=MAP_HEIGHT[key]),
                                 Paragraph(_e(m.caption) + " " + _source_line(c), st["caption"])]))
    return out


# the coverage map, the report's main one, has its page (its legend names every structure), and so has the
# zones d'emploi's, which follows the page of the zones blanches and QPV maps, two to a page
FULL_PAGE_MAP = 205 * mm  # the body's frame (259 mm) less the section's title, the map's and its caption
MAP_HEIGHT = {"couverture": FULL_PAGE_MAP, "zones_blanches": 105 * mm, "qpv": 105 * mm,
              "zones_emploi": FULL_PAGE_MAP}


def _zones_blanches(c, st, annex: list) -> list:
    s = c.summary
    out = _h1(c, "Zones blanches et quartiers prioritaires", st)
    qpv = (f"{fmt.integer(s['qpv']['non_couverts'])} QPV sur {fmt.integer(s['qpv']['total'])} ne sont pas "
           f"couverts ({fmt.integer(s['qpv']['population_non_couverte'])} habitants) et "
           f"{fmt.integer(s['qpv']['partiels'])} le sont partiellement." if c.has["qpv"] else c.missing["qpv"])
    out.append(Paragraph(
        f"{fmt.integer(s['communes']['non_couvertes'])} "
        f"{agree(s['communes']['non_couvertes'], 'commune', 'communes')} de la région, soit "
        f"{fmt.integer(s['population']['non_couverte'])} habitants "
        f"({fmt.percent(s['population']['part_non_couverte'])} de la population), ne sont dans l'aire d'aucune "
        f"structure. " + _e(qpv), st["body"]))
    zb = c.zones_blanches
    if zb.empty:
        out.append(Paragraph("Aucune zone blanche : toutes les communes de la région sont couvertes.", st["body"]))
    else:
        by = c.zones_blanches_epci
        out.append(Paragraph("Zones blanches par EPCI", st["H2"]))
        shown = by.head(BODY_ROWS)
        out.append(table(shown, [("epci_nom", "EPCI", "text", 4), ("nb_zones_blanches", "Communes non couvertes",
                                                                    "int", 1.3),
                                 ("population", "Population non couverte", "int", 1.3)], st,
                         total={"epci_nom": "Total", "nb_zones_blanches": int(by["nb_zones_blanches"].sum()),
                                "population": int(by["population"].sum())}))
        if len(by) > BODY_ROWS:
            out.append(Paragraph(f"Les {len(by) - BODY_ROWS} autres EPCI figurent dans l'annexe A "
                                 "(liste complète des communes) et dans le classeur XLSX.", st["small"]))
        cols = [("code_insee", "Code", "text", 0.9), ("nom", "Commune", "text", 2.1),
                ("population", "Population", "int", 1.1), ("epci_nom", "EPCI", "text", 2.6),
                ("ze2020_lib", "Zone d'emploi", "text", 1.6), ("qpv", "QPV", "text", 2.0)]
        title = ("Zones blanches, par population" if len(zb) <= BODY_ROWS else
                 f"Les {BODY_ROWS} zones blanches les plus peuplées (sur {fmt.integer(len(zb))})")
        out += [Paragraph(_e(title), st["H2"]), table(zb.head(BODY_ROWS), cols, st)]
        if len(zb) > BODY_ROWS:
            out.append(Paragraph("Liste complète en annexe A.", st["small"]))
            annex += [Paragraph(f"A. Liste complète des zones blanches ({fmt.integer(len(zb))} communes)",
                                st["H2"]), table(zb, cols, st)]
    q = c.qpv[c.qpv["statut"] != "couvert"].sort_values(["statut", "population"], ascending=[False, False])
    out.append(Paragraph("Quartiers prioritaires non couverts ou partiellement couverts", st["H2"]))
    if c.qpv.empty:
        out.append(Paragraph(_e(c.missing.get("qpv", "Aucun QPV dans la région.")), st["body"]))
    elif q.empty:
        out.append(Paragraph("Tous les QPV de la région sont couverts.", st["body"]))
    else:
        q = q.assign(statut_lib=q["statut"].map(T.STATUS_LABELS), communes=q["communes"].str.replace(";", ", "),
                     structures_noms=[", ".join(c.structure_names.get(x, x) for x in str(v).split(";") if x)
                                      for v in q["structures"]])
        out.append(table(q, [("code_qp", "Code", "text", 1), ("nom_qp", "Quartier", "text", 2.4),
                             ("population", "Population", "int", 1), ("communes", "Communes", "text", 1.5),
                             ("statut_lib", "Statut", "text", 1.3),
                             ("structures_noms", "Structures présentes", "text", 2.4)], st))
    return out


def _structures(c, st) -> list:
    s = c.summary["structures"]
    out = _h1(c, "Structures : moyens et charge", st)
    if not c.has["facilitateurs"]:
        return out + [_missing_par(c, "facilitateurs", st)]
    out.append(Paragraph(
        f"{fmt.integer(s['total'])} structures porteuses, {fmt.integer(s['personnes'])} facilitateurs (personnes), "
        f"{fmt.decimal(s['etp'])} ETP, soit {fmt.decimal(s['etp_pour_100k_hab'], 2)} ETP pour 100 000 habitants "
        "de la région. La charge se lit en ETP pour 100 000 habitants couverts (fiche 3, § 3b : personnes et "
        "ETP, en prêtant attention aux quotités de travail).", st["body"]))
    st_df = c.structures.sort_values(["population_couverte", "id_structure"], ascending=[False, True])
    out.append(Paragraph("Moyens", st["H2"]))
    out.append(table(st_df, [("id_structure", "Id.", "text", 0.6), ("nom", "Structure", "text", 2.6),
                             ("type_structure", "Type", "text", 1.1), ("nb_facilitateurs", "Personnes", "int", 1),
                             ("etp", "ETP", "dec1", 0.8), ("quotite", "Quotité (ETP par personne)", "dec2", 1.1),
                             ("etp_pour_100k_hab", "ETP pour 100\u00a0000 hab. couverts", "dec2", 1.2)], st,
                     total={"nom": "Région", "nb_facilitateurs": s["personnes"], "etp": s["etp"],
                            "quotite": s["etp"] / s["personnes"] if s["personnes"] else None,
                            "etp_pour_100k_hab": s["etp_pour_100k_hab"]}))
    out.append(Paragraph("Territoire couvert et charge", st["H2"]))
    out.append(table(st_df, [("id_structure", "Id.", "text", 0.6), ("nom", "Structure", "text", 2.6),
                             ("nb_communes", "Communes (région)", "int", 1),
                             ("population_couverte", "Population couverte", "int", 1.2),
                             ("nb_qpv", "QPV", "int", 0.7), ("population_qpv", "Population des QPV", "int", 1.1),
                             ("etp_pour_10k_hab_qpv", "ETP pour 10\u00a0000 hab. de QPV", "dec2", 1.2)], st))
    alerts = c.structures[c.structures["alerte"].astype(str) != ""]
    if len(alerts):
        out.append(Paragraph("Points d'attention", st["H2"]))
        out.append(table(alerts, [("id_structure", "Id.", "text", 0.6), ("nom", "Structure", "text", 2.4),
                                  ("alerte", "Point d'attention", "text", 5)], st))
    if len(c.unresolved):
        out.append(Paragraph("Lignes de périmètre dont le code est inconnu du référentiel", st["H2"]))
        out.append(table(c.unresolved, [("ligne", "Ligne", "int", 0.7), ("id_structure", "Structure", "text", 1),
                                        ("type_territoire", "Type de territoire", "text", 1.4),
                                        ("code_territoire", "Code", "text", 1.4)], st))
    return out


def _zones_emploi(c, st) -> list:
    out = _h1(c, "Cohérence avec les zones d'emploi", st)
    ze = c.zones_emploi
    shared = int((ze["nb_structures"] >= 2).sum())
    low = int((pd.to_numeric(ze["part_couverte"], errors="coerce") < 0.5).sum())
    out.append(Paragraph(
        f"{fmt.integer(len(ze))} zones d'emploi touchent la région ; {fmt.integer(low)} sont couvertes à moins de "
        f"50 % de leur population et {fmt.integer(shared)} sont partagées entre plusieurs structures (fiche 3, "
        "§ 3b : cohérence entre l'aire d'implantation des facilitateurs et les bassins d'emploi).", st["body"]))
    out.append(table(ze, [("code", "Code", "text", 0.7), ("nom", "Zone d'emploi", "text", 1.7),
                          ("population", "Population (région)", "int", 1.1),
                          ("part_couverte", "Part couverte", "pct", 0.85),
                          ("nb_communes", "Communes", "int", 0.9),
                          ("communes_non_couvertes", "Non couvertes", "int", 0.9),
                          ("nb_structures", "Structures", "int", 0.85),
                          ("structures_noms", "Structures présentes", "text", 2.8),
                          ("chevauche_region", "Déborde de la région", "bool", 0.9)], st))
    if c.has["facilitateurs"] and len(c.structures):
        out.append(Paragraph("Zone d'emploi dominante de chaque structure", st["H2"]))
        out.append(table(c.structures, [("id_structure", "Id.", "text", 0.6), ("nom", "Structure", "text", 2.4),
                                        ("ze_dominante_nom", "Zone d'emploi dominante", "text", 2.1),
                                        ("part_ze_dominante", "Part de sa population dans cette zone", "pct", 1.3),
                                        ("nb_ze", "Zones d'emploi touchées", "int", 1.1)], st))
    return out


def _overlaps(c, st) -> list:
    out = _h1(c, "Chevauchements entre structures", st)
    ov = c.overlaps
    if ov.empty:
        return out + [Paragraph("Aucune commune de la région n'est couverte par deux structures.", st["body"])]
    out.append(Paragraph(f"{fmt.integer(len(ov))} {agree(len(ov), 'paire de structures partage', 'paires de structures partagent')} des communes de la région "
                         f"({fmt.integer(c.summary['communes']['multi_couvertes'])} communes couvertes par "
                         "plusieurs structures).", st["body"]))
    ov = ov.assign(a=[f"{i} – {n}" for i, n in zip(ov["id_a"], ov["nom_a"])],
                   b=[f"{i} – {n}" for i, n in zip(ov["id_b"], ov["nom_b"])])
    out.append(table(ov, [("a", "Structure A", "text", 3), ("b", "Structure B", "text", 3),
                          ("communes_partagees", "Communes partagées", "int", 1.1),
                          ("population_partagee", "Population partagée", "int", 1.2),
                          ("qpv_partages", "QPV partagés", "int", 0.9)], st))
    return out


def _markets(c, st, annex: list) -> list:
    out = _h1(c, "Marchés qu'aucune structure ne couvre seule", st)
    if not c.has["marches"]:
        return out + [_missing_par(c, "marches", st)]
    m = c.market_summary
    out.append(Paragraph(
        f"{fmt.integer(m['total'])} marchés lus, dont {fmt.integer(m['avec_consideration_sociale'])} avec une "
        f"considération sociale. {fmt.integer(c.markets_not_single)} d'entre eux ne sont couverts par aucune "
        "structure seule : l'acheteur n'a pas d'interlocuteur unique (fiche 3, § 3a et § 3b). Marchés régionaux : "
        f"{fmt.integer(m['regional'])}.", st["body"]))
    out.append(table(c.market_classes, [("couverture_lib", "Couverture", "text", 2),
                                        ("marches", "Marchés", "int", 1), ("part_marches", "Part", "pct", 0.8),
                                        ("regional", "dont régionaux", "int", 1),
                                        ("montant", "Montant HT", "euros", 1.5),
                                        ("heures_insertion", "Heures d'insertion", "int", 1.3)], st))
    gaps = c.market_gaps
    if gaps.empty:
        return out + [Paragraph("Chaque marché avec considération sociale est couvert par une structure.",
                                st["body"])]
    if len(c.market_buyers):
        out.append(Paragraph("Acheteurs concernés", st["H2"]))
        out.append(table(c.market_buyers.head(15), [("acheteur", "Acheteur", "text", 3),
                                                    ("type_acheteur", "Type d'acheteur", "text", 2.4),
                                                    ("marches", "Marchés", "int", 0.8),
                                                    ("montant_ht", "Montant HT", "euros", 1.4),
                                                    ("heures_insertion", "Heures d'insertion", "int", 1.1)], st))
    g = gaps.assign(lieu=[_place(t, code) for t, code in zip(gaps["lieu_type"], gaps["lieu_code"])])
    cols = [("id_marche", "Identifiant", "text", 1.1), ("objet", "Objet", "text", 2.4),
            ("acheteur", "Acheteur", "text", 1.9), ("montant_ht", "Montant HT", "euros", 1.2),
            ("lieu", "Lieu d'exécution", "text", 1.5), ("couverture_lib", "Couverture", "text", 1.3),
            ("regional", "Régional", "bool", 0.8), ("raison", "Raison", "text", 2.2)]
    title = ("Liste des marchés, par montant" if len(g) <= BODY_ROWS
             else f"Les {BODY_ROWS} marchés les plus importants (sur {fmt.integer(len(g))})")
    out += [Paragraph(_e(title), st["H2"]), table(g.head(BODY_ROWS), cols, st, font_size=7)]
    if len(g) > BODY_ROWS:
        out.append(Paragraph("Liste complète en annexe B.", st["small"]))
        annex += [Paragraph(f"B. Marchés qu'aucune structure ne couvre seule ({fmt.integer(len(g))})", st["H2"]),
                  table(g, cols, st, font_size=7)]
    return out


def _needs(c, st, annex: list) -> list:
    """Fiche 3, § 2, § 3a–b, § 4, § 5: needs against means, per structure and per zone d'emploi; the
    inclusion structures and the zones blanches; the markets without any in their area; the buyers."""
    out = _h1(c, "Besoins et moyens", st)
    for kind in ("facilitateurs", "marches"):
        if not c.has[kind]:
            return out + [_missing_par(c, kind, st)]
    n = c.needs
    out.append(Paragraph(_e(
        f"Dans l'aire de chaque structure : les marchés à clause sociale dont le lieu la touche, leurs acheteurs, "
        f"les structures de l'inclusion situées dans la région, rapportés aux ETP ; médiane régionale : "
        f"{fmt.decimal(n.median, 1)} marchés sociaux par ETP. {T.NEEDS_SUM_NOTE}"), st["body"]))
    for note in n.notes:
        out.append(Paragraph(_e(note), st["note"]))
    rows = n.structures.sort_values(["marches_sociaux_par_etp", "id_structure"], ascending=[False, True],
                                    na_position="last")
    out.append(Paragraph("Par structure", st["H2"]))
    out.append(table(rows, [("nom", "Structure", "text", 2.4), ("etp", "ETP", "dec1", 0.6),
                            ("marches_sociaux", "Marchés sociaux", "int", 0.9),
                            ("montant_social", "Montant HT", "euros", 1.3),
                            ("heures_sociales", "Heures d'insertion", "int", 1),
                            ("acheteurs", "Acheteurs", "int", 0.8),
                            ("structures_inclusion", "Structures de l'inclusion", "int", 1),
                            ("marches_sociaux_par_etp", "Marchés sociaux par ETP", "dec1", 0.9),
                            ("population_par_etp", "Habitants par ETP", "int", 1)], st, font_size=7.5))
    flagged = rows[rows["alerte"] != ""]
    if len(flagged):
        out.append(table(flagged, [("nom", "Structure", "text", 2.4), ("alerte", "Alerte de charge", "text", 5)], st))
    out.append(Paragraph("Par zone d'emploi", st["H2"]))
    out.append(table(n.zones_emploi, [("code", "Code", "text", 0.6), ("nom", "Zone d'emploi", "text", 2),
                                      ("etp_present", "ETP présents", "dec2", 0.9),
                                      ("marches_sociaux", "Marchés sociaux", "int", 0.9),
                                      ("marches_sociaux_par_etp", "Marchés sociaux par ETP", "dec1", 1),
                                      ("structures_inclusion", "Structures de l'inclusion", "int", 1)], st))
    out.append(Paragraph("Structures de l'inclusion (fiche 3, § 4 et § 5)", st["H2"]))
    if n.inclusion is None:
        out.append(_missing_par(c, "structures_inclusion", st))
    else:
        inc = n.inclusion
        out.append(Paragraph(_e(
            f"{fmt.integer(inc['total'])} structures de l'inclusion dans la région, dont "
            f"{fmt.integer(inc['non_localisees'])} non localisées. "
            + families_sentence(inc["dans_zones_blanches"], "dans des communes qu'aucun facilitateur ne couvre")
            + "."), st["body"]))
        by_type = n.inclusion_by_structure
        cols = [("nom", "Structure", "text", 2.2)] + [(t, t, "int", 0.55) for t in ALL_TYPES
                                                       if by_type[t].sum() or inc["par_type"][t]]
        out.append(table(by_type, cols + [("total", "Total", "int", 0.6)], st, font_size=7.5))
        without = c.markets_without_inclusion
        out.append(Paragraph(_e(f"{fmt.integer(len(without))} marchés à clause sociale sans aucune structure de "
                                "l'inclusion dans leur lieu d'exécution (potentiel inclusif nul)."), st["body"]))
        if len(without):
            g = without.assign(lieu=[_place(t, code) for t, code in zip(without["lieu_type"], without["lieu_code"])])
            cols_m = [("id_marche", "Identifiant", "text", 1.1), ("objet", "Objet", "text", 2.6),
                      ("acheteur", "Acheteur", "text", 2), ("montant_ht", "Montant HT", "euros", 1.2),
                      ("lieu", "Lieu d'exécution", "text", 1.6)]
            out.append(table(g.head(BODY_ROWS), cols_m, st, font_size=7))
            if len(g) > BODY_ROWS:
                out.append(Paragraph("Liste complète en annexe C.", st["small"]))
                annex += [Paragraph(f"C. Marchés sociaux sans structure de l'inclusion dans leur lieu "
                                    f"({fmt.integer(len(g))})", st["H2"]), table(g, cols_m, st, font_size=7)]
        if len(n.unlocated):
            out.append(Paragraph(_e(f"Structures de l'inclusion non localisées ({fmt.integer(len(n.unlocated))})"),
                                 st["H2"]))
            out.append(table(n.unlocated, [("nom", "Structure", "text", 2.4), ("type", "Type", "text", 0.8),
                                           ("siret", "SIRET", "text", 1.3), ("raison", "Raison", "text", 3)], st,
                             font_size=7.5))
    out.append(Paragraph("Acheteurs (fiche 3, § 2)", st["H2"]))
    b = c.buyers
    flagged_b = int(b["spaser"].sum()) if len(b) else 0
    out.append(Paragraph(_e(
        f"{fmt.integer(len(b))} acheteurs ; {fmt.integer(flagged_b)} au-dessus du seuil SPASER "
        f"({fmt.euros(c.buyers_threshold)} HT par an) pour au moins une année. {T.BUYERS_ESTIMATE}"), st["body"]))
    if len(b):
        shown = b.assign(nom_lib=[x if x else "(sans nom)" for x in b["nom"]])
        out.append(table(shown.head(25), [("nom_lib", "Acheteur", "text", 2.4), ("siret", "SIRET", "text", 1.3),
                                          ("marches", "Marchés", "int", 0.8),
                                          ("marches_sociaux", "Marchés sociaux", "int", 0.8),
                                          ("montant_ht", "Montant HT", "euros", 1.3),
                                          ("part_sociale", "Part sociale", "pct", 0.8),
                                          ("montant_annuel_max", "Montant annuel maximal", "euros", 1.3),
                                          ("spaser", "Seuil SPASER", "bool", 0.7)], st, font_size=7.5))
        if len(b) > 25:
            out.append(Paragraph(_e(f"Les 25 premiers acheteurs sur {fmt.integer(len(b))} ; liste complète dans la "
                                    "feuille « Acheteurs » du classeur XLSX."), st["small"]))
    return out


def _indicators(c, st, figs) -> list:
    out = _h1(c, "Indicateurs ABC Clauses face à la France", st)
    if not c.has["indicateurs"]:
        return out + [_missing_par(c, "indicateurs", st)]
    out.append(Paragraph(f"Tableaux ABC Clauses de l'annexe de l'instruction ({_e(c.indicator_source)}), région "
                         "face à la France. " + _e(T.SECRET_NOTE), st["body"]))
    if c.indicators_absent:
        out.append(Paragraph("Tableaux absents du fichier pour cette région : " + _e(", ".join(
            f"{t} ({INDICATOR_TABLES[t]})" for t in c.indicators_absent)) + ".", st["small"]))
    fu = c.followup
    if len(fu):
        out.append(Paragraph("Suivi de l'impact sur les bénéficiaires (fiche 3, § 6b)", st["H2"]))
        out.append(table(fu, [("indicateur", "Indicateur", "text", 4), ("annee", "Année", "year", 0.8),
                              ("region", "Région", "pct", 0.9), ("france", "France", "pct", 0.9),
                              ("ecart", "Écart", "points", 0.9)], st))
        if c.followup_secret:
            out.append(Paragraph(_e(T.secret_shares(c.followup_secret)), st["small"]))
    for s, png in zip(c.indicators, figs.get("indicators", [])):
        latest = int(s.data["annee"].max())
        block = [Paragraph(_e(s.title), st["H2"]),
                 Paragraph(_e(f"{s.unit.capitalize()} – {c.indicator_source}, {latest}"), st["small"]),
                 _image(png, _png_size(png), max_h=95 * mm)]
        if s.n_secret:
            block.append(Paragraph(_e(T.secret_cells(s.n_secret)), st["caption"]))
        out.append(KeepTogether(block))
    return out


def _todo(label: str, st) -> Table:
    t = Table([[Paragraph(f"<b>{_e(label)}</b> (à compléter par les services)", st["small"])], [""]],
              colWidths=[WIDTH], rowHeights=[None, 16 * mm])
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, RULE), ("BACKGROUND", (0, 0), (-1, 0), LIGHT)]))
    return t


def _bilan(c, st, figs) -> list:
    s = c.summary
    out = _h1(c, "Bilan des facilitateurs (fiche 3, § 6c)", st)
    out.append(Paragraph(
        "La fiche 3, § 6c, demande d'indiquer les évolutions intervenues concernant les facilitateurs de la clause "
        "sociale : l'évolution des aires d'intervention, la création de coordinations régionale ou "
        "départementales, la création ou la suppression de postes et les financements mobilisés. Cette page donne "
        f"la situation de l'espace de travail « {_e(c.workspace)} »"
        + (f" (facilitateurs : millésime {_e(c.facilitators_vintage)})" if c.facilitators_vintage else "")
        + " ; les encadrés sont à compléter pour le bilan transmis à la DGEFP.",
        st["body"]))
    if not c.has["facilitateurs"]:
        return out + [_missing_par(c, "facilitateurs", st)]
    out += _evolution(c, st)
    cov_share = 1 - (s["population"]["part_non_couverte"] or 0)
    com_share = s["communes"]["couvertes"] / s["communes"]["total"] if s["communes"]["total"] else None
    out.append(Paragraph("1. Aires d'intervention", st["H2"]))
    out.append(Paragraph(
        f"{fmt.integer(s['structures']['total'])} aires d'intervention couvrent "
        f"{fmt.integer(s['communes']['couvertes'])} communes sur {fmt.integer(s['communes']['total'])} "
        f"({fmt.percent(com_share)}) et {fmt.percent(cov_share)} de la population ; "
        f"{fmt.integer(s['communes']['non_couvertes'])} zones blanches ({fmt.integer(s['population']['non_couverte'])}"
        f" habitants) ; {fmt.integer(s['communes']['multi_couvertes'])} communes couvertes par plusieurs "
        f"structures ; {fmt.integer(s['qpv']['couverts'])} QPV couverts sur {fmt.integer(s['qpv']['total'])}.",
        st["body"]))
    out.append(_todo("Évolution des aires d'intervention depuis le dernier bilan", st))
    out.append(Paragraph("2. Coordinations régionale et départementales", st["H2"]))
    if len(c.coordination):
        out.append(Paragraph("Structures dont le périmètre déclaré est un département ou la région :", st["body"]))
        out.append(table(c.coordination, [("id_structure", "Id.", "text", 0.7), ("nom", "Structure", "text", 3),
                                          ("perimetre", "Périmètre déclaré", "text", 3)], st))
    else:
        out.append(Paragraph("Aucune structure n'a un département ou la région pour périmètre déclaré.", st["body"]))
    out.append(_todo("Coordinations créées (régionale, départementales) et leur rôle", st))
    out.append(Paragraph("3. Postes de facilitateurs", st["H2"]))
    bt = c.by_type
    out.append(table(bt, [("type_structure", "Type de structure", "text", 2.4),
                          ("nb_structures_type", "Structures", "int", 1), ("nb_facilitateurs", "Personnes", "int", 1),
                          ("etp", "ETP", "dec1", 1), ("quotite", "Quotité moyenne (ETP par personne)", "dec2", 1.4)],
                     st, total={"type_structure": "Total", "nb_structures_type": int(bt["nb_structures_type"].sum()),
                                "nb_facilitateurs": s["structures"]["personnes"], "etp": s["structures"]["etp"],
                                "quotite": (s["structures"]["etp"] / s["structures"]["personnes"]
                                            if s["structures"]["personnes"] else None)}))
    out.append(Paragraph(f"{fmt.decimal(s['structures']['etp_pour_100k_hab'], 2)} ETP pour 100 000 habitants de la "
                         "région.", st["body"]))
    out.append(_todo("Postes créés ou supprimés depuis le dernier bilan", st))
    out.append(Paragraph("4. Financements mobilisés", st["H2"]))
    fin = c.funding
    if len(fin) and fin["etp_finances"].sum() > 0:
        out.append(table(fin, [("source", "Source", "text", 2.4), ("etp_finances", "ETP financés", "dec1", 1),
                               ("part", "Part des ETP", "pct", 1),
                               ("reference_2016", "Référence nationale 2016", "pct", 1.3)], st))
        out.append(Paragraph("Référence nationale : enquête Alliance Villes Emploi 2016 citée par la fiche 3, § 3c "
                             "(collectivités 43 %, FSE 29 %, État 21 %, privé 4 %, autres 3 %).", st["small"]))
        if figs.get("funding"):
            png = figs["funding"]
            out.append(_image(png, _png_size(png), max_h=70 * mm))
    else:
        out.append(Paragraph("Le fichier des facilitateurs ne renseigne pas le financement des postes (colonnes "
                             "fin_collectivites, fin_fse, fin_etat, fin_prive, fin_autres).", st["body"]))
    out.append(_todo("Financements mobilisés et pistes envisagées (BOP 103, fonds d'inclusion dans l'emploi, "
                     "convention de l'article 13-II de la loi ESS)", st))
    return out


def _change(before, now, kind: str) -> str:
    if before is None or now is None or before != before or now != now:
        return "–"
    gap = now - before
    if kind == "pct":
        return ("+" if gap > 0 else "") + fmt.decimal(100 * gap, 1) + "\u202fpt"
    text = fmt.integer(gap) if kind == "int" else fmt.decimal(gap, 1)
    return ("+" if gap > 0 else "") + text


def _evolution(c, st) -> list:
    ev = c.evolution
    if ev is None:
        return [Paragraph("Cet espace de travail ne garde pas d'import antérieur des facilitateurs : l'évolution se "
                          "lira au prochain bilan, en comparant avec ce rapport.", st["small"])]
    f = ev.figures
    rows = f.assign(avant_txt=[cell_text(v, k) for v, k in zip(f["avant"], f["kind"])],
                    maintenant_txt=[cell_text(v, k) for v, k in zip(f["maintenant"], f["kind"])],
                    ecart_txt=[_change(a, b, k) for a, b, k in zip(f["avant"], f["maintenant"], f["kind"])])
    out = [Paragraph(f"Évolution depuis l'import précédent des facilitateurs (version {ev.version} de l'espace, "
                     f"{_e(ev.date)}" + (f", millésime {_e(ev.vintage)}" if ev.vintage else "") + ")", st["H2"]),
           table(rows, [("indicateur", "Indicateur", "text", 3), ("avant_txt", "Avant", "raw", 1),
                        ("maintenant_txt", "Maintenant", "raw", 1), ("ecart_txt", "Évolution", "raw", 1)], st)]
    out.append(Spacer(1, 2 * mm))
    if ev.added:
        out.append(Paragraph("<b>Structures apparues</b> : " + _e(", ".join(ev.added)) + ".", st["body"]))
    if ev.removed:
        out.append(Paragraph("<b>Structures disparues</b> : " + _e(", ".join(ev.removed)) + ".", st["body"]))
    if len(ev.changed):
        out.append(Paragraph("Structures dont l'aire ou les ETP ont changé", st["H2"]))
        out.append(table(ev.changed, [("id_structure", "Id.", "text", 0.7), ("nom", "Structure", "text", 3),
                                      ("communes_avant", "Communes avant", "int", 1),
                                      ("communes", "Communes maintenant", "int", 1),
                                      ("etp_avant", "ETP avant", "dec1", 0.9), ("etp", "ETP maintenant", "dec1", 0.9)],
                         st))
    return out


PROPOSITION = "Proposition d'évolution du réseau"


def _proposition(c, maps, st) -> list:
    """A scenario against the current facilitators (fiche 3, § 3b and § 6c): the four key figures, the map of the
    change, every figure before and after, the table per structure."""
    from views import proposition as P

    p = getattr(c, "proposition", None)
    if p is None:
        return []
    out = _h1(c, PROPOSITION, st)
    out.append(Paragraph(_e(P.states_sentence(p)) + ". " + _e(P.summary_sentence(p)), st["body"]))
    figs = P.key_figures(p)
    cells = [[Paragraph(_e(v), st["figure"]) for v, _, _ in figs],
             [Paragraph(_e(label), st["small"]) for _, label, _ in figs],
             [Paragraph(_e(sub), st["small"]) for _, _, sub in figs]]
    t = Table(cells, colWidths=[WIDTH / 4] * 4)
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBEFORE", (0, 0), (-1, -1), 2, BLUE)]))
    out.append(t)
    m = maps.get("proposition") if maps else None
    if m is not None:
        out.append(KeepTogether([Paragraph(_e(m.title), st["H2"]), _image(m.png, m.size, max_h=150 * mm),
                                 Paragraph(_e(m.caption), st["caption"])]))
    f = p.figures
    rows = f.assign(avant_txt=[P.value_text(v, k) for v, k in zip(f["avant"], f["kind"])],
                    apres_txt=[P.value_text(v, k) for v, k in zip(f["apres"], f["kind"])],
                    ecart_txt=[P.gap_text(v, k) for v, k in zip(f["ecart"], f["kind"])])
    out.append(Paragraph("Tous les chiffres du diagnostic, avant et après", st["H2"]))
    out.append(table(rows, [("indicateur", "Indicateur", "text", 3), ("avant_txt", "Avant", "raw", 1),
                            ("apres_txt", "Après", "raw", 1), ("ecart_txt", "Écart", "raw", 1)], st))
    changed = p.structures[p.structures["statut"] != "inchangée"]
    out.append(Paragraph("Par structure (fiche 3, § 6c)", st["H2"]))
    if len(changed):
        out.append(table(changed, [("nom", "Structure", "text", 2.6), ("statut", "Évolution", "text", 1),
                                   ("communes_ajoutees", "Communes ajoutées", "int", 1),
                                   ("population_ajoutee", "Population ajoutée", "int", 1.1),
                                   ("communes_retirees", "Communes retirées", "int", 1),
                                   ("population_retiree", "Population retirée", "int", 1.1),
                                   ("etp_avant", "ETP avant", "dec2", 0.8), ("etp_apres", "ETP après", "dec2", 0.8)],
                         st))
    else:
        out.append(Paragraph("Aucune structure ne change.", st["body"]))
    return out


def _definitions(c, st) -> list:
    out = _h1(c, "Définitions", st)
    for term, text in T.DEFINITIONS:
        out.append(Paragraph(f"<b>{_e(term)}</b> : {_e(text)}", st["body"]))
    return out


def write(path: Path, content, maps: dict, figs: dict) -> Path:
    """Write the PDF report to ``path``."""
    _register_fonts()
    st = _styles()
    c = content
    doc = _Doc(str(path), c, title=f"{T.TITLE} – {c.region_name}", author="Diagnostic territorial des clauses "
               "sociales", subject=f"Espace de travail : {c.workspace}", lang="fr-FR", creator="reports.pdf")
    annex: list = []
    # the cover is one page whatever a workspace lists (sources, tables not imported, sections): shrunk to fit
    story = [KeepInFrame(WIDTH, A4[1] - 2 * MARGIN - 6 * mm, _cover(c, st), mode="shrink"), NextPageTemplate("body")]
    story += [PageBreak(), Paragraph("1. Chiffres clés", st["H1"]),
              Paragraph(_e(f"{c.region_name} ({c.region}), espace de travail « {c.workspace} ». Définitions en fin "
                           "de rapport."), st["small"]),
              _key_figures(c, st)]
    for note in c.notes:
        story.append(Paragraph(_e(note), st["note"]))
    story += _maps_section(c, maps, st)
    story += _zones_blanches(c, st, annex)
    story += _structures(c, st)
    story += _zones_emploi(c, st)
    story += _overlaps(c, st)
    story += _markets(c, st, annex)
    story += _needs(c, st, annex)
    story += _indicators(c, st, figs)
    story += _bilan(c, st, figs)
    story += _proposition(c, maps, st)
    story += _definitions(c, st)
    story += _h1(c, "Annexes", st)
    if annex:
        story += annex
    else:
        story.append(Paragraph("Toutes les listes figurent en entier dans le corps du rapport ; le classeur XLSX "
                               "joint contient chaque tableau du diagnostic.", st["body"]))
    story.append(CondPageBreak(30 * mm))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph("Le classeur XLSX joint contient chaque tableau du diagnostic (une feuille par tableau).",
                           st["small"]))
    doc.build(_no_lonely_sections(story))
    return path
