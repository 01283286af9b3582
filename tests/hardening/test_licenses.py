"""A file's own license statement and its package's metadata win over a LICENSE file further up."""

import json

from codealign.curate.licenses import LicenseMap, header_license
from tests.hardening.inputs import cli

PSF = "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2\n1. This LICENSE AGREEMENT is between the Python Software Foundation\n"
MPL_HEADER = ("# This Source Code Form is subject to the terms of the Mozilla Public\n"
              "# License, v. 2.0. If a copy of the MPL was not distributed with this\n"
              "# file, You can obtain one at https://mozilla.org/MPL/2.0/.\n")  # fmt: skip


def _fn(name):
    return f'def {name}(x):\n    """Double x."""\n    return x * 2\n'


def _python_install(root):
    """A Python installation: the interpreter's LICENSE at the top, third-party packages in site-packages."""
    sp = root / "lib" / "site-packages"
    sp.mkdir(parents=True)
    (root / "LICENSE").write_text(PSF)
    (root / "lib" / "stdmod.py").write_text(_fn("std_double"))
    (sp / "mplpkg").mkdir()
    (sp / "mplpkg" / "core.py").write_text(MPL_HEADER + _fn("mpl_double"))
    (sp / "mitpkg").mkdir()
    (sp / "mitpkg" / "util.py").write_text(_fn("mit_double"))
    meta = sp / "mitpkg-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.4\nName: mitpkg\nLicense-Expression: MIT\n\nLong text.\n")
    (meta / "RECORD").write_text("mitpkg/util.py,sha256=x,1\nmitpkg-1.0.dist-info/METADATA,,\n")
    (sp / "gplpkg").mkdir()
    (sp / "gplpkg" / "a.py").write_text(_fn("gpl_double"))
    meta = sp / "gplpkg-2.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Name: gplpkg\nClassifier: License :: OSI Approved :: GNU General Public License v3 "
                                   "(GPLv3)\n\n")
    (meta / "top_level.txt").write_text("gplpkg\n")
    (sp / "six.py").write_text(_fn("six_double"))
    meta = sp / "six-1.16.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Name: six\nLicense: MIT\n\n")
    (meta / "RECORD").write_text("six.py,,\n")


def test_the_nearest_statement_decides(tmp_path):
    _python_install(tmp_path)
    lm = LicenseMap.scan(tmp_path)
    sp = "lib/site-packages"
    assert lm.decide("lib/stdmod.py", _fn("f")) == ("PSF-2.0", "license file LICENSE")
    assert lm.decide(f"{sp}/mplpkg/core.py", MPL_HEADER + _fn("f")) == ("MPL-2.0", "file header")
    assert lm.decide(f"{sp}/mitpkg/util.py", _fn("f")) == ("MIT", "package mitpkg-1.0.dist-info")
    assert lm.decide(f"{sp}/gplpkg/a.py", _fn("f")) == ("GPL-3.0", "package gplpkg-2.0.dist-info")
    assert lm.decide(f"{sp}/six.py", _fn("f")) == ("MIT", "package six-1.16.0.dist-info")


def test_header_notices_are_read_from_the_leading_comments_only():
    apache = '"""Tools.\n\nLicensed under the Apache License, Version 2.0 (the "License").\n"""\n' + _fn("f")
    assert header_license(apache) == "Apache-2.0"
    assert header_license("#!/usr/bin/env python\n# SPDX-License-Identifier: BSD-3-Clause\n" + _fn("f")) == "BSD-3-Clause"
    # A license named in the code itself, after the header, says nothing about the file.
    later = _fn("f") + 'NOTICE = "GNU General Public License version 3"\n'
    assert header_license(later) is None


def test_curate_says_which_source_decided(tmp_path):
    _python_install(tmp_path / "py")
    out = tmp_path / "seeds.jsonl"
    res = cli(["curate", str(tmp_path / "py"), "-o", str(out), "--no-near-dedup"])
    assert res.returncode == 0, res.stderr
    seeds = {r["name"]: r["provenance"] for r in map(json.loads, out.read_text().splitlines())}
    assert {n: (p["license"], p["license_source"]) for n, p in seeds.items()} == {
        "std_double": ("PSF-2.0", "license file LICENSE"),
        "mit_double": ("MIT", "package mitpkg-1.0.dist-info"),
        "six_double": ("MIT", "package six-1.16.0.dist-info"),
    }
    rejects = [json.loads(line) for line in (tmp_path / "seeds.rejects.jsonl").read_text().splitlines()]
    assert sorted(r["reason"] for r in rejects) == [
        "license: copyleft (GPL-3.0, decided by package gplpkg-2.0.dist-info)",
        "license: copyleft (MPL-2.0, decided by file header)",
    ]
    funnel = json.loads((tmp_path / "seeds.funnel.json").read_text())
    assert funnel["license_sources"] == {"license file": 1, "file header": 1, "package metadata": 3}
