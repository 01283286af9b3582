import hashlib

from codealign.curate.pii import find_pii, redact

from .conftest import stdlib_files

PLANTED = {
    "email": "maintainer.name@corp-mail.io",
    "ip_address": "52.14.122.7",
    "key_aws": "AKIAZ7Q3EXAMPLE4KEYX",
    "key_github": "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "key_assigned": "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc",
    "password": "Tr0ub4dor&3xyz",
}


def _planted_text(real: str) -> str:
    return (
        f"# maintained by {PLANTED['email']}\n"
        f"PROD_HOST = '{PLANTED['ip_address']}'\n"
        f"AWS_ACCESS_KEY_ID = '{PLANTED['key_aws']}'\n"
        f"GITHUB = '{PLANTED['key_github']}'\n"
        f"api_secret = \"{PLANTED['key_assigned']}\"\n"
        f"db_password = '{PLANTED['password']}'\n"
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
        + real
    )


def test_planted_pii_is_redacted_with_an_audit_trail():
    real = stdlib_files(1)[0].read_text()
    text = _planted_text(real)
    out, audit = redact(text)
    for value in PLANTED.values():
        assert value not in out
    assert "PRIVATE KEY" not in out
    for placeholder in ("<EMAIL>", "<IP_ADDRESS>", "<KEY>", "<PASSWORD>"):
        assert placeholder in out
    kinds = sorted(r.kind for r in audit)
    assert kinds.count("key") == 4 and kinds.count("password") == 1
    for r in audit:  # each audit entry points at the original span, without storing it
        assert hashlib.sha256(text[r.start : r.end].encode()).hexdigest()[:12] == r.digest
    assert out.endswith(real[-200:]), "real code after the planted lines is untouched"


def test_private_ips_versions_dates_and_placeholders_are_left_alone():
    text = (
        "LOCAL = '192.168.1.20'\nLOOP = '127.0.0.1'\nNET = '10.0.0.0/8'\nDNS = '8.8.8.8'\n"
        "__version__ = '2.10.3.1'\nreleased = '2024.01.15'\nCONTACT = 'someone@example.com'\n"
        "api_key = 'your_api_key_here'\npassword = os.environ['PASSWORD']\nkey = 'public-key-base-64'\n"
    )
    assert find_pii(text) == []


def test_real_code_has_no_secret_false_positives():
    found = []
    for p in stdlib_files(120):
        found += [(p.name, kind) for kind, *_ in find_pii(p.read_text(errors="replace")) if kind in ("key", "password")]
    assert found == []
