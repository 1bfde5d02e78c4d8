"""The board in a real browser: headless Chromium opens each page of two real parties that have
just run FATE's hetero LR example, and follows a job while it runs.

The browser tests need Debian's `chromium` and Playwright for Python (driving that binary; no
browser download); without them they skip and say why. `FATEFLOW_BOARD_SCREENSHOTS=1` makes
`test_screenshots` write each page's picture into docs/board/ (CI leaves the docs alone).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fateflow.v1 import job_service_pb2 as job_pb
from fateflow.v1 import node_service_pb2, node_service_pb2_grpc
from tests.multiparty.cluster import (
    NodeProcess,
    start_parties,
    two_party_example,
    upload,
    wait_for,
)
from tests.multiparty.test_scheduling import (
    GUEST,
    HOST,
    chain,
    conf_v2,
    statuses,
    struct,
    submit,
    wait_final,
)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # the dev extras bring it
    sync_playwright = None
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "board"
HETERO_LR = {"reader_0", "data_transform_0", "intersection_0", "hetero_lr_0", "evaluation_0"}

needs_browser = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="no browser: install Debian's chromium (apt-get install chromium) and the dev "
    "extras (playwright, driving that binary)",
)


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("board"), [GUEST, HOST])
    try:
        for party, kind in ((GUEST, "guest"), (HOST, "host")):
            upload(nodes[party], f"breast_hetero_{kind}")
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


@pytest.fixture(scope="module")
def hetero_submitted(parties: dict[int, NodeProcess]) -> tuple[str, str]:
    """FATE's hetero LR example (DSL v2), run to its end: its job id and board_url."""
    dsl, conf = two_party_example("hetero_lr", 2)
    submitted = (
        parties[GUEST]
        .jobs()
        .SubmitJob(job_pb.SubmitJobRequest(job_dsl=struct(dsl), job_runtime_conf=struct(conf)))
    )
    assert wait_final(parties, submitted.job_id, timeout=300)[GUEST] == {"guest": "success"}
    return submitted.job_id, submitted.data.board_url


@pytest.fixture(scope="module")
def hetero_job(hetero_submitted: tuple[str, str]) -> str:
    return hetero_submitted[0]


@pytest.fixture(scope="module")
def browser(parties: dict[int, NodeProcess]) -> Iterator[Browser]:
    """Chromium, started after the parties: Playwright's sync API holds this thread's event
    loop, and the parties' uploads run one of their own."""
    assert sync_playwright is not None and CHROMIUM is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; a script error on it fails the test."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def board(node: NodeProcess, path: str = "") -> str:
    return f"http://127.0.0.1:{node.http_port}/board/{path}"


def open_page(page: Page, url: str, *, refused: bool = False) -> Page:
    """Open a board page and wait for its data; unless the API is to refuse it, no section
    may show an error."""
    page.goto(url)
    page.wait_for_selector("main[aria-busy=false]", timeout=30_000)
    if not refused:
        assert page.locator(".error").all_inner_texts() == []
    return page


def component_url(node: NodeProcess, job_id: str, role: str, component: str) -> str:
    return board(
        node,
        f"component.html?job_id={job_id}&role={role}&party_id={node.party_id}"
        f"&component_name={component}",
    )


def dag_statuses(page: Page) -> dict[str, str]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        ".dag-node",
        "nodes => Object.fromEntries(nodes.map(n => [n.dataset.component, n.dataset.status]))",
    )


def series_points(page: Page, selector: str) -> list[int]:
    """The number of points of each series ECharts draws in the chart under `selector`; the
    board draws a chart once it nears the window, so it is scrolled there first."""
    chart = page.locator(f"{selector} .chart")
    chart.scroll_into_view_if_needed()
    script = "el => { const c = echarts.getInstanceByDom(el); return c ? c.getOption().series.map(s => s.data.length) : null; }"
    wait_for(lambda: chart.evaluate(script) is not None, 10, f"the chart {selector} to be drawn")
    return chart.evaluate(script)  # type: ignore[no-any-return]


def post(node: NodeProcess, route: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.http_port}/v1/{route}", json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def test_a_node_lists_the_parties_it_reaches(parties: dict[int, NodeProcess]) -> None:
    """Through both proxies and their proofs of party: no browser needed."""
    with parties[GUEST].channel() as channel:
        node = node_service_pb2_grpc.NodeServiceStub(channel).ListParties(
            node_service_pb2.ListPartiesRequest()
        )
    (link,) = node.data.parties
    assert (link.party_id, link.reachable, link.proof, link.error) == (HOST, True, "secret", "")
    assert link.version == node.data.version and link.latency_ms > 0
    assert post(parties[HOST], "node/parties", {})["data"]["parties"][0]["party_id"] == GUEST


