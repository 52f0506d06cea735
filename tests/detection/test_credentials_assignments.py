"""Secrets in any syntax: key/value extraction, key-name words, value classifier."""

from __future__ import annotations

import base64
import random
import string

import pytest

from piiguard.detection.recognizers.assignments import assignments
from piiguard.detection.recognizers.secret_keys import KeyClass, classify_key, split_key
from piiguard.detection.recognizers.secret_values import judge_value

TOKEN = "q7Wm2Xr9Lp4Kd8Zs1Vb6Nc3Hf0Jt5Ya"  # random, made for these tests
PW = "Vk7!rq2Lmz"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("mySecretString", ("my", "secret", "string")),
        ("DB_PASS", ("db", "pass")),
        ("X-Api-Key", ("x", "api", "key")),
        ("apikey", ("api", "key")),
        ("dbpassword", ("db", "password")),
        ("HTTPAuthToken", ("http", "auth", "token")),
        ("private-key", ("private", "key")),
    ],
)
def test_split_key(name: str, words: tuple[str, ...]) -> None:
    assert split_key(name) == words


@pytest.mark.parametrize(
    ("name", "klass"),
    [
        ("genericToken", KeyClass.TOKEN), ("mySecretString", KeyClass.TOKEN),
        ("db_pass", KeyClass.PASSWORD), ("creds", KeyClass.CREDENTIALS),
        ("user_auth", KeyClass.CREDENTIALS), ("private-key", KeyClass.TOKEN),
        ("SERVICE_API_KEY", KeyClass.TOKEN), ("passwd", KeyClass.PASSWORD),
        ("Authorization", KeyClass.TOKEN), ("client_secret_prod", KeyClass.TOKEN),
        ("senha", KeyClass.PASSWORD), ("key", KeyClass.WEAK_KEY),
    ],
)
def test_secret_key_names(name: str, klass: KeyClass) -> None:
    verdict = classify_key(name)
    assert verdict is not None and verdict.klass is klass


@pytest.mark.parametrize(
    "name",
    ["passwordLabel", "token_url", "public_key", "api_key_id", "max_tokens", "tokenizer",
     "password_policy", "secret_name", "passport", "keyboard", "client_id", "pageToken",
     "password_hash", "passwordMinLength", "bypass", "csrf_token", "key_path"],
)
def test_names_that_hold_no_secret(name: str) -> None:
    assert classify_key(name) is None


@pytest.mark.parametrize(
    "value",
    ["${DB_PASSWORD}", "#{secret}", "$(cat /run/secrets/pw)", "$DB_PASS", "%DB_PASS%",
     "{{ .Values.token }}", "env.API_TOKEN", "process.env.API_TOKEN", '$_POST["pw"]',
     "settings.SECRET_KEY", "getPassword()", "cfg.db.password", "****", "###########",
     "xxxxxxxxxxxx", "", '""', "changeme", "<your-token>", "&lt;your-token&gt;",
     "your_api_key_here", "Password:", "Enter your password", "db.internal:5432",
     "localhost", "/etc/secrets/token", "key.pem", "https://auth.example.com/token",
     "str", "Optional[str]", "1.2.3", "123456", "abcdefgh"],
)
def test_values_that_are_not_secrets(value: str) -> None:
    for klass in KeyClass:
        assert not judge_value(value, klass), (value, klass)


