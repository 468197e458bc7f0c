"""Exports (CSV for a French Excel, readable XLSX) and the shaping of the ABC Clauses tables."""

import csv
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from components.tables import table_xlsx
from data.formats.writers import template_csv, template_xlsx
from data.indicators import followup, group_others, missing_tables, secret, table_data, table_order
from data.schemas import INDICATOR_TABLES, SCHEMAS
from reports.figures import to_png
from reports.workbook import diagnosis_workbook
from views.charts import indicator_chart
from views.columns import table_csv
from views.fmt import decimal, integer, md, percent


def test_french_formats():
    assert integer(1234567) == "1\u202f234\u202f567"
    assert decimal(12345.67, 1) == "12\u202f345,7"
    assert percent(0.163) == "16\u202f%" and percent(None) == "–"
    assert md("*gras* <b>") == "\\*gras\\* \\<b\\>"


DANGEROUS = pd.DataFrame({"nom": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "normal"],
                          "population": [1200, 3, 4, 5, 6], "part_couverte": [0.5, 0.25, 1.0, 0.0, 0.123]})


def test_csv_opens_in_french_excel_and_neutralises_formulas():
    data = table_csv(DANGEROUS)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Population", "Part de la population couverte (%)"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "normal"]
    assert rows[1][2] == "50,0" and rows[5][2] == "12,3"  # a share in percent, rounded, decimal comma


def test_xlsx_headers_formats_and_formulas():
    wb = openpyxl.load_workbook(io.BytesIO(table_xlsx(DANGEROUS, "Test")))
    ws = wb["Test"]
    assert [c.value for c in ws[1]] == ["Nom", "Population", "Part de la population couverte"]
    assert ws.freeze_panes == "A2"
    assert ws["A2"].value.startswith("'=") and ws["A2"].data_type == "s"
    assert ws["B2"].value == 1200 and ws["B2"].number_format == "#,##0"  # a format Excel applies (and localises)
    assert ws["C2"].value == 0.5 and ws["C2"].number_format == "0.0%"
    assert ws.auto_filter.ref == "A1:C6"


