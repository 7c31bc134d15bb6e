"""A real headless Chromium drives the served pages: paste a patient, submit, see the graph and the quotes."""

from __future__ import annotations

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

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(CHROMIUM, DRIVER, tmp_path_factory.mktemp("chromium-profile"), window="1500,1000")
    yield driver
    driver.quit()


def test_paste_submit_see_graph_and_quote(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"{live_server}/")
    patient = Path("examples/lower-back-strain-day20.json").read_text("utf-8")
    box = browser.find_element(By.ID, "patient")
    browser.execute_script("arguments[0].value = arguments[1];", box, patient)  # a paste
    Select(browser.find_element(By.ID, "audience")).select_by_value("patient")
    browser.find_element(By.ID, "explain").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "graph"))
    text = browser.find_element(By.CSS_SELECTOR, "pre.text").text
    assert 'source s07: "The knots form because the spasm keeps the muscle continuously "on"."' in text
    assert "Your pain at the lower back is expected to persist." in browser.find_element(By.CSS_SELECTOR,
                                                                                          "section.patient").text
    assert "not a diagnosis" in browser.find_element(By.ID, "disclaimer").text
    browser.switch_to.frame(browser.find_element(By.ID, "graph"))
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")
    canvases = browser.find_elements(By.CSS_SELECTOR, "#cy canvas")
    assert canvases and canvases[0].size["width"] > 300
    nodes = browser.execute_script("return window.painkgCy.nodes().map(function (n) { return n.id(); });")
    assert "persistent_pain@lower_back" in nodes
    browser.switch_to.default_content()
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "serve-explain-page.png"))


def test_sparql_page_loads_yasgui_offline(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/sparql")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".yasgui .CodeMirror"))
    assert browser.execute_script("return typeof Yasgui") == "function"
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "serve-sparql-page.png"))
