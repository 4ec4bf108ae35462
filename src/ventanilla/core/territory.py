"""Loads the official territory shipped in ``core/data`` (CUT codes, see SOURCE.md)."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# North to south, as regions are usually listed in Chilean forms.
REGION_ORDER = ["15", "01", "02", "03", "04", "05", "13", "06", "07", "16", "08", "09", "14",
                "10", "11", "12"]


def load_territory(region_model, province_model, comuna_model) -> None:
    """Insert or update every region, province and comuna. Idempotent."""
    with open(DATA_DIR / "cl_regiones.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            region_model.objects.update_or_create(
                code=row["region_code"],
                defaults={
                    "name": row["region_name"],
                    "short_name": row["region_short_name"],
                    "iso_code": row["iso_3166_2"],
                    "holidays_subdiv": row["holidays_subdiv"],
                    "position": REGION_ORDER.index(row["region_code"]),
                },
            )
    with open(DATA_DIR / "cl_comunas.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            province_model.objects.update_or_create(
                code=row["province_code"],
                defaults={"name": row["province_name"], "region_id": row["region_code"]},
            )
            comuna_model.objects.update_or_create(
                code=row["comuna_code"],
                defaults={
                    "name": row["comuna_name"],
                    "province_id": row["province_code"],
                    "region_id": row["region_code"],
                },
            )
