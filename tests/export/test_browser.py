"""The run report in a real browser: Debian's chromium, headless, renders it; the screenshot is not blank, and the
funnel and a lineage entry are in the rendered DOM."""

import shutil
import subprocess

import pytest

from codealign.export.report import write_report
from codealign.records import iter_jsonl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium: `make system-deps` installs Debian's chromium when run as root (apt-get install chromium)",
)
# Headless on a machine with no network and no display: no GPU, no sandbox (we run as root in CI), and none of
# the background connections a closed network would refuse.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars")  # fmt: skip
KEPT, REMOVED = (0x3B, 0x6E, 0xA8), (0xD1, 0x76, 0x2B)  # the funnel's colours


def chromium(profile, *args):
    res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                         timeout=180)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_report_renders_in_chromium(demo_run, tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="pillow comes with codealign[dev]")
    page = write_report(demo_run)
    shot = tmp_path / "report.png"
    chromium(tmp_path / "profile-shot", "--window-size=1280,2000", f"--screenshot={shot}", page.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    colors = image.getcolors(maxcolors=1 << 22)
    most = max(count for count, _ in colors)
    assert len(colors) > 200 and most < 0.9 * 1280 * 2000, "the page rendered blank"
    pixels = dict((rgb, count) for count, rgb in colors)
    # The funnel's bars are drawn: kept and removed records both show.
    assert pixels.get(KEPT, 0) > 2000 and pixels.get(REMOVED, 0) > 200

    dom = chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert 'aria-label="records kept and removed at each step"' in dom
    for stage in ("seeds", "concepts", "instruction", "response", "execute"):
        assert f'id="step-{stage}"' in dom
    first = next(iter_jsonl(demo_run / "final" / "sft.jsonl"))
    assert f'id="example-{first["lineage"]["sample"]}"' in dom
    entry = dom.split(f'id="example-{first["lineage"]["sample"]}"', 1)[1].split('class="lineage"', 1)[0]
    assert "license <b>" in entry and "read from <code>" in entry
