"""The STS look-alike's SigV4 verifier against AWS's published test suites.

Uses the copies in /work/shared/data/sigv4-vectors (or $SIGV4_VECTORS): the
verifier must rebuild each case's canonical request byte for byte and accept
its signature, and refuse it once the body or a signed header changes.
"""

import hashlib
import json
import os
import unittest

from standin import sigv4

VECTORS = os.environ.get("SIGV4_VECTORS", "/work/shared/data/sigv4-vectors")
BOTOCORE = os.path.join(VECTORS, "boto-botocore/tests/unit/auth/aws4_testsuite")
AWS_C_AUTH = os.path.join(VECTORS, "awslabs-aws-c-auth/tests/aws-signing-test-suite/v4")
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# Repeated query keys, which botocore's own runner skips too.
BOTOCORE_SKIPPED = {"get-vanilla-query-order-key", "get-vanilla-query-order-value"}


def parse_request(text):
    """A raw request file: (method, target, [(name, value)], body). Folded lines continue a value."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    method, target = lines[0].split(" ")[0], lines[0].split(" ")[1]
    if lines[0].count(" ") > 2:  # a path with a space in it
        target = lines[0][len(method) + 1:lines[0].rindex(" ")]
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        elif line:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, target, headers, body.encode()


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def cases(root, marker):
    for folder, _dirs, files in sorted(os.walk(root)):
        if marker(files):
            yield folder


class VectorCase:
    def check(self, name, signed_request, creq, expected_signature, normalize=True):
        method, target, headers, body = parse_request(signed_request)
        auth = sigv4.parse_authorization(sigv4.header_value(headers, "authorization").strip())
        path, query = sigv4.parse_target(target)
        payload = (sigv4.header_value(headers, "x-amz-content-sha256")
                   or hashlib.sha256(body).hexdigest())
        with self.subTest(case=name):
            self.assertEqual(sigv4.canonical_request(method, path, query, headers,
                                                     auth.signed_headers, payload, normalize), creq)
            self.assertEqual(auth.signature, expected_signature)
            sigv4.check_signature(method, target, headers, body, SECRET, auth, normalize)
            with self.assertRaises(sigv4.SignatureError):
                sigv4.check_signature(method, target, headers, body + b"x", SECRET, auth, normalize)


@unittest.skipUnless(os.path.isdir(BOTOCORE), f"no SigV4 vectors at {BOTOCORE}")
class BotocoreVectorsTest(unittest.TestCase, VectorCase):
    def test_every_case(self):
        checked = 0
        for folder in cases(BOTOCORE, lambda files: any(f.endswith(".sreq") for f in files)):
            name = os.path.basename(folder)
            if name in BOTOCORE_SKIPPED:
                continue
            base = os.path.join(folder, name)
            authz = read(base + ".authz")
            # The .authz file is the reference; one .sreq (session token) carries a stale one.
            head, _, body = read(base + ".sreq").partition("\n\n")
            lines = [line for line in head.split("\n") if not line.startswith("Authorization:")]
            signed = "\n".join([*lines, "Authorization:" + authz]) + "\n\n" + body
            self.check(name, signed, read(base + ".creq"),
                       authz.rsplit("Signature=", 1)[1].strip())
            checked += 1
        self.assertGreaterEqual(checked, 30)


@unittest.skipUnless(os.path.isdir(AWS_C_AUTH), f"no SigV4 vectors at {AWS_C_AUTH}")
class AwsCAuthVectorsTest(unittest.TestCase, VectorCase):
    def test_every_case(self):
        checked = 0
        for folder in cases(AWS_C_AUTH, lambda files: "header-signed-request.txt" in files):
            context = json.loads(read(os.path.join(folder, "context.json")))
            if context["credentials"]["secret_access_key"] != SECRET:
                continue
            self.check(os.path.basename(folder),
                       read(os.path.join(folder, "header-signed-request.txt")),
                       read(os.path.join(folder, "header-canonical-request.txt")),
                       read(os.path.join(folder, "header-signature.txt")).strip(),
                       context.get("normalize", True))
            checked += 1
        self.assertGreaterEqual(checked, 30)


if __name__ == "__main__":
    unittest.main()