@needs_browser
def test_jobs_page_lists_and_filters_the_job(
    page: Page, parties: dict[int, NodeProcess], hetero_job: str
) -> None:
    open_page(page, board(parties[GUEST]))
    row = page.locator(f"tr[data-job-id='{hetero_job}']")
    assert row.get_attribute("data-status") == "success"
    assert row.locator("td").nth(1).inner_text() == "guest"
    page.select_option("select[name=status]", "failed")
    page.click("button[type=submit]")
    page.wait_for_selector("td.empty")
    assert "status=failed" in page.url
    open_page(page, board(parties[HOST], f"?job_id={hetero_job[-8:]}&role=arbiter"))
    assert page.locator("#jobs tbody tr").count() == 1
    assert page.locator(f"tr[data-job-id='{hetero_job}'] td").nth(1).inner_text() == "arbiter"


@needs_browser
def test_job_page_shows_the_dag_in_success(
    page: Page, parties: dict[int, NodeProcess], hetero_submitted: tuple[str, str]
) -> None:
    # The board_url a submission answers (FATE-Board's form of a job's address) opens it.
    job_id, board_url = hetero_submitted
    assert board_url == board(
        parties[GUEST], f"index.html#/dashboard?job_id={job_id}&role=guest&party_id={GUEST}"
    )
    page.goto(board_url)
    page.wait_for_url("**/job.html?**")
    page.wait_for_selector("main[aria-busy=false] .dag-node[data-status]")
    assert dag_statuses(page) == dict.fromkeys(HETERO_LR, "success")
    assert page.locator("#tasks tbody tr").count() == 5
    assert page.locator("#stop").count() == 0  # an ended job cannot be stopped
    assert '"hetero_lr_0"' in page.inner_text("#dsl")
    assert '"breast_hetero_guest"' in page.inner_text("#conf")


@needs_browser
def test_evaluation_draws_its_curves(
    page: Page, parties: dict[int, NodeProcess], hetero_job: str
) -> None:
    open_page(page, component_url(parties[GUEST], hetero_job, "guest", "evaluation_0"))
    assert page.get_attribute("main", "data-task-status") == "success"
    roc = "[data-metric-type=ROC_EVALUATION]"
    assert int(page.get_attribute(roc, "data-points") or 0) > 10
    assert series_points(page, roc)[0] > 10  # drawn, not only counted
    assert "AUC 0.98" in page.inner_text(roc)
    for kind in ("KS_EVALUATION", "PRECISION_RECALL", "LIFT_EVALUATION", "GAIN_EVALUATION"):
        assert min(series_points(page, f"[data-metric-type={kind}]")[:1]) > 10, kind
    confusion = page.locator("[data-metric-type=CONFUSION]")
    before = confusion.inner_text()
    confusion.locator("input[type=range]").fill("10")
    assert confusion.inner_text() != before and "true positive" in before


@needs_browser
def test_arbiter_shows_the_loss_and_the_last_iteration_in_the_log(
    page: Page, parties: dict[int, NodeProcess], hetero_job: str
) -> None:
    open_page(page, component_url(parties[HOST], hetero_job, "arbiter", "hetero_lr_0"))
    assert series_points(page, "[data-metric-type=LOSS]") == [30]
    page.wait_for_selector("#log-lines .line")
    assert "iteration 29: loss" in page.inner_text("#log-lines")


@needs_browser
def test_guest_shows_the_model_and_its_output(
    page: Page, parties: dict[int, NodeProcess], hetero_job: str
) -> None:
    open_page(page, component_url(parties[GUEST], hetero_job, "guest", "hetero_lr_0"))
    page.locator("#weights").scroll_into_view_if_needed()
    page.wait_for_selector("#weights canvas")
    assert "intercept" in page.inner_text("#model")
    assert page.locator("#output-data tbody tr").count() == 20
    assert "of 569 rows" in page.inner_text("#output-data")
    assert "HeteroLR" in page.inner_text("h1 + span")
    assert "max_iter" in page.inner_text("#parameters")


@needs_browser
def test_node_page_shows_parties_and_versions(page: Page, parties: dict[int, NodeProcess]) -> None:
    open_page(page, board(parties[GUEST], "node.html"))
    assert page.get_attribute(f"tr[data-party-id='{HOST}']", "data-reachable") == "true"
    assert "fateflow-grpc" in page.inner_text("#versions")


