"""TOTP codes, the QR code and recovery codes (filebay.auth.totp)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pyotp

from filebay.auth import totp

NOW = 1_700_000_000.0  # a fixed moment: step 56666666


def test_codes_of_the_step_and_its_neighbours_match() -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    step = int(NOW // 30)
    assert totp.matching_step(secret, app.at(NOW), NOW) == step
    assert totp.matching_step(secret, app.at(NOW - 30), NOW) == step - 1
    assert totp.matching_step(secret, app.at(NOW + 30), NOW) == step + 1
    assert totp.matching_step(secret, app.at(NOW - 90), NOW) is None
    assert totp.matching_step(secret, app.at(NOW + 90), NOW) is None


def test_malformed_codes_never_match() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    for bad in (
        "",
        code[:5],
        code + "0",
        "abcdef",
        f" {code}",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    ):
        assert totp.matching_step(secret, bad, NOW) is None
    assert totp.normalize(f" {code[:3]} {code[3:]} ") == code


def test_secrets_are_160_bits_and_the_uri_names_filebay() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and re.fullmatch(r"[A-Z2-7]+", secret)
    assert totp.new_secret() != secret
    uri = totp.provisioning_uri(secret, "alice")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parse_qs(parts.query)["secret"] == [secret]
    assert parse_qs(parts.query)["issuer"] == ["filebay"]


def test_the_qr_code_is_inline_svg_without_script() -> None:
    svg = totp.qr_svg(totp.provisioning_uri(totp.new_secret(), "alice"))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<script" not in svg and "<?xml" not in svg and "href" not in svg


def test_recovery_codes_are_ten_distinct_and_never_look_like_totp() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert totp.looks_like_recovery(code) and not totp.looks_like_totp(code)
        assert totp.looks_like_recovery(totp.normalize(code.upper()))
