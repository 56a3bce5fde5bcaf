"""The court settings (issue 14): name, contact line and default language, from the
TOML file, the environment and the command line, checked when loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearing_server.settings import load_settings


def test_the_court_is_named_with_a_contact_line_and_a_default_language(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('court_name = "Example District Court"\n'
                      'court_contact = "Clerk\'s office, +1 555 0100, clerk@court.example"\n')
    s = load_settings(config, env={"HEARING_DEFAULT_LANGUAGE": "zh-CN"})
    assert s.court_name == "Example District Court"
    assert s.court_contact == "Clerk's office, +1 555 0100, clerk@court.example"
    assert s.default_language == "zh-CN"
    # the command line wins over the file and the environment
    s = load_settings(config, env={"HEARING_DEFAULT_LANGUAGE": "zh-CN"},
                      court_contact="+1 555 0199", default_language="en")
    assert (s.court_contact, s.default_language) == ("+1 555 0199", "en")
    defaults = load_settings(env={})
    assert (defaults.court_name, defaults.court_contact, defaults.default_language) == (
        "Hearing Server", "", "en")


def test_a_default_language_the_pages_do_not_speak_is_refused() -> None:
    with pytest.raises(ValueError, match="default_language 'fr'"):
        load_settings(env={"HEARING_DEFAULT_LANGUAGE": "fr"})
