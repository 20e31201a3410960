"""HTTP signatures: round trips, published test vectors, a Fedify-shaped request, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from multidict import CIMultiDict

from federation.signatures import (
    SignatureError,
    SignedRequestInfo,
    cavage,
    generate_key_pair,
    keys,
    parse_signature,
    rfc9421,
    sign_request,
    verify_request,
)
from federation.signatures.base import parse_message


def _pem(kind: str, b64: str) -> str:
    body = "".join(b64.split())
    return f"-----BEGIN {kind}-----\n" + "\n".join(textwrap.wrap(body, 64)) + f"\n-----END {kind}-----\n"


def _reason(exc_info: pytest.ExceptionInfo[SignatureError]) -> str:
    return exc_info.value.reason


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
INBOX = "https://cara.example/users/ann/inbox"
KEY_ID = "https://peer.example/users/bob#main-key"
BODY = b'{"type":"Follow","actor":"https://peer.example/users/bob"}'


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def other_pair() -> tuple[str, str]:
    return generate_key_pair()


def _signed_post(private_pem: str, body: bytes = BODY, now: datetime = NOW, url: str = INBOX) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json"}
    return {**headers, **sign_request("POST", url, headers, body, KEY_ID, private_pem, now=now)}


# --- round trips -------------------------------------------------------------------------------------


def test_generate_key_pair_is_rsa_2048(pair):
    private_pem, public_pem = pair
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_post_round_trip(pair):
    private_pem, public_pem = pair
    headers = _signed_post(private_pem)
    assert headers["Host"] == "cara.example"
    assert headers["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    info = verify_request("POST", INBOX, headers, BODY, public_pem, now=NOW + timedelta(minutes=5))
    assert info == SignedRequestInfo(KEY_ID, "draft-cavage", ("(request-target)", "host", "date", "digest"))
    assert parse_signature("POST", INBOX, headers) == info


def test_get_round_trip(pair):
    private_pem, public_pem = pair
    url = "https://cara.example:8443/users/ann/outbox?page=true"
    headers = sign_request("GET", url, {"Accept": "application/activity+json"}, None, KEY_ID, private_pem, NOW)
    assert set(headers) == {"Host", "Date", "Signature"}
    assert headers["Host"] == "cara.example:8443"
    info = verify_request("GET", url, headers, None, public_pem, now=NOW)
    assert info.covered == ("(request-target)", "host", "date")


def test_signing_is_fresh_on_every_call(pair):
    first = _signed_post(pair[0])
    later = _signed_post(pair[0], now=NOW + timedelta(seconds=30))
    assert first["Date"] != later["Date"] and first["Signature"] != later["Signature"]


def test_ed25519_key_signs_and_verifies_as_hs2019():
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    headers = _signed_post(private_pem)
    assert 'algorithm="hs2019"' in headers["Signature"]
    assert verify_request("POST", INBOX, headers, BODY, public_pem, now=NOW).scheme == "draft-cavage"


def test_multidict_headers_and_authorization_header(pair):
    private_pem, public_pem = pair
    signed = _signed_post(private_pem)
    headers = CIMultiDict(signed)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert verify_request("POST", INBOX, headers, BODY, public_pem, now=NOW).key_id == KEY_ID


# --- draft-cavage-http-signatures-12 appendix C ------------------------------------------------------

CAVAGE_PUBLIC = _pem(
    "PUBLIC KEY",
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq"
    "0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJwoYi+1hqp"
    "1fIekaxsyQIDAQAB",
)
CAVAGE_PRIVATE = _pem(
    "PRIVATE KEY",
    "MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAMIUQ0bDffIaKHL3akONlCGXQLfqs8mP4K99ILz6rbyHEDXrVAU1"
    "R3XfC4JNRyrRB3aqwF7/aEXJzYMIkmDSHUvvz7pnhQxHsQ5yl91QT0d/eb+Gz4VRHjm4El4MrUdIUcPxscoPqS/wU8Z8lOi1z7bG"
    "MnChiL7WGqnV8h6RrGzJAgMBAAECgYEAlHxmQJS/HmTO/6612XtPkyeit1PVO+hdckZcrtln5S68w1QJ03ZA9ziwGIBBa8vDVxIq"
    "3kOwpnxQROlg/Lyk9iecMTPZ0NiJp7D37ESm5vJ5bagfhnHvXCoG04qSrCtdr+nN2mK5xFGOTq8TphjsQEGz+Du5qdWkaJs5UASy"
    "ofUCQQDsOSNUfbxYNSB/Weq9+fYqPoJPuchwTeMYmxlnvOVmYGYcUM40wtStdH9mbelHmbS0KYGprlEr3m7jXaO3V08jAkEA0lPe"
    "/ymeS2HjxtCj98p6Xq4RjJuhG0Dn+4e4eRnoVAXs5SQaiByZImW451zm3qEjVWwufRBkSNBkwQ5av7ApIwJBAILiRckSwcC97vug"
    "/oe0b8iISfuSnJRdE28WwMTRzOkkkG8v9pEVQnG5Er3WOGMLrywDs2wowaDk5dvkjkmPfrECQQCAhPtoU5gEXAaBABCRY0ou/JKA"
    "psBlFN4sFpykcy5B2XUN92e28DKqkBnSVjREqZYbpoUpqpB85coLJahSJWSdAkBeuWDJIVyL/a54qUgTVCoiItJnxXw6WkUtGdvW"
    "nMjtTXJBedMAQVgznrTImXNSk5vVXhxJwZ3frm2JIy/Es69M",
)
CAVAGE_URL = "http://example.com/foo?param=value&pet=dog"
CAVAGE_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
CAVAGE_BODY = b'{"hello": "world"}'
CAVAGE_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
CAVAGE_DEFAULT_SIG = (
    "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+l"
    "avg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="
)
CAVAGE_BASIC_SIG = (
    "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFY"
    "Rqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="
)
CAVAGE_ALL_SIG = (
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V0"
    "1IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="
)


def _cavage_headers(params: str) -> dict[str, str]:
    return {**CAVAGE_HEADERS, "Signature": 'keyId="Test",algorithm="rsa-sha256",' + params}


def test_cavage_c3_all_headers_vector_verifies():
    headers = _cavage_headers(
        f'headers="(request-target) host date content-type digest content-length",signature="{CAVAGE_ALL_SIG}"'
    )
    info = verify_request("POST", CAVAGE_URL, headers, CAVAGE_BODY, CAVAGE_PUBLIC, now=CAVAGE_NOW)
    assert info.key_id == "Test" and info.scheme == "draft-cavage"


@pytest.mark.parametrize(
    ("params", "expected_string", "published"),
    [
        ("", "date: Sun, 05 Jan 2014 21:31:40 GMT", CAVAGE_DEFAULT_SIG),
        (
            'headers="(request-target) host date",',
            "(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT",
            CAVAGE_BASIC_SIG,
        ),
    ],
)
def test_cavage_c1_c2_vectors(params, expected_string, published):
    """Published signatures are exact (PKCS#1 v1.5 is deterministic), but too weak for our policy."""
    headers = _cavage_headers(params + f'signature="{published}"')
    msg = parse_message("POST", CAVAGE_URL, headers)
    sig = cavage.parse(headers["Signature"])
    assert cavage.signing_string(msg, sig) == expected_string
    private = keys.load_private_key(CAVAGE_PRIVATE)
    assert base64.b64encode(keys.sign_bytes(private, expected_string.encode())).decode() == published
    keys.verify_signature(
        "rsa-v1_5-sha256",
        keys.load_public_key(CAVAGE_PUBLIC),
        base64.b64decode(published),
        expected_string.encode(),
        "Test",
    )
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", CAVAGE_URL, headers, CAVAGE_BODY, CAVAGE_PUBLIC, now=CAVAGE_NOW)
    assert "must cover" in _reason(exc)


def test_cavage_hs2019_with_rsa_pkcs1_signature():
    """What several fediverse servers send: hs2019 naming, RSA PKCS#1 v1.5 SHA-256 underneath."""
    string = "(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT"
    string += f"\ndigest: {CAVAGE_HEADERS['Digest']}"
    sig = base64.b64encode(keys.sign_bytes(keys.load_private_key(CAVAGE_PRIVATE), string.encode())).decode()
    headers = {
        **CAVAGE_HEADERS,
        "Signature": f'keyId="Test",algorithm="hs2019",headers="(request-target) host date digest",signature="{sig}"',
    }
    assert verify_request("POST", CAVAGE_URL, headers, CAVAGE_BODY, CAVAGE_PUBLIC, now=CAVAGE_NOW)


# --- RFC 9421 appendix B -----------------------------------------------------------------------------

RFC_RSA_PUBLIC = _pem(
    "RSA PUBLIC KEY",
    "MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3"
    "MOEt8uA5txSKobBpKDeBLOsdJKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZgkne/Yikt"
    "SvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJ"
    "EIB+VmuKn3DCUcCZSFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB",
)
RFC_RSA_PRIVATE = _pem(
    "RSA PRIVATE KEY",
    "MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgaj"
    "zrw3MOEt8uA5txSKobBpKDeBLOsdJKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZgkne/"
    "YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5"
    "OoZJEIB+VmuKn3DCUcCZSFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56vjgCgkjg3lkO1KrO"
    "3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxECpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL"
    "5934egm6p8DW+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaAyRXtK+JGxZpImTq+NHvEWWCu"
    "09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKRQo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5a"
    "sI0JYFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOMcCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci"
    "9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5CswDzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1mwJ5"
    "AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RTqn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2Zb"
    "wVOCJCtmRwmnP131lWRYfj67B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv9C+celgZd2PW"
    "7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bnf3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAc"
    "QWDLRpkGybBcxqZo81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa/2IxKzJKWl1BKr2d4xAf"
    "R0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAGIxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtv"
    "UvYvF22mqQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1PWtP+fG5Q6Dpdz3LRfm+KwBCWFKQj"
    "g7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQEQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=",
)
RFC_PSS_PUBLIC = _pem(
    "PUBLIC KEY",
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbP"
    "fvMs8ct+Lh1GH45x28Rw3Ry53mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHqgDsznjPF"
    "mTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZY"
    "oA485mqcO0GVAdVw9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI2wIDAQAB",
)
RFC_ED25519_PUBLIC = _pem("PUBLIC KEY", "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=")
RFC_ED25519_PRIVATE = _pem("PRIVATE KEY", "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF")

RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)
RFC_BODY = b'{"hello": "world"}'
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
B23_INPUT = (
    'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length")'
    ';created=1618884473;keyid="test-key-rsa-pss"'
)
B23_SIGNATURE = (
    "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2"
    "voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmI"
    "koQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpv"
    "RX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"
)
B23_BASE = """\
"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@query": ?param=Value&Pet=dog
"@authority": example.com
"content-type": application/json
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" \
"content-length");created=1618884473;keyid="test-key-rsa-pss\""""
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
B26_BASE = """\
"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")\
;created=1618884473;keyid="test-key-ed25519\""""


