"""Supervisor accounts and password hashes (pure parts of robot.web.auth)."""

from __future__ import annotations

import json

import pytest

from robot.web.auth import (
    Accounts,
    AccountsError,
    Role,
    hash_password,
    is_loopback,
    parse_accounts,
    verify_password,
)


def test_hash_round_trip_and_salting():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("correct horse", a) and verify_password("correct horse", b)
    assert not verify_password("wrong horse", a)


@pytest.mark.parametrize("bad", ["", "plain", "scrypt$1$2", "md5$a$b$c$d$e", "scrypt$x$8$1$a$b"])
def test_malformed_hash_never_verifies(bad):
    assert verify_password("anything", bad) is False


def test_accounts_from_json_and_file(tmp_path):
    doc = [
        {"name": "anna", "role": "admin", "password": hash_password("pw-anna-1")},
        {"name": "boris", "password": hash_password("pw-boris-1")},
    ]
    accounts = parse_accounts(json.dumps(doc))
    assert accounts["anna"].role is Role.ADMIN and accounts["boris"].role is Role.VIEWER
    f = tmp_path / "supervisors.json"
    f.write_text(json.dumps(doc))
    assert set(parse_accounts(str(f))) == {"anna", "boris"}


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '{"name": "x"}',
        '[{"name": "x", "password": "plain"}]',
        '[{"name": "x", "role": "god", "password": "scrypt$1$1$1$a$b"}]',
        "/nonexistent/supervisors.json",
    ],
)
def test_bad_accounts_setting_is_refused(raw):
    with pytest.raises(AccountsError):
        parse_accounts(raw)


def test_dev_account_only_on_loopback():
    dev = Accounts.from_settings(None, "127.0.0.1")
    assert dev.check("admin", "admin") is not None and dev.check("admin", "nope") is None
    assert len(Accounts.from_settings(None, "0.0.0.0")) == 0
    assert is_loopback("localhost") and is_loopback("::1") and not is_loopback("10.0.0.1")


def test_check_unknown_user_is_none():
    accounts = Accounts.from_settings(
        json.dumps([{"name": "a", "role": "viewer", "password": hash_password("secret-1")}]),
        "0.0.0.0",
    )
    assert accounts.check("zed", "secret-1") is None
    assert accounts.check("a", "secret-1") is not None


def test_passwd_command_prints_a_usable_entry(monkeypatch, capsys):
    import io

    from robot.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    assert main(["passwd", "--name", "anna", "--role", "admin", "--stdin"]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["name"] == "anna" and entry["role"] == "admin"
    assert parse_accounts(json.dumps([entry]))["anna"].role is Role.ADMIN
    assert verify_password("s3cret-pass", entry["password"])


def test_an_account_may_be_limited_to_some_shops():
    pw = hash_password("pw-anna-1")
    doc = [{"name": "anna", "role": "admin", "password": pw, "shops": ["Ромашка", " Alfa "]},
           {"name": "oleg", "role": "viewer", "password": pw}]  # fmt: skip
    accounts = parse_accounts(json.dumps(doc))
    assert accounts["anna"].shops == {"Ромашка", "Alfa"}
    assert accounts["oleg"].shops is None  # every shop


@pytest.mark.parametrize(
    ("shops", "role"),
    [([], "admin"), ("Alfa", "admin"), ([""], "admin"), ([1], "admin"), (["Alfa"], "shop"),
     (["Alfa"], "metrics")],
)  # fmt: skip
def test_bad_shops_or_a_token_role_are_refused_naming_the_entry(shops, role):
    doc = [{"name": "anna", "role": role, "password": hash_password("pw"), "shops": shops}]
    with pytest.raises(AccountsError, match=r"supervisors\[0\]"):
        parse_accounts(json.dumps(doc))
