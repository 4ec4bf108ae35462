import csv

import holidays
import pytest

from ventanilla.core.models import Comuna, Province, Region
from ventanilla.core.territory import DATA_DIR

pytestmark = pytest.mark.django_db


def test_counts():
    assert Region.objects.count() == 16
    assert Province.objects.count() == 56
    assert Comuna.objects.count() == 346


def test_codes_are_text_with_leading_zeros():
    iquique = Comuna.objects.get(code="01101")
    assert iquique.name == "Iquique"
    assert iquique.province_id == "011"
    assert iquique.region_id == "01"
    assert Region.objects.get(code="01").name == "Región de Tarapacá"
    assert not Comuna.objects.filter(code="1101").exists()
    assert all(len(code) == 5 for code in Comuna.objects.values_list("code", flat=True))
    assert all(len(code) == 3 for code in Province.objects.values_list("code", flat=True))
    assert all(len(code) == 2 for code in Region.objects.values_list("code", flat=True))


def test_denormalised_region_matches_province():
    mismatched = [
        comuna.code
        for comuna in Comuna.objects.select_related("province")
        if comuna.region_id != comuna.province.region_id
    ]
    assert mismatched == []
    # and the comuna code starts with its province's code, which starts with the region's
    for comuna in Comuna.objects.select_related("province"):
        assert comuna.code.startswith(comuna.province_id)
        assert comuna.province_id.startswith(comuna.region_id)


def test_nuble_exists_with_its_comunas():
    nuble = Region.objects.get(code="16")
    assert "Ñuble" in nuble.name
    names = set(nuble.comunas.values_list("name", flat=True))
    assert {"Chillán", "Chillán Viejo"} <= names
    assert len(names) == 21
    assert nuble.provinces.count() == 3


def test_every_region_has_provinces_and_comunas():
    for region in Region.objects.all():
        assert region.provinces.exists(), region.code
        assert region.comunas.exists(), region.code


def test_holidays_subdivisions_are_known_to_the_holidays_library():
    subdivs = list(Region.objects.values_list("holidays_subdiv", flat=True))
    assert len(set(subdivs)) == 16
    for subdiv in subdivs:
        calendar = holidays.country_holidays("CL", subdiv=subdiv, years=2026)
        assert len(calendar) > 0


def test_holidays_subdiv_rejects_unknown_values():
    # guards the previous test: the library really validates subdivisions
    with pytest.raises(NotImplementedError):
        holidays.country_holidays("CL", subdiv="XX")


def test_regions_ordered_north_to_south():
    codes = list(Region.objects.values_list("code", flat=True))
    assert codes[0] == "15"  # Arica y Parinacota
    assert codes[-1] == "12"  # Magallanes
    assert codes.index("16") == codes.index("07") + 1  # Ñuble between Maule and Biobío
    assert codes.index("16") == codes.index("08") - 1


def test_shipped_csv_has_346_rows():
    with open(DATA_DIR / "cl_comunas.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 346
    assert len({row["comuna_code"] for row in rows}) == 346
    assert len({row["province_code"] for row in rows}) == 56
    with open(DATA_DIR / "cl_regiones.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 16