def test_values_judged_by_shape() -> None:
    assert judge_value(f'"{TOKEN}"', KeyClass.TOKEN)
    assert judge_value(PW, KeyClass.PASSWORD)
    assert judge_value('"correcthorsestaple"', KeyClass.PASSWORD)  # quoted, long
    assert not judge_value("correct", KeyClass.PASSWORD)  # one short word
    assert not judge_value("Zk3mQ9", KeyClass.TOKEN)  # too short for a machine secret
    assert judge_value(f"bob:{PW}", KeyClass.CREDENTIALS)
    assert not judge_value("3f786850e387550fdab836ed7e6dc881de23001b", KeyClass.WEAK_KEY)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        (f"DB_PASS={PW}", "DB_PASS", PW),
        (f'"apiKey": "{TOKEN}"', "apiKey", TOKEN),
        (f"api_key = '{TOKEN}'  # toml", "api_key", TOKEN),
        (f"<password>{PW}</password>", "password", PW),
        (f'<add key="DbPassword" value="{PW}"/>', "DbPassword", PW),
        (f'<property name="password">{PW}</property>', "password", PW),
        (f'props.setProperty("X_TOKEN", "{TOKEN}");', "X_TOKEN", TOKEN),
        (f'os.environ["API_KEY"] = "{TOKEN}"', "API_KEY", TOKEN),
        (f'export GH_TOKEN={TOKEN}', "GH_TOKEN", TOKEN),
        (f':password => "{PW}"', "password", PW),
        (f"Authorization: Bearer {TOKEN}", "Authorization", TOKEN),
        (f"--password {PW} --host db", "password", PW),
        (f"--api-key={TOKEN}", "api-key", TOKEN),
        (f"Server=db;User Id=sa;Password={PW};Encrypt=true", "Password", PW),
        (f"password:\n    {PW}\n", "password", PW),
        (f"$env:API_TOKEN = \"{TOKEN}\"", "API_TOKEN", TOKEN),
        (f"apiKey := \"{TOKEN}\"", "apiKey", TOKEN),
    ],
)
def test_assignment_syntaxes(text: str, key: str, value: str) -> None:
    found = [a for a in assignments(text) if a.key == key]
    assert found, text
    assert text[found[0].start : found[0].end] == value


