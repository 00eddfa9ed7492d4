"""`outbound serve` as a subprocess, driven over HTTP: a whole campaign, bad requests, tenancy.

Each kind of store (SQLite, then PostgreSQL) gets one server for the module, set up the way an
operator would: accounts, users and tokens with `outbound admin`, the people and a millisecond
simulated network with `outbound campaigns load --draft`. Calls last a fraction of a second, so
a campaign of 60 contacts finishes in seconds. The engine adopts newly started campaigns on its
acquire tick (every 5 s), which bounds how fast any campaign here begins to dial.
"""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Outbound, contacts_csv, store_snapshot, wait_for

from outbound.api.auth import TOKEN_CACHE_SECONDS
from outbound.domain.governor import Limit
from outbound.domain.lifecycle import CampaignAction
from outbound.engine.report import CALLS_HEADER
from outbound.store import Store

TOKEN_CACHE_TTL = TOKEN_CACHE_SECONDS
ROLES = ("owner", "admin", "user")
TERMINAL = ("completed", "failed", "blocked", "abandoned")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALWAYS_OPEN = {"timezone": "UTC", "days": EVERY_DAY, "open": "00:00", "close": "24:00"}
CSV_CONTACTS = 50
JSON_CONTACTS = 10
ACME_DNC = "+12125550199"  # on Acme's do-not-call list from the scenario's dnc file
# What `outbound serve` exits with on SIGTERM: 0, after draining.
EXIT_ON_SIGTERM = (0,)

# The people and network of Acme. Its draft campaign "People" is Acme's resource the tenancy
# matrix points at; it is started once (over HTTP) so that Acme has calls and a recording.
PEOPLE_SCENARIO = """\
seed = 5

[campaign]
name = "People"
pacing = 20
concurrency = 10
attempts = 1
numbers = ["+14155550100"]
transfer = { department = "Sales" }
recording = true

[business_hours]
timezone = "UTC"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
open = "00:00"
close = "24:00"

[contacts]
generate = 12

[dnc]
file = "dnc.txt"

[[departments]]
name = "Sales"
agents = 10
handle_seconds = [0.1, 0.3]

[network]
answer = 0.5
busy = 0.2
no_answer = 0.3
invalid = 0
rejected = 0
provider_error = 0
ring_seconds = [0.02, 0.1]
talk_seconds = [0.05, 0.2]
"""


def campaign_body(name: str, **changes: Any) -> dict[str, Any]:
    """A campaign that can start at once: numbers, Sales as target, open around the clock."""
    return {"name": name, "pacing": 20, "concurrency": 10, "attempts": 2,
            "backoff_seconds": 1, "numbers": ["+14155550100", "+14155550101"],
            "transfer": {"department": "Sales"}, "business_hours": ALWAYS_OPEN} | changes


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `outbound serve`, the CLI on its store, and a client per token."""

    kind: str  # sqlite | postgres
    cli: Outbound
    process: subprocess.Popen[str]
    log: Path
    base_url: str
    database_url: str | None
    acme: int
    globex: int
    people: int  # Acme's campaign loaded from PEOPLE_SCENARIO
    tokens: dict[str, str]  # owner, admin, user (Acme) and globex (Globex's owner)
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def as_(self, who: str | None) -> httpx.Client:
        """A client with the token of `who` (a key of `tokens`), or with none."""
        key = who or "anonymous"
        if key not in self.clients:
            headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
            self.clients[key] = httpx.Client(base_url=self.base_url, headers=headers,
                                             timeout=30)
        return self.clients[key]

    def acme_path(self, rest: str) -> str:
        return f"/api/v1/accounts/{self.acme}{rest}"

    def assert_alive(self) -> None:
        assert self.process.poll() is None, (
            f"outbound serve exited {self.process.returncode}:\n"
            + self.log.read_text(encoding="utf-8"))

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        def alive_and(predicate: Callable[[], Any] = predicate) -> Any:
            self.assert_alive()
            return predicate()
        return wait_for(alive_and, timeout, what)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the store, read beside the server."""
        return store_snapshot(self.cli.db_path, self.database_url)


