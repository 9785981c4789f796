"""The OpenAPI document and its pages: every request and response has a schema, and ``/docs`` and
``/redoc`` load only assets the app itself serves (so they work with no network)."""

import base64
import hashlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rolefit.apps import api_docs
from rolefit.apps.schemas import HealthOut, ProblemsOut, QuestionnaireOut, RefusalOut
from rolefit.instrument.items import load_instrument

from .helpers import LOCAL

#: Every operation of the REST API; a new endpoint fails the test until it is added here and documented.
OPERATIONS = {
    ("/healthz", "get"),
    ("/api/questionnaire", "get"),
    ("/api/predict", "post"),
    ("/api/predict/batch", "post"),
    ("/api/guide", "post"),
    ("/api/next-questions", "post"),
    ("/api/what-if", "post"),
    ("/api/role-facts", "get"),
}
#: What each asset of the documentation pages must be served as.
CONTENT_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
    ".json": {"application/json"},
}


@pytest.fixture(scope="module")
def client(champion):
    from rolefit.apps.web import create_app

    with TestClient(create_app(str(champion[1])), base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").json()


def refs(node):
    """Every ``$ref`` in a piece of the OpenAPI document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_operation_documents_its_request_and_every_response(spec):
    found = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert found == OPERATIONS
    for path, method in sorted(OPERATIONS):
        operation = spec["paths"][path][method]
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation.get("description"), where
        if method == "post":
            body = operation["requestBody"]
            assert body["required"], where
            assert list(body["content"]) == ["application/json"], where
            assert body["content"]["application/json"]["schema"], where
        else:
            assert "requestBody" not in operation, where
        assert "200" in operation["responses"], where
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            assert schema, f"{where} {status}: no schema"
            assert response["description"], f"{where} {status}"
    components = spec["components"]["schemas"]
    for ref in refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components, ref


def example_of(schema):
    """The body Swagger UI's "Try it out" starts from: the schema's example, or one built from its parts."""
    if "example" in schema:
        return schema["example"]
    if schema.get("type") == "array":
        return [example_of(schema["items"])]
    return {name: example_of(part) for name, part in schema.get("properties", {}).items()}


def test_every_documented_request_example_is_accepted(client, spec):
    """ "Try it out" works as it opens: each POST's example body gets 200 (an example Swagger makes up
    from the bounds alone has base_rate 0, which is refused)."""
    posts = [(path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops]
    assert len(posts) == 5
    for path, operation in posts:
        body = example_of(operation["requestBody"]["content"]["application/json"]["schema"])
        assert body, path
        response = client.post(path, json=body)
        assert response.status_code == 200, (path, body, response.text)
    assert all(op.get("summary") for ops in spec["paths"].values() for op in ops.values())


def test_healthz_and_questionnaire_name_their_models(spec):
    for path, model in (("/healthz", "HealthOut"), ("/api/questionnaire", "QuestionnaireOut")):
        response = spec["paths"][path]["get"]["responses"]["200"]
        assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    items = spec["components"]["schemas"]["QuestionnaireOut"]["properties"]["items"]["items"]
    assert items["discriminator"]["propertyName"] == "kind"
    assert set(items["discriminator"]["mapping"]) == {"scale", "choice", "number", "count", "binary"}
    unit = spec["components"]["schemas"]["NumberItemOut"]["properties"]["unit"]
    assert unit["type"] == "string" and "default" not in unit  # absent, never null
    refusals = spec["paths"]["/api/predict"]["post"]["responses"]
    for status, model in (
        ("408", "RefusalOut"),
        ("413", "RefusalOut"),
        ("415", "RefusalOut"),
        ("422", "ProblemsOut"),
    ):
        schema = refusals[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, status


def test_replies_match_their_documented_models(client):
    health = client.get("/healthz")
    assert health.headers["content-type"] == "application/json"
    HealthOut.model_validate(health.json())
    questionnaire = client.get("/api/questionnaire")
    assert questionnaire.headers["content-type"] == "application/json"
    assert questionnaire.json() == load_instrument().to_dict()  # the reply itself is unchanged
    parsed = QuestionnaireOut.model_validate(questionnaire.json())
    assert {type(item).__name__ for item in parsed.items} == {
        "ScaleItemOut", "ChoiceItemOut", "NumberItemOut", "BinaryItemOut"
    }  # fmt: skip
    invalid = client.post("/api/predict", json={"interest_math": 9})
    assert invalid.status_code == 422
    ProblemsOut.model_validate(invalid.json())
    unknown_role = client.get("/api/role-facts", params={"role": "cto"})
    assert unknown_role.status_code == 422
    ProblemsOut.model_validate(unknown_role.json())
    not_json = client.post("/api/predict", content=b"{}", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    RefusalOut.model_validate(not_json.json())


def same_origin_references(html: str) -> list[str]:
    """Every URL a documentation page loads (scripts, styles, icons, the OpenAPI document), each
    checked to be a path on the page's own origin."""
    assert not re.search(r"(?i)\b(?:https?|wss?|ftp):", html), "an absolute URL to another host"
    found = re.findall(r"""(?:\bsrc|\bhref|spec-url)\s*=\s*["']([^"']*)["']|\burl:\s*'([^']*)'""", html)
    urls = [a or b for a, b in found]
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    return urls


def check_policy(reply) -> None:
    """The page's Content-Security-Policy lets the browser load from the page's origin only, and
    allows each of its inline scripts by hash (and nothing else inline)."""
    policy = reply.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    for sources in directives.values():
        assert all(s in {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"} or s.startswith("'sha256-")
                   for s in sources), sources  # fmt: skip
    assert "'unsafe-inline'" not in directives["script-src"]
    inline = re.findall(r"<script>(.*?)</script>", reply.text, re.DOTALL)
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    assert set(directives["script-src"]) == {"'self'", *hashes}


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"/openapi.json", "/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css",
                   "/docs-assets/favicon.png"}),
        ("/redoc", {"/openapi.json", "/docs-assets/redoc.standalone.js", "/docs-assets/favicon.png"}),
    ],
)  # fmt: skip
def test_docs_pages_load_only_assets_the_app_serves(client, page, expected):
    reply = client.get(page)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "fonts.googleapis" not in reply.text and "cdn.jsdelivr" not in reply.text
    check_policy(reply)
    urls = same_origin_references(reply.text)
    assert set(urls) == expected
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        media = asset.headers["content-type"].split(";")[0].strip()
        assert media in CONTENT_TYPES[url[url.rindex(".") :]], (url, media)
        assert len(asset.content) > 1000, url


def test_swagger_ui_validator_is_off_and_the_oauth2_redirect_is_local(client):
    page = client.get("/docs").text
    assert '"validatorUrl": null' in page
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    check_policy(redirect)
    same_origin_references(redirect.text)


def test_docs_pages_follow_a_proxy_prefix(champion):
    from rolefit.apps.web import create_app

    with TestClient(create_app(str(champion[1])), root_path="/rolefit", base_url=LOCAL) as prefixed:
        for page in ("/docs", "/redoc"):
            urls = same_origin_references(prefixed.get(page).text)
            assert urls and all(url.startswith("/rolefit/") for url in urls), urls


def test_fastapi_cdn_pages_must_be_turned_off():
    with pytest.raises(ValueError, match="docs_url=None"):
        api_docs.add_offline_docs(FastAPI())
    app = FastAPI(docs_url=None, redoc_url=None)
    api_docs.add_offline_docs(app)
    assert TestClient(app).get("/docs-assets/favicon.png").status_code == 200
