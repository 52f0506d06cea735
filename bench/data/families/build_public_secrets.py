"""Assemble the public secrets suite from Nosey Parker's published rule examples.

Usage::

    python bench/data/families/build_public_secrets.py RULES_DIR

``RULES_DIR`` is ``crates/noseyparker/data/default/builtin/rules`` of a
checkout of praetorian-inc/noseyparker (Apache-2.0). Each rule file lists
``examples`` (text its rule must match) and ``negative_examples`` (text it
must not). Examples of rules in Nosey Parker's ``secret`` category become messages
to delete (its ``identifier`` and ``hashed`` rules, such as ARNs, bucket
names and password hashes, are left out: they are not secrets). Negative examples are left
out: they are negative *for one rule* (a Slack bot token is a negative of the
Slack webhook rule, a real password one of another rule's shape), so they
are no measure of false deletions. Kinds are mapped from the rule (its id and
name) to ours, as ``KIND_OF`` says. The suite is scored on its own line and
never used for tuning.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "secrets_public_noseyparker.jsonl"

# Rule id (or id prefix) -> our kind, first match wins. A rule whose tokens have a
# format naming the vendor maps to that vendor's kind (GITLAB_TOKEN ...); a rule
# for a vendor secret without such a format (a hex client secret, an old
# unprefixed PAT) maps to GENERIC_API_KEY, because nothing in the value says
# whose it is; rules about passwords (in configs, prose, command lines, .NET
# calls, HTTP Basic) map to PASSWORD, connection strings and URIs to
# DATABASE_PASSWORD.
KIND_OF = (
    ("np.aws.2", "AWS_SECRET_KEY"), ("np.aws.4", "GENERIC_API_KEY"), ("np.aws.", "AWS_ACCESS_KEY"),
    ("np.appsync.", "AWS_APPSYNC_KEY"), ("np.github.6", "GENERIC_API_KEY"),
    ("np.github.", "GITHUB_TOKEN"), ("np.slack.3", "SLACK_WEBHOOK_TOKEN"),
    ("np.slack.", "SLACK_TOKEN"), ("np.stripe.", "STRIPE_KEY"), ("np.google.5", "GOOGLE_API_KEY"),
    ("np.google.2", "GOOGLE_OAUTH_KEY"), ("np.google.4", "GOOGLE_OAUTH_TOKEN"),
    ("np.google.", "GENERIC_API_KEY"), ("np.jwt.", "GENERIC_API_KEY"), ("np.pem.", "PRIVATE_KEY"),
    ("np.postgres.", "DATABASE_PASSWORD"), ("np.mongo", "DATABASE_PASSWORD"),
    ("np.odbc.", "DATABASE_PASSWORD"), ("np.generic.10", "DATABASE_PASSWORD"),
    ("np.http.1", "PASSWORD"), ("np.http.2", "GENERIC_API_KEY"), ("np.netrc.", "PASSWORD"),
    ("np.generic.1", "GENERIC_API_KEY"), ("np.generic.2", "GENERIC_API_KEY"),
    ("np.generic.15", "GENERIC_API_KEY"), ("np.generic.16", "GENERIC_API_KEY"),
    ("np.generic.", "PASSWORD"), ("np.reactapp.", "PASSWORD"), ("np.jenkins.2", "PASSWORD"),
    ("np.psexec.", "PASSWORD"), ("np.vmware.", "PASSWORD"), ("np.gradle.", "PASSWORD"),
    ("np.phpmailer.", "PASSWORD"),
    ("np.adafruit.", "ADAFRUIT_KEY"), ("np.adobe.", "ADOBE_CLIENT_KEY"), ("np.age.", "AGE_SECRET_KEY"),
    ("np.anthropic.", "ANTHROPIC_API_KEY"), ("np.artifactory.", "ARTIFACTORY_API_KEY"),
    ("np.atlassian.", "ATLASSIAN_TOKEN"), ("np.azure.1", "AZURE_STORAGE_KEY"),
    ("np.azure.4", "AZURE_DEVOPS_TOKEN"), ("np.bitbucket.", "BITBUCKET_TOKEN"),
    ("np.cratesio.", "CRATES_IO_TOKEN"), ("np.databricks.", "DATABRICKS_TOKEN"),
    ("np.digitalocean.", "DIGITALOCEAN_TOKEN"), ("np.dockerhub.", "DOCKER_HUB_TOKEN"),
    ("np.doppler.", "DOPPLER_TOKEN"), ("np.dropbox.", "DROPBOX_TOKEN"),
    ("np.dtrack.", "DEPENDENCY_TRACK_KEY"), ("np.dynatrace.", "DYNATRACE_TOKEN"),
    ("np.facebook.2", "FACEBOOK_TOKEN"), ("np.figma.", "FIGMA_TOKEN"),
    ("np.firecrawl.", "FIRECRAWL_API_KEY"), ("np.gitlab.", "GITLAB_TOKEN"),
    ("np.grafana.", "GRAFANA_TOKEN"), ("np.groq.", "GROQ_API_KEY"),
    ("np.hashicorp.7", "VAULT_UNSEAL_KEY"), ("np.hashicorp.", "VAULT_TOKEN"),
    ("np.heroku.", "HEROKU_API_KEY"), ("np.huggingface.", "HUGGINGFACE_TOKEN"),
    ("np.jina.", "JINA_API_KEY"), ("np.kubernetes.", "KUBERNETES_BOOTSTRAP_TOKEN"),
    ("np.mailchimp.", "MAILCHIMP_API_KEY"), ("np.mailgun.", "MAILGUN_API_KEY"),
    ("np.mapbox.", "MAPBOX_TOKEN"), ("np.msteams.", "TEAMS_WEBHOOK_TOKEN"),
    ("np.newrelic.", "NEW_RELIC_KEY"), ("np.npm.", "NPM_TOKEN"), ("np.nuget.", "NUGET_API_KEY"),
    ("np.okta.", "OKTA_TOKEN"), ("np.openai.", "OPENAI_API_KEY"), ("np.postman.", "POSTMAN_API_KEY"),
    ("np.pypi.", "PYPI_TOKEN"), ("np.rubygems.", "RUBYGEMS_API_KEY"),
    ("np.salesforce.", "SALESFORCE_TOKEN"), ("np.segment.", "SEGMENT_TOKEN"),
    ("np.sendgrid.", "SENDGRID_API_KEY"), ("np.shopify.", "SHOPIFY_TOKEN"),
    ("np.sonarqube.", "SONARQUBE_TOKEN"), ("np.sourcegraph.", "SOURCEGRAPH_TOKEN"),
    ("np.square.", "SQUARE_TOKEN"), ("np.stackhawk.", "STACKHAWK_API_KEY"),
    ("np.tavily.", "TAVILY_API_KEY"), ("np.telegram.", "TELEGRAM_BOT_TOKEN"),
    ("np.twilio.", "TWILIO_API_KEY"), ("np.twitch.", "TWITCH_STREAM_KEY"),
    ("np.", "GENERIC_API_KEY"),
)  # fmt: skip


def _names(prefix: str, rule_id: str) -> bool:
    """``np.aws.`` names every AWS rule; ``np.generic.1`` names that rule only (not
    ``np.generic.11``)."""
    if prefix.endswith("."):
        return rule_id.startswith(prefix)
    return rule_id == prefix or (rule_id.startswith(prefix) and not rule_id[len(prefix)].isdigit())


def kind_for(rule_id: str, text: str) -> str:
    for prefix, kind in KIND_OF:
        if _names(prefix, rule_id):
            if kind == "STRIPE_KEY" and "_test_" in text:
                return "STRIPE_TEST_KEY"
            return kind
    return "GENERIC_API_KEY"


def main(rules_dir: Path) -> None:
    rows: list[dict[str, object]] = []
    for path in sorted(rules_dir.glob("*.yml")):
        document = yaml.safe_load(path.read_text("utf-8")) or {}
        for rule in document.get("rules", []):
            rule_id = str(rule.get("id", path.stem))
            categories = set(rule.get("categories") or [])
            if "secret" not in categories or categories & {"identifier", "hashed"}:
                continue  # ARNs, bucket names, password hashes: not secrets we delete
            for text in rule.get("examples") or []:
                kind = kind_for(rule_id, text)
                rows.append({"text": text, "kinds": [kind],
                             "delete": kind != "STRIPE_TEST_KEY", "group": "secret",
                             "family": f"public-{rule_id}"})
    with OUT.open("w", encoding="utf-8") as out:
        for index, row in enumerate(rows):
            row = {"id": f"np-{index:05d}", **row, "source": "public:noseyparker",
                   "heldout": True}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{OUT.name}: {len(rows)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
