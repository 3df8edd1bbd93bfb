"""Reading a Redis store URL: onetime's options are taken out, redis-py's pass on, others are named."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from redis.asyncio import Redis

from onetime.store.redis import _OPTIONS_BY_SCHEME, RedisURLError, parse_redis_url

# A value redis-py accepts for each option a single server's URL may carry.
SAMPLE_VALUES = {
    "db": "0", "health_check_interval": "5", "max_connections": "10", "socket_read_size": "65536",
    "client_name": "onetime", "username": "ot", "password": "pw", "socket_keepalive": "true",
    "ssl_ca_certs": "/etc/ca.pem", "ssl_ca_path": "/etc/ssl/certs", "ssl_cert_reqs": "none",
    "ssl_certfile": "/etc/client.pem", "ssl_check_hostname": "false", "ssl_ciphers": "HIGH",
    "ssl_exclude_verify_flags": "", "ssl_include_verify_flags": "", "ssl_keyfile": "/etc/k.pem",
    "ssl_min_version": "771", "ssl_password": "pw",
}  # fmt: skip
BASES = {
    "redis": "redis://127.0.0.1:6379/0",
    "rediss": "rediss://127.0.0.1:6380/0",
    "unix": "unix:///run/redis.sock",
}


def test_redis_py_options_reach_redis_py_and_ours_do_not() -> None:
    target = parse_redis_url(
        "redis://127.0.0.1:6379/0?prefix=ot:&timeout=0.5&socket_keepalive=true&max_connections=50"
    )
    assert (target.kind, target.prefix, target.timeout) == ("single", "ot:", 0.5)
    passed = dict(parse_qsl(urlsplit(target.url).query))
    assert passed == {"socket_keepalive": "true", "max_connections": "50"}


@pytest.mark.parametrize(
    ("scheme", "name"),
    [(scheme, name) for scheme, names in _OPTIONS_BY_SCHEME.items() for name in sorted(names)],
)
def test_every_option_let_through_is_one_its_connection_takes(scheme: str, name: str) -> None:
    # Before, redis-py handed an option its connection class does not take straight to it, and
    # the first connection failed with a TypeError. Making one connects nothing.
    target = parse_redis_url(f"{BASES[scheme]}?{name}={SAMPLE_VALUES[name]}")
    client = Redis.from_url(target.url, socket_timeout=1, decode_responses=False)
    connection = client.connection_pool.make_connection()
    assert connection is not None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:6379/0?prefx=ot:", "does not know here: 'prefx'"),
        # A connection argument redis-py would take, but that would break the store.
        (
            "rediss://127.0.0.1:6380/0?decode_responses=true",
            "does not know here: 'decode_responses'",
        ),
        ("redis://127.0.0.1:6379/0?protocol=3", "does not know here: 'protocol'"),
        # Options of another kind of connection: TLS on plain TCP, keepalive on a Unix socket.
        ("redis://127.0.0.1:6379/0?ssl_certfile=/etc/c.pem", "does not know here: 'ssl_certfile'"),
        ("unix:///run/redis.sock?socket_keepalive=true", "does not know here: 'socket_keepalive'"),
        # Ours to set: the deadline of every batch relies on it.
        ("redis://127.0.0.1:6379/0?socket_timeout=5", "'socket_timeout' is onetime's to set"),
        ("unix:///run/redis.sock?socket_connect_timeout=5", "'socket_connect_timeout' is onetime"),
        # Cluster and Sentinel URLs take ours only; others used to be dropped without a word.
        ("redis+cluster://127.0.0.1:6379?prefix=ot:&max_connections=5", "'max_connections'"),
        ("redis+sentinel://127.0.0.1:26379/main?db=2", "does not know here: 'db'"),
    ],
)
def test_an_option_onetime_does_not_pass_on_is_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(RedisURLError, match=message):
        parse_redis_url(url)


def test_a_password_cut_short_by_a_question_mark_is_not_echoed() -> None:
    with pytest.raises(RedisURLError, match="percent-encode") as refused:
        parse_redis_url("redis://:abc?xyzzy=w0rd@127.0.0.1:6379/0")
    assert "xyzzy" not in str(refused.value)
    assert "w0rd" not in str(refused.value)


def test_a_password_cut_short_by_a_hash_sign_is_not_echoed() -> None:
    # Taken for a fragment, the rest left "pa" as the port, and redis-py's error said so.
    with pytest.raises(RedisURLError, match="holds a '#': percent-encode") as refused:
        parse_redis_url("redis://:xyzzy#w0rd@127.0.0.1:6379/0")
    assert "xyzzy" not in str(refused.value)
    assert "w0rd" not in str(refused.value)


def test_an_unknown_scheme_is_named_before_its_options() -> None:
    with pytest.raises(RedisURLError, match="unsupported Redis URL scheme 'http'"):
        parse_redis_url("http://127.0.0.1:6379/0?prefx=ot:")
