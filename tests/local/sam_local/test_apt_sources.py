"""Finding the machine's Debian mirror for the image's debootstrap, in both APT source formats."""

from local.sam_local.apt_sources import debian_mirror, read_apt_sources

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_a_deb822_source_serving_the_suite_gives_its_uri():
    # Given a .sources file whose first stanza serves bookworm/main
    # When the mirror for bookworm is looked up / Then it is that stanza's URI
    assert debian_mirror([("debian.sources", DEB822)], "bookworm") == "http://mirror.example/debian"


def test_a_one_line_source_with_options_gives_its_uri():
    # Given a sources.list line carrying [options] before the URI
    text = "deb [arch=amd64 signed-by=/etc/k.gpg] http://one.example/debian bookworm main contrib\n"
    # When looked up / Then the URI after the options is returned
    assert debian_mirror([("sources.list", text)], "bookworm") == "http://one.example/debian"


def test_source_packages_other_suites_and_other_components_are_passed_over():
    # Given entries that do not serve bookworm binaries from main, then one that does
    text = (
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://old.example/debian bullseye main\n"
        "deb http://contrib.example/debian bookworm contrib\n"
        "# deb http://commented.example/debian bookworm main\n"
        "deb http://right.example/debian bookworm main\n"
    )
    # When looked up / Then only the last one qualifies
    assert debian_mirror([("sources.list", text)], "bookworm") == "http://right.example/debian"


def test_a_disabled_deb822_stanza_is_passed_over():
    # Given a disabled stanza before an enabled one
    text = (
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
        + DEB822
    )
    # When looked up / Then the enabled one answers
    assert debian_mirror([("debian.sources", text)], "bookworm") == "http://mirror.example/debian"


def test_no_source_for_the_suite_gives_none():
    # Given sources for another suite only / When bookworm is looked up / Then there is no mirror
    assert debian_mirror([("debian.sources", DEB822.replace("bookworm", "trixie"))], "bookworm") is None


def test_sources_are_read_in_apt_order_and_disabled_files_ignored(tmp_path):
    # Given sources.list, two part files and a file APT ignores
    (tmp_path / "sources.list").write_text("deb http://first.example/debian bookworm main\n")
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "b.sources").write_text(DEB822)
    (parts / "a.list").write_text("deb http://a.example/debian bookworm main\n")
    (parts / "c.list.disabled").write_text("deb http://ignored.example/debian bookworm main\n")
    # When read / Then sources.list comes first, then the parts by name, and the disabled file not at all
    assert [name for name, _ in read_apt_sources(tmp_path)] == ["sources.list", "a.list", "b.sources"]