def test_basic_auth_header_is_decoded() -> None:
    encoded = base64.b64encode(f"deploy:{PW}".encode()).decode()
    (found,) = [a for a in assignments(f"Authorization: Basic {encoded}")]
    assert found.syntax == "basic" and found.value == f"deploy:{PW}"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"DB_PASS={PW}", "PASSWORD"),
        (f'"clientSecret": "{TOKEN}"', "GENERIC_API_KEY"),
        (f"genericToken = \"{TOKEN}\"", "GENERIC_API_KEY"),
        (f"mySecretString: {TOKEN}", "GENERIC_API_KEY"),
        (f'user_auth="bob:{PW}"', "PASSWORD"),
        (f"<add key=\"StorageToken\" value=\"{TOKEN}\" />", "GENERIC_API_KEY"),
        (f"curl -H 'X-Api-Key: {TOKEN}' https://api.internal/v1", "GENERIC_API_KEY"),
        (f"curl -H \"Api-Token: {TOKEN}\" https://api.internal/v1", "GENERIC_API_KEY"),
        (f"mysql -u root -p{PW} orders", "DATABASE_PASSWORD"),
        (f"sshpass -p '{PW}' ssh deploy@web1", "PASSWORD"),
        (f"Server=tcp:db1,1433;Database=app;User ID=sa;Password={PW};", "DATABASE_PASSWORD"),
        (f"smtp://mailer:{PW}@smtp.internal:587", "PASSWORD"),
        (f"mongodb://app:{PW}@h1:27017,h2:27017,h3:27017/app?replicaSet=rs0",
         "DATABASE_PASSWORD"),
        (f"private-key: {TOKEN}", "GENERIC_API_KEY"),
        (f"aws_secret_access_key: {TOKEN}Ab12CdEfG", "AWS_SECRET_KEY"),
    ],
)
def test_engine_reports_assigned_secret(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "password: ${DB_PASSWORD}", "token = process.env.API_TOKEN", 'passwordLabel: "Password:"',
        'api_key: "{{ .Values.apiKey }}"', "password = getPassword()", "secret: ****",
        "password: changeme", "token_url: https://auth.example.com/token",
        "db_host: db.internal:5432", "password: &lt;your-password&gt;", 'password = ""',
        "password: %DB_PASS%", 'token: $_POST["token"]', "secret = self.config.secret",
        "key: com.example.app.MainActivity", "mysql -u root -p orders",
        "smtp://mailer:${SMTP_PASS}@smtp.internal:587", "--password-file /run/secrets/db",
        "X-Api-Key: <your api key>", "Authorization: Bearer $TOKEN",
        "cache_key = 3f786850e387550fdab836ed7e6dc881de23001b",
        'apiKey: "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"',  # Firebase SDK sample key
        "the token expires in 3600 seconds", "password reset link sent",
        "primary_key: user_id", 'tokenizer = "bert-base-uncased"',
    ],
)
def test_not_secrets_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("glpat-" + "Zk3mQ9vR2tLp8WnXy4Hs", "GITLAB_TOKEN"),
        ("npm_" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0", "NPM_TOKEN"),
        ("sk-proj-" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4Df6Gh8Jk", "OPENAI_API_KEY"),
        ("hvs." + "CAESIZk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2", "VAULT_TOKEN"),
        ("hvb." + "AAAAAQZk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2", "VAULT_TOKEN"),
        ("dop_v1_" + "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 2, "DIGITALOCEAN_TOKEN"),
    ],
)
def test_vendor_token_formats(kinds_of, token: str, kind: str) -> None:
    """A token whose format names its vendor is reported as the vendor's kind, also
    where its key names a secret or a password."""
    assert kinds_of(f"here: {token}") == [kind]
    assert kinds_of(f"api_key = {token}") == [kind]
    assert kinds_of(f"PASSWORD={token}") == [kind]
    assert kinds_of(f"here: {token[:6]}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") == []


@pytest.mark.parametrize(
    "text",
    [
        "psexec \\\\host01 -u admin -p Vk7!rq2Lmz cmd.exe",
        "redis-cli -h cache1 -a 'Vk7!rq2Lmz' ping",
        f"config.api_secret = '{TOKEN}Ab12CdEf'",
    ],
)
def test_more_syntaxes(kinds_of, text: str) -> None:
    kinds = kinds_of(text)
    assert kinds and "AWS_SECRET_KEY" not in kinds


def test_bare_secret_word_is_not_aws_context(kinds_of) -> None:
    value = TOKEN + "Ab12CdEfG"  # 40 base64 characters
    assert kinds_of(f"api_secret = '{value}'") == ["GENERIC_API_KEY"]
    assert kinds_of(f"aws_secret_access_key = {value}") == ["AWS_SECRET_KEY"]


@pytest.mark.parametrize(
    "token",
    ["gsk_" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4Df6Gh8Jk1L",
     "figd_" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2A",
     "tvly-" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty"],
)
def test_more_vendor_formats(kinds_of, token: str) -> None:
    (kind,) = kinds_of(f"key for the agent: {token}")
    assert kind.endswith(("_KEY", "_TOKEN")) and kind != "GENERIC_API_KEY"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'var c = new NetworkCredential("svc_backup", "{PW}");', "PASSWORD"),
        (f"new DirectoryEntry(\"LDAP://dc1\", 'admin', '{PW}')", "PASSWORD"),
        (f"credentials {{\n  username 'deploy'\n  password '{PW}'\n}}", "PASSWORD"),
        ("da2-" + "q7wm2xr9lp4kd8zs1vb6nc3hf0", "AWS_APPSYNC_KEY"),
    ],
)
def test_positional_and_dsl_credentials(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


def test_base64_wrapped_pem_key(kinds_of) -> None:
    body = "\n".join(["MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8bX1kLm2nQ4rS6tU8vW0xY2zA"] * 4)
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    assert kinds_of("tls.key: " + base64.b64encode(pem.encode()).decode()) == ["PRIVATE_KEY"]
    cert = pem.replace("RSA PRIVATE KEY", "CERTIFICATE")
    assert kinds_of("tls.crt: " + base64.b64encode(cert.encode()).decode()) == []


@pytest.mark.parametrize(
    "text",
    ["NetworkCredential(user, pass)", "the password 'is required' here",
     "new NetworkCredential(\"svc\", \"${SVC_PASSWORD}\")"],
)
def test_positional_lookalikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'ds.setPassword("{PW}");', "PASSWORD"),
        (f'builder.withApiToken("{TOKEN}")', "GENERIC_API_KEY"),
        (f'variable "db_password" {{\n  type = string\n  default = "{PW}"\n}}', "PASSWORD"),
    ],
)
def test_setters_and_blocks(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    ["setPassword(password)", 'getToken("name")',
     'variable "api_token" { description = "the token" }'],
)
def test_setter_lookalikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'env:\n  - name: API_SECRET\n    value: "{TOKEN}"', "GENERIC_API_KEY"),
        (f'[{{"name": "DB_PASSWORD", "value": "{PW}"}}]', "PASSWORD"),
        (f"db.internal:5432:app:report:{PW}", "DATABASE_PASSWORD"),
        (f'DriverManager.getConnection(url, "report", "{PW}");', "PASSWORD"),
        ('proxy_set_header Authorization "Basic '
         + base64.b64encode(f"svc:{PW}".encode()).decode() + '";', "PASSWORD"),
    ],
)
def test_sibling_fields_and_line_formats(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    ['env:\n  - name: API_SECRET\n    valueFrom:\n      secretKeyRef: {name: app}',
     "- name: DB_PASSWORD\n  value: ${DB_PASSWORD}", "10:30:standup:room:4",
     "proxy_set_header Authorization $http_authorization;"],
)
def test_sibling_lookalikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'val dbPassword: String = "{PW}"', "PASSWORD"),
        (f'password: Optional[str] = "{PW}"', "PASSWORD"),
        (f"curl -u deploy:{PW} https://artifacts.internal/upload", "PASSWORD"),
        (f"az login --service-principal -u app-id -p {TOKEN} --tenant t", "PASSWORD"),
        (f"sqlcmd -S db -U sa -P {PW}", "DATABASE_PASSWORD"),
    ],
)
def test_typed_values_and_user_flags(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    ["mysql -u root -p production_db", "docker run -u 1000 -p 8080:80 nginx",
     "ssh -p 2222 deploy@host", "curl -u $USER:$TOKEN https://x", "password: str = Field(...)"],
)
def test_flag_lookalikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_yaml_block_scalar(kinds_of) -> None:
    assert kinds_of(f"password: |\n  {PW}\nuser: app") == ["PASSWORD"]
    assert kinds_of("password: |\n  {{ .Values.password }}\nuser: app") == []


