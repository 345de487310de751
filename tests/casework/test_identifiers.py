"""DOMAIN.md §4: every table row is a test row."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.errors import IdentifierError
from casework.identifiers import (
    DivisionLevel,
    Gender,
    PhoneKind,
    TownshipKind,
    VillageKind,
    case_number,
    check_citizen_id,
    check_credit_code,
    check_division_code,
    check_phone,
    citizen_id_check_char,
    citizen_id_problem,
    credit_code_check_char,
    credit_code_problem,
    implementation_code,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_text,
    organisation_code_check_char,
    phone_problem,
    upgrade_citizen_id_15,
)

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("value", "gender", "birth"),
    [
        ("11010519491231002X", Gender.FEMALE, dt.date(1949, 12, 31)),
        ("440524188001010014", Gender.MALE, dt.date(1880, 1, 1)),
        ("330110198503121236", Gender.MALE, dt.date(1985, 3, 12)),
        ("33011020000229004X", Gender.FEMALE, dt.date(2000, 2, 29)),
        ("513434196001010813", Gender.MALE, dt.date(1960, 1, 1)),
    ],
)
def test_citizen_id_valid_rows_of_domain_table(value, gender, birth):
    parsed = check_citizen_id(value, today=TODAY)
    assert parsed.number == value
    assert parsed.gender is gender
    assert parsed.birth_date == birth
    assert parsed.region_code == value[:6]
    assert citizen_id_problem(value, today=TODAY) is None


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("330110198503121230", "id_number_check_digit"),  # wrong check digit
        ("330110198502301230", "id_number_birth_date"),  # 2 月 30 日
        ("330110198503122136", "id_number_check_digit"),  # two digits transposed
        ("33011019850312123", "id_number_format"),  # 17 characters
        ("3301101985031212X6", "id_number_format"),  # X not at the end
        ("000110198503121236", "id_number_province"),  # no province 00
    ],
)
def test_citizen_id_invalid_rows_are_rejected_with_a_reason(value, code):
    with pytest.raises(IdentifierError) as raised:
        check_citizen_id(value, today=TODAY)
    assert raised.value.code == code
    problem = citizen_id_problem(value, today=TODAY)
    assert problem is not None and problem.code == code
    assert problem.text("zh") and problem.text("en") and problem.text("zh") != problem.text("en")


def test_citizen_id_legacy_15_digits_upgrade_to_the_domain_vector():
    assert upgrade_citizen_id_15("330110850312123") == "330110198503121236"
    parsed = check_citizen_id("330110850312123", today=TODAY)
    assert parsed.number == "330110198503121236"
    assert parsed.upgraded_from == "330110850312123"


def test_citizen_id_birth_date_in_the_future_is_rejected():
    body = "330110" + "20261124" + "123"
    future = body + citizen_id_check_char(body)
    with pytest.raises(IdentifierError) as raised:
        check_citizen_id(future, today=TODAY)
    assert raised.value.code == "id_number_future_birth"
    assert check_citizen_id(future, today=dt.date(2026, 11, 24)).birth_date == dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_citizen_id_input_is_normalised_lowercase_x_spaces_dashes_full_width(typed):
    assert check_citizen_id(typed, today=TODAY).number == "11010519491231002X"


def test_citizen_id_demo_prefix_only_when_allowed():
    body = "990101198001011" + "23"
    demo = body + citizen_id_check_char(body)
    assert citizen_id_problem(demo, today=TODAY).code == "id_number_province"
    assert check_citizen_id(demo, today=TODAY, allow_demo_prefix=True).province_code == "99"


def test_citizen_id_weights_follow_the_standard():
    # The two examples printed in GB 11643-1999 fix the algorithm.
    assert citizen_id_check_char("11010519491231002") == "X"
    assert citizen_id_check_char("44052418800101001") == "4"


def test_masking_for_screens_and_prints():
    assert mask_id_number("330110198503121236") == "3301**********1236"
    assert check_citizen_id("330110198503121236", today=TODAY).masked == "3301**********1236"
    assert mask_id_number("91330110MA2H3K7Q4H") == "9133**********7Q4H"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("0571-88886666") == "057*****6666"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧阳**"


@pytest.mark.parametrize(
    "value",
    [
        "91330110MA2H3K7Q4H",
        "113301100025481335",
        "54330110MEA0770231",
        "N233011033011000XL",
        "91350100M000100Y43",
    ],
)
def test_credit_code_valid_rows_of_domain_table(value):
    parsed = check_credit_code(value)
    assert parsed.code == value
    assert parsed.division_code == value[2:8]
    assert credit_code_problem(value.lower()) is None


def test_credit_code_one_digit_changed_is_rejected():
    with pytest.raises(IdentifierError) as raised:
        check_credit_code("91330210MA2H3K7Q4H")
    assert raised.value.code in {"credit_code_check_char", "credit_code_org_check"}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91330110MA2H3K7Q4", "credit_code_format"),
        ("91330110MA2H3K7QIH", "credit_code_format"),  # I is not in the alphabet
        ("91330110MA2H3K7Q5H", "credit_code_org_check"),  # inner organisation code check fails
    ],
)
def test_credit_code_structure_and_inner_check(value, code):
    assert credit_code_problem(value).code == code


def test_credit_code_weights_and_inner_org_code_example():
    assert organisation_code_check_char("D2143569") == "X"
    assert credit_code_check_char("91330110MA2H3K7Q4") == "H"
    assert check_credit_code("N233011033011000XL").organisation_code == "33011000X"


@pytest.mark.parametrize(
    ("code", "level", "township", "village", "parent"),
    [
        (
            "350322111201",
            DivisionLevel.VILLAGE,
            TownshipKind.TOWN,
            VillageKind.VILLAGE_COMMITTEE,
            "350322111000",
        ),
        (
            "220581102001",
            DivisionLevel.VILLAGE,
            TownshipKind.TOWN,
            VillageKind.RESIDENTS_COMMITTEE,
            "220581102000",
        ),
        (
            "220581102200",
            DivisionLevel.VILLAGE,
            TownshipKind.TOWN,
            VillageKind.VILLAGE_COMMITTEE,
            "220581102000",
        ),
        (
            "370911114201",
            DivisionLevel.VILLAGE,
            TownshipKind.TOWN,
            VillageKind.VILLAGE_COMMITTEE,
            "370911114000",
        ),
        ("330110001000", DivisionLevel.TOWNSHIP, TownshipKind.SUBDISTRICT, None, "330110000000"),
        ("330110201000", DivisionLevel.TOWNSHIP, TownshipKind.TOWNSHIP, None, "330110000000"),
        ("330110401000", DivisionLevel.TOWNSHIP, TownshipKind.SPECIAL_UNIT, None, "330110000000"),
        ("330110000000", DivisionLevel.COUNTY, None, None, "330100000000"),
        ("330100000000", DivisionLevel.PREFECTURE, None, None, "330000000000"),
        ("330000000000", DivisionLevel.PROVINCE, None, None, None),
        ("330110", DivisionLevel.COUNTY, None, None, "330100000000"),
    ],
)
def test_division_code_levels_ranges_and_padding(code, level, township, village, parent):
    parsed = check_division_code(code)
    assert parsed.level is level
    assert parsed.township_kind is township
    assert parsed.village_kind is village
    assert parsed.parent == parent


@pytest.mark.parametrize(
    "code", ["330000001000", "330100000201", "33011000100", "3301100010001", "3301a0001000"]
)
def test_division_code_bad_padding_or_shape_is_rejected(code):
    with pytest.raises(IdentifierError) as raised:
        check_division_code(code)
    assert raised.value.code == "division_code_format"


def test_division_code_demo_prefix_is_marked_and_can_be_refused():
    assert check_division_code("990101101000").is_demo
    with pytest.raises(IdentifierError):
        check_division_code("990101101000", allow_demo_prefix=False)
    assert check_division_code("330000000000").contains(check_division_code("330110001000"))
    assert not check_division_code("330110001000").contains(check_division_code("330110002000"))


def test_implementation_code_and_case_number_follow_the_demo_pattern():
    impl = implementation_code("990101101000", "GF00201001")
    assert impl == "990101101000-GF00201001"
    assert case_number(impl, dt.date(2026, 11, 23), "V01", 7) == "990101101000-GF00201001-20261123-V01-0007"
    with pytest.raises(IdentifierError):
        case_number(impl, dt.date(2026, 11, 23), "v01", 7)


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("13800138000", "13800138000", PhoneKind.MOBILE),
        ("19912345678", "19912345678", PhoneKind.MOBILE),
        ("+86 138-0013-8000", "13800138000", PhoneKind.MOBILE),
        ("0086 13800138000", "13800138000", PhoneKind.MOBILE),
        ("１３８ ００１３ ８０００", "13800138000", PhoneKind.MOBILE),
        ("0571-88886666", "0571-88886666", PhoneKind.LANDLINE),
        ("057188886666", "0571-88886666", PhoneKind.LANDLINE),
        ("010 12345678", "010-12345678", PhoneKind.LANDLINE),
        ("(010)8888-6666", "010-88886666", PhoneKind.LANDLINE),
        ("+86 571 88886666", "0571-88886666", PhoneKind.LANDLINE),
        ("0571-8888666", "0571-8888666", PhoneKind.LANDLINE),
    ],
)
def test_phone_numbers_are_normalised(raw, number, kind):
    parsed = check_phone(raw)
    assert (parsed.number, parsed.kind) == (number, kind)


@pytest.mark.parametrize("raw", ["12012345678", "1380013800", "138001380001", "0571-888866", "abc"])
def test_phone_numbers_invalid(raw):
    assert phone_problem(raw).code == "phone_format"


def test_phone_extension_is_kept():
    parsed = check_phone("0571-88886666转123")
    assert parsed.extension == "123" and parsed.number == "0571-88886666"


def test_hotline_allowed_only_as_office_contact():
    assert phone_problem("12345").code == "phone_hotline_not_personal"
    assert check_phone("12345", office=True).kind is PhoneKind.HOTLINE


def test_text_is_nfc_and_trimmed():
    decomposed = "e\u0301"
    assert normalize_text(f"  {decomposed} ") == "\u00e9"


def test_code_tables_of_domain_section_4():
    from casework.identifiers import (
        CREDIT_CODE_PREFIXES,
        ID_DOCUMENT_TYPES,
        URBAN_RURAL_CODES,
        credit_code_kind,
    )

    assert ID_DOCUMENT_TYPES["111"][0] == "居民身份证" and set(ID_DOCUMENT_TYPES) == {
        "111",
        "113",
        "414",
        "990",
    }
    assert set(URBAN_RURAL_CODES) == {"111", "112", "121", "122", "123", "210", "220"}
    assert credit_code_kind(check_credit_code("N233011033011000XL"))[0] == "村级集体经济组织"
    assert credit_code_kind(check_credit_code("91330110MA2H3K7Q4H"))[1] == "Enterprise"
    assert {"11", "12", "13", "51", "52", "53", "91", "92", "93", "N1", "N2", "N3", "Y1"} <= set(
        CREDIT_CODE_PREFIXES
    )


def test_gender_codes_follow_gb_t_2261():
    assert [(g.value, g.zh) for g in Gender] == [(0, "未知"), (1, "男"), (2, "女"), (9, "未说明")]
