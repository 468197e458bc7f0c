"""The workbook of a comparison of two states of the facilitators' network (fiche 3, § 6c): every figure before
and after, the table per structure, the zones d'emploi, the communes, QPV and markets whose coverage changes, the
overlaps that change. Written by the product's one XLSX writer (``data.formats.xlsx``); the words are
``views.proposition``'s. For the Scénarios page and ``cli.py compare --xlsx``.
"""

from __future__ import annotations

import pandas as pd

from data.formats import xlsx
from data.formats.xlsx import Sheet
from views import proposition as P


def _sheet(name: str, df: pd.DataFrame, labels: dict, kinds: dict) -> Sheet:
    cols = [c for c in labels if c in df.columns]
    return Sheet(name, df, [(c, labels[c], kinds.get(c, "text")) for c in cols])


def sheets(comparison, prefix: str = "") -> list[Sheet]:
    """The comparison's sheets (``prefix`` before each name, e.g. « Proposition – » in the diagnosis workbook)."""
    c = comparison
    f = c.figures
    about = pd.DataFrame({"rubrique": ["État A (avant)", "État B (après)", "Région", "Bilan"],
                          "contenu": [c.label_a, c.label_b, c.region, P.summary_sentence(c)]})
    return [
        Sheet(prefix + "Indicateurs", f, [("indicateur", "Indicateur", "text"), ("avant", c.label_a, "row"),
                                 ("apres", c.label_b, "row"), ("ecart", "Différence", "row_gap")],
              row_kinds=f["kind"].tolist()),
        _sheet(prefix + "Structures (§ 6c)", c.structures, P.STRUCTURE_LABELS, P.STRUCTURE_KINDS),
        _sheet(prefix + "Zones d'emploi", c.zones_emploi, P.ZONE_LABELS, P.ZONE_KINDS),
        _sheet(prefix + "Communes qui changent", P.commune_frame(c), P.COMMUNE_LABELS, {"population": "int"}),
        _sheet(prefix + "QPV qui changent", P.qpv_frame(c), P.QPV_LABELS, {"population": "int"}),
        _sheet(prefix + "Marchés qui changent", P.market_frame(c), P.MARKET_LABELS, {}),
        _sheet(prefix + "Chevauchements", c.overlaps, P.OVERLAP_LABELS, {k: "int" for k in P.OVERLAP_LABELS
                                                                if k not in ("id_a", "id_b")}),
        Sheet(prefix + "À propos", about, [("rubrique", "Rubrique", "text"), ("contenu", "Contenu", "text")],
              widths={"rubrique": 24, "contenu": 110}),
    ]


def workbook(comparison) -> bytes:
    """The comparison alone, as a workbook (the Scénarios page, ``cli.py compare --xlsx``)."""
    return xlsx.workbook(sheets(comparison))


def suggestions_workbook(suggestions: pd.DataFrame, coordination: pd.DataFrame, criterion: str) -> bytes:
    tables = [_sheet("Extensions proposées", suggestions, P.SUGGESTION_LABELS, P.SUGGESTION_KINDS),
              Sheet("Coordination régionale", coordination,
                    [("acheteur", "Acheteur", "text"), ("type_acheteur", "Type d'acheteur", "text"),
                     ("marches", "Marchés", "int"), ("montant_ht", "Montant HT (€)", "euros"),
                     ("heures_insertion", "Heures d'insertion", "int")]),
              Sheet("Critère", pd.DataFrame({"c": [P.criterion_sentence(criterion)]}), [("c", "Critère", "text")],
                    widths={"c": 100})]
    return xlsx.workbook(tables)
