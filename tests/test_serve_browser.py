"""A real headless Chromium drives the served pages: try an example, paste a patient, read the answer first.

Checks what a reader sees: the headline above the fold, no horizontal scroll at
1400x1000 and at 400 px wide, quotes hidden until their <details> is opened,
the graph loading when its section is opened, no console errors. Screenshots
go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="needs Chromium and its driver: apt-get install chromium chromium-driver")

from serve_support import live_server  # noqa: E402,F401
from support import headless_chromium  # noqa: E402

import kg  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
EXAMPLES = ("lower-back-strain-day20", "two-injuries")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(CHROMIUM, DRIVER, tmp_path_factory.mktemp("chromium-profile"), window="1400,1000",
                               console_log=True)
    yield driver
    driver.quit()


def _viewport(driver, width: int, height: int) -> None:
    """Emulate a viewport (a window cannot be made narrower than about 500 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _no_console_errors(driver) -> None:
    errors = [x for x in driver.get_log("browser") if x["level"] == "SEVERE"]
    assert errors == []


def _fits(driver) -> None:
    """No horizontal scroll."""
    width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, (width, inner)


def _wait_for_headline(driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "headline"))
    return driver.find_element(By.ID, "headline")


@pytest.mark.parametrize("stem", EXAMPLES)
def test_try_an_example_reads_the_answer_first(browser, live_server, stem):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{live_server}/")
    _fits(browser)
    browser.find_element(By.ID, f"try-{stem}").click()
    headline = _wait_for_headline(browser)
    assert re.search(r"/explanations/[0-9a-f]{20}$", browser.current_url)
    assert headline.text == kg.explain(f"examples/{stem}.json").headline
    top, bottom = browser.execute_script("var r = arguments[0].getBoundingClientRect();"
                                         "return [r.top + window.scrollY, r.bottom + window.scrollY];", headline)
    assert 0 <= top and bottom <= 1000  # above the fold at 1400x1000
    _fits(browser)
    # A step's quotes are one click away, hidden until then.
    details = browser.find_elements(By.CSS_SELECTOR, "details.quotes")[0]
    quote = details.find_element(By.CSS_SELECTOR, "blockquote")
    assert not quote.is_displayed()
    details.find_element(By.TAG_NAME, "summary").click()
    assert quote.is_displayed() and "\u201c" in quote.text
    # A possible step is visibly hedged: its badge is dashed.
    styles = browser.execute_script("return Array.from(document.querySelectorAll('.badge.possible'))"
                                    ".map(function (b) { return getComputedStyle(b).borderTopStyle; });")
    assert all(s == "dashed" for s in styles)
    assert "not a diagnosis" in browser.find_element(By.ID, "disclaimer").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"serve-explanation-{stem}-1400.png"))
    here = browser.current_url
    _viewport(browser, 400, 900)
    for url in (here, here + "?audience=patient", f"{live_server}/", f"{live_server}/docs"):
        browser.get(url)
        _fits(browser)
        if url == here:
            browser.save_screenshot(str(ARTIFACTS / f"serve-explanation-{stem}-400.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    _no_console_errors(browser)


def test_paste_a_patient_see_the_patient_wording_and_the_graph(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{live_server}/")
    patient = Path("examples/fhir/lower-back-strain-bundle.json").read_text("utf-8")
    box = browser.find_element(By.ID, "patient")
    browser.execute_script("arguments[0].value = arguments[1];", box, patient)  # a paste
    Select(browser.find_element(By.ID, "audience")).select_by_value("patient")
    browser.find_element(By.ID, "explain").click()
    assert _wait_for_headline(browser).text == "Your pain at the lower back is expected to persist."
    assert browser.current_url.endswith("?audience=patient")
    browser.find_element(By.ID, "tab-clinician").click()
    assert _wait_for_headline(browser).text == kg.explain("examples/lower-back-strain-day20.json").headline
    # The full report and the graph are one click away, collapsed until then.
    report = browser.find_element(By.CSS_SELECTOR, "#detail pre")
    assert not report.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "a[href='#detail']").click()
    assert report.is_displayed() and "(every step)" in report.text
    frame = browser.find_element(By.ID, "graph")
    assert frame.get_attribute("src") in (None, "")
    browser.find_element(By.CSS_SELECTOR, "#graph-section > summary").click()
    WebDriverWait(browser, 30).until(lambda d: frame.get_attribute("src"))
    browser.switch_to.frame(frame)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body && document.body.getAttribute('data-ready')") == "1")
    nodes = browser.execute_script("return window.painkgCy.nodes().map(function (n) { return n.id(); });")
    assert "persistent_pain@lower_back" in nodes
    browser.switch_to.default_content()
    _no_console_errors(browser)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "serve-explain-page.png"))


def test_a_possible_chain_is_visibly_hedged(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{live_server}/")
    patient = Path("examples/lower-back-strain-resolved.json").read_text("utf-8")
    browser.execute_script("arguments[0].value = arguments[1];", browser.find_element(By.ID, "patient"), patient)
    browser.find_element(By.ID, "explain").click()
    assert _wait_for_headline(browser).text.startswith("Pain may persist at the lower back")
    badges, steps = browser.execute_script(
        "function s(q, p) { return Array.from(document.querySelectorAll(q)).map(function (x) {"
        " return getComputedStyle(x)[p]; }); }"
        "return [s('.badge.possible', 'borderTopStyle'), s('li.step.possible', 'borderLeftStyle')];")
    assert badges and set(badges) == {"dashed"} and steps and set(steps) == {"dashed"}
    assert "may" in browser.find_element(By.CSS_SELECTOR, "li.step.possible .said").text
    _fits(browser)
    _no_console_errors(browser)


def test_docs_page_fetches_nothing_from_elsewhere(browser, live_server):
    browser.get(f"{live_server}/docs")
    hosts = browser.execute_script("return performance.getEntriesByType('resource').map(function (r) {"
                                   " return new URL(r.name).host; });")
    assert set(hosts) <= {live_server.split("//", 1)[1]}
    assert "/openapi.json" in browser.page_source
    doc = json.loads(browser.execute_script("return fetch('/openapi.json').then(function (r) { return r.text(); });"))
    assert "/explanations/{key}" in doc["paths"]
    _no_console_errors(browser)


def test_sparql_page_loads_yasgui_offline(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/sparql")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".yasgui .CodeMirror"))
    assert browser.execute_script("return typeof Yasgui") == "function"
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "serve-sparql-page.png"))