def test_diagnosis_xlsx_sheets(demo_ds, demo_result):
    wb = openpyxl.load_workbook(io.BytesIO(diagnosis_workbook(demo_ds, demo_result, "99")))
    assert {"Synthèse", "Zones blanches", "Communes", "QPV", "Zones d'emploi", "Structures", "Chevauchements",
            "Marchés"} <= set(wb.sheetnames)
    synth = {r[0]: r[1] for r in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert synth["Zones blanches (communes non couvertes)"] == demo_result.diagnosis.summary["communes"]["non_couvertes"]
    assert all(wb[s].freeze_panes == "A2" for s in wb.sheetnames)


@pytest.mark.parametrize("kind", ["communes", "qpv", "facilitateurs", "marches", "indicateurs"])
def test_templates_follow_the_schemas(kind):
    wb = openpyxl.load_workbook(io.BytesIO(template_xlsx(kind)))
    tables = ["structures", "perimetres"] if kind == "facilitateurs" else [kind]
    for t in tables:
        assert [c.value for c in wb[t][1]] == SCHEMAS[t].columns
    assert "aide" in wb.sheetnames
    header = template_csv(kind).decode("utf-8-sig").splitlines()[0]
    assert header.split(";") == SCHEMAS[tables[0]].columns


def hand_table():
    # a distribution of 10 categories, région R and France, one year; "J" holds a secret count (3)
    mods = list("ABCDEFGHIJ")
    reg = [40, 30, 20, 10, 9, 8, 7, 6, 5, 3]
    fr = [400, 300, 200, 100, 90, 80, 70, 60, 50, 30]
    rows = [(2024, "R", "T06", "categorie", m, "", "", "beneficiaires", float(v)) for m, v in zip(mods, reg)]
    rows += [(2024, "FR", "T06", "categorie", m, "", "", "beneficiaires", float(v)) for m, v in zip(mods, fr)]
    return pd.DataFrame(rows, columns=["annee", "territoire", "tableau", "dimension", "modalite", "dimension_2",
                                       "modalite_2", "mesure", "valeur"])


def test_secret_hides_small_counts_of_beneficiaries_only():
    df = hand_table()
    out = secret(df)
    assert out.loc[(out["territoire"] == "R") & (out["modalite"] == "J"), "valeur"].isna().all()
    assert out["secret"].sum() == 1
    hours = df.assign(mesure="heures")
    assert not secret(hours)["secret"].any()


def test_group_others_keeps_seven_and_never_reveals_a_secret():
    out = group_others(secret(hand_table()))
    reg = out[out["territoire"] == "R"].set_index("modalite")
    assert len(reg) == 8 and "Autres" in reg.index
    assert list(reg.index[:7]) == list("ABCDEFG")
    assert np.isnan(reg.loc["Autres", "valeur"])  # H + I + J would give J away by difference
    fr = out[out["territoire"] == "FR"].set_index("modalite")
    assert fr.loc["Autres", "valeur"] == 60 + 50 + 30


def test_shares_and_national_comparison():
    out = table_data(hand_table(), "T06", "R")
    fr = out[out["territoire"] == "FR"].set_index("modalite")
    assert fr.loc["A", "part"] == pytest.approx(400 / 1380)
    reg = out[out["territoire"] == "R"].set_index("modalite")
    assert reg.loc["A", "part"] == pytest.approx(40 / (40 + 30 + 20 + 10 + 9 + 8 + 7))  # secret group excluded
    assert set(out["territoire_lib"]) == {"Région", "France"}


def test_order_missing_tables_and_followup(demo_ds):
    assert table_order()[:3] == ["T03", "T08", "T16"] and len(table_order()) == 18
    ind = demo_ds.indicateurs
    assert missing_tables(ind, "99") == []
    assert missing_tables(ind[ind["tableau"] != "T05"], "99") == ["T05"]
    fu = followup(ind, "99")
    women = fu[fu["indicateur"].str.contains("femmes")]
    assert len(women) == 2 and (women["france"].between(0.12, 0.2)).all()
    assert np.allclose(fu["ecart"], fu["region"] - fu["france"])
    qpv = fu[fu["indicateur"].str.contains("QPV")]
    assert (qpv["france"].between(0.2, 0.4)).all()  # 30 % nationally, not "Hors QPV" counted in


def test_png_export_is_a_png(demo_ds):
    data = table_data(demo_ds.indicateurs, "T03", "99", "marches")
    png = to_png(indicator_chart(data, "T03", "T03 – Marchés par secteur", "marchés", "ABC Clauses"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000


@pytest.mark.parametrize("table", list(INDICATOR_TABLES))
def test_every_table_charts(demo_ds, table):
    ind = demo_ds.indicateurs
    for measure in ind.loc[ind["tableau"] == table, "mesure"].unique():
        data = table_data(ind, table, "99", measure)
        spec = indicator_chart(data, table, table, measure, "ABC Clauses").to_dict()
        assert spec["title"]["text"] == table
        assert data.loc[data["modalite"] == "Autres"].shape[0] == 0 or data["modalite"].nunique() <= 8


def test_followup_shares_of_fewer_than_five_beneficiaries_are_hidden():
    """Statistical secrecy on the indicators page too: a share of 3 women among 40 is not shown."""
    import pandas as pd

    from data.indicators import followup_with_secrecy

    rows = [(2024, "76", "T08", "sexe", "Femmes", 3), (2024, "76", "T08", "sexe", "Hommes", 37),
            (2024, "FR", "T08", "sexe", "Femmes", 5000), (2024, "FR", "T08", "sexe", "Hommes", 29000)]
    ind = pd.DataFrame(rows, columns=["annee", "territoire", "tableau", "dimension", "modalite", "valeur"])
    ind = ind.assign(dimension_2="", modalite_2="", mesure="beneficiaires")
    fu, hidden = followup_with_secrecy(ind, "76")
    women = fu[fu["indicateur"].str.startswith("Part des femmes")].iloc[0]
    assert hidden == 1 and women["secret"] and women["region"] != women["region"]  # NaN
    assert abs(women["france"] - 5000 / 34000) < 1e-9