def _rfc(signature_input: str, signature: str, **extra: str) -> dict[str, str]:
    return {**RFC_HEADERS, "Signature-Input": signature_input, "Signature": signature, **extra}


def test_b23_rsa_pss_full_verification():
    headers = _rfc(B23_INPUT, B23_SIGNATURE)
    msg = parse_message("POST", RFC_URL, headers)
    assert rfc9421.signature_base(msg, rfc9421.parse(B23_INPUT, B23_SIGNATURE)) == B23_BASE
    # No alg parameter: the RSA key is tried with PKCS#1 v1.5 and then PSS-SHA512 (the one that fits).
    info = verify_request("POST", RFC_URL, headers, RFC_BODY, RFC_PSS_PUBLIC, now=RFC_CREATED)
    assert info == SignedRequestInfo(
        "test-key-rsa-pss",
        "rfc9421",
        ("date", "@method", "@path", "@query", "@authority", "content-type", "content-digest", "content-length"),
    )


def test_b23_with_a_changed_query_fails():
    headers = _rfc(B23_INPUT, B23_SIGNATURE)
    url = "https://example.com/foo?param=Value&Pet=cat"
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", url, headers, RFC_BODY, RFC_PSS_PUBLIC, now=RFC_CREATED)
    assert _reason(exc) == "signature does not verify with key test-key-rsa-pss"


