"""The PiiPolicy operator: makes JetStream and the services follow each workspace's policy.

Run it with ``piiguard operator`` or ``kopf run -m piiguard_operator.handlers``;
see docs/operator.md.
"""

GROUP = "piiguard.io"
VERSION = "v1alpha1"
PLURAL = "piipolicies"
KIND = "PiiPolicy"
RESOURCE = f"{PLURAL}.{VERSION}.{GROUP}"

__all__ = ["GROUP", "KIND", "PLURAL", "RESOURCE", "VERSION"]
