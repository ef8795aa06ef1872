"""The web UI in headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
installed by scripts/install-browser-deps.sh as root): create a conversation, send a
message, see the streamed answer, approve a tool call, upload a file. A screenshot is
saved under build/test-artifacts/ (or $TERAGENT_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from teragent.testing import ScriptedModel
from teragent.testing.scripted import Step, call_tool

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver: run scripts/install-browser-deps.sh "
           "as root (./dev test does)")

ARTIFACTS = Path(os.environ.get("TERAGENT_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[3] / "build" / "test-artifacts"))


@pytest.fixture
def browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_chat_approve_upload_in_a_real_browser(svc: Any, browser: Any,
                                               tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    answer = "I wrote hello.txt with a friendly greeting for you."
    svc.pending.append(ScriptedModel([
        call_tool("write_file", {"path": "hello.txt", "content": "hello from the agent"},
                  text="Writing the file."),
        Step(text=answer, chunk_delay=0.03),
        call_tool("task_create", {"subject": "Review hello.txt"}),
        Step(text=" ".join(["slowly"] * 400), chunk_delay=0.03),   # stopped midway
    ]))
    wait = WebDriverWait(browser, 30)
    browser.get(svc.base + "/")
    browser.find_element(By.ID, "token").send_keys("alice-token-0123456789")
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#preset option")))
    browser.find_element(By.ID, "opt-approval").click()
    browser.find_element(By.ID, "new-conversation").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Connected"))
    browser.execute_script("""
        window.__seen = [];
        new MutationObserver(() => document.querySelectorAll('.msg.assistant')
            .forEach((m) => window.__seen.push(m.textContent)))
          .observe(document.getElementById('messages'),
                   {subtree: true, childList: true, characterData: true});""")
    box = browser.find_element(By.ID, "input")
    box.send_keys("Please write hello.txt")
    browser.find_element(By.ID, "send").click()
    # The approval prompt appears; approve it.
    approve = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, '.approval button[data-decision="approve"]')))
    assert "write_file" in browser.find_element(By.CSS_SELECTOR, ".approval").text
    approve.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Done."))
    texts = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".msg.assistant")]
    assert answer in texts
    # Streamed: the answer's bubble grew word by word (recorded as the page changed).
    grown = browser.execute_script("return window.__seen;")
    partial = [t for t in grown if t and len(t) < len(answer) and answer.startswith(t)]
    assert len(partial) >= 3, grown
    tool = browser.find_element(By.CSS_SELECTOR, "details.tool")
    assert "write_file" in tool.text
    tool.find_element(By.TAG_NAME, "summary").click()   # collapsible: open it
    assert "hello from the agent" in tool.find_element(By.CLASS_NAME, "tool-input").text
    assert "tokens:" in browser.find_element(By.ID, "usage").text
    assert browser.find_element(By.ID, "usage").text != "tokens: 0"
    # Upload a file through the file browser.
    local = tmp_path / "data.csv"
    local.write_text("a,b\n1,2\n")
    browser.find_element(By.ID, "upload").send_keys(str(local))
    browser.find_element(By.ID, "upload-button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR,
                                               '#files button[data-path="data.csv"]')))
    browser.find_element(By.CSS_SELECTOR, '#files button[data-path="hello.txt"]').click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "preview"), "hello from the agent"))
    # Stop: a long answer is cancelled from the Stop button; the task panel shows the
    # task the agent created first.
    box.send_keys("Now something long")
    browser.find_element(By.ID, "send").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "tasks"), "Review hello.txt"))
    wait.until(lambda d: "slowly" in d.find_elements(By.CSS_SELECTOR,
                                                     ".msg.assistant")[-1].text)
    wait.until(ec.element_to_be_clickable((By.ID, "stop"))).click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Stopped: cancelled"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "service-web-ui.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    cid = svc.a.get("/api/conversations").json()[0]["id"]
    ws = svc.root / "alice" / cid
    assert (ws / "hello.txt").read_text() == "hello from the agent"
    assert (ws / "data.csv").read_text() == "a,b\n1,2\n"