def _set_up_accounts(cli: Outbound, directory: Path) -> tuple[int, int, int, dict[str, str]]:
    """Acme with an owner, an admin and a user, and its people; Globex with an owner."""
    acme = int(cli.ok("admin", "create-account", "Acme", "--timezone", "UTC"))  # migrates
    globex = int(cli.ok("admin", "create-account", "Globex", "--timezone", "UTC"))
    directory.mkdir()
    scenario = directory / "people.toml"
    scenario.write_text(PEOPLE_SCENARIO, encoding="utf-8")
    (directory / "dnc.txt").write_text(f"{ACME_DNC}\n", encoding="utf-8")
    users = [("Acme", f"{role}@acme.test", role) for role in ROLES]
    users.append(("Globex", "owner@globex.test", "owner"))
    # Independent commands run side by side: each one is a Python start-up of about a second.
    with ThreadPoolExecutor(max_workers=5) as pool:
        loaded = pool.submit(cli.ok, "campaigns", "load", scenario, "--account", "Acme",
                             "--draft")
        list(pool.map(lambda u: cli.ok("admin", "create-user", u[0], u[1], "--role", u[2]),
                      users))
        minted = list(pool.map(lambda u: cli.ok("admin", "create-token", u[0], u[1]).strip(),
                               users))
        people = int(loaded.result())
    tokens = dict(zip([*ROLES, "globex"], minted, strict=True))
    return acme, globex, people, tokens