def test_sql_identified_by_and_reference_names(kinds_of) -> None:
    assert kinds_of(f"CREATE USER report IDENTIFIED BY '{PW}';") == ["PASSWORD"]
    assert kinds_of("DB_PASSWORD=${DB_PASSWORD:?required}") == []
    assert kinds_of("password = form.cleaned_data['password']") == []


@pytest.mark.parametrize(
    "text",
    [
        f"the staging admin password is now {PW}",
        f"the vpn password is still {PW}",
        f"my $password = '{PW}';",  # Perl: a variable being assigned
        f"$db_pass = \"{PW}\";",  # PHP
        f'@Value("${{db.password:{PW}}}")',  # Spring: a reference's literal default
        f"PASS=${{DB_PASSWORD:-{PW}}}",  # shell default
    ],
)
def test_values_after_now_variables_and_reference_defaults(kinds_of, text: str) -> None:
    assert kinds_of(text) == ["PASSWORD"]


@pytest.mark.parametrize(
    "text",
    [
        "the password is now in the vault",
        "echo $password",
        'if ($password == "abc")',
        "$password = getenv('X');",
        "${db.password:}",
        "${db.password:changeme}",
        "DB_PASSWORD=${DB_PASSWORD:?required}",
        "${DB_PASSWORD:+set}",
    ],
)
def test_variables_and_empty_defaults_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("postgresql://app:secret@db.internal:5432/app", "DATABASE_PASSWORD"),
        ("Server=db1;Database=orders;User Id=app;Password=secret;", "DATABASE_PASSWORD"),
        ("Server=db1;Database=orders;Uid=app;Pwd=lighthouse;", "DATABASE_PASSWORD"),
    ],
)
def test_a_password_field_holds_a_password_whatever_the_word(kinds_of, text: str,
                                                              kind: str) -> None:
    assert kinds_of(text) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "Server=db1;Database=orders;User Id=app;Password=password;",
        "Server=db1;Database=orders;User Id=app;Password=${DB_PASS};",
        "Server=db1;Database=orders;User Id=app;Password=****;",
        "postgres://app:none@db/app",
        "redis://:empty@cache:6379",
        "password: secret",  # a bare word in a config: prose-like, not a password shape
        "the secret is out",
    ],
)
def test_password_fields_with_stand_ins_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_a_connection_string_value_ends_at_its_delimiter(engine) -> None:
    text = f"Server=db1;Password={PW};Database=orders;"
    spans = {text[f.start : f.end] for f in engine.analyze(text)}
    assert spans == {PW}


