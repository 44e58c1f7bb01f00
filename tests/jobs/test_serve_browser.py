"""The web page in a real browser: headless Chromium (Debian's chromium + chromium-driver, which .ci/run
installs) driven by Selenium, against `cardiacclip serve` running on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

import cardiacclip as cc
from cardiacclip.data.filelist import read_filelist
from cardiacclip.jobs.serve import create_app, model_info

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
# The manual's picture:
# CARDIACCLIP_SERVE_MODEL=demo_out/run CARDIACCLIP_SCREENSHOT=docs/assets/serve_page.png pytest THIS_FILE
SCREENSHOT = os.environ.get("CARDIACCLIP_SCREENSHOT")
MODEL = os.environ.get("CARDIACCLIP_SERVE_MODEL")  # default: the tests' tiny run


@pytest.fixture(scope="module")
def server(tiny_run):
    model = MODEL or tiny_run[0]
    predictor = cc.load(model, device="cpu")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(predictor, model_info(model, predictor)), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", predictor
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1500",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def upload(browser, path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "file").send_keys(str(path))


def test_page_shows_the_apis_ef_and_then_an_error(server, browser, synthetic_root, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, predictor = server
    video = synthetic_root / "Videos" / read_filelist(synthetic_root / "FileList.csv")["VideoFile"][2]
    browser.get(url)
    assert "not a medical device" in browser.find_element(By.ID, "notice").text
    upload(browser, video)
    WebDriverWait(browser, 60).until(ec.visibility_of_element_located((By.ID, "result")))
    expected = predictor.predict(video)
    assert browser.find_element(By.ID, "ef").text == f"{expected.ef:.1f} %"
    assert browser.find_element(By.ID, "category").text == expected.category
    assert f"{expected.ef_low:.1f}–{expected.ef_high:.1f}" in browser.find_element(By.ID, "interval").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frames img")) > 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bars .bar")) == len(predictor.categories)
    assert "region kept: none" in browser.find_element(By.ID, "cropinfo").text
    assert browser.find_element(By.ID, "crop").get_attribute("value") == "auto"  # the choice survives a result
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)

    not_video = tmp_path / "notes.avi"
    not_video.write_text("this is a text file, not a video\n" * 20)
    upload(browser, not_video)
    error = WebDriverWait(browser, 60).until(ec.visibility_of_element_located((By.ID, "error")))
    assert "422" in error.text and "not a readable video" in error.text
    assert not browser.find_element(By.ID, "result").is_displayed()


def test_beats_are_marked_on_frames_that_keep_their_shape(server, browser, synthetic_root):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, predictor = server
    video = synthetic_root / "Videos" / read_filelist(synthetic_root / "FileList.csv")["VideoFile"][0]
    browser.get(url)
    Select(browser.find_element(By.ID, "clips")).select_by_value("beats")
    upload(browser, video)
    WebDriverWait(browser, 60).until(ec.visibility_of_element_located((By.ID, "result")))
    expected = predictor.predict(video, clips="beats")
    assert browser.find_element(By.ID, "ef").text == f"{expected.ef:.1f} %"
    text = browser.find_element(By.ID, "beats").text
    assert f"{expected.beats.n_beats} beat" in text and f"{expected.beats.beat_efs[0]:.1f}" in text
    marks = {m.text for m in browser.find_elements(By.CSS_SELECTOR, "#frames .mark") if m.is_displayed()}
    assert marks == {"ED", "ES"}
    for image in browser.find_elements(By.CSS_SELECTOR, "#frames img"):
        drawn = image.size["width"] / image.size["height"]
        natural = browser.execute_script("return arguments[0].naturalWidth / arguments[0].naturalHeight", image)
        assert drawn == pytest.approx(natural, rel=0.1)  # 112 x 112 frames drawn square, not squeezed
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT.replace(".png", "_beats.png"))
