"""What the launch meeting's screens say (fiche 3), once for the wall (``components.presentation``)
and the deck (``reports.deck``): the key figures, each label agreed with its count (« 1 aire », « 2 aires »),
and the ranking of the structures by their means for the population they cover.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from geo.inclusion import families_sentence
from views import fmt
from views import text as T
from views.text import agree

MAX_BARS = 8  # bars of the load chart when nothing says how much room there is (at least this many fit)
MIN_BARS = 4  # the fewest: the two highest and the two lowest


def count(n, singular: str, plural: str) -> tuple[str, str]:
    """A key figure: the count and its label agreed with it."""
    return fmt.integer(n), agree(n, singular, plural)


def glance(c) -> list[tuple[str, str]]:
    s = c.summary
    items = [count(s["population"]["totale"], "habitant", "habitants"),
             count(s["communes"]["total"], "commune", "communes")]
    if c.has["facilitateurs"]:
        share = 1 - (s["population"]["part_non_couverte"] or 0)
        items += [count(s["structures"]["total"], "structure porteuse", "structures porteuses"),
                  (fmt.percent(share), "de la population couverte")]
    elif c.has["qpv"]:
        items += [count(s["qpv"]["total"], "quartier prioritaire (QPV)", "quartiers prioritaires (QPV)"),
                  count(len(c.zones_emploi), "zone d'emploi", "zones d'emploi")]
    else:
        items += [("–", "quartiers prioritaires (QPV)"), count(len(c.zones_emploi), "zone d'emploi", "zones d'emploi")]
    return items


def means(c) -> list[tuple[str, str]]:
    s = c.summary["structures"]
    quotite = s["etp"] / s["personnes"] if s["personnes"] else None
    return [count(s["personnes"], "facilitateur (personne)", "facilitateurs (personnes)"),
            (fmt.decimal(s["etp"]), "ETP"),
            (fmt.decimal(s["etp_pour_100k_hab"], 2), "ETP pour 100 000 hab."),
            (fmt.decimal(quotite, 2), "ETP par personne")]


def gaps(c) -> list[tuple[str, str]]:
    s = c.summary
    items = [count(s["population"]["non_couverte"], "habitant non couvert", "habitants non couverts"),
             count(s["communes"]["non_couvertes"], "zone blanche (commune)", "zones blanches (communes)")]
    if c.has["qpv"]:
        items += [count(s["qpv"]["non_couverts"], "QPV non couvert", "QPV non couverts"),
                  (fmt.integer(s["qpv"]["population_non_couverte"]), "hab. des QPV non couverts")]
    else:
        items += [("–", "QPV : non importés")]
    return items


def employment(c) -> list[tuple[str, str]]:
    ze = c.zones_emploi
    low = int((pd.to_numeric(ze["part_couverte"], errors="coerce") < 0.5).sum())
    shared = int((ze["nb_structures"] >= 2).sum())
    spread = int((c.structures["nb_ze"] > 3).sum()) if len(c.structures) else 0
    return [count(len(ze), "zone d'emploi", "zones d'emploi"),
            count(low, "couverte à moins de 50 %", "couvertes à moins de 50 %"),
            count(shared, "partagée entre structures", "partagées entre structures"),
            count(spread, "aire sur plus de 3 zones", "aires sur plus de 3 zones")]


def markets(c) -> list[tuple[str, str]]:
    m = c.market_summary
    return [count(m["avec_consideration_sociale"], "marché à clause sociale", "marchés à clause sociale"),
            (fmt.integer(c.markets_not_single), "sans structure unique"),
            (fmt.integer(m["hors_couverture"]), "hors couverture"),
            count(m["regional"], "marché régional", "marchés régionaux")]


@dataclass
class Ranking:
    """The structures by ETP per 100,000 inhabitants covered, highest first, as a chart shows them."""

    top: pd.DataFrame  # the highest ratios (every structure when they all fit)
    bottom: pd.DataFrame  # the lowest ratios, the most loaded structures (empty when they all fit)
    between: str  # the structures left out between the two, in words (empty when none)
    note: str  # what is shown, for the chart's footnote (empty when every structure is)
    short: str = ""  # what is shown, for a chart's title (« les 4 plus élevés et les 4 plus faibles, sur 11 »)


LOAD_TITLE = "ETP pour 100 000 habitants couverts"


def _ranking(table: pd.DataFrame, column: str, max_bars: int, digits: int, loaded: str) -> tuple[Ranking, int]:
    """``table`` ranked by ``column``, highest first: every row when they fit, otherwise the highest and the
    lowest, as many as ``max_bars``, and what lies between in words; ``loaded`` (« élevés » or « faibles »)
    says which end holds the most loaded structures. Also the number of rows without a ratio (not ranked)."""
    ratio = pd.to_numeric(table[column], errors="coerce")
    ranked = table.assign(**{column: ratio})[ratio.notna()]
    ranked = ranked.sort_values([column, "id_structure"], ascending=[False, True])
    n, unranked = len(ranked), int(ratio.isna().sum())
    short, note = "", ""
    if n <= max_bars + 1:  # one structure left out would take its bar's room to be said: show it
        top, bottom, left = ranked, ranked.iloc[0:0], ranked.iloc[0:0]
    else:
        k = max_bars // 2
        top, bottom, left = ranked.head(k), ranked.tail(max_bars - k), ranked.iloc[k:n - (max_bars - k)]
        mark = {end: " (les plus chargées)" if end == loaded else "" for end in ("élevés", "faibles")}
        note = (f"Les {fmt.integer(k)} {agree(k, 'structure', 'structures')} aux ratios les plus élevés"
                f"{mark['élevés']} et les {fmt.integer(max_bars - k)} aux ratios les plus faibles{mark['faibles']}, "
                f"sur {fmt.integer(n)}.")
        short = f"les {fmt.integer(k)} plus élevés et les {fmt.integer(max_bars - k)} plus faibles, sur {fmt.integer(n)}"
    between = ""
    if len(left):
        lo, hi = (fmt.decimal(left[column].min(), digits), fmt.decimal(left[column].max(), digits))
        others = f"{fmt.integer(len(left))} {agree(len(left), 'autre structure', 'autres structures')}"
        between = f"{others} ({hi})" if lo == hi else f"{others}, de {hi} à {lo}"
    return Ranking(top, bottom, between, note, short), unranked


def _with_note(r: Ranking, more: str) -> Ranking:
    return dataclasses.replace(r, note=(r.note + " " if r.note else "") + more) if more else r


def _fitting(rank: Callable[[int], Ranking], n: int, room: Room) -> Ranking:
    """``rank(k)`` with as many bars ``k`` as the room holds: every structure when their names fit (a
    structure's team is in the room), else the highest and the lowest ratios, as many as fit, at least
    ``MIN_BARS``."""
    for k in range(max(n, MIN_BARS), MIN_BARS - 1, -1):
        r = rank(k)
        names = [str(x) for x in (*r.top["nom"], *r.bottom["nom"])]
        if rows_height(names, room, gaps=1 if r.between else 0) <= room.height:
            return r
    return rank(MIN_BARS)


def load_ranking(structures: pd.DataFrame, max_bars: int = MAX_BARS) -> Ranking:
    """The load of each facilitator (fiche 3): every structure when they fit; otherwise the best endowed
    and the most loaded (the lowest ratios: each ETP for the most inhabitants), both of which a launch
    meeting discusses, and what lies between in words."""
    r, unranked = _ranking(structures, "etp_pour_100k_hab", max_bars, 2, loaded="faibles")
    return _with_note(r, f"{fmt.integer(unranked)} {agree(unranked, 'structure', 'structures')} sans population "
                         f"couverte dans la région, {agree(unranked, 'non classée', 'non classées')}."
                      if unranked else "")


@dataclass(frozen=True)
class Room:
    """The room a chart of named rows has, in one unit (pixels on the wall, points on a slide): the height for
    its rows, what a line of a name and the space between two rows cost, and how many characters of a name
    one line holds. ``uniform``: every row as tall as the tallest (a native chart's bars are evenly spaced)."""

    height: float
    line: float
    gap: float
    chars: int
    uniform: bool = False


def name_lines(name: str, chars: int) -> int:
    """The lines a name takes, wrapped at spaces within ``chars`` characters a line (a longer word, alone)."""
    lines, used = 1, 0
    for word in str(name).split():
        need = len(word) if used == 0 else used + 1 + len(word)
        if used and need > chars:
            lines, used = lines + 1, len(word)
        else:
            used = need
    return lines


def rows_height(names: list[str], room: Room, gaps: int = 0) -> float:
    """The height of rows of these names in ``room``, and of ``gaps`` rows of one line (a gap in a ranking,
    written across the chart)."""
    lines = [name_lines(n, room.chars) for n in names] + [1] * gaps
    if not lines:
        return 0.0
    if room.uniform:
        return len(lines) * (max(lines) * room.line + room.gap)
    return sum(k * room.line + room.gap for k in lines)


def fitting_ranking(structures: pd.DataFrame, room: Room) -> Ranking:
    """:func:`load_ranking` with as many bars as the room holds (see :func:`_fitting`)."""
    n = int(pd.to_numeric(structures["etp_pour_100k_hab"], errors="coerce").notna().sum())
    return _fitting(lambda k: load_ranking(structures, k), n, room)


SHORT = {  # fiche 3 § 6b indicators, in the words of a screen and of a slide
    "Sorties positives": "Emploi durable 12 mois après le premier contrat",
    "Contrats en CDI ou CDD": "Contrats en CDI ou CDD",
    "Part des femmes": "Femmes parmi les bénéficiaires",
    "Part des résidents de QPV": "Résidents de QPV parmi les bénéficiaires",
    "Part des travailleurs handicapés": "Travailleurs handicapés parmi les bénéficiaires",
    "Part des marchés hors BTP": "Marchés hors BTP (diversification)",
}


def short_indicator(name: str) -> str:
    """A § 6b indicator's name in the words of a screen (« Femmes parmi les bénéficiaires »)."""
    return next((v for k, v in SHORT.items() if name.startswith(k)), name)


def points(share_gap: float) -> str:
    """A gap between two shares in percentage points: 0.0537 -> « +5 points », -0.004 -> « 0 point »."""
    value = round(100 * float(share_gap))
    if value == 0:
        return "0 point"
    sign = "+" if value > 0 else "\u2212"
    return f"{sign}{fmt.integer(abs(value))} point" + ("s" if abs(value) >= 2 else "")


def indicator_figures(c) -> tuple[list[tuple[str, str, str]], str]:
    """Fiche 3 § 6b: the latest year's six shares, région against France; and the source line."""
    fu = c.followup
    latest = fu[fu["annee"] == fu["annee"].max()].reset_index(drop=True)
    items = []
    for row in latest.head(6).itertuples(index=False):
        label = short_indicator(row.indicateur)
        value = "secret" if row.region != row.region and row.secret else fmt.percent(row.region)
        france = "–" if row.france != row.france else fmt.percent(row.france)
        gap = "" if row.ecart != row.ecart else f" ({points(row.ecart)})"
        items.append((value, label, f"France : {france}{gap}"))
    note = f"Année {int(latest['annee'].iloc[0])} – source : {c.indicator_source}." + (
        " " + T.SECRET_NOTE if c.followup_secret else "")
    return items, note


# ------------------------------------------------------------------------------------------------
# « Besoins et moyens » (fiche 3, § 3a–b, § 4): the social markets each ETP faces, the inclusion structures
# no facilitator reaches

NEEDS_TITLE = "Marchés sociaux par ETP, par structure"


def needs(c) -> list[tuple[str, str] | tuple[str, str, str]]:
    """The screen's key figures: social markets, the median per ETP, the structures flagged, and the inclusion
    structures in zones blanches (« – » and why when no inclusion file was imported: never 0 as if known)."""
    n = c.needs
    m = c.market_summary
    flagged = int((n.structures["alerte"] != "").sum()) if len(n.structures) else 0
    items = [count(m["avec_consideration_sociale"], "marché à clause sociale", "marchés à clause sociale"),
             (fmt.decimal(n.median, 1), "marchés sociaux par ETP (médiane)"),
             count(flagged, "structure loin de la médiane", "structures loin de la médiane")]
    if n.inclusion is None:
        items.append(("–", "structures de l'inclusion : non importées"))
    else:
        white = n.inclusion["dans_zones_blanches"]
        total = sum(white.values())
        items.append((fmt.integer(total), agree(total, "structure de l'inclusion en zone blanche",
                                                "structures de l'inclusion en zone blanche"),
                      families_sentence(white, "").strip() if total else ""))
    return items


def needs_ranking(table: pd.DataFrame, max_bars: int = MAX_BARS) -> Ranking:
    """The structures by social markets per ETP, highest first (the most loaded); past ``max_bars``, the
    highest and the lowest, and what lies between in words; the structures without ETP said in the note."""
    r, unranked = _ranking(table, "marches_sociaux_par_etp", max_bars, 1, loaded="élevés")
    r = _with_note(r, f"{fmt.integer(unranked)} {agree(unranked, 'structure', 'structures')} sans ETP déclaré : "
                      f"ratio « – », {agree(unranked, 'non classée', 'non classées')}." if unranked else "")
    return _with_note(r, T.NEEDS_SUM_NOTE)


def fitting_needs_ranking(table: pd.DataFrame, room: Room) -> Ranking:
    """:func:`needs_ranking` with as many bars as the room holds (see :func:`_fitting`)."""
    n = int(pd.to_numeric(table["marches_sociaux_par_etp"], errors="coerce").notna().sum())
    return _fitting(lambda k: needs_ranking(table, k), n, room)
