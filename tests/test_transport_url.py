"""ssh:// target addresses."""

import pytest

from lab.errors import UsageError
from lab.transport.url import TargetUrl, parse_target


@pytest.mark.parametrize(
    "text, url",
    [
        ("ssh://root@cell-blade", TargetUrl("root", "cell-blade", 0)),
        ("ssh://root@127.0.0.1:2222", TargetUrl("root", "127.0.0.1", 2222)),
        ("ssh://kernel@[fe80::1]:22/", TargetUrl("kernel", "fe80::1", 22)),
        ("ssh://ps3", TargetUrl("", "ps3", 0)),  # user and port from the ssh config
    ],
)
def test_targets_parse(text, url):
    assert parse_target(text) == url


@pytest.mark.parametrize(
    "text",
    [
        "root@host",
        "ssh://",
        "ssh://root@host:0",
        "ssh://root@host:99999",
        "ssh://a b",
        "http://host",
    ],
)
def test_bad_targets_are_refused_with_the_form_to_use(text):
    with pytest.raises(UsageError, match="bad target"):
        parse_target(text)


def test_the_url_prints_back_in_the_form_it_was_given():
    assert str(TargetUrl("root", "127.0.0.1", 2222)) == "ssh://root@127.0.0.1:2222"
    assert str(TargetUrl("root", "fe80::1")) == "ssh://root@[fe80::1]"
    assert str(TargetUrl("", "cell-blade")) == "ssh://cell-blade"
    assert str(parse_target("ssh://root@host:22")) == "ssh://root@host:22"
