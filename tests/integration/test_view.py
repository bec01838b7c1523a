"""``aurelia view`` on real distill and eval runs of the tiny kit, checked in headless Chromium.

Debian's chromium is driven through Debian's chromium-driver by Selenium (``scripts/setup.sh dev``
installs both); the pages are opened from disk (``file://``), as on a shared filesystem.
"""

import json
import shutil
from pathlib import Path

import pytest
from conftest import omni_teachers

from aurelia_local.core.errors import AureliaError
from aurelia_local.core.records import ErrorRecord, TraceRecord, read_eval_rows, read_traces

pytestmark = pytest.mark.engine

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
NONE = "\u2013"  # what the page shows for a missing value
PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def distilled(loop_ctx, daily_omni_clip, tmp_path_factory):
    """A distill run of two Daily-Omni questions, one sample whose video is missing, and one record
    whose model output carries HTML (a copy of a real record)."""
    from aurelia_local.app.distill import distill
    from aurelia_local.app.eval.runner import load_benchmark
    from aurelia_local.core.datasets import Sample

    root = daily_omni_clip.parents[2]
    samples = load_benchmark("daily_omni", root, loop_ctx.settings)[:2]
    samples.append(Sample(id="missing", question="What is heard?", video=root / "no_such_video.mp4"))
    out = tmp_path_factory.mktemp("distill")
    distill(loop_ctx.settings, samples, out, progress=False, ctx=loop_ctx, data_root=root)
    first = next(r for r in read_traces(out / "traces.jsonl") if isinstance(r, TraceRecord))
    data = first.model_dump(mode="json")
    data["id"] = "html"
    data["reasoning_steps"] = [PAYLOAD]
    data["rounds"][0]["reasoning"]["steps"] = [PAYLOAD]
    data["rounds"][0]["caption"] = PAYLOAD
    with (out / "traces.jsonl").open("a") as handle:
        handle.write(json.dumps(data) + "\n")
    return out, root


@pytest.fixture(scope="module")
def avrt_run(loop_ctx, daily_omni_clip, tmp_path_factory):
    """A distill run of one sample with AVRT's topology (teachers and merger on the tiny models)."""

    from aurelia_local.app.distill import distill
    from aurelia_local.app.eval.runner import load_benchmark

    root = daily_omni_clip.parents[2]
    ctx = omni_teachers(loop_ctx, generator="avrt", max_rounds=1)
    out = tmp_path_factory.mktemp("avrt")
    distill(ctx.settings, load_benchmark("daily_omni", root, ctx.settings)[:1], out, progress=False, ctx=ctx,
            data_root=root)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def distill_site(distilled, tmp_path_factory):
    from aurelia_local.app.view.site import build_site

    run, _ = distilled
    return build_site(run, tmp_path_factory.mktemp("site") / "view", progress=False)


@pytest.fixture(scope="module")
def evaluated(distilled, loop_ctx, qwen2_5_vllm, tmp_path_factory):
    """An eval run (zero_shot and aurelia arms) whose r* is the distill run's."""
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.zoo.cards import load_card
    from aurelia_local.zoo.omni import OmniAdapter

    run, root = distilled
    card = load_card("tiny_qwen2_5_omni", loop_ctx.settings)
    targets = {"tiny_vllm": OmniAdapter(card, loop_ctx.settings, "vllm", engine=qwen2_5_vllm)}
    out = tmp_path_factory.mktemp("eval")
    run_eval(loop_ctx.settings, "daily_omni", root, targets, ["zero_shot", "aurelia"], out, limit=2,
             traces=run / "traces.jsonl", ctx=loop_ctx, progress=False)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.is_file() and DRIVER.is_file()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: scripts/setup.sh dev")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(driver, page: Path, hash_: str = ""):
    driver.get(page.resolve().as_uri() + hash_)
    _wait(driver, "return document.querySelectorAll('#samples tbody tr').length > 0 || !!location.hash")


