"""Keep third-party libraries from reaching the network at run time.

Clusters often have no egress and this product must start the same there:
tldextract (used by Presidio's URL and e-mail recognizers) fetches the Public
Suffix List on first use unless told to use the snapshot bundled in its wheel.
"""

from __future__ import annotations

import os


def use_bundled_data() -> None:
    """Point every library that would download data at its bundled copy. Idempotent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    import tldextract.tldextract as tld

    if tld.TLD_EXTRACTOR.suffix_list_urls or getattr(tld.TLD_EXTRACTOR, "_cache", None):
        tld.TLD_EXTRACTOR = tld.TLDExtract(
            suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
        )
