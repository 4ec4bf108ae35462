import pytest
from rest_framework.test import APIClient

from tests.factories import OrganizationFactory, make_catalog

BASE = "/api/v1/catalog/"


@pytest.mark.django_db
class TestCatalogs:
    def test_global_catalogs_anonymous(self):
        client = APIClient()
        regions = client.get(f"{BASE}regions/").json()
        assert len(regions) == 16
        comunas = client.get(f"{BASE}comunas/", {"region": "13"}).json()
        assert len(comunas) == 52 and {c["region"] for c in comunas} == {"13"}
        assert len(client.get(f"{BASE}comunas/").json()) == 346
        codes = {c["code"] for c in client.get(f"{BASE}channels/").json()}
        assert {"web", "api", "phone"} <= codes

    def test_institution_catalogs_need_institution_for_anonymous(self, catalog):
        client = APIClient()
        assert client.get(f"{BASE}types/").status_code == 400
        assert client.get(f"{BASE}types/", {"institution": "no-existe"}).status_code == 404
        slug = catalog["institution"].slug
        types = client.get(f"{BASE}types/", {"institution": slug}).json()
        assert {t["code"] for t in types} == {"reclamo", "sugerencia"}
        topics = client.get(f"{BASE}topics/", {"institution": slug}).json()
        assert [t["id"] for t in topics] == [catalog["topic"].pk]
        assert len(client.get(f"{BASE}requester-types/", {"institution": slug}).json()) == 1

    def test_organizations_scoped_to_key_institution(self, catalog, key_client):
        other = make_catalog()
        OrganizationFactory(institution=other["institution"])
        response = key_client.get(f"{BASE}organizations/",
                                  {"institution": other["institution"].slug})
        assert [o["id"] for o in response.json()] == [catalog["organization"].pk]
