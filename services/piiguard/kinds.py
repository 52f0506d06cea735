"""Plain-words names of entity kinds, for the DM an author receives.

A person reads "credit card number", not ``CREDIT_CARD``. Unknown kinds (a
custom recognizer's, say) fall back to a readable form of the kind itself.
"""

from __future__ import annotations

from collections.abc import Iterable

# A shared file that could not be scanned (too large, encrypted, unreadable...):
# a finding of its own, acted on by the policy's rules like any kind.
UNSCANNABLE_FILE = "UNSCANNABLE_FILE"

# Vendor token kinds (``detection/recognizers/token_formats.py``): a token whose
# format names its vendor is reported as that vendor's kind. Every name ends in
# ``_KEY`` or ``_TOKEN``, so the default policy's globs delete them all.
VENDOR_TOKEN_KINDS: dict[str, str] = {
    "ADAFRUIT_KEY": "Adafruit IO key",
    "ADOBE_CLIENT_KEY": "Adobe client secret",
    "AGE_SECRET_KEY": "age secret key",
    "AIRTABLE_TOKEN": "Airtable token",
    "ALIBABA_ACCESS_KEY": "Alibaba Cloud access key",
    "ANTHROPIC_API_KEY": "Anthropic API key",
    "ARTIFACTORY_API_KEY": "Artifactory API key",
    "ATLASSIAN_TOKEN": "Atlassian API token",
    "AWS_APPSYNC_KEY": "AWS AppSync API key",
    "AMAZON_MWS_TOKEN": "Amazon MWS token",
    "AZURE_SECRET_KEY": "Azure client secret",
    "AZURE_SAS_TOKEN": "Azure shared access signature",
    "AZURE_STORAGE_KEY": "Azure storage account key",
    "AZURE_DEVOPS_TOKEN": "Azure DevOps token",
    "BITBUCKET_TOKEN": "Bitbucket token",
    "CIRCLECI_TOKEN": "CircleCI token",
    "CONTENTFUL_TOKEN": "Contentful token",
    "CRATES_IO_TOKEN": "crates.io token",
    "DATABRICKS_TOKEN": "Databricks token",
    "DEPENDENCY_TRACK_KEY": "Dependency-Track API key",
    "DIGITALOCEAN_TOKEN": "DigitalOcean token",
    "DISCORD_TOKEN": "Discord bot token",
    "DOCKER_HUB_TOKEN": "Docker Hub token",
    "DOPPLER_TOKEN": "Doppler token",
    "DROPBOX_TOKEN": "Dropbox token",
    "DYNATRACE_TOKEN": "Dynatrace token",
    "FACEBOOK_TOKEN": "Facebook access token",
    "FIGMA_TOKEN": "Figma token",
    "FIRECRAWL_API_KEY": "Firecrawl API key",
    "FLY_IO_TOKEN": "Fly.io token",
    "GITLAB_TOKEN": "GitLab token",
    "GOOGLE_OAUTH_KEY": "Google OAuth client secret",
    "GOOGLE_OAUTH_TOKEN": "Google OAuth access token",
    "GRAFANA_TOKEN": "Grafana token",
    "GROQ_API_KEY": "Groq API key",
    "HEROKU_API_KEY": "Heroku API key",
    "HUGGINGFACE_TOKEN": "Hugging Face token",
    "JINA_API_KEY": "Jina API key",
    "KUBERNETES_BOOTSTRAP_TOKEN": "Kubernetes bootstrap token",
    "LINEAR_API_KEY": "Linear API key",
    "MAILCHIMP_API_KEY": "Mailchimp API key",
    "MAILGUN_API_KEY": "Mailgun API key",
    "MAPBOX_TOKEN": "Mapbox token",
    "NETLIFY_TOKEN": "Netlify token",
    "NEW_RELIC_KEY": "New Relic key",
    "NOTION_TOKEN": "Notion token",
    "NPM_TOKEN": "npm token",
    "NUGET_API_KEY": "NuGet API key",
    "OKTA_TOKEN": "Okta API token",
    "OPENAI_API_KEY": "OpenAI API key",
    "PLANETSCALE_TOKEN": "PlanetScale token",
    "POSTMAN_API_KEY": "Postman API key",
    "PULUMI_TOKEN": "Pulumi token",
    "PYPI_TOKEN": "PyPI token",
    "RUBYGEMS_API_KEY": "RubyGems API key",
    "SALESFORCE_TOKEN": "Salesforce session token",
    "SEGMENT_TOKEN": "Segment token",
    "SENDGRID_API_KEY": "SendGrid API key",
    "SENTRY_TOKEN": "Sentry token",
    "SHOPIFY_TOKEN": "Shopify token",
    "SONARQUBE_TOKEN": "SonarQube token",
    "SOURCEGRAPH_TOKEN": "Sourcegraph token",
    "SQUARE_TOKEN": "Square token",
    "STACKHAWK_API_KEY": "StackHawk API key",
    "STRIPE_WEBHOOK_KEY": "Stripe webhook secret",
    "SUPABASE_TOKEN": "Supabase token",
    "TAVILY_API_KEY": "Tavily API key",
    "TEAMCITY_TOKEN": "TeamCity token",
    "TEAMS_WEBHOOK_TOKEN": "Microsoft Teams webhook URL",
    "TELEGRAM_BOT_TOKEN": "Telegram bot token",
    "TERRAFORM_TOKEN": "Terraform Cloud token",
    "TWILIO_API_KEY": "Twilio API key",
    "TWITCH_STREAM_KEY": "Twitch stream key",
    "VAULT_TOKEN": "HashiCorp Vault token",
    "VAULT_UNSEAL_KEY": "HashiCorp Vault unseal key",
}

