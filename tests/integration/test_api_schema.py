"""The CRM API against its own OpenAPI description, with schemathesis (issue 12).

A real ``robot serve`` on a free loopback port with a real Redis (the session's server, a
database of its own). Schemathesis generates valid and invalid requests for every operation of
``/api/v1/openapi.json`` and, in the stateful run, follows the document's links (create an
order, then read, explain, patch and cancel it; list a phone, then read and remove it).
Checked on every response: no 5xx, status code and body as documented, JSON content type, and
every 4xx is an ``ApiError`` that names the bad input when a field is to blame. Bounded by
hypothesis example counts, not by time (about 2 000 requests in all).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.stateful import run_state_machine_as_test
from redis import Redis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from robot.config import Settings
from robot.testing import free_port
from robot.web.api.openapi import OPERATIONS, build_document
from robot.web.app import make_web_app

REPO = Path(__file__).resolve().parents[2]
TOKEN = "schema-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES_PER_OPERATION = 80
STATEFUL_EXAMPLES = 60


@pytest.fixture(scope="module")
def api_redis_url(redis_server) -> str:
    return redis_server.url.rsplit("/", 1)[0] + "/9"  # a database of its own


@pytest.fixture(scope="module")
def api_url(api_redis_url, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOZVON_")}
    env.update(
        DOZVON_REDIS_URL=api_redis_url,
        DOZVON_API_TOKEN=TOKEN,
        DOZVON_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        DOZVON_VAR_DIR=str(tmp_path_factory.mktemp("var")),
        DOZVON_SUPERVISORS="[]",
    )
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a start-up guard, not a timing assertion
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, "robot serve exited"
            assert time.monotonic() < deadline, "robot serve did not come up"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
    # The server must have logged no traceback for all that input.
    text = Path(log.name).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]


def _load(api_url: str):
    config = SchemathesisConfig.from_dict({"headers": AUTH, "generation": {"mode": "all"}})
    return schemathesis.openapi.from_url(
        api_url + "/api/v1/openapi.json", config=config, headers=AUTH
    )


@pytest.fixture(scope="module")
def api_schema(api_url):
    return _load(api_url)


# Values the document cannot express (a phone phonenumbers accepts, a supported language):
# the stateful run swaps them into generated order bodies so creates succeed and the links
# from a created order (read, explain, patch, cancel) get followed.
PHONES = ["+79161234567", "+74232123456", "+821012345678", "+74951234567"]


@pytest.fixture(scope="module")
def stateful_schema(api_url):
    schema = _load(api_url)

    @schema.hook
    def map_body(ctx, body):
        if isinstance(body, dict) and "phone" in body:
            body = {**body, "phone": PHONES[len(str(body.get("order_id", ""))) % len(PHONES)]}
            body.update(language="ru", currency="RUB")
            for name in ("callback_url", "timezone"):
                body.pop(name, None)
        return body

    return schema


COUNTS = {"cases": 0, "operations": set()}


def names_the_field(ctx, response, case) -> bool | None:
    """Every client error is an ApiError; a 422 (invalid field) names the field."""
    if not 400 <= response.status_code < 500:
        return None
    doc = response.json()
    assert isinstance(doc, dict) and doc.get("error") and doc.get("message"), doc
    if response.status_code == 422:
        assert doc.get("field"), doc
    return None


CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_schema_conformance", "response_headers_conformance")  # fmt: skip
load_all_checks()
CHECKS_USED = [CHECKS.get_one(n) for n in CHECK_NAMES] + [names_the_field]


def _cases() -> list[tuple[str, GenerationMode]]:
    """Valid input for every operation; invalid input where the document constrains some
    (a body, a query, the order id pattern): a bare string path parameter has no invalid
    value."""
    out = []
    for op in OPERATIONS:
        label = f"{op.method.upper()} {op.path}"
        out.append((label, GenerationMode.POSITIVE))
        if op.body is not None or op.query or "{order_id}" in op.path:
            out.append((label, GenerationMode.NEGATIVE))
    return out


@pytest.mark.parametrize(("operation", "mode"), _cases())
def test_every_operation_conforms(api_schema, operation, mode):
    method, path = operation.split(" ", 1)
    endpoint = api_schema[path][method]

    @given(case=endpoint.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])  # fmt: skip
    def run(case):
        COUNTS["cases"] += 1
        COUNTS["operations"].add(operation)
        case.call_and_validate(headers=AUTH, checks=CHECKS_USED)

    run()


def _run(workflow) -> None:
    run_state_machine_as_test(
        workflow,
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            # No shrinking or replay: the server keeps state between runs (a repeated id is a
            # duplicate), so a replayed sequence could not draw the same steps.
            phases=[Phase.generate],
            derandomize=True,  # the same sequences every run
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )


def test_stateful_links(stateful_schema, api_redis_url):
    machine = stateful_schema.as_state_machine()
    seen: dict[str, int] = {}
    failures: list[str] = []
    redis = Redis.from_url(api_redis_url)

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def setup(self):
            # Each sequence starts from an empty store, so a sequence Hypothesis replays
            # meets the same answers (a repeated order id would otherwise be a duplicate).
            redis.flushdb()

        def get_call_kwargs(self, case):
            return {"headers": AUTH}

        def validate_response(self, response, case, **kwargs):
            key = f"{case.method} {case.path} {response.status_code}"
            if response.status_code == 422:
                key += " " + str(response.json().get("field"))
            seen[key] = seen.get(key, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS_USED)
            except Exception as e:
                failures.append(f"{key}: {e}"[:2000])
                raise

    try:
        _run(Workflow)
    except Exception:
        if failures:
            pytest.fail("\n\n".join(failures[:3]))
        raise
    finally:
        redis.close()

    calls = sum(seen.values())
    print(
        f"schemathesis: {COUNTS['cases']} generated cases over "
        f"{len(COUNTS['operations'])} operations; stateful: {calls} calls"
    )
    print(" ", dict(sorted(seen.items())))
    # The links were followed: orders created in the run were read, explained, changed or
    # cancelled by their id (a 2xx needs an id the server knows).
    linked = [k for k in seen if k.split()[1].startswith("/api/v1/orders/{order_id}")
              and k.split()[2].startswith("2")]  # fmt: skip
    assert linked, seen


def test_the_document_describes_exactly_the_served_api(store):
    """No drift: every /api/v1 route of the application is described, and nothing else."""
    app = make_web_app(Settings(api_token=TOKEN), store)
    served = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/")
              and r.method != "HEAD"}  # fmt: skip
    served.discard(("get", "/api/v1/openapi.json"))
    described = {(op.method, op.path) for op in OPERATIONS if op.path.startswith("/api/v1/")}
    assert served == described
    doc = build_document()
    assert doc["openapi"] == "3.1.0"
    create = doc["paths"]["/api/v1/orders"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    order = doc["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert set(order["required"]) == {"order_id", "phone", "amount", "shop_name"}
    error = doc["components"]["schemas"]["ApiError"]
    assert set(error["properties"]) >= {"error", "field", "message"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