def _wait(driver, script: str, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _show(driver, sample_id: str):
    driver.execute_script("location.hash = '#/sample/' + encodeURIComponent(arguments[0])", sample_id)
    _wait(driver, "return !!document.querySelector('#detail article[data-id]')")


def test_the_distill_page_shows_every_record_as_it_is(distilled, distill_site, browser):
    run, _ = distilled
    records = read_traces(run / "traces.jsonl")
    _open(browser, distill_site.path)
    rows = browser.find_elements("css selector", "#samples tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == [r.id or f"({r.where})" for r in records]
    assert _console_errors(browser) == []

    record = next(r for r in records if isinstance(r, TraceRecord) and r.id != "html")
    rows[[r.id for r in records].index(record.id)].click()  # a click on a row opens its sample
    _wait(browser, "return !!document.querySelector('#detail article[data-id]')")
    rounds = browser.find_elements("css selector", "#detail .round")
    assert [int(r.get_attribute("data-round")) for r in rounds] == [r.round for r in record.rounds]
    assert [int(r.get_attribute("data-score")) for r in rounds] == [r.score.value for r in record.rounds]
    best = browser.find_elements("css selector", "#detail .round.best")
    assert [int(b.get_attribute("data-round")) for b in best] == [record.best_round]
    steps = browser.find_elements("css selector", "#detail ol.rstar li")
    assert [s.text for s in steps] == [s.strip() for s in record.reasoning_steps]
    thumbs = browser.find_elements("css selector", "#detail .keyframes img")
    assert len(thumbs) == len(record.media.keyframes) > 0
    loaded = "return [...arguments[0]].every(i => i.complete && i.naturalWidth > 0)"
    assert browser.execute_script(loaded, thumbs)
    duration = browser.execute_async_script(
        """const done = arguments[arguments.length - 1], audio = document.querySelector('#detail audio');
        if (audio.readyState >= 1) done(audio.duration);
        audio.addEventListener('loadedmetadata', () => done(audio.duration));
        audio.addEventListener('error', () => done(-1)); audio.load();"""
    )
    assert duration > 0
    assert _console_errors(browser) == []

    shot = browser.get_screenshot_as_png()
    (distill_site.path.parent / "screenshot.png").write_bytes(shot)
    from io import BytesIO

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.std() > 10 and len(np.unique(pixels)) > 50  # text, frames and controls, not a blank page


def test_avrt_teachers_and_merger_are_shown_per_round(avrt_run, browser, tmp_path):
    from aurelia_local.app.view.site import build_site

    (record,) = read_traces(avrt_run / "traces.jsonl")
    assert record.topology == "avrt"
    site = build_site(avrt_run, tmp_path / "view", progress=False)
    _open(browser, site.path)
    _show(browser, record.id)
    boxes = browser.find_elements("css selector", "#detail .round")
    for round_, box in zip(record.rounds, boxes, strict=True):
        for who in ("vision", "audio", "merger"):
            part = box.find_element("css selector", f".teacher[data-who='{who}']")
            steps = [li.text for li in part.find_elements("css selector", "li")]
            assert steps == [s.strip() for s in getattr(round_.avrt, who).steps]
    assert _console_errors(browser) == []


def test_an_error_record_shows_its_reason_and_filters_change_the_list(distilled, distill_site, browser):
    from selenium.webdriver.support.ui import Select

    run, _ = distilled
    records = read_traces(run / "traces.jsonl")
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    assert [e.id for e in errors] == ["missing"]
    _open(browser, distill_site.path)
    Select(browser.find_element("id", "f-status")).select_by_value("error")
    rows = browser.find_elements("css selector", "#samples tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == ["missing"]
    assert "1 of 4 shown" == browser.find_element("id", "shown").text
    Select(browser.find_element("id", "f-status")).select_by_value("ok")
    ok = [r.id for r in records if r.status == "ok"]
    shown = [r.get_attribute("data-id") for r in browser.find_elements("css selector", "#samples tbody tr")]
    assert sorted(shown) == sorted(ok)
    Select(browser.find_element("id", "f-sort")).select_by_value("score-desc")
    shown = [r.get_attribute("data-id") for r in browser.find_elements("css selector", "#samples tbody tr")]
    scores = {r.id: r.score for r in records if r.status == "ok"}
    assert [scores[i] for i in shown] == sorted(scores.values(), reverse=True)
    _show(browser, "missing")
    reason = browser.find_element("css selector", "#detail .reason").text
    assert reason == errors[0].error.strip() and "no_such_video.mp4" in reason


def test_model_output_with_html_is_shown_as_text_and_runs_nothing(distill_site, browser):
    _open(browser, distill_site.path)
    _show(browser, "html")
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements("css selector", "#detail img[src='x'], #detail script") == []
    steps = browser.find_elements("css selector", "#detail ol.rstar li")
    assert [s.text for s in steps] == [PAYLOAD]
    assert _console_errors(browser) == []


def test_the_eval_page_puts_the_arms_side_by_side(evaluated, browser, tmp_path):
    from aurelia_local.app.view.site import build_site

    rows = read_eval_rows(evaluated / "samples.jsonl")
    site = build_site(evaluated, tmp_path / "view", progress=False)
    assert site.kind == "eval" and site.samples == 2 and (tmp_path / "view" / "accuracy.png").is_file()
    _open(browser, site.path)
    report = browser.find_element("id", "report").text
    assert "zero_shot" in report and "aurelia" in report
    assert browser.execute_script("return document.querySelector('#report img.chart').naturalWidth") > 0
    sample = rows[0].sample_id
    _show(browser, sample)
    for row in (r for r in rows if r.sample_id == sample):
        cell = browser.find_element("css selector", f"#detail td[data-arm='{row.arm}']")
        assert cell.find_element("css selector", "pre.output").text == row.output.strip()
        assert ("right" if row.correct else "wrong") in cell.text
        assert f"answer {row.extracted or NONE}" in cell.text
        injected = [li.text for li in cell.find_elements("css selector", "ol.rstar li")]
        assert injected == [s.strip() for s in row.r_star or []]
        assert row.arm == "aurelia" or not injected
    assert _console_errors(browser) == []


def test_a_run_in_progress_shows_what_is_done_and_media_are_written_once(distilled, distill_site, tmp_path):
    from aurelia_local.app.view.site import build_site

    run, _ = distilled
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("summary.json", "view"))
    text = (copy / "traces.jsonl").read_text()
    lines = text.splitlines(keepends=True)
    (copy / "traces.jsonl").write_text("".join(lines[:2]) + lines[2][:40])  # a torn last line
    site = build_site(copy, tmp_path / "view", progress=False)
    index = json.loads((tmp_path / "view" / "data" / "index.js").read_text()[len("AURELIA.loadIndex(") : -3])
    assert site.samples == 2 and index["in_progress"] and len(index["samples"]) == 2
    media = sorted(p for p in (tmp_path / "view" / "media").rglob("*") if p.is_file())
    assert media and all(p.suffix in (".jpg", ".ogg") for p in media)
    stamps = {p: p.stat().st_mtime_ns for p in media}
    (copy / "traces.jsonl").write_text(text)  # the run went on
    again = build_site(copy, tmp_path / "view", progress=False)
    assert again.samples == 4
    assert {p: p.stat().st_mtime_ns for p in media} == stamps  # nothing written twice


def test_a_folder_that_is_not_a_run_is_refused_with_what_to_pass(tmp_path):
    from aurelia_local.app.view.site import build_site

    with pytest.raises(AureliaError, match="aurelia view takes the --out folder of aurelia distill"):
        build_site(tmp_path)
