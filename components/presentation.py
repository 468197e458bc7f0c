"""Projection mode: the launch meeting's screens (fiche 3), one message per screen, for a wall.

Sized for 1280×720 and 1920×1080 alike: every size follows the screen's height (``vh``) with a floor
that holds at 1280×720 (key figures at least 44 px, labels at least 24 px, read from the back of a
15 m room). The screens say what the PowerPoint deck says (``views.content`` and ``views.screens``: same figures, same
titles, same order). Every text that comes from a user's file is escaped before it reaches the page.
"""

from __future__ import annotations

import html

import streamlit as st

from geo.markets import CLASS_LABELS, CLASSES
from views import fmt, screens
from views import text as T
from views.palette import CLASS_COLOURS, MARIANNE

SCREENS = list(T.SCREENS)
SCREEN_PARAM = "ecran"

# the screens that show the map, and its layers on each (the warm-up draws the same ones)
MAP_SCREENS = {
    1: {"zones_blanches": True, "qpv": False, "zones_emploi": False},
    3: {"zones_blanches": True, "qpv": True, "zones_emploi": False},
    4: {"zones_blanches": False, "qpv": False, "zones_emploi": True},
}


# sizes: at least the wall's minimum at 1280×720, growing with the screen's height
CSS = """
.diag-p-head { line-height: 1.1; }
.diag-p-title { font-size: max(34px, 4.7vh); font-weight: 700; color: #000091; margin: 0; line-height: 1.1; }
.diag-p-sub { font-size: max(18px, 2.3vh); line-height: 1.25; color: #3a3a3a; margin-top: 2px; }
.st-key-presentation-head { gap: 0 !important; }
.diag-p-figs { display: flex; flex-direction: column; gap: max(10px, 1.6vh); }
.diag-p-figs.grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: max(16px, 2.6vh) 28px; }
.diag-p-fig { border-left: 6px solid #000091; padding-left: 14px; }
.diag-p-value { font-size: max(44px, 6.2vh); font-weight: 700; line-height: 1.05; color: #000091;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
.diag-p-label { font-size: max(24px, 3.2vh); line-height: 1.2; color: #161616; }
.diag-p-compare { font-size: max(24px, 3.2vh); line-height: 1.2; color: #3a3a3a; }
.diag-p-message { font-size: max(28px, 3.9vh); line-height: 1.3; color: #161616; border-left: 8px solid #000091;
  background: #F5F5FE; padding: max(16px, 2.4vh) max(20px, 2vw); max-width: 60em; }
.diag-p-message .diag-p-hint { display: block; margin-top: 0.6em; font-size: max(24px, 3.2vh); color: #3a3a3a; }
.diag-p-chart-title { font-size: max(24px, 3.2vh); font-weight: 700; margin-bottom: max(8px, 1.2vh); }
.diag-p-bars { display: flex; flex-direction: column; gap: max(6px, 1vh); }
.diag-p-bar { display: grid; grid-template-columns: minmax(0, 38%) minmax(0, 1fr); align-items: center; gap: 14px; }
.diag-p-bar-name { font-size: max(24px, 3.2vh); line-height: 1.15; text-align: right; overflow-wrap: anywhere; }
.diag-p-bar-track { display: flex; align-items: center; gap: 10px; min-width: 0; }
.diag-p-bar-fill { height: max(26px, 3.6vh); border-radius: 3px; min-width: 3px; }
.diag-p-bar-value { font-size: max(24px, 3.2vh); font-weight: 700; white-space: nowrap; }
.diag-p-bar-gap > div:last-child { font-size: max(18px, 2.3vh); font-style: italic; color: #3a3a3a;
  line-height: 1.2; border-top: 2px dashed #9a9a9a; border-bottom: 2px dashed #9a9a9a; }
.diag-p-source { font-size: max(16px, 1.9vh); color: #3a3a3a; margin-top: max(8px, 1.2vh); }
.diag-p-count { font-size: max(24px, 3vh); font-weight: 700; color: #3a3a3a; text-align: center; white-space: nowrap; }
.st-key-presentation-nav button { min-height: max(44px, 5.6vh); }
.st-key-presentation-nav button p { font-size: max(20px, 2.5vh); }
/* the map fills the height under the title (map_height_css); its legend is beside it, never over the région */
.diag-p-legend.diag-legend { font-size: max(24px, 3.2vh); line-height: 1.25; margin-top: max(14px, 2vh); }
.diag-p-legend.diag-legend .diag-legend-item { gap: 10px; margin: 0 0 2px 0; }
.diag-p-legend.diag-legend .diag-swatch { flex-basis: max(26px, 3.4vh); height: max(18px, 2.3vh); }
.diag-p-legend.diag-legend .diag-swatch.line { height: 0; }
.diag-p-legend.diag-legend .diag-swatch.dot { flex-basis: max(18px, 2.3vh); width: max(18px, 2.3vh); }
.diag-p-legend.diag-legend .diag-legend-note { font-size: max(16px, 1.9vh); }
a.diag-exit { display: none !important; }  /* this page has its own « Quitter » */
/* nothing scrolls: one screen, one message */
[data-testid="stMainBlockContainer"] { padding-bottom: 0 !important; }
"""