def test_b26_ed25519_base_and_signature_are_exact():
    headers = _rfc(B26_INPUT, B26_SIGNATURE)
    sig = rfc9421.parse(B26_INPUT, B26_SIGNATURE)
    msg = parse_message("POST", RFC_URL, headers)
    assert rfc9421.signature_base(msg, sig) == B26_BASE
    private = serialization.load_pem_private_key(RFC_ED25519_PRIVATE.encode(), None)
    assert private.sign(B26_BASE.encode()) == sig.signature  # Ed25519 is deterministic
    rfc9421.check_signature(msg, sig, keys.load_public_key(RFC_ED25519_PUBLIC))
    # B.2.6 does not cover content-digest, so as an inbox POST it is refused.
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", RFC_URL, headers, RFC_BODY, RFC_ED25519_PUBLIC, now=RFC_CREATED)
    assert _reason(exc) == "the signature must cover content-digest for a request with a body"


def test_b4_transform_get_with_repeated_accept_header():
    """Appendix B.4: a GET whose covered Accept field arrives as two lines; uncovered changes are fine."""
    headers = CIMultiDict(
        [
            ("Host", "example.org"),
            ("Date", "Fri, 15 Jul 2022 14:24:55 GMT"),
            ("Accept", "application/json"),
            ("Accept", "*/*"),
            ("Accept-Language", "en-US,en;q=0.5"),  # not covered: may be added in transit
            (
                "Signature-Input",
                'transform=("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519"',
            ),
            (
                "Signature",
                "transform=:ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA==:",
            ),
        ]
    )
    url = "https://example.org/demo?name1=Value1&Name2=value2&param=added"
    info = verify_request("GET", url, headers, None, RFC_ED25519_PUBLIC, now=RFC_CREATED)
    assert info.scheme == "rfc9421" and info.key_id == "test-key-ed25519"


