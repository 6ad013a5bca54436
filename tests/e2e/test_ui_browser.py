"""The Dagster UI of `clinfuse ui` in a real headless Chromium (Debian's, driven by Playwright): the lineage
shows every layer from raw to reports, an asset page its checks, metadata and code version, a materialisation
launched with the UI's button succeeds, and the Automation page lists and switches the sensor and the retrain
automation. What the UI shows is checked against the webserver's GraphQL. Screenshots go to
tests/artifacts/ui/ (kept after the run; ignored by git).

The texts and routes are those of dagster-webserver 1.13 (data-testid is absent from the shipped UI); a newer
webserver may need them updated, hence the version check."""

from __future__ import annotations

import re
import time
import urllib.parse

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser import chromium_path
from tests.conftest import REPO
from tests.dagster_ui import graphql, serve_ui

ARTIFACTS = REPO / "tests" / "artifacts" / "ui"
TIMEOUT_MS = 90_000  # pages query a webserver that shares two cores with the run it launched
WAIT_S = 300  # a run launched from the UI: dequeued by the daemon, then a process that loads the graph
LAYERS = {"raw", "cohorts", "features", "frames", "embeddings", "store", "models", "reports"}
# One lineage through every layer, small enough to read on one screen (the whole graph, 100 assets, is not).
LINEAGE = ["raw/hosp_admissions", "raw/cxr_images", "cohorts/haim_samples", "features/cxr_tensors",
           "embeddings/cxr_densenet121_chex", "features/haim", "frames/m3h", "models/m3h", "reports/m3h",
           "reports/leaderboard", "store/registry"]
BUILT = 'key:"cohorts/icu_stays"'  # built before the UI starts, with its raw parents; cohorts/los is left to the UI


@pytest.fixture(scope="module")
def ui(tmp_path_factory, synth_root):
    """(webserver base URL, Chromium) for a home where `+cohorts/icu_stays` is materialised."""
    from pipelines.run import materialize_selection
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources

    chromium = chromium_path()  # skips, with the reason, before anything is built
    home = Home.open(tmp_path_factory.mktemp("ui-browser") / "home")
    materialize_selection(home, synthetic_sources(synth_root), "+" + BUILT)  # recorded in the home's instance
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_ui(home.root, synth_root) as (base, _), sync_playwright() as playwright:
        version = graphql(base, "{ version }")["version"]
        assert version.startswith("1.13."), f"texts and routes checked against dagster-webserver 1.13, not {version}"
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                             "--disable-dev-shm-usage"])
        expect.set_options(timeout=TIMEOUT_MS)
        yield base, browser
        browser.close()