KIND_DESCRIPTIONS: dict[str, str] = {
    "CREDIT_CARD": "credit card number",
    "IBAN_CODE": "bank account number (IBAN)",
    "US_BANK_NUMBER": "bank account number",
    "US_SSN": "US social security number",
    "US_ITIN": "US taxpayer identification number",
    "US_PASSPORT": "passport number",
    "US_DRIVER_LICENSE": "driver's licence number",
    "UK_NHS": "NHS number",
    "BR_CPF": "Brazilian CPF number",
    "BR_CNPJ": "Brazilian CNPJ number",
    "UK_NINO": "UK National Insurance number",
    "CA_SIN": "Canadian social insurance number",
    "IN_AADHAAR": "Aadhaar number",
    "IN_PAN": "Indian PAN",
    "ES_NIF": "Spanish DNI/NIF number",
    "ES_NIE": "Spanish NIE number",
    "IT_FISCAL_CODE": "Italian codice fiscale",
    "AU_TFN": "Australian tax file number",
    "UK_BANK_ACCOUNT": "bank account number",
    "AU_BANK_ACCOUNT": "bank account number",
    "BR_BANK_ACCOUNT": "bank account number",
    "IN_BANK_ACCOUNT": "bank account number",
    "EMAIL_ADDRESS": "email address",
    "PHONE_NUMBER": "phone number",
    "PERSON": "person's name",
    "LOCATION": "location",
    "DATE_TIME": "date",
    "URL": "URL",
    "IP_ADDRESS": "IP address",
    "AWS_ACCESS_KEY": "AWS access key",
    "AWS_SECRET_KEY": "AWS secret key",
    "SLACK_TOKEN": "Slack token",
    "SLACK_WEBHOOK_TOKEN": "Slack webhook URL",
    "GITHUB_TOKEN": "GitHub token",
    "STRIPE_KEY": "Stripe secret key",
    "STRIPE_TEST_KEY": "Stripe test key",
    "GOOGLE_API_KEY": "Google API key",
    "PRIVATE_KEY": "private key",
    "JWT_TOKEN": "JSON web token",
    "DATABASE_PASSWORD": "database password",
    "PASSWORD": "password",
    "GENERIC_API_KEY": "API key or token",
    "MEDICAL_CONDITION": "health information",
    "MEDICAL_RECORD_NUMBER": "medical record number",
    UNSCANNABLE_FILE: "a file that could not be scanned",
    "DENY_LIST": "a value your workspace blocks",
    **VENDOR_TOKEN_KINDS,
}


def describe(kind: str) -> str:
    return KIND_DESCRIPTIONS.get(kind) or kind.replace("_", " ").lower()


def describe_all(kinds: Iterable[str]) -> str:
    """"a, b and c" in a stable order, each kind once."""
    words = list(dict.fromkeys(describe(k) for k in sorted(set(kinds))))
    if not words:
        return "sensitive data"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