@pytest.mark.parametrize(
    ("signature_input", "reason"),
    [
        (
            'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
            "the signature must cover @method",
        ),
        (
            'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473'
            ';keyid="test-key-rsa-pss";tag="header-example"',
            "component parameters (;name on @query-param) are not supported",
        ),
        (
            'sig1=("@method" "@target-uri" "content-digest";sf);created=1618884473;keyid="k"',
            "component parameters (;sf on content-digest) are not supported",
        ),
        ('sig1=("@method" "@status");created=1618884473;keyid="k"', "component @status is not supported"),
    ],
)
def test_rfc9421_unsupported_shapes_are_refused(signature_input, reason):
    headers = _rfc(signature_input, signature_input.split("=", 1)[0] + "=:AAAA:")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", RFC_URL, headers, RFC_BODY, RFC_PSS_PUBLIC, now=RFC_CREATED)
    assert _reason(exc) == reason


# --- Fedify's shape ----------------------------------------------------------------------------------

FEDIFY_CREATED = 1714564800  # == NOW


FEDIFY_DATE = "Wed, 01 May 2024 12:00:00 GMT"
# Fedify 1.6+ `signRequest(..., {spec: "rfc9421"})` today; the shorter shape is what the brief observed.
FEDIFY_FULL = ("@method", "@target-uri", "@authority", "host", "date", "content-digest")
FEDIFY_SHORT = ("@method", "@target-uri", "content-digest")


def _fedify_request(
    body: bytes = BODY, url: str = INBOX, created: int = FEDIFY_CREATED, components: tuple[str, ...] = FEDIFY_SHORT
) -> dict[str, str]:
    """Built by hand, independent of our code: what Fedify sends first (it retries draft-cavage on 401)."""
    content_digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    values = {
        "@method": "POST",
        "@target-uri": url,
        "@authority": "cara.example",
        "host": "cara.example",
        "date": FEDIFY_DATE,
        "content-digest": content_digest,
    }
    listed = " ".join(f'"{name}"' for name in components)
    params = f'({listed});alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={created}'
    base = "".join(f'"{name}": {values[name]}\n' for name in components) + f'"@signature-params": {params}'
    private = serialization.load_pem_private_key(RFC_RSA_PRIVATE.encode(), None)
    signature = base64.b64encode(private.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    return {
        "Host": "cara.example",
        "Date": FEDIFY_DATE,
        "Content-Type": "application/activity+json",
        "Content-Digest": content_digest,
        "Signature-Input": f"sig1={params}",
        "Signature": f"sig1=:{signature}:",
    }


@pytest.mark.parametrize("components", [FEDIFY_SHORT, FEDIFY_FULL])
def test_fedify_shaped_rfc9421_request_verifies(components):
    headers = _fedify_request(components=components)
    assert parse_signature("POST", INBOX, headers) == SignedRequestInfo(KEY_ID, "rfc9421", components)
    info = verify_request("POST", INBOX, headers, BODY, RFC_RSA_PUBLIC, now=NOW + timedelta(seconds=3))
    assert info.scheme == "rfc9421"


def test_replay_to_another_url_fails_target_uri():
    headers = _fedify_request()
    other = "https://cara.example/inbox"
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", other, headers, BODY, RFC_RSA_PUBLIC, now=NOW)
    assert _reason(exc) == f"signature does not verify with key {KEY_ID}"


def test_content_digest_not_matching_body():
    headers = _fedify_request()
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY + b" ", RFC_RSA_PUBLIC, now=NOW)
    assert _reason(exc) == "Content-Digest does not match the body"