def test_every_vendor_kind_is_deleted_by_default_and_has_a_plain_name() -> None:
    from piiguard.detection.recognizers.token_formats import FORMATS
    from piiguard.kinds import KIND_DESCRIPTIONS
    from piiguard.policy import DEFAULT_POLICY, Verdict

    for fmt in FORMATS:
        assert fmt.kind in KIND_DESCRIPTIONS, fmt.vendor
        assert DEFAULT_POLICY.verdict_for([fmt.kind]) is Verdict.DELETE, fmt.kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("dp.st.prd." + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As", "DOPPLER_TOKEN"),
        ("Authorization: SSWS 00" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2A", "OKTA_TOKEN"),
        ("grafana: eyJrIjoi" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4Df6Gh8Jk1L", "GRAFANA_TOKEN"),
        ("Unseal Key 3: " + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4+", "VAULT_UNSEAL_KEY"),
        ("kubeadm join --discovery-token-unsafe-skip-ca-verification --bootstrap-token "
         "k3x9qa.7f2mz81wq0pl4n6d", "KUBERNETES_BOOTSTRAP_TOKEN"),
        ("mvn verify -Dsonar.token=" + "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "SONARQUBE_TOKEN"),
        ("license_key: " + "eu01xx" + "a1b2c3d4e5f60718293a4b5c6d7e8f" + "NRAL", "NEW_RELIC_KEY"),
        ("okta_secret:  00" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2A", "OKTA_TOKEN"),
        ('VAULT_CLIENT_TOKEN="s.' + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1" + '"', "VAULT_TOKEN"),
        ("var t = 'sgp_" + "a1b2c3d4e5f60718" + "_" + "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678" + "'",
         "SOURCEGRAPH_TOKEN"),
        ('SLACK_APP_TOKEN="xapp-' + "204817395520-" + "Zk3mQ9vR2/Lp8WnXy4Hs6Dj+" + '"', "SLACK_TOKEN"),
        ("AccountName=acme;AccountKey=" + "Zk3mQ9vR2tLp8WnXy4Hs6Dj1Qw5Er7Ty9Ui0Op2As4Df6Gh8==;",
         "AZURE_STORAGE_KEY"),
    ],
)
def test_vendor_formats_with_a_lead_or_an_environment(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "Unseal Key 3: " + "x" * 44,  # a mask
        "the bootstrap config lives in file.name123456789abc",  # no digit-and-letter mix
        "sonar.login=admin",
        "SSWS 00" + "a" * 40,
        "the vault path is s.config.settings.production_db",  # no digit: a dotted name
        "vault docs: s.somethingLongButOnlyLetters",
    ],
)
def test_vendor_format_look_alikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    "text",
    ["psexec \\\\host01 -u admin -p dev_ops cmd.exe", "sshpass -p lighthouse ssh deploy@h"],
)
def test_a_cli_password_flag_holds_a_password_whatever_the_word(kinds_of, text: str) -> None:
    assert kinds_of(text) == ["PASSWORD"]


@pytest.mark.parametrize(
    "text",
    ["psexec \\\\host01 -u admin -p $Password cmd.exe", "psexec \\\\h -u a -p %nothing% x",
     "sshpass -p password ssh h", "sshpass -p $(cat ~/.pw) ssh h"],
)
def test_cli_password_flags_with_references_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_a_personal_access_token_key(kinds_of) -> None:
    assert kinds_of(f'ado_pat = "{TOKEN}"') == ["GENERIC_API_KEY"]
    assert kinds_of('file_path = "/srv/app/data.bin"') == []


def test_policies_written_for_generic_api_key_still_cover_vendor_tokens() -> None:
    """Vendor tokens were reported as GENERIC_API_KEY before they had kinds of their
    own: a policy that names GENERIC_API_KEY (in detection.entities or as an exact
    rule) keeps applying to them, unless it names the vendor's kind itself."""
    from piiguard.detection.engine import DetectionEngine
    from piiguard.policy import EntityAction, policy_from_mapping

    token = "glpat-" + "Zk3mQ9vR2tLp8WnXy4Hs"
    listed = policy_from_mapping({"detection": {"entities": ["GENERIC_API_KEY"]}})
    assert listed.is_enabled("GITLAB_TOKEN") and not listed.is_enabled("GITHUB_TOKEN")
    assert DetectionEngine(listed).scan(f"here: {token}").kinds == ["GITLAB_TOKEN"]
    notify = policy_from_mapping({"actions": {"rules": {"GENERIC_API_KEY": "notify"}}})
    assert notify.actions.action_for("GITLAB_TOKEN") is EntityAction.NOTIFY
    own = policy_from_mapping({"actions": {"rules": {"GENERIC_API_KEY": "notify",
                                                     "GITLAB_TOKEN": "ignore"}}})
    assert own.actions.action_for("GITLAB_TOKEN") is EntityAction.IGNORE
    assert own.actions.action_for("NPM_TOKEN") is EntityAction.NOTIFY


def test_only_real_prefixes_hand_a_value_to_a_vendor_rule() -> None:
    """A context word of a vendor rule (vault, sonar, bootstrap) is no token prefix:
    a value that merely starts with it is still judged as a secret."""
    from piiguard.detection.recognizers.token_formats import has_vendor_prefix

    assert has_vendor_prefix("glpat-x") and has_vendor_prefix("hvs.x")
    assert not has_vendor_prefix("vaultAb12") and not has_vendor_prefix("sonarXy12")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a quoted value holds the other quote characters
        ("db_password = '`9rTq\"Lm2!x'", "PASSWORD"),
        ('SESSION_SECRET: "k7`Q\'w}/Zp)R;v\\4]Hs&m>yT??]B&8"', "GENERIC_API_KEY"),
        # a value in an escaped string literal (JSON holding PHP)
        ('"$smtp_password = \\"Wq8-lake-Fern\\";"', "PASSWORD"),
        # a credential compared with a literal in code
        ('if creds.Token != "amber-falcon-7"', "GENERIC_API_KEY"),
        ("if user == 'ops' and password == 'Tide#pool'", "PASSWORD"),
        # KEY=value alone on its line (dotenv, ini, shell): the value is a literal
        ("VITE_ADMIN_PASSWORD=marigoldlane", "PASSWORD"),
        ("[mailer]\nSmtpPassword=quartzbasin\n", "PASSWORD"),
        ("  export SERVICE_PASS=driftwoodhill   # staging", "PASSWORD"),
        # a quoted word after a password's name in prose
        ("the wifi password is 'lanternfish'", "PASSWORD"),
        ('the default password for user "deploy" is "heronmarsh"', "PASSWORD"),
        # a human-chosen secret under a token's name, with a secret's punctuation
        ('jwt:\n  secret: "staging#rollout"\n', "GENERIC_API_KEY"),
        # a config directive alone on its line (Redis, nginx, sshd)
        ("bind 0.0.0.0\nrequirepass Kx9#mQ2vLp\n", "PASSWORD"),
        # a quoted passphrase under a password's name
        ("vpn_password = 'quiet harbor lantern'", "PASSWORD"),
        # a JSON-RPC call named for a secret: its first parameter
        ('{"jsonrpc": "2.0", "method": "session.loginWithToken", '
         '"params": ["Qm7zLx2Rk9Wd8Ts1Vb6Nc3Hf0Jt5Ya"], "id": 3}', "GENERIC_API_KEY"),
    ],
)
def test_values_other_tools_see_and_we_now_read(kinds_of, text: str, kind: str) -> None:
    assert kinds_of(text) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        'if event.key == "Escape":',  # a keyboard key, not a secret's name
        'if token == "revoked_token":',  # a state: letters and an underscore only
        'if status.token != "expired":',
        "if (password === confirmPassword) {",  # two variables
        'assert secret != "changeme"',  # a stand-in
        "PASSWORD=changeme",
        "export API_TOKEN=$TOKEN",
        "password = get_password",  # code: a variable, with spaces around "="
        'the password is "required"',  # a word of prose, quoted
        "the password is 'hidden'",
        'existingSecret: "my-app-secret"',  # a Kubernetes Secret's name
        'secretName: "tls-cert-prod"',
        'jwt_secret: "replace-me-with-something"',
        'password: "Enter your password"',
        'The default password for the user "pyne-user" is "abc".',  # the user is no password
        "password required pam_unix.so",  # PAM: more than one token after the key
        "Password incorrect",  # chat, not a directive's value: no password shape
        "token expired",
        "  requirepass foobared",  # Redis's documented default
        "password = 'not set yet'",  # words of prose, not a passphrase
        "password: 'see the vault'",
        "password: 'stored in keychain'",
        "passwordHint = 'your pet name'",  # a hint, not the password
        "password = 'Enter Password'",
        '{"method": "auth.login", "params": ["admin"]}',  # a user name, not a secret
        '{"method": "tokens.list", "params": ["Qm7zLx2Rk9Wd8Ts1Vb6Nc3Hf0Jt5Ya"]}',  # "list"
    ],
)
def test_their_look_alikes_stay_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_an_azure_devops_token_is_known_by_its_signature_alone(kinds_of) -> None:
    """84 characters with ``AZDO`` at 76, whatever the rest (Microsoft's format)."""
    rng = random.Random(84)
    alphabet = string.ascii_letters + string.digits
    token = "".join(rng.choice(alphabet) for _ in range(76)) + "AZDO" + "".join(
        rng.choice(alphabet) for _ in range(4))
    assert kinds_of(f"pat: {token}") == ["AZURE_DEVOPS_TOKEN"]
    assert kinds_of(f"build {token[:70]}AZDO{token[-4:]}") == []  # too short before it