@pytest.fixture
def page(ui) -> Page:
    """A fresh browser context (no stored UI state) with a screen large enough for a lineage of eleven assets."""
    _, browser = ui
    context = browser.new_context(viewport={"width": 2400, "height": 1400})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _shot(page: Page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    print(f"screenshot: {path}")


def _shows(label: str, name: str) -> bool:
    """A node's label shows `name`: whole, or cut in the middle (`cxr_densenet…_chex`) on a zoomed-out graph."""
    head, cut, tail = label.partition("…")
    return label == name or (bool(cut) and name.startswith(head) and name.endswith(tail))


def test_lineage_shows_every_layer_from_raw_to_reports(ui, page):
    base, _ = ui
    groups = {n["groupName"] for n in graphql(base, "{ assetNodes { groupName } }")["assetNodes"]}
    assert groups == LAYERS
    # The whole graph: one box per group, collapsed as the UI shows a graph of this size.
    page.goto(base + "/asset-groups")
    for group in LAYERS:
        expect(page.locator("foreignObject").filter(has_text=re.compile(f"^{group}"))).to_be_visible()
    expect(page.get_by_text("fetching statuses")).to_have_count(0)  # each box then counts its built assets
    _shot(page, "lineage-groups")
    # One lineage with its groups opened ("Expand all groups" is kept in the browser's storage, and a reload
    # fits the opened graph to the screen): every node and every group on screen.
    selection = " or ".join(f'key:"{key}"' for key in LINEAGE)
    page.goto(f"{base}/asset-groups~{urllib.parse.quote(selection, safe='')}/")
    page.get_by_role("button", name="settings", exact=True).click()  # the graph's own, not the page's "Settings"
    page.get_by_role("menuitem", name="Expand all groups").click()
    labels = page.locator("foreignObject [class*=assetName]")
    expect(labels).to_have_count(len(LINEAGE))
    page.reload()
    expect(labels).to_have_count(len(LINEAGE))
    for element in [*labels.all(), *page.locator("foreignObject.group [class*=groupNodeHeader]").all()]:
        expect(element).to_be_in_viewport()
    # Each asset drawn inside the box of its own group (SVG coordinates of the graph's foreignObjects).
    drawn = page.locator("foreignObject").evaluate_all(
        "els => els.map(e => [e.getAttribute('class'), e.textContent, ...['x', 'y', 'width', 'height'].map("
        "a => parseFloat(e.getAttribute(a)))])")
    boxes = {text: (x, y, x + w, y + h) for kind, text, x, y, w, h in drawn if kind == "group"}
    assert set(boxes) == LAYERS
    nodes = [(text, x, y) for kind, text, x, y, _, _ in drawn if kind is None and text]
    for key in LINEAGE:
        group, name = key.split("/")
        left, top, right, bottom = boxes[group]
        assert any(_shows(text, name) and left <= x <= right and top <= y <= bottom for text, x, y in nodes), \
            f"{key} is not drawn in the {group} box: {nodes}"
    _shot(page, "lineage-path")


def test_asset_page_shows_checks_metadata_and_code_version(ui, page):
    base, _ = ui
    node = graphql(base, """{ assetNodeOrError(assetKey: {path: ["cohorts", "icu_stays"]}) { ... on AssetNode {
        opVersion assetChecksOrError { ... on AssetChecks { checks { name } } } } } }""")["assetNodeOrError"]
    assert [c["name"] for c in node["assetChecksOrError"]["checks"]] == ["keys_not_null"]
    latest = _latest_materialization(base, ["cohorts", "icu_stays"])
    rows = next(e["intValue"] for e in latest["metadataEntries"] if e["label"] == "rows")
    assert rows > 0

    page.goto(base + "/assets/cohorts/icu_stays?view=checks")
    expect(page.get_by_text("keys_not_null").first).to_be_visible()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
    expect(page.get_by_text("null_keys").first).to_be_visible()  # the check's own metadata
    _shot(page, "asset-checks")

    page.goto(base + "/assets/cohorts/icu_stays")
    expect(page.locator("tr").filter(has=page.get_by_text("rows", exact=True))).to_contain_text(str(rows))
    page.get_by_text("Compute details").click()
    expect(page.get_by_text("Code version", exact=True).locator("..")).to_contain_text(node["opVersion"])
    expect(page.get_by_text("retrain (", exact=False).first).to_be_visible()  # its automation condition
    _shot(page, "asset-overview")


def test_materialize_button_runs_the_asset(ui, page):
    base, _ = ui
    assert _latest_materialization(base, ["cohorts", "los"]) is None
    page.goto(base + "/assets/cohorts/los")
    page.locator("button").filter(has_text=re.compile(r"^Materialize$")).click()
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(toast).to_be_visible()
    prefix = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text()).group(1)

    run = _wait_for_run(base, prefix)
    assert run["status"] == "SUCCESS", run
    assert [a["path"] for a in run["assetSelection"]] == [["cohorts", "los"]]
    assert _latest_materialization(base, ["cohorts", "los"])["runId"] == run["runId"]
    page.goto(f"{base}/runs/{run['runId']}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("Succeeded (1)", exact=True)).to_be_visible()  # its one step, from the run's logs
    _shot(page, "materialize-run")


def test_automation_page_lists_and_switches_the_sensor_and_retrain(ui, page):
    base, _ = ui
    assert _sensor_states(base) == {"source_files": "STOPPED", "retrain": "STOPPED"}  # off unless CLINFUSE_AUTOMATION
    page.goto(base + "/automation")
    for name, kind in [("source_files", "Standard sensor"), ("retrain", "Automation condition sensor")]:
        row = page.locator("[class*=ListItem_listItem__]").filter(has_text=name)
        expect(row).to_contain_text(kind)
        expect(row.locator("label[class*=formatSwitch] input")).not_to_be_checked()
    _shot(page, "automation")
    # Switched on and off from the page. retrain, not source_files: a started source_files would request the
    # ingestion of every table at its first tick, while retrain requests nothing before its cron tick.
    switch = page.locator("[class*=ListItem_listItem__]").filter(has_text="retrain").locator("label[class*=formatSwitch]")
    switch.click()
    expect(switch.locator("input")).to_be_checked()
    _until(lambda: _sensor_states(base)["retrain"], lambda status: status == "RUNNING", "retrain switched on")
    _shot(page, "automation-retrain-on")
    switch.click()
    expect(switch.locator("input")).not_to_be_checked()
    _until(lambda: _sensor_states(base)["retrain"], lambda status: status == "STOPPED", "retrain switched off")


def _latest_materialization(base: str, path: list[str]) -> dict | None:
    asset = graphql(base, """query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
        assetMaterializations(limit: 1) { runId metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }""",
                    {"path": path})["assetOrError"]
    found = asset.get("assetMaterializations") or []
    return found[0] if found else None


def _until(read, done, what: str):
    """`read()` again every second until `done` accepts its value (the webserver answers as the daemon acts)."""
    deadline = time.monotonic() + WAIT_S
    while not done(value := read()):
        assert time.monotonic() < deadline, f"{what}: still {value} after {WAIT_S} s"
        time.sleep(1)
    return value


def _wait_for_run(base: str, prefix: str) -> dict:
    """The run whose id starts with `prefix`, once it has finished (the daemon dequeues it, then it runs)."""
    def read():
        runs = graphql(base, "{ runsOrError(limit: 20) { ... on Runs { results { runId status assetSelection { path } } } } }")
        return next(r for r in runs["runsOrError"]["results"] if r["runId"].startswith(prefix))

    return _until(read, lambda run: run["status"] in ("SUCCESS", "FAILURE", "CANCELED"), f"run {prefix}")


def _sensor_states(base: str) -> dict[str, str]:
    repos = graphql(base, """{ repositoriesOrError { ... on RepositoryConnection { nodes {
        sensors { name sensorState { status } } } } } }""")["repositoriesOrError"]["nodes"]
    return {s["name"]: s["sensorState"]["status"] for r in repos for s in r["sensors"]}
