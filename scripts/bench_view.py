"""Benchmark ``aurelia view`` on a large run: site size, build time and the time the page takes to open.

A run of N records is made from a real distill run's records (ids renumbered, the same videos), its
site is built, and headless Chromium (Debian's chromium and chromium-driver, ``scripts/setup.sh
dev``) opens it from disk: the time until the index table shows, and until a sample of the last
data chunk shows.

    .venv/bin/python scripts/bench_view.py --run RUN_DIR [-n 10000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def make_run(source: Path, n: int, out: Path) -> None:
    """``out``: a distill run of ``n`` records copied from ``source``'s records."""
    lines = [json.loads(x) for x in (source / "traces.jsonl").read_text().splitlines() if x.strip()]
    if not lines:
        raise SystemExit(f"{source}/traces.jsonl holds no records")
    out.mkdir(parents=True)
    with (out / "traces.jsonl").open("w") as handle:
        for i in range(n):
            record = dict(lines[i % len(lines)])
            record["id"] = f"s{i:06d}"
            handle.write(json.dumps(record) + "\n")
    for name in ("run.json", "summary.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)


def open_times(page: Path, last_id: str) -> tuple[float, float]:
    """Seconds until the index shows, and until the sample ``last_id`` shows once asked for."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run")  # fmt: skip
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        start = time.perf_counter()
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.querySelectorAll('#samples tbody tr').length > 0")
        )
        opened = time.perf_counter() - start
        start = time.perf_counter()
        driver.execute_script("location.hash = '#/sample/' + arguments[0]", last_id)
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return !!document.querySelector('#detail article[data-id]')")
        )
        return opened, time.perf_counter() - start
    finally:
        driver.quit()


def main() -> None:
    """Make the run, build its site twice, open it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a distill run folder to copy records from")
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    from aurelia_local.app.view.site import build_site

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        make_run(args.run, args.n, run)
        start = time.perf_counter()
        site = build_site(run, progress=False)
        built = time.perf_counter() - start
        start = time.perf_counter()
        build_site(run, progress=False)
        rebuilt = time.perf_counter() - start
        folder = site.path.parent
        index = (folder / "data" / "index.js").stat().st_size
        media = sum(p.stat().st_size for p in (folder / "media").rglob("*") if p.is_file())
        print(f"{site.samples} records: site {site.size_bytes / 1e6:.1f} MB ({site.chunks} data chunks, "
              f"index {index / 1e6:.2f} MB, media {media / 1e6:.2f} MB); built in {built:.1f} s, "
              f"rebuilt in {rebuilt:.1f} s")  # fmt: skip
        if Path("/usr/bin/chromium").is_file() and Path("/usr/bin/chromedriver").is_file():
            opened, detail = open_times(site.path, f"s{args.n - 1:06d}")
            print(f"headless chromium: index shown {opened:.2f} s after load began; a sample of the last "
                  f"chunk shown {detail:.2f} s after it was asked for")  # fmt: skip
        else:
            print("no /usr/bin/chromium or chromedriver: open times not measured (scripts/setup.sh dev)")


if __name__ == "__main__":
    main()
