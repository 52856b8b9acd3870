"""The browsable API docs work offline: Swagger UI is served by the app itself."""

import pytest


@pytest.mark.django_db
def test_docs_page_uses_local_assets(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn.jsdelivr.net" not in html