def test_rfc9421_created_too_old():
    headers = _fedify_request(created=FEDIFY_CREATED - 2 * 3600)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, RFC_RSA_PUBLIC, now=NOW)
    assert _reason(exc) == "created is 2 hours off; allowed skew is 1 hour"


def test_rfc9421_expired():
    headers = _fedify_request()
    headers["Signature-Input"] = headers["Signature-Input"] + f";expires={FEDIFY_CREATED - 1}"
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, RFC_RSA_PUBLIC, now=NOW)
    assert _reason(exc) == "the signature has expired"


# --- refusals ----------------------------------------------------------------------------------------


def _refusal(headers, public_pem, body=BODY, method="POST", url=INBOX, now=NOW) -> str:
    with pytest.raises(SignatureError) as exc:
        verify_request(method, url, headers, body, public_pem, now=now)
    return _reason(exc)


def test_unsigned(pair):
    assert _refusal({"Host": "cara.example", "Date": "x"}, pair[1]) == "signature header missing"
    with pytest.raises(SignatureError, match="signature header missing"):
        parse_signature("POST", INBOX, {})


def test_signed_by_another_key(pair, other_pair):
    assert _refusal(_signed_post(other_pair[0]), pair[1]) == f"signature does not verify with key {KEY_ID}"


def test_date_two_hours_old(pair):
    headers = _signed_post(pair[0], now=NOW - timedelta(hours=2))
    assert _refusal(headers, pair[1]) == "Date is 2 hours off; allowed skew is 1 hour"


def test_date_in_the_future(pair):
    headers = _signed_post(pair[0], now=NOW + timedelta(minutes=90))
    assert _refusal(headers, pair[1]) == "Date is 1.5 hours off; allowed skew is 1 hour"


def test_digest_not_matching_body(pair):
    assert _refusal(_signed_post(pair[0]), pair[1], body=BODY + b"!") == "Digest does not match the body"


def test_digest_not_covered_for_post(pair):
    headers = sign_request("POST", INBOX, {}, None, KEY_ID, pair[0], now=NOW)  # signs no digest
    headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert _refusal(headers, pair[1]) == "the signature must cover Digest for a request with a body"


def test_garbage_base64_cavage(pair):
    headers = _signed_post(pair[0])
    headers["Signature"] = headers["Signature"].rsplit('signature="', 1)[0] + 'signature="@@not base64!!"'
    assert _refusal(headers, pair[1]) == "signature is not valid base64"


def test_garbage_base64_rfc9421():
    headers = _fedify_request()
    headers["Signature"] = "sig1=:%%%garbage%%%:"
    assert _refusal(headers, RFC_RSA_PUBLIC) == "Signature header is malformed"


def test_unknown_algorithm(pair):
    headers = _signed_post(pair[0])
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="rsa-md5"')
    assert _refusal(headers, pair[1]) == "signature algorithm 'rsa-md5' is not supported"
    headers = _fedify_request()
    headers["Signature-Input"] = headers["Signature-Input"].replace("rsa-v1_5-sha256", "hmac-sha256")
    assert _refusal(headers, RFC_RSA_PUBLIC) == "signature algorithm 'hmac-sha256' is not supported"


def test_algorithm_that_does_not_fit_the_key():
    headers = _fedify_request()
    headers["Signature-Input"] = headers["Signature-Input"].replace("rsa-v1_5-sha256", "ed25519")
    reason = _refusal(headers, RFC_RSA_PUBLIC)
    assert reason == f"algorithm ed25519 does not fit the RSA key {KEY_ID}"


@pytest.mark.parametrize(
    "signature_input",
    ['sig1=("@method" "@target-uri"', "sig1=@@@", 'sig1=("@method");created=', 'sig1=("@method")\x00'],
)
def test_malformed_signature_input(signature_input):
    headers = {**_fedify_request(), "Signature-Input": signature_input}
    assert _refusal(headers, RFC_RSA_PUBLIC) == "Signature-Input header is malformed"