def e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def header(n: int, title: str | None = None) -> str:
    return f'<div class="diag-p-head"><h1 class="diag-p-title">{e(title or SCREENS[n - 1])}</h1></div>'


def subtitle(text: str) -> str:
    """The workspace and its vintages, under the title and the buttons, across the whole screen: never cut,
    it wraps when a workspace's name and vintages are longer than the screen is wide."""
    return f'<div class="diag-p-sub">{e(text)}</div>'


# characters of the subtitle on one line across a 16:9 screen (its type follows the height): about 165;
# counted short so that a longer one takes its second line from the map's height
SUBTITLE_LINE = 150


def subtitle_lines(text: str) -> int:
    return max(1, -(-len(text) // SUBTITLE_LINE))


def map_height_css(lines: int) -> str:
    """The map fills the height under the title and the subtitle's lines."""
    return (f".st-key-presentation-carte iframe {{ height: calc(100vh - max(136px, 16.3vh) - {lines - 1} * "
            "max(23px, 2.9vh)) !important; }")


def figures(items: list[tuple[str, str] | tuple[str, str, str]], grid: bool = False) -> str:
    """Key figures: the number over its label (and a comparison line, e.g. France's)."""
    out = []
    for item in items:
        value, label = item[0], item[1]
        compare = f'<div class="diag-p-compare">{e(item[2])}</div>' if len(item) > 2 and item[2] else ""
        out.append(f'<div class="diag-p-fig"><div class="diag-p-value">{e(value)}</div>'
                   f'<div class="diag-p-label">{e(label)}</div>{compare}</div>')
    return f'<div class="diag-p-figs{" grid" if grid else ""}">{"".join(out)}</div>'


def message(text: str, hint: str = "") -> str:
    """A screen whose table is missing says so, in French, where its chart would be."""
    extra = f'<span class="diag-p-hint">{e(hint)}</span>' if hint else ""
    return f'<div class="diag-p-message" role="status">{e(text)}{extra}</div>'


def bars(title: str, rows: list[tuple[str, float, str, str] | str], note: str = "") -> str:
    """A horizontal bar chart in HTML (no truncated label, type the size of the wall's labels):
    rows of (label, value, value as text, colour); a row that is a plain string is a gap in the ranking,
    written in small type where the bars would be (« 3 autres structures, de 0,96 à 0,76 »)."""
    top = max([r[1] for r in rows if not isinstance(r, str) and r[1] == r[1]] + [0]) or 1
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(f'<div class="diag-p-bar diag-p-bar-gap"><div></div><div>{e(row)}</div></div>')
            continue
        label, value, text_value, colour = row
        width = 0 if value != value else max(0.0, float(value)) / top * 100
        lines.append(f'<div class="diag-p-bar"><div class="diag-p-bar-name">{e(label)}</div>'
                     f'<div class="diag-p-bar-track"><div class="diag-p-bar-fill" style="width:{width * 0.8:.1f}%;'
                     f'background:{e(colour)}"></div><span class="diag-p-bar-value">{e(text_value)}</span></div></div>')
    foot = f'<div class="diag-p-source">{e(note)}</div>' if note else ""
    return (f'<div class="diag-p-chart" role="img" aria-label="{e(title)}"><div class="diag-p-chart-title">'
            f'{e(title)}</div><div class="diag-p-bars">{"".join(lines)}</div>{foot}</div>')


@st.cache_resource(max_entries=8, show_spinner="Préparation des écrans…")
def _content(stamp: str, region: str):
    from components import state
    from views.content import collect

    return collect(state.dataset(), state.diagnosis(region), region)


def content(region: str):
    """What the screens say, computed once per workspace version and région (shared, read-only)."""
    from components import state

    return _content(state.stamp(), region)


def screen_from_url(total: int) -> int:
    """The screen in the address (``?ecran=3``), 1 when absent or not a screen number."""
    try:
        n = int(str(st.query_params.get(SCREEN_PARAM, "1")))
    except ValueError:
        n = 1
    return min(max(n, 1), total)


# ---------------------------------------------------------------------------------------------
# What each screen says (figures from views.content.Content, as the deck)


# the figures and their words are the deck's (views.screens): one place, the same agreement
glance_figures = screens.glance
means_figures = screens.means
gaps_figures = screens.gaps
employment_figures = screens.employment
markets_figures = screens.markets
# the load chart on a 1280×720 wall (its sizes grow with the screen's height: what fits there fits everywhere),
# in pixels: the height under the title and a one-line subtitle, less the chart's title and its footnote; a
# name's line (24 px type) and the space between two bars; the characters of a name on one line of its column
WALL_ROWS_PX = 720 - 136 - 40 - 50 - 24
WALL_SUBTITLE_LINE_PX = 23
WALL_LINE_PX = 24 * 1.15
WALL_GAP_PX = 7.2
WALL_NAME_CHARS = 26


def wall_room(subtitle_lines: int = 1) -> screens.Room:
    """The room of the load chart on the wall under a subtitle of that many lines."""
    return screens.Room(height=WALL_ROWS_PX - WALL_SUBTITLE_LINE_PX * (subtitle_lines - 1), line=WALL_LINE_PX,
                        gap=WALL_GAP_PX, chars=WALL_NAME_CHARS)


def means_chart(c, colours: dict[str, str], room: screens.Room | None = None) -> str:
    """The load of each facilitator (fiche 3): structures ranked by ETP per 100,000 inhabitants covered,
    highest first; every structure when there is room (its team is in the room), else the highest and the
    lowest, as many as fit, the ones left out said between them."""
    r = screens.fitting_ranking(c.structures, room or wall_room())

    def rows(df):
        return [(x.nom, float(x.etp_pour_100k_hab), fmt.decimal(x.etp_pour_100k_hab, 2),
                 colours.get(x.id_structure, MARIANNE)) for x in df.itertuples(index=False)]

    return bars(screens.LOAD_TITLE, rows(r.top) + ([r.between] if r.between else []) + rows(r.bottom), r.note)


needs_figures = screens.needs


def needs_chart(c, colours: dict[str, str], room: screens.Room | None = None) -> str:
    """« Besoins et moyens » (fiche 3, § 3b): the social markets each ETP faces, by structure, the most loaded
    first; every structure when there is room, else the highest and the lowest, the ones left out said between."""
    r = screens.fitting_needs_ranking(c.needs.structures, room or wall_room())

    def rows(df):
        return [(x.nom, float(x.marches_sociaux_par_etp), fmt.decimal(x.marches_sociaux_par_etp, 1),
                 colours.get(x.id_structure, MARIANNE)) for x in df.itertuples(index=False)]

    return bars(screens.NEEDS_TITLE, rows(r.top) + ([r.between] if r.between else []) + rows(r.bottom), r.note)


def markets_chart(c) -> str:

    m = c.market_summary
    rows = [(CLASS_LABELS[k], float(m[k]), fmt.integer(m[k]), CLASS_COLOURS.get(k, MARIANNE)) for k in CLASSES]
    return bars("Marchés à clause sociale, par couverture", rows,
                "« Sans structure unique » : aucune aire ne contient seule le lieu du marché (fiche 3, § 3b).")


# fiche 3 § 6b, the latest year against France (views.screens, as the deck)
points = screens.points
indicator_figures = screens.indicator_figures
