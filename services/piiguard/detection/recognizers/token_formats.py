"""Vendor token formats with a distinctive prefix or shape, as one table.

Each row is a vendor's documented token shape (a prefix and a body alphabet
and length, as gitleaks and Nosey Parker describe them), its prefilter
keyword, and the least entropy a real body has. The shape itself is the
context: ``glpat-`` plus 20 random characters is a GitLab token wherever it
stands. Kinds with a dedicated recognizer (AWS, GitHub, Slack, Stripe,
Google) live in ``credentials.py``; each format here is reported as its
vendor's kind (``GITLAB_TOKEN``, ``OPENAI_API_KEY``…, listed with their plain
names in ``piiguard.kinds.VENDOR_TOKEN_KINDS``), every one ending in ``_KEY``
or ``_TOKEN`` so the default policy's globs delete them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView
from piiguard.detection.recognizers.secret_values import is_masked, is_stand_in
from piiguard.detection.recognizers.validation import shannon_entropy
from piiguard.kinds import VENDOR_TOKEN_KINDS


@dataclass(frozen=True, slots=True)
class TokenFormat:
    vendor: str
    keyword: str  # lower-case literal every token of this format contains
    pattern: re.Pattern[str]  # group 1: the token; group "body": its random part
    min_entropy: float
    kind: str  # the vendor's kind, e.g. GITLAB_TOKEN
    prefix: bool = True  # the keyword starts the token (not a context word or a suffix)


# The kind each vendor's tokens are reported as.
VENDOR_KIND: dict[str, str] = {
    "adafruit": "ADAFRUIT_KEY", "adobe": "ADOBE_CLIENT_KEY", "age": "AGE_SECRET_KEY",
    "airtable": "AIRTABLE_TOKEN", "alibaba": "ALIBABA_ACCESS_KEY",
    "anthropic": "ANTHROPIC_API_KEY", "artifactory": "ARTIFACTORY_API_KEY",
    "atlassian": "ATLASSIAN_TOKEN", "aws-appsync": "AWS_APPSYNC_KEY",
    "aws-mws": "AMAZON_MWS_TOKEN", "azure": "AZURE_SECRET_KEY", "azure-sas": "AZURE_SAS_TOKEN",
    "azure-storage": "AZURE_STORAGE_KEY", "azure-devops": "AZURE_DEVOPS_TOKEN",
    "bitbucket": "BITBUCKET_TOKEN", "circleci": "CIRCLECI_TOKEN",
    "contentful": "CONTENTFUL_TOKEN", "crates.io": "CRATES_IO_TOKEN",
    "databricks": "DATABRICKS_TOKEN", "dependency-track": "DEPENDENCY_TRACK_KEY",
    "digitalocean": "DIGITALOCEAN_TOKEN", "discord": "DISCORD_TOKEN",
    "dockerhub": "DOCKER_HUB_TOKEN", "doppler": "DOPPLER_TOKEN", "dropbox": "DROPBOX_TOKEN",
    "dynatrace": "DYNATRACE_TOKEN", "facebook": "FACEBOOK_TOKEN", "figma": "FIGMA_TOKEN",
    "firecrawl": "FIRECRAWL_API_KEY", "flyio": "FLY_IO_TOKEN", "gitlab": "GITLAB_TOKEN",
    "google-oauth": "GOOGLE_OAUTH_KEY", "google-oauth-access": "GOOGLE_OAUTH_TOKEN",
    "grafana": "GRAFANA_TOKEN", "groq": "GROQ_API_KEY",
    "heroku": "HEROKU_API_KEY", "huggingface": "HUGGINGFACE_TOKEN", "jina": "JINA_API_KEY",
    "kubernetes": "KUBERNETES_BOOTSTRAP_TOKEN", "linear": "LINEAR_API_KEY",
    "mailchimp": "MAILCHIMP_API_KEY", "mailgun": "MAILGUN_API_KEY", "mapbox": "MAPBOX_TOKEN",
    "netlify": "NETLIFY_TOKEN", "newrelic": "NEW_RELIC_KEY", "notion": "NOTION_TOKEN",
    "npm": "NPM_TOKEN", "nuget": "NUGET_API_KEY", "okta": "OKTA_TOKEN",
    "openai": "OPENAI_API_KEY", "planetscale": "PLANETSCALE_TOKEN",
    "postman": "POSTMAN_API_KEY", "pulumi": "PULUMI_TOKEN", "pypi": "PYPI_TOKEN",
    "rubygems": "RUBYGEMS_API_KEY", "salesforce": "SALESFORCE_TOKEN",
    "segment": "SEGMENT_TOKEN", "sendgrid": "SENDGRID_API_KEY", "sentry": "SENTRY_TOKEN",
    "shopify": "SHOPIFY_TOKEN", "sonarqube": "SONARQUBE_TOKEN",
    "sourcegraph": "SOURCEGRAPH_TOKEN", "square": "SQUARE_TOKEN",
    "stackhawk": "STACKHAWK_API_KEY", "stripe-webhook": "STRIPE_WEBHOOK_KEY",
    "supabase": "SUPABASE_TOKEN", "tavily": "TAVILY_API_KEY", "teamcity": "TEAMCITY_TOKEN",
    "teams-webhook": "TEAMS_WEBHOOK_TOKEN", "telegram": "TELEGRAM_BOT_TOKEN",
    "terraform": "TERRAFORM_TOKEN", "twilio": "TWILIO_API_KEY",
    "twitch-stream": "TWITCH_STREAM_KEY", "vault": "VAULT_TOKEN",
    "vault-unseal": "VAULT_UNSEAL_KEY",
}  # fmt: skip


def _fmt(vendor: str, keyword: str, body: str, min_entropy: float = 3.0, *,
         lead: str = "") -> TokenFormat:
    """One format; ``lead`` is text that must stand before the token (``SSWS ``,
    ``Unseal Key 1: ``) and is not part of the finding."""
    left = rf"(?:{lead})" if lead else r"(?<![A-Za-z0-9_+/-])"
    pattern = re.compile(rf"{left}({body})(?![A-Za-z0-9_+/=-])")
    family = vendor.split("-")[0] if vendor not in VENDOR_KIND else vendor
    kind = VENDOR_KIND[family]
    assert kind in VENDOR_TOKEN_KINDS, kind  # every kind has a plain name for the DM
    literal = re.sub(r"\\(.)", r"\1", body).lower()
    prefix = not lead and literal.startswith(keyword)
    return TokenFormat(vendor, keyword, pattern, min_entropy, kind, prefix)


FORMATS: tuple[TokenFormat, ...] = (
    _fmt("gitlab", "glpat-", r"glpat-(?P<body>[A-Za-z0-9_-]{20,50}(?:\.[A-Za-z0-9_-]{2,20})*)"),
    _fmt("gitlab", "glptt-", r"glptt-(?P<body>[0-9a-f]{40})"),
    _fmt("gitlab", "gldt-", r"gldt-(?P<body>[A-Za-z0-9_-]{20,50})"),
    _fmt("gitlab", "glrt-", r"glrt-(?P<body>[A-Za-z0-9_-]{20,50})"),
    _fmt("gitlab", "gr1348941", r"GR1348941(?P<body>[A-Za-z0-9_-]{20,50})"),
    _fmt("openai", "t3blbkfj", r"sk-(?:proj-|svcacct-|admin-)?(?P<body>[A-Za-z0-9_-]{10,200}"
         r"T3BlbkFJ[A-Za-z0-9_-]{10,200})", 3.5),
    _fmt("openai", "sk-proj-", r"sk-proj-(?P<body>[A-Za-z0-9_-]{40,300})", 3.5),
    _fmt("openai", "sk-", r"sk-(?P<body>[A-Za-z0-9]{48})", 4.0),  # the original key shape
    _fmt("anthropic", "sk-ant-", r"sk-ant-(?:api|admin)\d{2}-(?P<body>[A-Za-z0-9_-]{80,120})",
         3.5),
    _fmt("npm", "npm_", r"npm_(?P<body>[A-Za-z0-9]{36})", 3.5),
    _fmt("pypi", "pypi-ageichlwas5vcmc", r"pypi-AgEIcHlwaS5vcmc(?P<body>[A-Za-z0-9_-]{50,})",
         3.5),
    _fmt("sendgrid", "sg.", r"SG\.(?P<body>[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", 3.5),
    _fmt("mailgun", "key-", r"key-(?P<body>[0-9a-f]{32})", 3.2),
    _fmt("mailchimp", "-us", r"(?P<body>[0-9a-f]{32})-us\d{1,2}", 3.2),
    _fmt("twilio", "sk", r"SK(?P<body>[0-9a-f]{32})", 3.2),
    _fmt("shopify", "shp", r"shp(?:at|ca|pa|ss)_(?P<body>[A-Fa-f0-9]{32})", 3.2),
    _fmt("square", "sq0", r"sq0(?:atp|csp)-(?P<body>[A-Za-z0-9_-]{22,43})", 3.5),
    _fmt("square", "eaaa", r"EAAA(?P<body>[A-Za-z0-9_-]{60})", 3.5),
    _fmt("digitalocean", "_v1_", r"do[opr]_v1_(?P<body>[a-f0-9]{64})", 3.2),
    _fmt("vault", "hvs.", r"hvs\.(?P<body>[A-Za-z0-9_-]{24,400})", 3.5),
    _fmt("vault", "hvb.", r"hvb\.(?P<body>[A-Za-z0-9_-]{24,400})", 3.5),
    _fmt("vault", "hvr.", r"hvr\.(?P<body>[A-Za-z0-9_-]{24,400})", 3.5),
    # Vault's tokens before 1.10 (s./b./r. + 24+ characters): read next to the word vault
    _fmt("vault", "vault", r"[sbr]\.(?P<body>(?=[A-Za-z]{0,99}\d)[A-Za-z0-9_-]{24,400})", 3.8),
    _fmt("terraform", ".atlasv1.", r"[a-z0-9]{14}\.atlasv1\.(?P<body>[A-Za-z0-9_=-]{60,70})",
         3.5),
    _fmt("doppler", "dp.", r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{2,35}\.)?"
         r"(?P<body>[A-Za-z0-9]{40,44})", 3.5),
    _fmt("atlassian", "atatt3", r"ATATT3(?P<body>[A-Za-z0-9_=-]{150,250})", 3.5),
    _fmt("azure", "q~", r"[A-Za-z0-9_~.]{3}\dQ~(?P<body>[A-Za-z0-9_~.-]{31,34})", 3.5),
    _fmt("facebook", "eaacedeose0cba", r"EAACEdEose0cBA(?P<body>[A-Za-z0-9]{20,})", 3.5),
    _fmt("discord", ".", r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.(?P<body>[A-Za-z0-9_-]"
         r"{27,38})", 3.8),
    _fmt("telegram", ":aa", r"\d{8,10}:AA(?P<body>[A-Za-z0-9_-]{32,33})", 3.5),
    _fmt("databricks", "dapi", r"dapi(?P<body>[a-f0-9]{32})(?:-\d)?", 3.2),
    _fmt("linear", "lin_api_", r"lin_api_(?P<body>[A-Za-z0-9]{40})", 3.5),
    _fmt("postman", "pmak-", r"PMAK-(?P<body>[a-f0-9]{24}-[a-f0-9]{34})", 3.2),
    _fmt("grafana", "glc_", r"glc_(?P<body>[A-Za-z0-9+/]{32,400}={0,2})", 3.5),
    _fmt("grafana", "glsa_", r"glsa_(?P<body>[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})", 3.5),
    _fmt("newrelic", "nrak-", r"NRAK-(?P<body>[A-Z0-9]{27})", 3.5),
    _fmt("sentry", "sntrys_", r"sntry[su]_(?P<body>[A-Za-z0-9+/=_]{40,300})", 3.5),
    _fmt("huggingface", "hf_", r"hf_(?P<body>[A-Za-z]{34})", 3.5),
    _fmt("dropbox", "sl.", r"sl\.(?P<body>[A-Za-z0-9_-]{130,152})", 3.5),
    _fmt("age", "age-secret-key-1", r"AGE-SECRET-KEY-1(?P<body>[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]"
         r"{58})", 3.5),
    _fmt("google-oauth", "gocspx-", r"GOCSPX-(?P<body>[A-Za-z0-9_-]{28})", 3.5),
    _fmt("google-oauth-access", "ya29.", r"ya29\.(?P<body>[A-Za-z0-9_-]{30,400})", 3.5),
    _fmt("alibaba", "ltai", r"LTAI(?P<body>[A-Za-z0-9]{20})", 3.5),
    _fmt("stripe-webhook", "whsec_", r"whsec_(?P<body>[A-Za-z0-9]{32,})", 3.5),
    _fmt("dockerhub", "dckr_pat_", r"dckr_pat_(?P<body>[A-Za-z0-9_-]{27})", 3.5),
    _fmt("flyio", "fo1_", r"fo1_(?P<body>[A-Za-z0-9_-]{43})", 3.5),
    _fmt("pulumi", "pul-", r"pul-(?P<body>[a-f0-9]{40})", 3.2),
    _fmt("rubygems", "rubygems_", r"rubygems_(?P<body>[a-f0-9]{48})", 3.2),
    _fmt("planetscale", "pscale_", r"pscale_(?:tkn|pw|oauth)_(?P<body>[A-Za-z0-9_.=-]{32,64})",
         3.5),
    _fmt("supabase", "sbp_", r"sbp_(?P<body>[a-f0-9]{40})", 3.2),
    _fmt("notion", "secret_", r"secret_(?P<body>[A-Za-z0-9]{43})", 3.8),
    _fmt("notion", "ntn_", r"ntn_(?P<body>\d{11}[A-Za-z0-9]{35})", 3.5),
    _fmt("airtable", "pat", r"pat[A-Za-z0-9]{14}\.(?P<body>[a-f0-9]{64})", 3.2),
    _fmt("netlify", "nfp_", r"nfp_(?P<body>[A-Za-z0-9]{36})", 3.5),
    _fmt("mapbox", "k.eyj", r"[st]k\.eyJ(?P<body>[A-Za-z0-9_-]{30,}\.[A-Za-z0-9_-]{20,})", 3.5),
    _fmt("azure-sas", "sig=", r"[?&]sig=(?P<body>[A-Za-z0-9%+/]{40,100}(?:%3D|=){0,2})", 3.5),
    _fmt("azure-storage", "accountkey=", r"AccountKey=(?P<body>[A-Za-z0-9+/]{40,88}={0,2})",
         4.0),
    _fmt("azure-storage", "sharedaccesskey=",
         r"SharedAccessKey=(?P<body>[A-Za-z0-9+/]{40,88}={0,2})", 4.0),
    _fmt("heroku", "hrku-", r"HRKU-(?P<body>[A-Za-z0-9_-]{60})", 3.5),
    _fmt("circleci", "ccipat_", r"CCIPAT_(?P<body>[A-Za-z0-9]{22}_[a-f0-9]{40})", 3.5),
    _fmt("bitbucket", "atbb", r"ATBB(?P<body>[A-Za-z0-9_=.-]{32})", 3.5),
    _fmt("contentful", "cfpat-", r"CFPAT-(?P<body>[A-Za-z0-9_-]{43})", 3.5),
    _fmt("adafruit", "aio_", r"aio_(?P<body>[A-Za-z0-9]{28})", 3.5),
    _fmt("artifactory", "akcp", r"AKCp(?P<body>[A-Za-z0-9]{69})", 3.5),
    _fmt("artifactory", "cmvmdgtuojaxoj", r"cmVmdGtuOjAxOj(?P<body>[A-Za-z0-9]{40,80})", 3.5),
    _fmt("crates.io", "cio", r"cio(?P<body>[A-Za-z0-9]{32})", 3.8),
    _fmt("dynatrace", "dt0c01.", r"dt0c01\.(?P<body>[A-Z0-9]{24}\.[A-Z0-9]{64})", 3.5),
    _fmt("figma", "figd_", r"figd_(?P<body>[A-Za-z0-9_-]{40})", 3.5),
    _fmt("groq", "gsk_", r"gsk_(?P<body>[A-Za-z0-9]{52})", 3.5),
    _fmt("jina", "jina_", r"jina_(?P<body>[A-Za-z0-9_-]{60})", 3.5),
    _fmt("nuget", "oy2", r"oy2(?P<body>[a-z0-9]{43})", 3.5),
    _fmt("segment", "sgp_", r"sgp_(?P<body>[A-Za-z0-9]{64})", 3.5),
    _fmt("sourcegraph", "sgp_", r"sgp_(?:local_|[a-f0-9]{16}_)?(?P<body>[a-f0-9]{40})", 3.2),
    _fmt("sonarqube", "sq", r"sq[pua]_(?P<body>[0-9a-f]{40})", 3.2),
    _fmt("stackhawk", "hawk.", r"hawk\.(?P<body>[A-Za-z0-9_-]{20}\.[A-Za-z0-9_-]{20})", 3.5),
    _fmt("tavily", "tvly-", r"tvly-(?:dev-|prod-)?(?P<body>[A-Za-z0-9]{32})", 3.5),
    _fmt("firecrawl", "fc-", r"fc-(?P<body>[a-f0-9]{32})", 3.2),
    _fmt("dependency-track", "odt_", r"odt_(?P<body>[A-Za-z0-9]{32,})", 3.5),
    _fmt("adobe", "p8e-", r"p8e-(?P<body>[A-Za-z0-9-]{32})", 3.5),
    _fmt("salesforce", "00d", r"00D[A-Za-z0-9]{12}!(?P<body>[A-Za-z0-9._]{80,120})", 3.5),
    _fmt("huggingface", "api_org_", r"api_org_(?P<body>[A-Za-z]{34})", 3.5),
    _fmt("teams-webhook", "webhook.office.com", r"https://[a-z0-9-]+\.webhook\.office\.com/"
         r"webhookb2/(?P<body>[A-Za-z0-9@/-]{60,300})", 3.5),
    _fmt("teamcity", "eyj0exaioiaivenwmij9", r"eyJ0eXAiOiAiVENWMiJ9\.(?P<body>[A-Za-z0-9_-]{36}"
         r"\.[A-Za-z0-9_-]{48})", 3.5),
    _fmt("facebook", "eaa", r"EAA[A-Za-z0-9]{2}(?P<body>[A-Za-z0-9]{90,})", 4.0),
    _fmt("aws-appsync", "da2-", r"da2-(?P<body>[a-z0-9]{26})", 3.5),
    _fmt("aws-mws", "amzn.mws.", r"amzn\.mws\.(?P<body>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
         r"[0-9a-f]{4}-[0-9a-f]{12})", 3.0),
    _fmt("twitch-stream", "live_", r"live_\d{6,12}_(?P<body>[A-Za-z0-9]{30})", 3.5),
    _fmt("teams-webhook", "outlook.office.com/webhook",
         r"https://outlook\.office(?:365)?\.com/webhook/(?P<body>[A-Za-z0-9@/-]{60,300})", 3.5),
    _fmt("newrelic-license", "nral", r"(?P<body>[a-z0-9]{36})NRAL", 3.2),
    _fmt("newrelic-admin", "nraa-", r"NRAA-(?P<body>[a-f0-9]{27})", 3.2),
    # Okta API tokens under their own HTTP auth scheme
    _fmt("okta", "ssws", r"00(?P<body>[A-Za-z0-9_-]{40})", 3.5, lead=r"\bSSWS\s{1,3}"),
    # Grafana's legacy API keys: base64 of {"k":"...","n":"...","id":N}
    _fmt("grafana", "eyjrijoi", r"eyJrIjoi(?P<body>[A-Za-z0-9+/]{40,300})={0,2}", 3.5),
    # Azure DevOps personal access tokens (84 chars, the AZDO signature at 76)
    _fmt("azure-devops", "azdo", r"(?P<body>[A-Za-z0-9]{76})AZDO[A-Za-z0-9]{4}", 3.5),
    # HashiCorp Vault unseal keys, as the CLI prints and takes them
    _fmt("vault-unseal", "unseal", r"(?P<body>[A-Za-z0-9+/]{43,44}={0,1})", 4.0,
         lead=r"(?i:\bunseal key \d{1,2}:|\boperator unseal)\s{1,3}"),
    # kubeadm bootstrap tokens: six and sixteen lower-case characters
    _fmt("kubernetes", "bootstrap", r"[a-z0-9]{6}\.(?P<body>(?=[a-z]{0,15}\d)(?=\d{0,15}[a-z])"
         r"[a-z0-9]{16})", 3.0),
    # SonarQube tokens by their property name (sonar.login / sonar.token)
    _fmt("sonarqube", "sonar", r"(?P<body>[a-f0-9]{40})", 3.2,
         lead=r"(?i:(?:\b|(?<=-D))sonar[._-]?(?:login|token))[\"'\s,:=>]{1,8}"),
    _fmt("newrelic-insights", "nri", r"NRI[IQ]-(?P<body>[A-Za-z0-9_-]{32})", 3.5),
    _fmt("newrelic-rest", "nrra-", r"NRRA-(?P<body>[a-f0-9]{42})", 3.2),
    _fmt("newrelic-pixie", "px-", r"px-(?:api|dep)-(?P<body>[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-"
         r"[a-z0-9]{4}-[a-z0-9]{12})", 3.0),
    _fmt("okta", "00", r"(?<=[\s\"'=:])00(?P<body>[A-Za-z0-9_-]{40})(?=[\s\"',;]|$)", 4.2),
)
# Okta's bare "00…" tokens are read only next to the word "okta": that word wakes
# the recognizer for them.
KEYWORDS: tuple[str, ...] = tuple(sorted({f.keyword for f in FORMATS if f.keyword != "00"}
                                         | {"okta"}))
_KNOWN_PREFIX = re.compile(
    r"^(?:gh[pousr]_|github_pat_|xox[abposre]|xapp-|sk_live_|rk_live_|sk_test_|rk_test_|AKIA|"
    r"ASIA|AIza|eyJ|" + "|".join(re.escape(f.keyword) for f in FORMATS if len(f.keyword) >= 4
                                  and f.keyword[0].isalpha() and f.prefix) + ")",
    re.IGNORECASE,
)


def has_vendor_prefix(value: str) -> bool:
    """Whether a value starts like a token some dedicated rule already reports."""
    return bool(_KNOWN_PREFIX.match(value))


VENDOR_KINDS: tuple[str, ...] = tuple(sorted({f.kind for f in FORMATS}))


class GuardVendorTokenRecognizer(PiiRecognizer):
    """Tokens whose format names their vendor (GitLab, OpenAI, npm, PyPI, Vault...),
    each reported as its vendor's kind."""

    ENTITIES = VENDOR_KINDS
    KEYWORDS = KEYWORDS

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        lower = view.lower
        for fmt in FORMATS:
            if fmt.keyword not in lower and fmt.keyword != "00":
                continue
            if fmt.keyword == "00" and "okta" not in lower:
                continue
            for match in fmt.pattern.finditer(view.text):
                body = match.group("body")
                if shannon_entropy(body) < fmt.min_entropy or is_masked(body):
                    continue
                if is_stand_in(body):
                    continue
                yield Hit(fmt.kind, match.start(1), match.end(1), 0.9)
