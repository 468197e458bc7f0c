import pytest

from geo.codes import fold, normalize_code, plm_parent

VALID = [  # raw value, width, expected code, repaired
    ("31555", 5, "31555", False),
    ("1001", 5, "01001", True),
    (1001, 5, "01001", True),
    (1001.0, 5, "01001", True),
    ("1001.0", 5, "01001", True),
    (" 2a004 ", 5, "2A004", False),
    ("2B033", 5, "2B033", False),
    ("1", 2, "01", True),
    ("976", 2, "976", False),
    ("751", 4, "0751", True),
]
NOT_REPAIRED = [("123", 5), ("", 5), ("ABCDE", 5), ("12", 5)]


@pytest.mark.parametrize("raw,width,code,repaired", VALID)
def test_normalize_code_valid(raw, width, code, repaired):
    assert normalize_code(raw, width) == (code, repaired)


@pytest.mark.parametrize("raw,width", NOT_REPAIRED)
def test_normalize_code_leaves_ambiguous_codes_alone(raw, width):
    code, repaired = normalize_code(raw, width)
    assert not repaired and len(code) != width or code == str(raw).strip()


@pytest.mark.parametrize("code,parent", [("75101", "75056"), ("75120", "75056"), ("69381", "69123"),
                                         ("69389", "69123"), ("13201", "13055"), ("13216", "13055"),
                                         ("75056", None), ("13217", None), ("31555", None), ("69380", None)])
def test_plm_parent(code, parent):
    assert plm_parent(code) == parent


def test_fold_ignores_case_accents_and_separators():
    assert fold("Type_Territoire") == fold("type territoire") == "typeterritoire"
    assert fold("Département") == "departement"
