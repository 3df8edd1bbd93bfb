"""Reading a Redis store URL: onetime's options are taken out, redis-py's pass on, others are named."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from onetime.store.redis import RedisURLError, parse_redis_url


def test_redis_py_options_reach_redis_py_and_ours_do_not() -> None:
    target = parse_redis_url(
        "redis://127.0.0.1:6379/0?prefix=ot:&timeout=0.5&socket_keepalive=true&max_connections=50"
    )
    assert (target.kind, target.prefix, target.timeout) == ("single", "ot:", 0.5)
    passed = dict(parse_qsl(urlsplit(target.url).query))
    assert passed == {"socket_keepalive": "true", "max_connections": "50"}


def test_tls_options_redis_py_takes_as_text_pass_on() -> None:
    target = parse_redis_url("rediss://10.0.0.5:6380/0?ssl_cert_reqs=none&ssl_ca_certs=/etc/ca.pem")
    passed = dict(parse_qsl(urlsplit(target.url).query))
    assert passed == {"ssl_cert_reqs": "none", "ssl_ca_certs": "/etc/ca.pem"}


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("redis://127.0.0.1:6379/0?prefx=ot:", "prefx"),
        # A connection argument redis-py would take, but that would break the store.
        ("rediss://127.0.0.1:6380/0?timeout=1&decode_responses=true", "decode_responses"),
        ("redis+cluster://127.0.0.1:6379?prefix=ot:&max_connections=5", "max_connections"),
        ("redis+sentinel://127.0.0.1:26379/main?socket_timeout=2", "socket_timeout"),
    ],
)
def test_an_option_onetime_does_not_pass_on_is_refused_by_name(url: str, name: str) -> None:
    with pytest.raises(RedisURLError, match=f"does not know: '{name}'"):
        parse_redis_url(url)