@needs_browser
def test_following_a_running_job_updates_it_without_a_reload(
    page: Page, parties: dict[int, NodeProcess]
) -> None:
    conf = conf_v2(common={f"noop_{i}": {"sleep_seconds": 2} for i in range(3)})
    job_id = submit(parties[GUEST], chain(3), conf)
    open_page(page, board(parties[GUEST], f"job.html?job_id={job_id}&role=guest&party_id={GUEST}"))
    page.evaluate("window.notReloaded = true")
    seen: set[str] = set()

    def ended() -> bool:
        now = dag_statuses(page)
        seen.update(f"{name}:{status}" for name, status in now.items())
        return set(now.values()) == {"success"}

    wait_for(ended, 60, "the DAG to show every component in success")
    assert page.evaluate("window.notReloaded") is True
    assert {"noop_2:waiting", "noop_1:running", "noop_2:success"} <= seen, seen
    # The job ends once its last component has, at the latest one refresh after it.
    page.wait_for_selector("main[data-job-status=success]")


@needs_browser
def test_a_component_log_is_followed_while_it_runs(
    page: Page, parties: dict[int, NodeProcess]
) -> None:
    conf = conf_v2(common={"noop_0": {"sleep_seconds": 3}})
    job_id = submit(parties[GUEST], chain(1), conf)
    open_page(page, component_url(parties[GUEST], job_id, "guest", "noop_0"))
    page.evaluate("window.notReloaded = true")
    # Polled from here: the board's CSP lets no page evaluate strings, wait_for_function's way.
    wait_for(lambda: "noop done" in page.inner_text("#log-lines"), 30, "the log's last line")
    assert page.evaluate("window.notReloaded") is True
    page.wait_for_selector("main[data-task-status=success]")


@needs_browser
def test_the_board_cannot_do_what_the_api_refuses(
    page: Page, parties: dict[int, NodeProcess]
) -> None:
    """A job stops at its initiator only; a log outside the node's logs is never read."""
    conf = conf_v2(common={"noop_0": {"sleep_seconds": 60}})
    job_id = submit(parties[GUEST], chain(2), conf)
    wait_for(lambda: statuses(parties[HOST], job_id).get("host") == "running", 30, "the job to run")
    open_page(page, board(parties[HOST], f"job.html?job_id={job_id}&role=host&party_id={HOST}"))
    stop = page.locator("#stop")
    assert stop.is_disabled() and f"guest {GUEST}" in (stop.get_attribute("title") or "")
    refused = page.evaluate(
        """async (jobId) => {
            const api = await import('./api.js');
            try { await api.call('job/stop', {job_id: jobId}); return 'stopped'; }
            catch (error) { return error.message; }
        }""",
        job_id,
    )
    assert f"party {GUEST}" in refused and "initiator" in refused
    assert statuses(parties[HOST], job_id)["host"] == "running"

    for component, job in (("../../../../../etc", job_id), ("noop_0", "../../../../etc")):
        open_page(page, component_url(parties[HOST], job, "host", component), refused=True)
        log = page.inner_text("#log")
        assert "/v1/log/cat" in log and "root:" not in log

    open_page(page, board(parties[GUEST], f"job.html?job_id={job_id}&role=guest&party_id={GUEST}"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop")
    page.wait_for_selector("main[data-job-status=canceled]", timeout=30_000)
    assert wait_final(parties, job_id)[HOST] == {"host": "canceled", "arbiter": "canceled"}


@needs_browser
@pytest.mark.skipif(
    not os.environ.get("FATEFLOW_BOARD_SCREENSHOTS"),
    reason="writes docs/board/*.png only when FATEFLOW_BOARD_SCREENSHOTS is set",
)
def test_screenshots(page: Page, parties: dict[int, NodeProcess], hetero_job: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    guest, host = parties[GUEST], parties[HOST]
    shots = {
        "jobs": board(guest),
        "job": board(guest, f"job.html?job_id={hetero_job}&role=guest&party_id={GUEST}"),
        "evaluation": component_url(guest, hetero_job, "guest", "evaluation_0"),
        "hetero-lr-guest": component_url(guest, hetero_job, "guest", "hetero_lr_0"),
        "hetero-lr-arbiter": component_url(host, hetero_job, "arbiter", "hetero_lr_0"),
        "node": board(guest, "node.html"),
    }
    for name, url in shots.items():
        open_page(page, url)
        page.wait_for_timeout(300)  # charts draw after the data arrives
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
