"""The auth methods machines log in with: approle, aws (IAM) and cert.

Each entry: the backend class and a function making the fresh state of a new mount.
"""

from .approle import ApproleBackend, new_approle_entry
from .aws_auth import AwsBackend, new_aws_entry
from .cert_auth import CertBackend, new_cert_entry

MACHINE_AUTH_METHODS = {
    "approle": (ApproleBackend, new_approle_entry),
    "aws": (AwsBackend, new_aws_entry),
    "cert": (CertBackend, new_cert_entry),
}
