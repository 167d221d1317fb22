#!/usr/bin/env python3
"""A HashiCorp Vault stand-in for sshcert's tests. See README.md next to this file.

    python3 tests/vault_standin/vault_standin.py --port 0 --port-file FILE \
        --root-token TOKEN [--state-dir DIR] [--bootstrap] [--record-secrets] \
        [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM] [--tls-port-file FILE]] \
        [--sts-port-file FILE] [--imds-port-file FILE]
"""

import sys

from standin.server import main

if __name__ == "__main__":
    sys.exit(main())
