"""The report read in a real browser: headless Chromium.

A copy of a report (every section: comparison, certificates, credit,
privacy, group metrics) gets a small script that, once the page has loaded,
opens every ``<details>`` and writes its measurements into the page
(synchronously, in the load handler: ``--dump-dom`` does not wait for
promises); ``chromium --headless --dump-dom`` prints the
page and the test reads them back. At a laptop's width and a narrow one:
every image loads, the page never scrolls sideways, no element reaches past
its right edge unless it sits in a box that scrolls on its own, every table
is in such a box, and no column is headed by a code name.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when
``/usr/bin/chromium`` is missing); the test skips only where it is absent.
"""

import html
import json
import re
import shutil
import subprocess

import pytest
from audit_cases import german_audit

CHROMIUM = next(
    (
        path
        for path in map(shutil.which, ["chromium", "chromium-browser", "chrome"])
        if path
    ),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y "
    "chromium; .ci/run installs it)",
)

# Metric names of the code (results.csv, sklfair.metrics tables) that a
# column heading must not show.
CODE_NAMES = [
    "DP diff",
    "EO diff",
    "fit s",
    "AIR ",
    "_difference",
    "_ratio",
    "_rate",
    "roc_auc",
    "min_group",
    "max_group",
    "ks_statistic",
    "brier_score",
    "expected_calibration_error",
    "mean_predicted",
    "adverse_impact",
    "p_value",
    "n_members",
]

MEASURE = """
<script>
window.addEventListener("load", () => {
  // synchronous: the load event comes after every image has loaded (or
  // failed), and --dump-dom may print the page as soon as it has run
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const images = Array.from(document.images);
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if (overflow === "auto" || overflow === "scroll") return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() +
    (el.className ? "." + el.className : "") + " '" +
    el.textContent.trim().slice(0, 40) + "'";
  const beyond = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if ((box.right > width + 0.5 || box.left < -0.5) && !scrolls(el)) {
      beyond.push(name(el) + " right " + Math.round(box.right));
    }
  }
  const result = {
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    images: images.map((img) => ({
      src: img.getAttribute("src"),
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      width: img.getBoundingClientRect().width,
    })),
    beyond: beyond,
    unboxedTables: Array.from(document.querySelectorAll("table"))
      .filter((t) => !scrolls(t)).map(name),
    headings: Array.from(document.querySelectorAll("th")).map((t) => t.textContent),
    abbrTitles: Array.from(document.querySelectorAll("th abbr")).map(
      (a) => a.getAttribute("title")),
  };
  const pre = document.createElement("pre");
  pre.id = "sklfair-measurements";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>
"""


def _chromium(page, profile, width, *args):
    """Run headless Chromium on ``page``; its stdout."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={width},900",
        "--hide-scrollbars",
        "--virtual-time-budget=20000",
        *args,
        page.as_uri(),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A copy of the report with the measuring script, and the report's images."""
    _, out = german_audit(privacy=True)
    copy = tmp_path_factory.mktemp("browser") / "report"
    shutil.copytree(out, copy)
    page = copy / "report.html"
    text = page.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', text)
    page.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return page, images


@pytest.mark.parametrize("width", [1280, 800])
def test_the_report_fits_the_browser_window(report, tmp_path, width):
    page, images = report
    dom = _chromium(page, tmp_path / "profile", width, "--dump-dom")
    found = re.search(r'<pre id="sklfair-measurements">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run:\n" + dom[-2000:]
    measured = json.loads(html.unescape(found.group(1)))

    # every image loads, and is shown no wider than the page
    assert [i["src"] for i in measured["images"]] == images
    # the Pareto plot, and each model's groups, calibration and approvals
    assert sorted(images) == sorted(p.name for p in page.parent.glob("*.png"))
    assert len(images) == 7
    for image in measured["images"]:
        assert image["complete"] and image["naturalWidth"] > 0, image
        assert image["width"] <= measured["width"], image
    # nothing runs off the right edge: the page does not scroll sideways,
    # and a table wider than the page scrolls inside its own box
    assert measured["scrollWidth"] <= measured["width"]
    assert measured["beyond"] == []
    assert measured["unboxedTables"] == []
    # columns are named in words; the code name is in the tooltip
    for heading in measured["headings"]:
        for code in CODE_NAMES:
            assert code not in heading, heading
    titles = set(measured["abbrTitles"])
    for code in ["DP diff age_band", "demographic_parity_difference", "AIR sex"]:
        assert any(t.startswith(code) for t in titles), code


def test_a_screenshot_of_the_first_screen(report, tmp_path):
    """The screenshot kept in the docs is taken the same way."""
    page, _ = report
    shot = tmp_path / "first_screen.png"
    _chromium(page, tmp_path / "profile", 1280, f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
