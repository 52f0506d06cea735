"""Template families for secrets and health data, for the generalisation report.

Usage::

    python bench/data/families/generate_secrets_health.py

Writes ``secrets_generated.jsonl`` and ``health_generated.jsonl`` next to this
file (seeded: the output is the same on every run). Each family is one
template shape; ``heldout: true`` families were written after the recognizers
and are never used to tune them, so their figures say how detection does on
shapes it has not seen. Values are random (no real secret, no real person);
drug and procedure names here are written independently of the shipped
vocabularies, so a name the vocabulary lacks counts as a miss.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
R = random.Random(14)
PER_FAMILY = 24

FIRST = ["Dana", "Omar", "Priya", "Kenji", "Lucia", "Tomasz", "Aisha", "Mateo", "Ingrid", "Kwame",
         "Sofia", "Ravi", "Elena", "Jonas", "Mei", "Tariq", "Camila", "Henrik", "Zara", "Diego",
         "Fatima", "Lars", "Nadia", "Bruno", "Yara", "Felix", "Leila", "Marco", "Hana", "Rui"]
ROLES = ["my manager", "our CFO", "my boss", "our tech lead", "my teammate", "the new hire",
         "our VP of sales", "my skip-level", "our designer", "my coworker", "our CEO",
         "my direct report", "our office manager", "my mentor"]


def tok(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    while True:
        value = "".join(R.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def hexs(n: int) -> str:
    return tok(n, "0123456789abcdef")


def pw() -> str:
    word = R.choice(["river", "Falcon", "maple", "Orbit", "cedar", "Nimbus", "quartz", "Tango"])
    return f"{word}{R.randint(10, 9999)}{R.choice('!@#$%&*?')}{R.choice(string.ascii_uppercase)}"


def row(family: str, group: str, text: str, kinds: list[str], heldout: bool) -> dict[str, object]:
    return {"text": text, "kinds": kinds, "delete": bool(kinds), "group": group if kinds else "clean",
            "family": family, "source": "generated", "heldout": heldout}


SECRET_FAMILIES: dict[str, tuple[bool, str, Callable[[], str]]] = {
    # first batch: held out on its first run, then used to find weaknesses (now dev families)
    "secret-k8s-stringdata": (False, "PASSWORD", lambda: (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
        f"  {R.choice(['DB_PASSWORD', 'REDIS_PASSWORD', 'SMTP_PASS', 'ADMIN_PASSWORD'])}: {pw()}")),
    "secret-compose-env-list": (False, "PASSWORD", lambda: (
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        f"      - POSTGRES_PASSWORD={pw()}\n      - POSTGRES_USER=app")),
    "secret-spring-datasource": (False, "PASSWORD", lambda: (
        "spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/app\n"
        f"    username: app\n    password: {pw()}")),
    "secret-java-properties": (False, "PASSWORD", lambda: (
        f"mail.smtp.host=smtp.internal\nmail.smtp.user=noreply\nmail.smtp.password={pw()}")),
    "secret-npmrc-authtoken": (False, "GENERIC_API_KEY", lambda: (
        f"//npm.pkg.internal/:_authToken={tok(36)}")),
    "secret-terraform-provider": (False, "GENERIC_API_KEY", lambda: (
        f'provider "datadog" {{\n  api_key = "{hexs(32)}"\n  app_key = "{hexs(40)}"\n}}')),
    "secret-php-define": (False, "PASSWORD", lambda: (
        f"define('DB_HOST', 'localhost');\ndefine('DB_PASSWORD', '{pw()}');")),
    "secret-python-kwargs": (False, "PASSWORD", lambda: (
        f"conn = psycopg2.connect(host='db', user='etl', password='{pw()}')")),
    "secret-curl-auth-header": (False, "GENERIC_API_KEY", lambda: (
        f"curl -s -H 'X-Auth-Token: {tok(40)}' https://api.internal/v2/jobs")),
    "secret-ini-section": (False, "PASSWORD", lambda: (
        f"[database]\nhost = db01\nuser = report\npasswd = {pw()}")),
    "secret-go-struct": (False, "GENERIC_API_KEY", lambda: (
        f'cfg := Config{{\n\tBaseURL: "https://api.internal",\n\tAPIToken: "{tok(32)}",\n}}')),
    "secret-ruby-config": (False, "GENERIC_API_KEY", lambda: (
        f"config.api_secret = '{tok(40)}'")),
    "secret-redis-empty-user": (False, "DATABASE_PASSWORD", lambda: (
        f"REDIS_URL=redis://:{pw()}@cache1.internal:6379/0")),
    "secret-label-next-line": (False, "PASSWORD", lambda: (
        f"here are the staging creds\nDB password:\n{pw()}")),
    "secret-chat-bearer": (False, "GENERIC_API_KEY", lambda: (
        f"use `Authorization: Bearer {tok(48)}` against staging for now")),
    "secret-powershell-env": (False, "GENERIC_API_KEY", lambda: (
        f'$env:SERVICE_TOKEN = "{tok(40)}"')),
    # dev families: the syntaxes the recognizers were built from
    "secret-dotenv": (False, "PASSWORD", lambda: f"DB_PASS={pw()}"),
    "secret-json": (False, "GENERIC_API_KEY", lambda: f'{{"clientSecret": "{tok(40)}"}}'),
    "secret-xml-add": (False, "GENERIC_API_KEY",
                       lambda: f'<add key="StorageToken" value="{tok(40)}" />'),
    "secret-cli-flag": (False, "PASSWORD", lambda: f"deploy --password '{pw()}' --host web1"),
}
CLEAN_SECRET_FAMILIES: dict[str, tuple[bool, Callable[[], str]]] = {
    "clean-secret-ci-refs": (False, lambda: R.choice([
        "env:\n  API_TOKEN: ${{ secrets.API_TOKEN }}\n  DB_PASSWORD: ${{ secrets.DB_PASSWORD }}",
        "password: \"%(DB_PASS)s\"", "token: <%= ENV['DEPLOY_TOKEN'] %>",
        "secret = os.getenv('APP_SECRET')", "apiKey: import.meta.env.VITE_MAPS_KEY",
        "DB_PASSWORD: !vault |", "password = ENV.fetch('DB_PASSWORD')",
        f"export API_KEY=$(vault kv get -field=key secret/{R.choice(['app', 'ci'])})"])),
    "clean-secret-ui-labels": (False, lambda: R.choice([
        'passwordPlaceholder: "Enter password"', 'tokenHint: "Paste your personal token"',
        'apiKeyLabel: "API key"', '"secret_help": "Never share your secret"',
        '<label for="password">Password</label>', 'confirmPasswordError: "Passwords must match"'])),
    "clean-secret-hosts": (False, lambda: R.choice([
        f"redis_host: cache{R.randint(1, 9)}.internal\nredis_port: 6379",
        f"token_endpoint: https://auth.internal/oauth/token?v={R.randint(1, 9)}",
        f"secrets_dir: /var/run/secrets/app{R.randint(1, 9)}", "key_file: certs/server.key"])),
    "clean-secret-masked": (False, lambda: R.choice([
        "password: ******** (rotated yesterday)", f"token=ghp_****{R.randint(1000, 9999)}",
        "api_key: xxxxxxxxxxxxxxxxxxxxxxxx", "client_secret: <redacted>",
        "DB_PASSWORD=###########"])),
    "clean-secret-identifiers": (False, lambda: R.choice([
        "tokenService.refresh(session)", "passwordEncoder = new BCryptPasswordEncoder()",
        "secretName: prod-db-credentials", "keyRef: projects/app/secrets/db/versions/latest",
        "the auth token expires after 3600 seconds", "max_tokens = 4096",
        "cache_key = f'user:{user_id}'"])),
    "clean-secret-docs": (False, lambda: R.choice([
        "set `API_KEY=<your key>` in .env before running", "password: changeme  # default",
        "export GITHUB_TOKEN=your-token-here", "Authorization: Bearer <token>",
        "mysql -u root -p  # it will prompt"])),
}

DRUGS = ["Xarelto", "Jardiance", "Trulicity", "Lexapro", "Keppra", "Seroquel", "Vyvanse",
         "Eliquis", "Entresto", "Dupixent", "Skyrizi", "Rinvoq", "Otezla", "Nurtec", "Ubrelvy",
         "Latuda", "Caplyta", "Qulipta", "Mavenclad", "Kesimpta", "Zeposia", "Leqembi", "Sotyktu"]
TREATMENTS = ["chemo", "radiation", "dialysis", "physical therapy", "IVF", "infusions",
              "immunotherapy", "speech therapy", "a bone marrow transplant", "knee surgery",
              "a hysterectomy", "cardiac rehab", "ECT", "plasmapheresis", "a spinal fusion"]
TESTS = ["biopsy", "MRI", "A1C", "mammogram", "bloodwork", "CT scan", "PSA test"]
COMPANIES = ["Pfizer", "Novartis", "AbbVie", "Lilly", "Gilead", "Bayer", "Sanofi", "Roche"]

HEALTH_FAMILIES: dict[str, tuple[bool, Callable[[], str]]] = {
    "health-med-name-now": (False, lambda: f"{R.choice(FIRST)} is on {R.choice(DRUGS)} now, "
                            "so no alcohol at the offsite for them"),
    "health-med-role-since": (False, lambda: f"{R.choice(ROLES)} has been taking "
                              f"{R.choice(DRUGS)} since {R.choice(['March', 'the spring', 'June'])}"),
    "health-treatment-weekly": (False, lambda: f"{R.choice(FIRST)} has {R.choice(TREATMENTS)} "
                                f"every {R.choice(['Tuesday', 'Friday', 'other week'])}, "
                                "block those afternoons"),
    "health-treatment-possessive": (False, lambda: f"{R.choice(FIRST)}'s {R.choice(TREATMENTS)} "
                                    "went well, she's back Monday"),
    "health-pronoun-chain": (False, lambda: f"Had lunch with {R.choice(FIRST)} today. "
                             f"{R.choice(['He', 'She'])} starts {R.choice(TREATMENTS)} next week."),
    "health-role-pronoun": (False, lambda: f"Spoke to {R.choice(ROLES)}. "
                            f"{R.choice(['He', 'She', 'They'])} is getting {R.choice(TREATMENTS)}."),
    "health-first-person-treatment": (False, lambda: f"I have {R.choice(TREATMENTS)} tomorrow "
                                      "morning so I'll be offline until 2"),
    "health-state": (False, lambda: R.choice([
        f"{R.choice(FIRST)} is {R.randint(8, 36)} weeks pregnant",
        f"{R.choice(ROLES)} uses a wheelchair, book the ground floor room",
        f"{R.choice(FIRST)} has been in the hospital since Sunday",
        f"{R.choice(FIRST)} is hard of hearing, please keep cameras on"])),
    "health-test-result": (False, lambda: f"{R.choice(FIRST)}'s {R.choice(TESTS)} results came "
                           f"back {R.choice(['abnormal', 'high', 'positive'])}"),
    "health-es": (False, lambda: R.choice([
        f"{R.choice(FIRST)} está haciendo diálisis tres veces por semana",
        f"mi jefa toma {R.choice(DRUGS)} desde marzo",
        f"{R.choice(FIRST)} tiene cáncer de mama y empieza quimioterapia",
        "mi compañero está ingresado en el hospital",
        f"{R.choice(FIRST)} está embarazada de {R.randint(3, 8)} meses"])),
    "health-pt": (False, lambda: R.choice([
        f"{R.choice(FIRST)} está fazendo quimioterapia às sextas",
        f"minha gestora toma {R.choice(DRUGS)} todo dia",
        f"o {R.choice(FIRST)} foi internado na UTI ontem",
        f"a {R.choice(FIRST)} tem diabetes tipo 1 e usa insulina",
        "meu colega está em tratamento contra o câncer"])),
    # dev family: the phrasing the recognizer was built from
    "health-diagnosed": (False, lambda: f"{R.choice(FIRST)} was diagnosed with "
                         f"{R.choice(['lupus', 'type 2 diabetes', 'epilepsy'])} last week"),
}
CLEAN_HEALTH_FAMILIES: dict[str, tuple[bool, Callable[[], str]]] = {
    "clean-health-pharma": (False, lambda: f"{R.choice(COMPANIES)} reported {R.choice(DRUGS)} "
                            f"revenue up {R.randint(3, 40)}% this quarter"),
    "clean-health-topics": (False, lambda: R.choice([
        "flu season is here, get your shots", "the build is sick again",
        "the cancer research grant got approved", f"{R.choice(TREATMENTS)} coverage in our plan",
        "the dialysis clinic integration is live", "our pregnancy tracker feature ships Friday"])),
    "clean-health-figurative": (False, lambda: R.choice([
        "that's a blind spot in our monitoring", "a stroke of genius from the infra team",
        "this legacy module is cancer", "we need a shot in the arm for Q3",
        "the deploy gave me a heart attack", "turn a blind eye to lint for now"])),
    "clean-health-people-not-health": (False, lambda: R.choice([
        f"{R.choice(FIRST)} is leading the {R.choice(TREATMENTS)} scheduling project",
        f"{R.choice(ROLES)} approved the {R.choice(DRUGS)} pricing deck",
        f"{R.choice(FIRST)} wrote the MRI booking service",
        f"{R.choice(FIRST)} está no hospital para a reunião com o cliente de TI"])),
}


# -- second batch: written after the recognizers were done and scored once (secrets
# 0.933, health 0.875 recall, 5.4% false deletions on its clean families); some of its
# misses were seen while fixing Spanish/Portuguese relations and roles, so it is a
# development batch now.
NAMES2 = ["Abebe", "Greta", "Joaquin", "Mireille", "Sanjay", "Oksana", "Wei", "Thandiwe",
          "Bjorn", "Paloma", "Idris", "Noor", "Emeka", "Ludmila", "Keanu", "Rosalind"]
ROLES2 = ["my line manager", "our head of finance", "my pairing partner", "our team lead",
          "my project manager", "our scrum master", "my sister", "our landlord"]
DRUGS2 = ["Tresiba", "Aricept", "Namenda", "Lamictal", "Depakote", "Topamax", "Zoloft",
          "Cymbalta", "Buspar", "Strattera", "Focalin", "Suboxone", "Truvada", "Imbruvica",
          "Tagrisso", "Ibrance", "Revlimid", "Enbrel", "Stelara", "Repatha", "Gilenya"]
GENERICS2 = ["apixaban 5 mg", "sertraline 50mg", "metoprolol 25 mg", "lamotrigine 100mg",
             "quetiapine 200 mg", "escitalopram 10mg", "levetiracetam 500 mg"]
PROCS2 = ["a hip replacement", "a mastectomy", "a gallbladder removal", "a spinal fusion",
          "a kidney transplant", "cataract surgery", "bariatric surgery", "a knee arthroscopy"]

SECRET_FAMILIES_2: dict[str, tuple[str, Callable[[], str]]] = {
    "secret2-helm-values": ("PASSWORD", lambda: (
        f"postgresql:\n  auth:\n    postgresPassword: {pw()}\n    database: app")),
    "secret2-ansible-vars": ("PASSWORD", lambda: f"ansible_become_pass: {pw()}"),
    "secret2-gradle-properties": ("PASSWORD", lambda: (
        f"signing.keyId=24875D73\nsigning.password={pw()}")),
    "secret2-dockerfile-env": ("GENERIC_API_KEY", lambda: f"ENV API_SECRET={tok(40)}"),
    "secret2-js-object": ("GENERIC_API_KEY", lambda: (
        f"const config = {{ apiKey: '{tok(39)}', authDomain: 'demo.firebaseapp.com' }}")),
    "secret2-csharp-const": ("GENERIC_API_KEY", lambda: (
        f'private const string ClientSecret = "{tok(34)}";')),
    "secret2-yaml-single-quoted": ("GENERIC_API_KEY", lambda: (
        f"slack_signing_secret: '{hexs(32)}'")),
    "secret2-rust-set-var": ("GENERIC_API_KEY", lambda: (
        f'std::env::set_var("WEBHOOK_SECRET", "{tok(32)}");')),
    "secret2-sql-identified-by": ("PASSWORD", lambda: (
        f"CREATE USER report IDENTIFIED BY '{pw()}';")),
    "secret2-ftp-uri": ("PASSWORD", lambda: f"ftp://deploy:{pw()}@files.internal/releases"),
    "secret2-kubectl-literal": ("PASSWORD", lambda: (
        f"kubectl create secret generic db --from-literal=password={pw()}")),
    "secret2-raw-http": ("GENERIC_API_KEY", lambda: (
        f"GET /v1/me HTTP/1.1\nHost: api.internal\nApi-Token: {tok(40)}")),
    "secret2-jdbc-properties": ("PASSWORD", lambda: (
        f"jdbc.url=jdbc:mysql://db:3306/app\njdbc.password={pw()}")),
    "secret2-toml-table": ("GENERIC_API_KEY", lambda: f'[auth]\nclient_secret = "{tok(40)}"'),
    "secret2-chat-prose": ("GENERIC_API_KEY", lambda: (
        f"the deploy token is {tok(40)}, don't share it")),
}
CLEAN_SECRET_FAMILIES_2: dict[str, Callable[[], str]] = {
    "clean2-secret-refs": lambda: R.choice([
        "DB_PASSWORD=${DB_PASSWORD:?required}", "password: \"{{ vault 'secret/db' }}\"",
        "token: ((concourse-deploy-token))", "set API_KEY=%API_KEY%",
        "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>", "password: !ENV ${DB_PASS}"]),
    "clean2-secret-labels": lambda: R.choice([
        'resetPasswordTitle: "Reset your password"',
        "tokenExpiredMessage: 'Your token has expired'",
        '"apiKeyDescription": "Create a key in Settings"', "passwordHint: Use 12+ characters"]),
    "clean2-secret-code": lambda: R.choice([
        "if (password.length < 12) { return false; }", "const token = await getToken();",
        "user.password = hash(password)", "String secret = vault.read(path);",
        "token = request.headers.get('Authorization')"]),
    "clean2-secret-hashes": lambda: R.choice([
        f"commit_sha: {hexs(40)}", f"integrity: sha512-{tok(40)}==", f"etag: W/\"{hexs(8)}\"",
        f"checksum = {hexs(64)}"]),
}
HEALTH_FAMILIES_2: dict[str, Callable[[], str]] = {
    "health2-med-started": lambda: f"{R.choice(NAMES2)} started {R.choice(DRUGS2)} last week "
                                   "and feels a lot better",
    "health2-med-generic-dose": lambda: f"{R.choice(ROLES2)} is on {R.choice(GENERICS2)} twice a day",
    "health2-procedure-leave": lambda: f"{R.choice(NAMES2)} is out for {R.choice(PROCS2)} "
                                       f"until {R.choice(['May', 'mid-June', 'the 20th'])}",
    "health2-therapy-slot": lambda: f"{R.choice(NAMES2)} has therapy on Wednesdays at 4, "
                                    "so keep that slot free",
    "health2-prescription": lambda: f"{R.choice(NAMES2)} picked up her prescription for "
                                    f"{R.choice(DRUGS2)} at lunch",
    "health2-pronoun-after-role": lambda: f"{R.choice(ROLES2)} told me yesterday. "
                                          f"{R.choice(['She', 'He'])}'s been on dialysis since spring.",
    "health2-hospital": lambda: R.choice([
        f"{R.choice(NAMES2)} is still in hospital after the accident",
        f"{R.choice(ROLES2)} was rushed to the ER last night"]),
    "health2-es": lambda: R.choice([
        f"a mi jefe le recetaron {R.choice(DRUGS2)}",
        f"{R.choice(NAMES2)} se operó de la rodilla y está de baja",
        "mi hermana está en diálisis desde enero",
        f"{R.choice(NAMES2)} está con quimioterapia"]),
    "health2-pt": lambda: R.choice([
        f"{R.choice(NAMES2)} passou por uma cirurgia no joelho",
        f"meu chefe começou a tomar {R.choice(DRUGS2)}",
        f"a {R.choice(NAMES2)} está fazendo fisioterapia três vezes por semana",
        "meu pai está na hemodiálise"]),
}
CLEAN_HEALTH_FAMILIES_2: dict[str, Callable[[], str]] = {
    "clean2-health-pharma": lambda: R.choice([
        f"{R.choice(DRUGS2)} went generic this year, margins will drop",
        f"the {R.choice(DRUGS2)} patent cliff hits in 2027",
        f"{R.choice(COMPANIES)} is running a {R.choice(DRUGS2)} trial in Brazil"]),
    "clean2-health-people-at-work": lambda: R.choice([
        f"{R.choice(NAMES2)} is presenting the dialysis dashboard",
        f"{R.choice(ROLES2)} is on the oncology account now",
        f"{R.choice(NAMES2)} migrated the chemo orders table",
        f"{R.choice(NAMES2)} is at the hospital for the EHR rollout"]),
    "clean2-health-illness-talk": lambda: R.choice([
        "half the office has the flu this week", "covid cases are rising in the city",
        "therapy dogs visit the office Friday", "the surgery wing contract renews in May",
        "pharmacy benefits enrollment closes Friday"]),
}


def second_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_2.items():
        secrets += [row(family, "secret", make(), [kind], False) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_2.items():
        secrets += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_2.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], False)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_2.items():
        health += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    return secrets, health


# -- third batch: written after the second round's fixes and scored once (secrets recall
# 0.833, health 0.923, 1.7% false deletions); the setter, HCL-block and state fixes that
# followed were made knowing its templates, so it is a development batch now.
NAMES3 = ["Olusegun", "Margit", "Teodoro", "Ayumi", "Declan", "Farida", "Piotr", "Esperanza",
          "Kalani", "Viggo", "Shirin", "Anselm", "Nkechi", "Dorotea", "Haruto", "Ilse"]
ROLES3 = ["my supervisor", "our controller", "my cousin", "our head of support",
          "my manager's manager", "our receptionist", "my flatmate", "our lead designer"]
DRUGS3 = ["Ozempic", "Mounjaro", "Wellbutrin", "Adderall", "Xanax", "Humira", "Keytruda",
          "Eliquis", "Jardiance", "Lyrica", "Abilify", "Paxlovid", "Prozac", "Synthroid"]
GENERICS3 = ["methotrexate", "tamoxifen", "warfarin", "levothyroxine", "bupropion",
             "gabapentin", "prednisone", "lithium", "hydroxychloroquine", "semaglutide"]
PROCS3 = ["chemotherapy", "radiation therapy", "dialysis", "an angioplasty", "a lumpectomy",
          "physical therapy", "a colonoscopy", "IVF", "a root canal", "rehab"]

SECRET_FAMILIES_3: dict[str, tuple[str, Callable[[], str]]] = {
    "secret3-yaml-nested-creds": ("PASSWORD", lambda: (
        f"smtp:\n  host: mail.internal\n  credentials:\n    user: alerts\n    password: \"{pw()}\"")),
    "secret3-env-export-quoted": ("GENERIC_API_KEY", lambda: (
        f"export OPENWEATHER_API_KEY=\"{hexs(32)}\"")),
    "secret3-json-nested": ("GENERIC_API_KEY", lambda: (
        f'{{"integrations": {{"pagerduty": {{"routingKey": "{tok(32)}"}}}}}}')),
    "secret3-python-dict": ("GENERIC_API_KEY", lambda: (
        f"HEADERS = {{'X-Service-Token': '{tok(40)}', 'Accept': 'application/json'}}")),
    "secret3-java-setter": ("PASSWORD", lambda: f'dataSource.setPassword("{pw()}");'),
    "secret3-properties-colon": ("PASSWORD", lambda: f"ldap.bind.password: {pw()}"),
    "secret3-xml-element-camel": ("PASSWORD", lambda: (
        f"<smtpSettings>\n  <userName>bot</userName>\n  <userPassword>{pw()}</userPassword>\n"
        "</smtpSettings>")),
    "secret3-httpie-header": ("GENERIC_API_KEY", lambda: (
        f"http GET api.internal/v1/items Authorization:'Bearer {tok(44)}'")),
    "secret3-uri-amqps": ("DATABASE_PASSWORD", lambda: f"amqps://worker:{pw()}@mq.internal:5671/prod"),
    "secret3-chat-two-lines": ("PASSWORD", lambda: (
        f"vpn login for the contractor\nuser: ext-{R.randint(10, 99)}\npass: {pw()}")),
    "secret3-terraform-var": ("PASSWORD", lambda: (
        f'variable "db_password" {{\n  default = "{pw()}"\n}}')),
    "secret3-cli-token-flag": ("GENERIC_API_KEY", lambda: (
        f"./deploy.sh --env prod --auth-token {tok(40)}")),
}
CLEAN_SECRET_FAMILIES_3: dict[str, Callable[[], str]] = {
    "clean3-secret-templates": lambda: R.choice([
        "password: \"{{ .Values.db.password }}\"", "API_KEY=${{ secrets.API_KEY }}",
        "token: ${TOKEN:-}", "export DB_PASS=\"$(pass show db/prod)\"",
        "client_secret: '<client secret from the console>'", "password: '%s' % os.environ['PW']"]),
    "clean3-secret-talk": lambda: R.choice([
        "who has the password for the staging box?", "I rotated the API key this morning",
        "the token refresh job failed again", "tokens are cached for 5 minutes",
        "password managers are mandatory from Monday", "secret scanning is on for all repos"]),
    "clean3-secret-code-refs": lambda: R.choice([
        "password = form.cleaned_data['password']", "apiKey: config.apiKey,",
        "const secret = process.env.JWT_SECRET ?? ''", "token := os.Getenv(\"GH_TOKEN\")",
        "let key = keychain.get(\"api-key\")"]),
}
HEALTH_FAMILIES_3: dict[str, Callable[[], str]] = {
    "health3-med-brand": lambda: f"{R.choice(NAMES3)} mentioned she's on {R.choice(DRUGS3)} now",
    "health3-med-generic-role": lambda: f"{R.choice(ROLES3)} takes {R.choice(GENERICS3)} every morning",
    "health3-procedure": lambda: f"{R.choice(NAMES3)} is having {R.choice(PROCS3)} next Tuesday",
    "health3-procedure-role": lambda: f"{R.choice(ROLES3)} just finished {R.choice(PROCS3)}",
    "health3-pronoun": lambda: f"Ping {R.choice(NAMES3)} later, {R.choice(['he', 'she'])}'s "
                               f"recovering from {R.choice(PROCS3)}",
    "health3-states": lambda: R.choice([
        f"{R.choice(NAMES3)} is pregnant with twins", f"{R.choice(ROLES3)} is in the ICU",
        f"{R.choice(NAMES3)} is hard of hearing", f"{R.choice(NAMES3)} has a learning disability"]),
    "health3-es-pt": lambda: R.choice([
        f"{R.choice(NAMES3)} está tomando {R.choice(GENERICS3)}",
        "mi primo empezó diálisis", f"{R.choice(NAMES3)} tem câncer de pulmão",
        "minha prima está grávida", f"{R.choice(NAMES3)} hace fisioterapia los martes"]),
}
CLEAN_HEALTH_FAMILIES_3: dict[str, Callable[[], str]] = {
    "clean3-health-business": lambda: R.choice([
        f"{R.choice(DRUGS3)} demand is outpacing supply", f"the {R.choice(GENERICS3)} shortage "
        "hit pharmacies", f"{R.choice(NAMES3)} closed the dialysis network deal",
        f"{R.choice(NAMES3)} is our account lead for the chemotherapy unit"]),
    "clean3-health-idioms": lambda: R.choice([
        "this bug is a real headache", "the release is on life support",
        "that meeting was painful", "our CI is sick today", "let's do surgery on this module",
        "deploy freeze is our insulin shot for stability"]),
}


def third_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_3.items():
        secrets += [row(family, "secret", make(), [kind], False) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_3.items():
        secrets += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_3.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], False)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_3.items():
        health += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    return secrets, health


# -- fourth batch: written after the third round's fixes and scored once (secrets recall
# 0.667, health 0.823, 4.2% false deletions on its 72 clean rows); its misses were then
# fixed (sibling name/value fields, .pgpass lines, getConnection, quoted DSL schemes,
# "'s on", "por", "treatment for"), so it is a development batch now.
NAMES4 = ["Benedikt", "Chiamaka", "Rodrigo", "Sunniva", "Takeshi", "Yolanda", "Matthias",
          "Oluwaseun", "Zofia", "Ignacio", "Parisa", "Cormac", "Lucinda", "Kaveh"]


def b64pair() -> str:
    import base64

    return base64.b64encode(f"svc:{pw()}".encode()).decode()


SECRET_FAMILIES_4: dict[str, tuple[str, Callable[[], str]]] = {
    "secret4-docker-run-env": ("PASSWORD", lambda: (
        f"docker run -d -e POSTGRES_PASSWORD={pw()} -p 5432:5432 postgres:16")),
    "secret4-actions-literal": ("GENERIC_API_KEY", lambda: (
        f"env:\n  SENTRY_AUTH_TOKEN: {hexs(64)}\n  NODE_ENV: production")),
    "secret4-pgpass-line": ("DATABASE_PASSWORD", lambda: f"db.internal:5432:app:report:{pw()}"),
    "secret4-requests-auth-tuple": ("PASSWORD", lambda: (
        f'requests.get(url, auth=("svc", "{pw()}"), timeout=5)')),
    "secret4-nginx-basic": ("PASSWORD", lambda: (
        f'proxy_set_header Authorization "Basic {b64pair()}";')),
    "secret4-jdbc-getconnection": ("PASSWORD", lambda: (
        f'DriverManager.getConnection(url, "report", "{pw()}");')),
    "secret4-k8s-env-list": ("GENERIC_API_KEY", lambda: (
        f"env:\n  - name: API_SECRET\n    value: \"{tok(40)}\"")),
    "secret4-fetch-headers": ("GENERIC_API_KEY", lambda: (
        f"fetch(url, {{ headers: {{ 'x-api-key': '{tok(40)}' }} }})")),
    "secret4-chat-fence": ("PASSWORD", lambda: (
        f"here you go\n```\nDATABASE_PASSWORD={pw()}\n```")),
    "secret4-elixir-config": ("GENERIC_API_KEY", lambda: (
        f'config :billing, api_key: "{tok(40)}"')),
    "secret4-appsettings-connstr": ("DATABASE_PASSWORD", lambda: (
        f'"ConnectionStrings": {{ "Default": "Server=sql1;Database=app;User Id=app;'
        f'Password={pw()};" }}')),
    "secret4-ssh-uri": ("PASSWORD", lambda: f"ssh://admin:{pw()}@bastion.internal:22"),
}
CLEAN_SECRET_FAMILIES_4: dict[str, Callable[[], str]] = {
    "clean4-secret-config-refs": lambda: R.choice([
        'password: "${{ inputs.password }}"', 'token = Secret("api-token")',
        "api_key = settings.API_KEY", '"password": null', "password: true  # required",
        '"token_type": "bearer"', "x-api-key: {{apiKey}}", "Authorization: Bearer {{token}}",
        "DB_PASSWORD="]),
    "clean4-secret-chat": lambda: R.choice([
        "can you reset my password?", "the secret santa list is out",
        "api key rotation runbook is updated", "token budget for the LLM is 8k",
        "please don't paste passwords in channels", "the bearer auth middleware is merged"]),
}
HEALTH_FAMILIES_4: dict[str, Callable[[], str]] = {
    "health4-biopsy": lambda: f"Heads up that {R.choice(NAMES4)} will be out, she's getting "
                              "a biopsy",
    "health4-told-team": lambda: f"{R.choice(ROLES)} told the team she has breast cancer",
    "health4-dialysis-days": lambda: f"{R.choice(NAMES4)} goes to dialysis Mon/Wed/Fri",
    "health4-new-antidepressant": lambda: f"{R.choice(NAMES4)}'s on a new antidepressant",
    "health4-blood-thinners": lambda: f"{R.choice(NAMES4)} was put on blood thinners after "
                                      "the clot",
    "health4-ivf-mornings": lambda: f"{R.choice(NAMES4)} is doing IVF so mornings are hard",
    "health4-rehab": lambda: f"{R.choice(NAMES4)} broke her hip and is in rehab",
    "health4-es-pt": lambda: R.choice([
        f"{R.choice(NAMES4)} está de baja por una cirugía",
        f"o {R.choice(NAMES4)} está com depressão",
        f"a {R.choice(NAMES4)} faz tratamento para ansiedade",
        f"el hijo de {R.choice(NAMES4)} tiene autismo",
        f"{R.choice(NAMES4)} anda con quimio"]),
}
CLEAN_HEALTH_FAMILIES_4: dict[str, Callable[[], str]] = {
    "clean4-health-work": lambda: R.choice([
        "the insulin pump firmware update is out", "our oncology customers renewed",
        f"{R.choice(NAMES4)} presented the diabetes cohort analysis",
        "the hospital's ICU dashboard is slow", f"{R.choice(NAMES4)} owns the pharmacy API",
        f"{R.choice(NAMES4)} is interviewing for the dialysis ops role"]),
}


def fourth_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_4.items():
        secrets += [row(family, "secret", make(), [kind], False) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_4.items():
        secrets += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_4.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], False)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_4.items():
        health += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    return secrets, health


# -- fifth batch: written after the fourth round's fixes and scored once (secrets recall
# 0.769, health 0.880, 12.5% false deletions on its 48 clean rows); its misses were then
# fixed (typed declarations, curl -u, -u/-p pairs on any command line, generic "meds",
# team names after a term), so it is a development batch now.
NAMES5 = ["Anneliese", "Babajide", "Consuelo", "Dmitri", "Eskil", "Florencia", "Gideon",
          "Hyun-woo", "Itzel", "Jovana", "Kasimir", "Leonor", "Mbali", "Njeri"]
ROLES5 = ["my director", "our bookkeeper", "my aunt", "our SRE on call", "my roommate",
          "our founder"]

SECRET_FAMILIES_5: dict[str, tuple[str, Callable[[], str]]] = {
    "secret5-env-spaced-comment": ("GENERIC_API_KEY", lambda: (
        f"SIGNING_SECRET = {tok(40)}  # prod")),
    "secret5-yaml-anchor": ("PASSWORD", lambda: (
        f"defaults: &defaults\n  admin_password: {pw()}\n  timeout: 30")),
    "secret5-heredoc": ("PASSWORD", lambda: (
        f"cat <<EOF > .env\nREDIS_PASSWORD={pw()}\nEOF")),
    "secret5-spring-default": ("PASSWORD", lambda: f'@Value("${{db.password:{pw()}}}")'),
    "secret5-php-array": ("PASSWORD", lambda: (
        f"'mysql' => [\n    'username' => 'app',\n    'password' => '{pw()}',\n],")),
    "secret5-perl": ("PASSWORD", lambda: f"my $password = '{pw()}';"),
    "secret5-swift": ("GENERIC_API_KEY", lambda: f'let apiKey = "{tok(40)}"'),
    "secret5-kotlin": ("GENERIC_API_KEY", lambda: f'val clientSecret = "{tok(40)}"'),
    "secret5-scala-typed": ("PASSWORD", lambda: f'val dbPassword: String = "{pw()}"'),
    "secret5-curl-user": ("PASSWORD", lambda: (
        f"curl -u deploy:{pw()} https://artifacts.internal/upload")),
    "secret5-git-token-url": ("PASSWORD", lambda: (
        f"git clone https://oauth2:{tok(40)}@gitlab.internal/group/repo.git")),
    "secret5-chat-wifi": ("PASSWORD", lambda: f"new wifi pass for guests: {pw()}"),
    "secret5-az-login": ("PASSWORD", lambda: (
        f"az login --service-principal -u {hexs(8)}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(12)} "
        f"-p {tok(40)} --tenant contoso.onmicrosoft.com")),
}
CLEAN_SECRET_FAMILIES_5: dict[str, Callable[[], str]] = {
    "clean5-secret-code": lambda: R.choice([
        'password = os.environ.get("DB_PASSWORD", "")', "apiKey: string;", "token?: string",
        '"password": "{{password}}"', "secret_key = None", "PASSWORD_MIN_LENGTH = 12",
        'auth: { type: "oauth2" }', "credentials: include", 'key: "Enter"',
        "echo $PW | docker login --password-stdin"]),
}
HEALTH_FAMILIES_5: dict[str, Callable[[], str]] = {
    "health5-chemo-that-week": lambda: f"{R.choice(NAMES5)} can't do the offsite, her chemo "
                                       "is that week",
    "health5-into-surgery": lambda: f"{R.choice(ROLES5)} is going into surgery Thursday",
    "health5-got-diagnosed": lambda: f"{R.choice(NAMES5)} got diagnosed with ADHD last month",
    "health5-meds-for": lambda: f"{R.choice(NAMES5)} is on meds for her anxiety",
    "health5-hospitalized": lambda: f"{R.choice(NAMES5)} has been hospitalized since Friday",
    "health5-relative": lambda: f"{R.choice(NAMES5)}'s husband has Parkinson's",
    "health5-needs-transplant": lambda: f"{R.choice(NAMES5)} needs a kidney transplant",
    "health5-insulin-shots": lambda: f"{R.choice(NAMES5)} started insulin shots",
    "health5-es-pt": lambda: R.choice([
        f"{R.choice(NAMES5)} está internada en la UCI",
        f"o marido da {R.choice(NAMES5)} tem Alzheimer",
        f"{R.choice(NAMES5)} está en rehabilitación después del accidente",
        f"a mãe do {R.choice(NAMES5)} faz quimioterapia"]),
}
CLEAN_HEALTH_FAMILIES_5: dict[str, Callable[[], str]] = {
    "clean5-health": lambda: R.choice([
        "Kaiser's dialysis unit signed the contract", "can someone cover the cancer walk booth?",
        "the flu shot clinic is Tuesday", f"{R.choice(NAMES5)} joined from the hospital IT team",
        "the new PTO policy covers surgery recovery",
        f"{R.choice(NAMES5)} is reading a book about depression"]),
}


def fifth_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_5.items():
        secrets += [row(family, "secret", make(), [kind], False) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_5.items():
        secrets += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_5.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], False)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_5.items():
        health += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    return secrets, health


# -- sixth batch: written after the fifth round's fixes and scored once (secrets recall
# 0.909, health 0.778, 0.0% false deletions on its 48 clean rows); its misses were then
# fixed (YAML block scalars, medical devices, specialists), so it is development now.
NAMES6 = ["Augustin", "Bronwyn", "Cyrus", "Delfina", "Ekaterina", "Fitzgerald", "Gunnhild",
          "Horacio", "Ifeoma", "Jaroslav", "Kirra", "Lisandro", "Maelle", "Nasrin"]
ROLES6 = ["my stepdad", "our head of legal", "my pairing buddy", "our CISO", "my neighbour",
          "our intern"]

SECRET_FAMILIES_6: dict[str, tuple[str, Callable[[], str]]] = {
    "secret6-python-module-attr": ("GENERIC_API_KEY", lambda: f'openai.api_key = "{tok(40)}"'),
    "secret6-mongo-flags": ("DATABASE_PASSWORD", lambda: (
        f"mongosh --host db1 --username app --password {pw()}")),
    "secret6-yaml-block-scalar": ("PASSWORD", lambda: f"password: |\n  {pw()}\nuser: app"),
    "secret6-helm-set": ("PASSWORD", lambda: (
        f"helm upgrade app ./chart --set auth.password={pw()} --set auth.user=app")),
    "secret6-docker-login": ("PASSWORD", lambda: (
        f"docker login -u svc-ci -p {pw()} registry.internal")),
    "secret6-ado-connection": ("DATABASE_PASSWORD", lambda: (
        f'connection = "Data Source=srv;Initial Catalog=db;User ID=app;Password={pw()}"')),
    "secret6-go-setenv": ("GENERIC_API_KEY", lambda: f'os.Setenv("API_TOKEN", "{tok(40)}")'),
    "secret6-json-spaced-key": ("GENERIC_API_KEY", lambda: f'{{"Api Key": "{tok(40)}"}}'),
    "secret6-chat-admin-pw": ("PASSWORD", lambda: f"the staging admin pw: {pw()}"),
    "secret6-powershell-param": ("GENERIC_API_KEY", lambda: (
        f'Set-Secret -Name deploy -Secret "{tok(40)}"')),
    "secret6-xml-user-attr": ("PASSWORD", lambda: f'<user name="svc" password="{pw()}"/>'),
}
CLEAN_SECRET_FAMILIES_6: dict[str, Callable[[], str]] = {
    "clean6-secret": lambda: R.choice([
        "password: |\n  {{ .Values.password }}", "--set auth.password=$(cat pw.txt)",
        "docker login -u svc --password-stdin", '{"Api Key": "<insert here>"}',
        'os.Setenv("API_TOKEN", token)', "rotate the admin pw today",
        '<user name="svc" password=""/>', "the api key is in 1Password under Staging"]),
}
HEALTH_FAMILIES_6: dict[str, Callable[[], str]] = {
    "health6-oncologist": lambda: f"{R.choice(NAMES6)} has a follow-up with her oncologist",
    "health6-due": lambda: f"{R.choice(NAMES6)} is pregnant and due in June",
    "health6-in-and-out": lambda: f"{R.choice(NAMES6)}'s been in and out of the hospital "
                                  "with her heart",
    "health6-pacemaker": lambda: f"{R.choice(ROLES6)} got a pacemaker put in last week",
    "health6-covid-hospital": lambda: f"{R.choice(NAMES6)} is recovering from COVID in hospital",
    "health6-bp-meds": lambda: f"{R.choice(NAMES6)} takes lisinopril for her blood pressure",
    "health6-off-work": lambda: f"{R.choice(NAMES6)} has been off work with depression",
    "health6-inhaler": lambda: f"{R.choice(NAMES6)} uses an inhaler for asthma",
    "health6-es-pt": lambda: R.choice([
        f"{R.choice(NAMES6)} tiene una cita con el oncólogo por su cáncer",
        f"{R.choice(NAMES6)} está con depresión", f"{R.choice(NAMES6)} usa insulina",
        f"a {R.choice(NAMES6)} está de licença médica após uma cirurgia"]),
}
CLEAN_HEALTH_FAMILIES_6: dict[str, Callable[[], str]] = {
    "clean6-health": lambda: R.choice([
        "our oncologist users love the new UI", "the pacemaker telemetry service is down",
        f"{R.choice(NAMES6)} is presenting the heart failure readmissions metrics",
        "the pregnancy-safe drug list feature shipped", "the hospital's wifi is terrible",
        f"{R.choice(NAMES6)} is on call for the pharmacy integration"]),
}


def sixth_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_6.items():
        secrets += [row(family, "secret", make(), [kind], False) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_6.items():
        secrets += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_6.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], False)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_6.items():
        health += [row(family, "clean", make(), [], False) for _ in range(PER_FAMILY)]
    return secrets, health


# -- seventh batch: held out. Written last, after every change to the recognizers, and
# scored once; its figures are the ones to quote.
NAMES7 = ["Amadou", "Brigitta", "Caetano", "Dagny", "Emrys", "Fumiko", "Gwendolyn", "Hamid",
          "Iolanthe", "Joosep", "Katalin", "Lautaro", "Marisela", "Nnamdi"]
ROLES7 = ["my grandmother", "our CTO", "my team lead", "our payroll specialist",
          "my sister-in-law", "our new contractor"]

SECRET_FAMILIES_7: dict[str, tuple[str, Callable[[], str]]] = {
    "secret7-dotenv-quoted-single": ("GENERIC_API_KEY", lambda: (
        f"MAPS_API_KEY='{tok(39)}'")),
    "secret7-json-camel-nested": ("PASSWORD", lambda: (
        f'{{"db": {{"host": "db1", "userPassword": "{pw()}"}}}}')),
    "secret7-toml-inline-table": ("GENERIC_API_KEY", lambda: (
        f'sentry = {{ dsn_token = "{tok(40)}", env = "prod" }}')),
    "secret7-java-map-put": ("PASSWORD", lambda: f'props.put("mail.smtp.password", "{pw()}");'),
    "secret7-ts-const": ("GENERIC_API_KEY", lambda: (
        f"export const STRIPE_SECRET: string = '{tok(40)}';")),
    "secret7-k8s-secret-data-ref-mix": ("PASSWORD", lambda: (
        f"stringData:\n  username: app\n  password: '{pw()}'")),
    "secret7-redis-cli-a": ("DATABASE_PASSWORD", lambda: (
        f"redis-cli -h cache.internal -a {pw()} INFO")),
    "secret7-chat-is-now": ("PASSWORD", lambda: f"the jenkins admin password is now {pw()}"),
    "secret7-ini-no-spaces": ("PASSWORD", lambda: f"[ldap]\nbind_dn=cn=svc\nbind_pw={pw()}"),
    "secret7-uri-with-query": ("DATABASE_PASSWORD", lambda: (
        f"mysql://app:{pw()}@db.internal:3306/app?ssl=true")),
}
CLEAN_SECRET_FAMILIES_7: dict[str, Callable[[], str]] = {
    "clean7-secret": lambda: R.choice([
        "MAPS_API_KEY=''", '{"db": {"userPassword": "${DB_PASS}"}}',
        'props.put("mail.smtp.password", System.getenv("SMTP_PASS"));',
        "export const STRIPE_SECRET = process.env.STRIPE_SECRET;",
        "the jenkins admin password is in the vault", "bind_pw=<see vault>",
        "mysql://app@db.internal:3306/app", "passwordless login is live"]),
}
HEALTH_FAMILIES_7: dict[str, Callable[[], str]] = {
    "health7-role-chemo": lambda: f"{R.choice(ROLES7)} finishes chemo next month",
    "health7-name-med-dose": lambda: f"{R.choice(NAMES7)} upped her Zoloft to 100mg",
    "health7-hospital-stay": lambda: f"{R.choice(NAMES7)} spent the weekend in the hospital "
                                     "with pneumonia",
    "health7-disability": lambda: f"{R.choice(NAMES7)} is a wheelchair user, so pick a step-free venue",
    "health7-therapy": lambda: f"{R.choice(NAMES7)} started seeing a therapist for her PTSD",
    "health7-pregnant-role": lambda: f"{R.choice(ROLES7)} is expecting a baby in March",
    "health7-es-pt": lambda: R.choice([
        f"{R.choice(NAMES7)} empezó radioterapia el lunes",
        f"a avó do {R.choice(NAMES7)} está internada com pneumonia",
        f"{R.choice(NAMES7)} toma metformina desde el año pasado",
        f"o {R.choice(NAMES7)} faz sessões de fisioterapia"]),
}
CLEAN_HEALTH_FAMILIES_7: dict[str, Callable[[], str]] = {
    "clean7-health": lambda: R.choice([
        "the chemo infusion scheduler is back up", "Zoloft's patent expired years ago",
        f"{R.choice(NAMES7)} is the PM for the pneumonia triage model",
        "wheelchair ramps are being added to the office", "pregnancy leave policy updated",
        f"{R.choice(NAMES7)} spent the weekend at the hospital hackathon"]),
}


def seventh_batch() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    secrets: list[dict[str, object]] = []
    for family, (kind, make) in SECRET_FAMILIES_7.items():
        secrets += [row(family, "secret", make(), [kind], True) for _ in range(PER_FAMILY)]
    for family, make in CLEAN_SECRET_FAMILIES_7.items():
        secrets += [row(family, "clean", make(), [], True) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, make in HEALTH_FAMILIES_7.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], True)
                   for _ in range(PER_FAMILY)]
    for family, make in CLEAN_HEALTH_FAMILIES_7.items():
        health += [row(family, "clean", make(), [], True) for _ in range(PER_FAMILY)]
    return secrets, health


def main() -> None:
    secrets: list[dict[str, object]] = []
    for family, (heldout, kind, make) in SECRET_FAMILIES.items():
        secrets += [row(family, "secret", make(), [kind], heldout) for _ in range(PER_FAMILY)]
    for family, (heldout, make) in CLEAN_SECRET_FAMILIES.items():
        secrets += [row(family, "clean", make(), [], heldout) for _ in range(PER_FAMILY)]
    health: list[dict[str, object]] = []
    for family, (heldout, make) in HEALTH_FAMILIES.items():
        health += [row(family, "health", make(), ["MEDICAL_CONDITION"], heldout)
                   for _ in range(PER_FAMILY)]
    for family, (heldout, make) in CLEAN_HEALTH_FAMILIES.items():
        health += [row(family, "clean", make(), [], heldout) for _ in range(PER_FAMILY)]
    dev_secrets, dev_health = second_batch()
    third_secrets, third_health = third_batch()
    fourth_secrets, fourth_health = fourth_batch()
    fifth_secrets, fifth_health = fifth_batch()
    sixth_secrets, sixth_health = sixth_batch()
    held_secrets, held_health = seventh_batch()
    for name, rows in (("secrets_generated.jsonl", secrets), ("health_generated.jsonl", health),
                       ("secrets_second.jsonl", dev_secrets),
                       ("health_second.jsonl", dev_health),
                       ("secrets_third.jsonl", third_secrets),
                       ("health_third.jsonl", third_health),
                       ("secrets_fourth.jsonl", fourth_secrets),
                       ("health_fourth.jsonl", fourth_health),
                       ("secrets_fifth.jsonl", fifth_secrets),
                       ("health_fifth.jsonl", fifth_health),
                       ("secrets_sixth.jsonl", sixth_secrets),
                       ("health_sixth.jsonl", sixth_health),
                       ("secrets_heldout.jsonl", held_secrets),
                       ("health_heldout.jsonl", held_health)):
        with (HERE / name).open("w", encoding="utf-8") as out:
            for index, item in enumerate(rows):
                item = {"id": f"{name.removesuffix('.jsonl')}-{index:05d}", **item}
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