def test_signature_input_problems():
    headers = _fedify_request()
    assert (
        _refusal({**headers, "Signature-Input": headers["Signature-Input"].replace("sig1", "sig2")}, RFC_RSA_PUBLIC)
        == "Signature-Input and Signature have no label in common"
    )
    no_created = headers["Signature-Input"].rsplit(";created=", 1)[0]
    assert _refusal({**headers, "Signature-Input": no_created}, RFC_RSA_PUBLIC) == (
        "Signature-Input has no created parameter"
    )
    token_created = headers["Signature-Input"].replace(f"created={FEDIFY_CREATED}", "created=abc")
    assert _refusal({**headers, "Signature-Input": token_created}, RFC_RSA_PUBLIC) == (
        "created must be an integer timestamp"
    )
    del headers["Signature"]
    assert _refusal(headers, RFC_RSA_PUBLIC) == "Signature-Input header without a Signature header"


def test_cavage_policy_refusals(pair):
    headers = _signed_post(pair[0])
    no_target = headers["Signature"].replace("(request-target) ", "")
    assert _refusal({**headers, "Signature": no_target}, pair[1]) == "the signature must cover (request-target)"
    created = headers["Signature"].replace('headers="', 'created=1,headers="(created) ')
    assert _refusal({**headers, "Signature": created}, pair[1]) == (
        "(created) may only be signed with hs2019, not rsa-sha256"
    )
    no_key = headers["Signature"].replace(f'keyId="{KEY_ID}",', "")
    assert _refusal({**headers, "Signature": no_key}, pair[1]) == "Signature header has no keyId"
    no_date = {k: v for k, v in headers.items() if k != "Date"}
    assert _refusal(no_date, pair[1]) == "signed header date is missing from the request"


def test_bad_public_key_pem(pair):
    assert _refusal(_signed_post(pair[0]), "not a key") == "the actor's public key is not a readable PEM key"


@pytest.mark.parametrize(
    "headers",
    [
        {"Signature": ""},
        {"Signature": 'keyId="a",signature="b'},
        {"Signature": "keyId=,,,,"},
        {"Signature": 'keyId="a",signature="AAAA",headers="",algorithm="hs2019"'},
        {"Signature": 'keyId="a",signature="AAAA",created=1.5'},
        {"Signature": "sig1=:AAAA:"},
        {"Authorization": "Signature \x00\xff"},
        {"Signature-Input": 'sig1=("@method");created=1;keyid="k";alg=1', "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");created=99999999999999999999;keyid="k"', "Signature": "sig1=:AA:"},
        {"Signature-Input": 'sig1=("@method" "@path" "@authority");created=1;keyid="k"', "Signature": "sig1=?1"},
        {"Signature-Input": 'sig1=("Date");created=1;keyid="k"', "Signature": "sig1=:AA==:"},
        {"Signature-Input": 'sig1=(x);created=1;keyid="k"', "Signature": "sig1=:AA==:"},
        {"Signature-Input": 'sig1=("@method" "@method");created=1;keyid="k"', "Signature": "sig1=:AA==:"},
        {"Signature-Input": 'sig1=("@method" "@target-uri");created=1;keyid="k"', "Signature": "sig1=:AA==:"},
    ],
)
def test_garbage_headers_only_ever_raise_signature_error(pair, headers, caplog):
    with pytest.raises(SignatureError):
        verify_request("POST", INBOX, headers, BODY, pair[1], now=NOW)
    try:  # some of these are well-formed, just not valid: parsing may succeed
        assert isinstance(parse_signature("POST", INBOX, headers), SignedRequestInfo)
    except SignatureError:
        pass
    with pytest.raises(SignatureError):
        verify_request("GET", "not a url", headers, None, pair[1], now=NOW)
    # Each was refused on purpose, not by the catch-all that turns surprises into 401s.
    assert "unexpected error" not in caplog.text


def test_cavage_quoted_parameters_keep_escapes_and_refuse_an_open_quote():
    sig = cavage.parse('keyId="https://x.example/a\\"b\\\\c#key", headers="(request-target) date",'
                       'signature="AAAA",created=1')
    assert sig.key_id == 'https://x.example/a"b\\c#key' and sig.covered == ("(request-target)", "date")
    assert sig.created == 1
    for broken in ('keyId="abc,signature="AAAA"', 'keyId="a\\",signature="AAAA'):
        with pytest.raises(SignatureError):
            cavage.parse(broken)