@pytest.fixture(scope="module")
def api(store_kind: str, empty_store: Callable[[str, Path], str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`outbound serve` on a fresh store of `store_kind`, stopped with SIGTERM at the end."""
    root = tmp_path_factory.mktemp(f"serve-{store_kind}")
    cli = Outbound(root)
    database_url = None
    if store_kind == "postgres":
        database_url = empty_store(store_kind, root)  # skips, with the reason, if PG is down
        cli.env["OUTBOUND_DATABASE_URL"] = database_url
    try:
        acme, globex, people, tokens = _set_up_accounts(cli, root / "scenario")
        port = free_port()
        log = root / "serve.log"
        process = cli.spawn("serve", "--port", str(port), log=log)
        server = Server(store_kind, cli, process, log, f"http://127.0.0.1:{port}",
                        database_url, acme, globex, people, tokens)

        def healthy() -> bool:
            try:
                return httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        server.wait_for(healthy, 30, "GET /healthz to answer 200")
        yield server
        for client in server.clients.values():
            client.close()
        server.assert_alive()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        assert code in EXIT_ON_SIGTERM, f"outbound serve exited {code} on SIGTERM:\n" + (
            log.read_text(encoding="utf-8"))
    finally:
        cli.close()


# -- helpers over HTTP -------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path} answered "
        f"{response.status_code}, not {status}: {response.text}")
    return response.json() if response.content else None


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The {"code", "message", "field"} of an error answer with `status`."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path} answered "
        f"{response.status_code}, not {status}: {response.text}")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    return dict(body["error"])


def create_campaign(api: Server, body: dict[str, Any]) -> str:
    """Create a campaign in Acme as its owner; the campaign's path."""
    created = ok(api.as_("owner").post(api.acme_path("/campaigns"), json=body), 201)
    return api.acme_path(f"/campaigns/{created['id']}")


def calls_rows(client: httpx.Client, path: str) -> list[dict[str, str]]:
    """The rows of a campaign's calls.csv, checking its header on the way."""
    response = client.get(f"{path}/calls.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert tuple(lines[0].split(",")) == CALLS_HEADER
    return list(csv.DictReader(io.StringIO(response.text)))


def all_contacts(client: httpx.Client, path: str, status: str, page: int = 7
                 ) -> list[dict[str, Any]]:
    """Every contact of a campaign in `status`, following the `next` cursor page by page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"status": status, "limit": page}
    for _ in range(1000):
        body = ok(client.get(f"{path}/contacts", params=params))
        assert len(body["items"]) <= page
        items.extend(body["items"])
        if body["next"] is None:
            return items
        assert len(body["items"]) == page, "a page before the last one must be full"
        params["after"] = body["next"]
    pytest.fail("the contacts cursor never ended")


# -- a whole campaign ---------------------------------------------------------------------


def test_a_campaign_created_uploaded_started_paused_resumed_finishes_and_exports_over_http(
    api: Server,
) -> None:
    owner = api.as_("owner")
    settings = campaign_body("Spring over HTTP")
    created = ok(owner.post(api.acme_path("/campaigns"), json=settings), 201)
    assert created["status"] == "draft"
    assert {k: created[k] for k in settings} == settings | {"pacing": 20.0,
                                                            "backoff_seconds": 1.0}
    path = api.acme_path(f"/campaigns/{created['id']}")
    try:
        _run_campaign(api, owner, path)
    finally:  # a campaign left running would disturb the module's other tests
        if ok(owner.get(path))["status"] in ("draft", "scheduled", "running", "paused"):
            owner.post(f"{path}/cancel")
            api.wait_for(lambda: ok(owner.get(f"{path}/stats"))["in_flight"] == 0, 15,
                         "the cancelled campaign's calls to end")


def _run_campaign(api: Server, owner: httpx.Client, path: str) -> None:
    total = CSV_CONTACTS + JSON_CONTACTS
    upload = ok(owner.post(f"{path}/contacts", files={
        "file": ("contacts.csv", contacts_csv(CSV_CONTACTS).encode(), "text/csv")}))
    assert (upload["rows"], upload["imported"], upload["invalid"]) == (CSV_CONTACTS,
                                                                       CSV_CONTACTS, 0)
    batch = [{"phone": f"+1415555{3000 + i}", "name": f"Batch {i}", "segment": "json"}
             for i in range(JSON_CONTACTS)]
    upload = ok(owner.post(f"{path}/contacts", json=batch))
    assert (upload["rows"], upload["imported"], upload["invalid"]) == (JSON_CONTACTS,
                                                                       JSON_CONTACTS, 0)
    assert ok(owner.get(path))["contacts"] == total

    assert ok(owner.post(f"{path}/start"))["status"] == "running"

    def stats() -> dict[str, Any]:
        return dict(ok(owner.get(f"{path}/stats")))

    moved = api.wait_for(lambda: (s := stats())["contacts"]["pending"] <= total - 5 and s,
                         20, "the stats to show dialing under way")
    assert moved["status"] == "running"
    assert moved["pacing"]["configured"] == 20.0

    assert ok(owner.post(f"{path}/pause"))["status"] == "paused"
    paused = api.wait_for(lambda: (s := stats())["in_flight"] == 0 and s, 15,
                          "the calls in flight at the pause to end")
    before = len(calls_rows(owner, path))
    left = paused["contacts"]["pending"] + paused["contacts"]["retry_queued"]
    assert left > 0, "the campaign ran out of contacts before the pause: nothing was tested"
    time.sleep(1.0)
    assert len(calls_rows(owner, path)) == before, "a call was placed while paused"
    assert stats()["status"] == "paused"

    assert ok(owner.post(f"{path}/resume"))["status"] == "running"
    api.wait_for(lambda: stats()["status"] == "completed", 60, "the campaign to complete")

    final = stats()
    counts = final["contacts"]
    assert sum(counts.values()) == total
    assert sum(counts[s] for s in TERMINAL) == total, counts
    assert final["in_flight"] == 0

    calls = calls_rows(owner, path)
    assert len(calls) > before, "no call was placed after the resume"
    per_contact: dict[int, list[dict[str, str]]] = {}
    for row in calls:
        per_contact.setdefault(int(row["contact_id"]), []).append(row)
    assert len(per_contact) == total - counts["blocked"]
    assert all(len(rows) <= 2 for rows in per_contact.values())
    assert final["answered"] == sum(1 for r in calls if r["answered_at"])

    completed = all_contacts(owner, path, "completed")
    failed = all_contacts(owner, path, "failed")
    assert len(completed) == counts["completed"] > 0
    assert len(failed) == counts["failed"]
    for page in (completed, failed):
        ids = [c["id"] for c in page]
        assert ids == sorted(set(ids)), "the cursor repeated or reordered contacts"
    assert {c["status"] for c in completed} == {"completed"}
    assert all(c["status"] == "failed" for c in failed)

    retried = next((cid for cid, rows in per_contact.items() if len(rows) == 2), None)
    assert retried is not None, "no contact was called twice: the retry was not exercised"
    contact = ok(owner.get(f"{path}/contacts/{retried}"))
    timeline = contact["timeline"]
    assert [t["attempt"] for t in timeline] == [1, 2]
    assert [t["outcome"] for t in timeline] == [r["outcome"] for r in per_contact[retried]]
    assert contact["attempts"] == 2

    recorded = next((r for r in calls if r["recording"]), None)
    assert recorded is not None, "no call was recorded"
    link = next(t["recording"] for t in ok(owner.get(
        f"{path}/contacts/{recorded['contact_id']}"))["timeline"] if t["recording"])
    assert link == api.acme_path(f"/recordings/{recorded['attempt_id']}")
    audio = owner.get(link)
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getnframes() > 0
        assert wav.getframerate() > 0


# -- bad requests -------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"pacing": 25}, "pacing", "from 1 to 20"),
    ({"colour": "red"}, "colour", ""),
    ({"business_hours": ALWAYS_OPEN | {"open": "25:00"}}, "business_hours.open", "HH:MM"),
], ids=["pacing-25", "unknown-key", "bad-open-time"])
def test_a_bad_setting_answers_422_naming_the_field_and_creates_nothing(
    api: Server, change: dict[str, Any], field: str, says: str,
) -> None:
    owner = api.as_("owner")
    before = ok(owner.get(api.acme_path("/campaigns"), params={"limit": 500}))["items"]

    error = error_of(owner.post(api.acme_path("/campaigns"),
                                json=campaign_body("Refused") | change), 422)

    assert error["code"] == "invalid"
    assert error["field"] == field
    assert says in error["message"]
    assert ok(owner.get(api.acme_path("/campaigns"), params={"limit": 500}))["items"] == before


def test_an_unknown_key_answers_422_listing_the_keys_allowed(api: Server) -> None:
    error = error_of(api.as_("owner").post(api.acme_path("/campaigns"),
                                           json=campaign_body("Refused") | {"colour": "red"}),
                     422)

    assert error["field"] == "colour"
    assert "pacing" in error["message"] and "business_hours" in error["message"]


def test_starting_a_campaign_without_numbers_or_transfer_answers_409_and_it_stays_a_draft(
    api: Server,
) -> None:
    owner = api.as_("owner")
    for missing in ("numbers", "transfer"):
        body = {k: v for k, v in campaign_body(f"Lacks {missing}").items() if k != missing}
        path = create_campaign(api, body)

        error = error_of(owner.post(f"{path}/start"), 409)

        assert error["code"] == "cannot_start"
        assert missing in error["message"]
        assert ok(owner.get(path))["status"] == "draft"


def test_the_accounts_abandon_message_is_read_and_set_over_http_within_500_characters(
    api: Server,
) -> None:
    owner, path = api.as_("owner"), api.acme_path("")
    assert ok(owner.get(path))["abandon_message"] is None  # the default wording

    error = error_of(owner.patch(path, json={"abandon_message": "x" * 501}), 422)
    assert error["field"] == "abandon_message" and "500" in error["message"]
    assert error_of(api.as_("user").patch(path, json={"abandon_message": "Hi"}), 403)
    assert ok(owner.get(path))["abandon_message"] is None  # neither changed it

    said = "This is Acme.  Call us on 415 555 0100.\nPress 9 to stop our calls."
    changed = ok(owner.patch(path, json={"abandon_message": said}))
    assert changed["abandon_message"] == " ".join(said.split())
    assert ok(api.as_("user").get(path)) == changed
    assert ok(owner.patch(path, json={"abandon_message": None}))["abandon_message"] is None


def test_an_action_the_status_does_not_allow_answers_409_and_changes_nothing(
    api: Server,
) -> None:
    owner = api.as_("owner")
    path = create_campaign(api, campaign_body("Never started"))

    for action in ("pause", "resume"):
        error = error_of(owner.post(f"{path}/{action}"), 409)
        assert error["code"] == "conflict"
        assert "draft" in error["message"]
    assert ok(owner.get(path))["status"] == "draft"


def test_a_request_without_a_token_or_with_a_revoked_one_answers_401(api: Server) -> None:
    token = api.cli.ok("admin", "create-token", "Acme", "admin@acme.test").strip()
    path = api.acme_path("/campaigns")
    with httpx.Client(base_url=api.base_url,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        ok(client.get(path))
        api.cli.ok("admin", "revoke-token", "Acme", "admin@acme.test", "--token", token)

        # A change is refused at once; a read may ride the server's token cache for its TTL.
        assert error_of(client.post(path, json=campaign_body("Revoked")), 401)
        wait_for(lambda: client.get(path).status_code == 401, TOKEN_CACHE_TTL + 1,
                 "the revoked token to be refused for reads")
        assert error_of(client.get(path), 401)["code"] == "unauthorized"
    assert error_of(api.as_(None).get(path), 401)["code"] == "unauthorized"
    assert ok(api.as_("admin").get(path))["items"], "revoking one token revoked the others"


def test_an_unknown_campaign_answers_404(api: Server) -> None:
    owner = api.as_("owner")
    for method, rest in (("GET", ""), ("GET", "/stats"), ("GET", "/calls.csv"),
                         ("POST", "/start"), ("DELETE", "")):
        error = error_of(owner.request(method, api.acme_path(f"/campaigns/987654{rest}")), 404)
        assert error["code"] == "not_found"


# -- tenancy ------------------------------------------------------------------------------

# Bodies that would succeed for an Owner of Acme, so a refusal that breaks shows as a change.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", ""): {"json": {"abandon_message": "Intruders were here."}},
    ("PUT", "/provider"): {"json": {"kind": "sim", "network": {"answer": 1, "busy": 0,
                                                               "no_answer": 0, "invalid": 0,
                                                               "rejected": 0,
                                                               "provider_error": 0}}},
    ("POST", "/phone-numbers"): {"json": {"numbers": ["+14155550177"]}},
    ("POST", "/departments"): {"json": {"name": "Intruders"}},
    ("POST", "/agents"): {"json": {"name": "Mallory", "department": "Sales"}},
    ("PATCH", "/agents/{agent_id}"): {"json": {"availability": "offline"}},
    ("POST", "/voice-menus"): {"json": {"name": "Intrusion", "prompt": "Press 1.",
                                        "options": {"1": "yes"}}},
    ("POST", "/campaigns"): {"json": campaign_body("Intrusion")},
    ("PATCH", "/campaigns/{campaign_id}"): {"json": {"pacing": 2}},
    ("POST", "/campaigns/{campaign_id}/contacts"): {"json": [{"phone": "+14155550123"}]},
    ("POST", "/dnc"): {"json": {"numbers": ["+14155550123"]}},
    ("POST", "/webhooks"): {"json": {"url": "http://127.0.0.1:9/evil",
                                     "secret": "a-secret-of-mallory-1234"}},
    ("POST", "/dnc/import"): {"files": {"file": ("dnc.csv", b"phone\n+14155550124\n",
                                                 "text/csv")}},
}


# Reads only an Owner or Admin may make: where the account's call results go is theirs to see.
MANAGER_READS = {("GET", "/webhooks")}


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str  # as in the OpenAPI document
    url: str  # with Acme's real ids filled in

    @property
    def suffix(self) -> str:
        return self.template.removeprefix("/api/v1/accounts/{account_id}")

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


@pytest.fixture(scope="module")
def acme_ids(api: Server) -> Iterator[dict[str, str]]:
    """A real id of Acme's for each path parameter: People started and finished once, so
    Acme has contacts, calls and a recording."""
    owner = api.as_("owner")
    path = api.acme_path(f"/campaigns/{api.people}")
    if ok(owner.get(path))["status"] == "draft":
        ok(owner.post(f"{path}/start"))
    api.wait_for(lambda: ok(owner.get(path))["status"] == "completed", 30,
                 "Acme's People campaign to complete")

    def idle() -> bool:
        campaigns = ok(owner.get(api.acme_path("/campaigns"), params={"limit": 500}))["items"]
        return all(c["status"] not in ("running", "scheduled") and ok(owner.get(
            api.acme_path(f"/campaigns/{c['id']}/stats")))["in_flight"] == 0
            for c in campaigns)

    api.wait_for(idle, 15, "Acme's campaigns to be idle")
    calls = calls_rows(owner, path)
    recorded = next((r for r in calls if r["recording"]), None)
    assert recorded is not None, "People placed no recorded call: nothing to fill attempt_id"
    agent = ok(owner.get(api.acme_path("/agents")))["items"][0]
    assert ok(owner.get(api.acme_path("/dnc"), params={"q": ACME_DNC}))["items"]
    # Registered once every call has ended: no event waits for this dead address.
    webhook = ok(owner.post(api.acme_path("/webhooks"), json={
        "url": "http://127.0.0.1:9/crm", "secret": "a-secret-of-acme-1234"}), 201)
    yield {"account_id": str(api.acme), "campaign_id": str(api.people),
           "contact_id": recorded["contact_id"], "attempt_id": recorded["attempt_id"],
           "agent_id": str(agent["id"]), "number": ACME_DNC,
           "webhook_id": str(webhook["id"])}
    ok(owner.delete(api.acme_path(f"/webhooks/{webhook['id']}")), 204)


def endpoints(document: dict[str, Any], ids: dict[str, str]) -> list[Endpoint]:
    """Every (method, path) of the OpenAPI document, path parameters filled with `ids`; a
    parameter with an enum (a campaign action) gives one endpoint per value."""
    found: list[Endpoint] = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            urls = [template]
            for param in operation.get("parameters", []):
                if param["in"] != "path":
                    continue
                name = param["name"]
                values = param.get("schema", {}).get("enum") or [ids.get(name)]
                if values == [None]:
                    pytest.fail(f"{method.upper()} {template}: no id of Acme's for the path "
                                f"parameter {name!r}; add one to acme_ids")
                urls = [u.replace(f"{{{name}}}", str(v)) for u in urls for v in values]
            found += [Endpoint(method.upper(), template, url) for url in urls]
    return found


def test_every_endpoint_refuses_another_account_a_user_changing_things_and_no_token(
    api: Server, acme_ids: dict[str, str],
) -> None:
    document = ok(api.as_(None).get("/api/v1/openapi.json"))
    matrix = endpoints(document, acme_ids)
    methods = {(e.method, e.suffix) for e in matrix}
    assert {("GET", "/campaigns/{campaign_id}/stats"), ("POST", "/campaigns"),
            ("DELETE", "/campaigns/{campaign_id}"), ("GET", "/recordings/{attempt_id}"),
            ("POST", "/campaigns/{campaign_id}/{action}")} <= methods
    assert sum(e.template.endswith("{action}") for e in matrix) >= 5

    before = api.snapshot()
    wrong: list[str] = []
    for endpoint in matrix:
        body = BODIES.get((endpoint.method, endpoint.suffix), {})
        user_reads = endpoint.method == "GET" and (
            (endpoint.method, endpoint.suffix) not in MANAGER_READS)
        for who, expected in (("globex", 404), ("user", 200 if user_reads else 403),
                              (None, 401)):
            response = api.as_(who).request(endpoint.method, endpoint.url, **body)
            status = response.status_code
            allowed = 200 <= status < 300 if expected == 200 else status == expected
            if allowed and expected != 200:
                code = response.json()["error"]["code"]
                allowed = code == {404: "not_found", 403: "forbidden",
                                   401: "unauthorized"}[expected]
            if not allowed:
                wrong.append(f"{endpoint} as {who or 'no token'}: {status}, expected "
                             f"{expected}: {response.text[:200]}")
            if api.snapshot() != before:
                wrong.append(f"{endpoint} as {who or 'no token'} changed the store")
                before = api.snapshot()
    assert not wrong, "\n".join(wrong)


# -- known gaps ---------------------------------------------------------------------------


def test_a_campaign_started_over_http_places_its_first_call_within_a_second(
    api: Server,
) -> None:
    if api.kind != "sqlite":
        pytest.skip("the engine's tick does not depend on the store: measured on SQLite only")
    owner = api.as_("owner")

    def started(name: str) -> str:
        path = create_campaign(api, campaign_body(name))
        ok(owner.post(f"{path}/contacts", json=[{"phone": "+14155559001"}]))
        ok(owner.post(f"{path}/start"))
        return path

    def dialed(path: str) -> bool:  # not from the stats, which may be a second old
        return not ok(owner.get(f"{path}/contacts", params={"status": "pending"}))["items"]

    # The first campaign's first call marks an acquire tick; the second starts right after.
    first = started("Latency one")
    api.wait_for(lambda: dialed(first), 15, "the first campaign's first call")
    second = started("Latency two")
    began = time.monotonic()
    api.wait_for(lambda: dialed(second) or time.monotonic() - began > 8, 10,
                 "the second campaign's first call")
    assert time.monotonic() - began < 1.0


def test_outbound_serve_exits_0_on_sigterm(outbound: Outbound, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = outbound.spawn("serve", "--port", str(port), "--drain-seconds", "1", log=log)

    def healthy() -> bool:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, 30, "GET /healthz to answer 200")
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8")


# -- pacing against agents (issue 14) ------------------------------------------------------

PACING = {"dialing": "progressive", "abandon_target": 2.5, "abandon_window": "24h",
          "abandon_message": "Acme calling. Call us back on +1 415 555 0100."}


def test_the_pacing_settings_are_stored_on_create_and_changed_on_update(api: Server) -> None:
    owner = api.as_("owner")
    created = ok(owner.post(api.acme_path("/campaigns"),
                            json=campaign_body("Paced over HTTP") | PACING), 201)
    assert {k: created[k] for k in PACING} == PACING
    path = api.acme_path(f"/campaigns/{created['id']}")

    for key, value in (("dialing", "fixed"), ("dialing", "predictive"),
                       ("abandon_target", 0), ("abandon_target", 5),
                       ("abandon_window", "30d"), ("abandon_message", None)):
        assert ok(owner.patch(path, json={key: value}))[key] == value
        assert ok(owner.get(path))[key] == value


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"abandon_target": 5.5}, "abandon_target", "5"),
    ({"abandon_target": -0.1}, "abandon_target", "0"),
    ({"dialing": "turbo"}, "dialing", "predictive"),
    ({"abandon_window": "7d"}, "abandon_window", "30d"),
    ({"abandon_message": "x" * 501}, "abandon_message", "500"),
], ids=["target-over-5", "target-negative", "unknown-dialing", "unknown-window",
        "message-too-long"])
def test_an_out_of_range_pacing_setting_answers_422_naming_the_field(
    api: Server, change: dict[str, Any], field: str, says: str,
) -> None:
    owner = api.as_("owner")
    error = error_of(owner.post(api.acme_path("/campaigns"),
                                json=campaign_body("Refused pacing") | change), 422)
    assert (error["code"], error["field"]) == ("invalid", field)
    assert says in error["message"]

    path = create_campaign(api, campaign_body(f"Pacing left alone ({field}: {says})"))
    error = error_of(owner.patch(path, json=change), 422)
    assert error["field"] == field
    assert ok(owner.get(path))["abandon_target"] == 3.0


@pytest.fixture
def held_elsewhere(api: Server) -> Iterator[tuple[str, Store]]:
    """A running campaign of Acme's whose lease another worker holds, so that this server's
    engine neither dials it nor writes its `limited_by`: the test writes it, as that worker
    would (`CampaignsRepo.set_limits`)."""
    store = Store.open(api.database_url or f"sqlite:///{api.cli.db_path}")
    path = create_campaign(api, campaign_body("Held elsewhere"))
    campaign_id = int(path.rsplit("/", 1)[1])
    try:
        now = time.time()
        # Started here, not over HTTP, so that this server's engine is not told to look.
        store.campaigns.act(campaign_id, CampaignAction.START, now)
        assert campaign_id in store.campaigns.acquire("elsewhere", now, ttl=3600)
        yield path, store
    finally:
        store.campaigns.release("elsewhere", [campaign_id])
        api.as_("owner").post(f"{path}/cancel")
        store.close()


def test_the_stats_carry_the_binding_limit_in_words_and_the_abandon_window(
    api: Server, held_elsewhere: tuple[str, Store],
) -> None:
    path, store = held_elsewhere
    campaign_id = int(path.rsplit("/", 1)[1])
    owner = api.as_("owner")
    sales = len(ok(owner.get(api.acme_path("/agents")))["items"])  # all in Sales, logged in
    said = {
        Limit.AGENTS: "Waiting for agents: {free} of {logged_in} free",  # as the stats count
        Limit.ABANDON_CAP: "Abandon cap: 0.0% of 3.0% over 30 days",
        Limit.PACING: "Pacing: 20 calls/s",
        Limit.CONCURRENCY: "Concurrency: 0 of 10 calls",
        Limit.BUSINESS_HOURS: "Outside business hours",
        Limit.CARRIER: "Carrier back-off",
        Limit.NOTHING_DUE: "Nothing due",
    }
    for limit, words in said.items():
        store.campaigns.set_limits({campaign_id: limit.value})

        stats = api.wait_for(lambda limit=limit: (s := ok(owner.get(f"{path}/stats")))[
            "limited_by"] == limit.value and s, 5, f"the stats to name {limit.value}")

        # The words carry the same response's figures (the module's other campaigns may
        # have an agent on a call meanwhile).
        assert stats["limited_by_text"] == words.format(**stats["agents"])
    assert stats["status"] == "running"
    assert stats["abandon"]["target"] == 3.0 and stats["abandon"]["window"] == "30d"
    assert (stats["abandon"]["answered"], stats["abandon"]["rate"]) == (0, 0.0)
    agents = stats["agents"]
    assert agents["logged_in"] == sales and agents["busy"] + agents["free"] == sales
    assert agents["occupancy"] == round(agents["busy"] / sales, 4)


def test_the_abandon_figures_count_the_campaigns_answered_calls_in_its_window(
    api: Server, acme_ids: dict[str, str],
) -> None:
    owner = api.as_("owner")
    path = api.acme_path(f"/campaigns/{acme_ids['campaign_id']}")
    stats = ok(owner.get(f"{path}/stats"))
    calls = calls_rows(owner, path)

    answered = sum(1 for r in calls if r["answered_at"])
    abandoned = sum(1 for r in calls if r["outcome"] == "abandoned")
    assert answered > 0
    assert (stats["abandon"]["answered"], stats["abandon"]["abandoned"]) == (answered,
                                                                             abandoned)
    assert stats["abandon"]["rate"] == pytest.approx(abandoned / answered, abs=1e-6)
    assert stats["limited_by"] is None, "a finished campaign is held by no limit"
