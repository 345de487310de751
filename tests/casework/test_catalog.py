"""The catalog model, the file format's error reporting and the demo catalog of DOMAIN.md §7."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from pypinyin import Style, lazy_pinyin

from casework.catalog import (
    HandlingKind,
    ItemType,
    Level,
    MaterialForm,
    bundle_materials,
    demo_catalog,
    load_catalog,
    merge_materials,
    search_items,
    validate_catalog,
)
from casework.errors import CatalogFormatError, UnknownItemError

DEMO_TEXT = resources.files("casework").joinpath("data/demo_catalog.json").read_text("utf-8")
DOMAIN_CODES = [
    "GG00101000",
    "GF00102000",
    "GG00103000",
    "GF00104000",
    "GF00201000",
    "QR00202000",
    "GF00203000",
    "GF00301000",
    "GG00302000",
    "GF00401001",
    "GF00401002",
    "QR00402000",
    "XK00501000",
    "XK00502000",
    "GF00503000",
    "GF00504000",
    "GG00601000",
    "GF00602000",
    "YJ00001000",
    "YJ00002000",
    "QR00701000",
    "GG00801000",
    "GG00802000",
    "GF00901000",
    "GG00902000",
]


def demo_doc():
    return json.loads(DEMO_TEXT)


def test_demo_catalog_validates_and_holds_every_domain_item():
    catalog = demo_catalog()
    codes = {item.code for item in catalog.current_items()}
    assert codes == set(DOMAIN_CODES)
    assert validate_catalog(DEMO_TEXT) == []
    placeholder = catalog.item("QT00001000", 1)
    assert not placeholder.active
    with pytest.raises(UnknownItemError):
        catalog.item("QT00001000")


def test_demo_catalog_has_at_least_five_immediate_items_finishable_at_a_township():
    immediate = [i for i in demo_catalog().current_items() if i.handling_kind is HandlingKind.IMMEDIATE]
    assert len(immediate) >= 5
    assert all(i.promised_limit_days == 0 for i in immediate)


@pytest.mark.parametrize(
    ("code", "legal", "promised", "decision", "kind"),
    [
        ("GF00201000", 30, 25, Level.COUNTY, HandlingKind.PROMISED),
        ("QR00202000", 40, 30, Level.COUNTY, HandlingKind.PROMISED),
        ("XK00501000", 20, 15, Level.TOWNSHIP, HandlingKind.PROMISED),
        ("XK00502000", 20, 5, Level.TOWNSHIP, HandlingKind.PROMISED),
        ("QR00402000", None, 20, Level.COUNTY, HandlingKind.REPORTED),
        ("YJ00001000", None, 5, Level.COUNTY, HandlingKind.JOINT),
        ("GG00802000", 7, 5, Level.COUNTY, HandlingKind.REPORTED),
        ("GG00101000", None, 0, Level.TOWNSHIP, HandlingKind.IMMEDIATE),
    ],
)
def test_demo_items_carry_domain_limits_and_levels(code, legal, promised, decision, kind):
    item = demo_catalog().item(code)
    assert (item.legal_limit_days, item.promised_limit_days, item.decision_level, item.handling_kind) == (
        legal,
        promised,
        decision,
        kind,
    )


def test_demo_item_flags_from_domain_table():
    catalog = demo_catalog()
    dibao = catalog.item("GF00201000")
    assert dibao.item_type is ItemType.PAYMENT and dibao.item_type.zh == "行政给付"
    assert dibao.publicity_days == 7 and not dibao.publicity_counts_toward_limit
    publicity = next(p for p in dibao.special_procedures if p.key == "publicity")
    assert publicity.calendar_days and not publicity.counts_toward_limit
    school = dibao.material("school_enrolment_proof")
    assert school.deferrable and school.promise_replaceable
    assert catalog.supply_days(school) == 5
    assert dibao.material("family_ids").shareable
    assert catalog.item("XK00501000").extension_days == 10
    assert catalog.item("QR00402000").requires_personal_appearance
    assert not catalog.item("GG00601000").requires_personal_appearance
    assessment = catalog.item("QR00402000").special_procedures[0]
    assert assessment.key == "disability_assessment" and not assessment.counts_toward_limit


def test_name_initials_match_pypinyin():
    for item in demo_catalog().items:
        expected = "".join(
            ch
            for part in lazy_pinyin(item.name_zh, style=Style.FIRST_LETTER, errors="ignore")
            for ch in part.lower()
            if ch.isascii() and ch.isalnum()
        )
        assert item.name_initials == expected, item.code


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("GF00201000", "GF00201000"),
        ("gf002", "GF00201000"),
        ("低保", "GF00201000"),
        ("zdshbz", "GF00201000"),
        ("宅基地", "XK00501000"),
        ("tree-felling", "XK00502000"),
        ("ＧＧ００６", "GG00601000"),
    ],
)
def test_search_by_code_name_initials_and_english(query, first):
    assert search_items(demo_catalog(), query)[0].code == first


def test_search_by_life_event():
    catalog = demo_catalog()
    births = {i.code for i in search_items(catalog, "", life_event="birth")}
    assert {"YJ00001000", "GG00601000", "GG00103000"} <= births
    assert "XK00501000" not in births
    assert {i.code for i in search_items(catalog, "身后事")} == {"YJ00002000"}
    assert search_items(catalog, "no such thing at all") == []


def test_bundle_asks_a_shared_material_once_with_the_strictest_flags():
    catalog = demo_catalog()
    merged = bundle_materials(catalog, "YJ00003000")
    keys = [m.material.key for m in merged]
    assert len(keys) == len(set(keys))
    ids = next(m for m in merged if m.material.key == "id_or_household")
    assert ids.for_items == ("QR00402000", "GF00401001", "GF00401002")
    card = next(m for m in merged if m.material.key == "social_security_card")
    assert card.for_items == ("GF00401001", "GF00401002") and card.material.deferrable


def test_merge_materials_strictest_rules():
    catalog = demo_catalog()
    merged = {
        m.material.key: m for m in merge_materials([catalog.item("GF00104000"), catalog.item("GF00203000")])
    }
    # bank_account is deferrable in both; id_card shareable in both
    assert merged["bank_account"].material.deferrable
    assert merged["id_card"].for_items == ("GF00104000", "GF00203000")
    newborn = catalog.item("YJ00001000")
    reg = catalog.item("GG00103000")
    joined = {m.material.key: m.material for m in merge_materials([newborn, reg])}
    # optional in the registration item, required in the bundle item: required wins; shareable in both
    assert joined["birth_medical_certificate"].required and joined["birth_medical_certificate"].shareable


def test_item_versions_are_pinned():
    doc = demo_doc()
    newer = copy.deepcopy(next(i for i in doc["items"] if i["code"] == "GF00201000"))
    newer["version"] = 2
    newer["promised_limit_days"] = 20
    doc["items"].append(newer)
    catalog = load_catalog(doc)
    assert catalog.item("GF00201000").version == 2
    assert catalog.item("GF00201000", 1).promised_limit_days == 25
    assert catalog.item("GF00201000").promised_limit_days == 20
    with pytest.raises(UnknownItemError):
        catalog.item("GF00201000", 3)


def _problem_paths(doc_or_text):
    with pytest.raises(CatalogFormatError) as raised:
        load_catalog(doc_or_text)
    return raised.value


def test_format_error_names_path_and_line_for_a_decimal_number():
    text = DEMO_TEXT.replace('"copies": 2', '"copies": 2.5', 1)
    error = _problem_paths(text)
    problem = error.problems[0]
    assert problem.message.code == "decimal_not_allowed"
    assert problem.path.startswith("$.items[") and problem.path.endswith(".copies")
    lines = text.splitlines()
    assert problem.line is not None and lines[problem.line - 1].strip() == "{"
    assert "copies" in "".join(lines[problem.line - 1 : problem.line + 12])
    assert "line" in error.describe("en") and "行" in error.describe("zh")


def test_format_error_for_text_that_is_not_json_names_the_line():
    error = _problem_paths('{\n "format": "yiciban.catalog/1",\n "items": [,]\n}')
    assert error.problems[0].message.code == "not_json"
    assert error.problems[0].line == 3


@pytest.mark.parametrize(
    ("mutate", "path_suffix", "code"),
    [
        (lambda i: i.update(promised_limit_days=40), ".promised_limit_days", "promise_exceeds_legal"),
        (lambda i: i.update(handling_kind="immediate"), ".handling_kind", "immediate_means_zero"),
        (lambda i: i.update(code="gf00201000"), ".code", "bad_item_code"),
        (lambda i: i.update(item_type="tax"), ".item_type", "not_a_choice"),
        (lambda i: i.update(colour="red"), ".colour", "unknown_field"),
        (lambda i: i.pop("requires_personal_appearance"), ".requires_personal_appearance", "missing_field"),
        (
            lambda i: i["materials"][5].update(supply_days=30),
            ".materials[5].supply_days",
            "supply_beyond_promise",
        ),
        (
            lambda i: i["materials"][0].update(supply_days=3),
            ".materials[0].supply_days",
            "supply_without_deferral",
        ),
        (lambda i: i["materials"][0].update(copies="two"), ".materials[0].copies", "wrong_type"),
        (lambda i: i["life_events"].append("moon_landing"), ".life_events[1]", "unknown_life_event"),
        (lambda i: i.update(receiving_levels=[]), ".receiving_levels", "empty_list"),
    ],
)
def test_item_validation_names_the_field_at_fault(mutate, path_suffix, code):
    doc = demo_doc()
    index = next(n for n, i in enumerate(doc["items"]) if i["code"] == "GF00201000")
    mutate(doc["items"][index])
    problems = validate_catalog(json.dumps(doc, ensure_ascii=False, indent=1))
    assert any(p.path == f"$.items[{index}]{path_suffix}" and p.message.code == code for p in problems), (
        problems
    )
    assert all(p.line is not None for p in problems)


def test_duplicate_item_version_and_bad_bundle_member_are_reported():
    doc = demo_doc()
    doc["items"].append(copy.deepcopy(doc["items"][0]))
    doc["bundles"][0]["item_codes"].append("ZZ99999999")
    codes = {p.message.code for p in validate_catalog(doc)}
    assert {"duplicate_item", "unknown_member"} <= codes


def test_wrong_format_tag_is_reported():
    doc = demo_doc()
    doc["format"] = "something/2"
    assert [p.message.code for p in validate_catalog(doc)] == ["unsupported_format"]


def test_material_forms_parse():
    item = demo_catalog().item("GG00802000")
    assert item.material("case_documents").form is MaterialForm.COPY
    assert item.material("form_legal_aid").form is MaterialForm.ORIGINAL


def test_dump_and_load_round_trip_is_canonical_friendly():
    from casework.catalog_format import dump_catalog

    catalog = demo_catalog()
    dumped = dump_catalog(catalog)
    assert load_catalog(dumped) == catalog
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert load_catalog(text) == catalog


def test_search_bundles_by_name_initials_and_life_event():
    from casework.catalog import search_bundles

    catalog = demo_catalog()
    assert [b.code for b in search_bundles(catalog, "残疾人")] == ["YJ00003000"]
    assert [b.code for b in search_bundles(catalog, "kn")] == ["YJ00004000"]  # 困难群众…
    assert [b.code for b in search_bundles(catalog, "养老")] == ["YJ00005000"]  # life event 养老
    assert len(search_bundles(catalog, "")) == len(catalog.bundles)


def test_a_province_sized_catalog_loads_without_quadratic_cost():
    import time

    doc = demo_doc()
    doc["items"] = [{**item, "version": v} for v in range(1, 41) for item in doc["items"]]
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    started = time.perf_counter()
    assert len(load_catalog(text).items) == 1040
    broken = text.replace('"copies": 2', '"copies": 2.5')
    problems = validate_catalog(broken)
    elapsed = time.perf_counter() - started
    assert sum(p.message.code == "decimal_not_allowed" for p in problems) == 40
    assert all(p.line for p in problems)
    assert elapsed < 5, elapsed  # ~0.7 s on the project machine; the old line counting took minutes here


def test_published_catalog_and_calendar_are_rfc8785_canonical_friendly():
    import rfc8785

    from casework.calendar import default_calendar
    from casework.catalog_format import dump_catalog

    for document in (dump_catalog(demo_catalog()), default_calendar().years[2026].to_json()):
        ours = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        assert rfc8785.dumps(document) == ours.encode("utf-8")


def test_every_service_object_the_format_accepts_has_a_chinese_and_an_english_label():
    from casework.catalog import SERVICE_OBJECT_LABELS, service_object_label
    from casework.catalog_format import SERVICE_OBJECTS

    assert set(SERVICE_OBJECT_LABELS) == SERVICE_OBJECTS
    used = {code for item in demo_catalog().items for code in item.service_objects}
    assert used and used <= SERVICE_OBJECTS
    assert service_object_label("natural_person") == "自然人"
    assert service_object_label("legal_person", "zh-CN") == "法人"
    assert service_object_label("other_organisation", "en") == "other organisations"
    for code in SERVICE_OBJECTS:
        assert not any(c.isascii() for c in service_object_label(code)), code
