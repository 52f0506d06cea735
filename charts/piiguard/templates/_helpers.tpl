{{/*
Common names, labels and pod settings.

Names use the literal "piiguard" rather than .Chart.Name so the bundled NATS
chart's values (templated in the NATS chart's own context, see values.yaml
`nats.config`) name the same Secrets as this chart's templates.
*/}}

{{- define "piiguard.fullname" -}}
{{- if contains "piiguard" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-piiguard" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "piiguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: piiguard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: piiguard
{{- end -}}

{{/* Labels of one component's objects: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.componentLabels" -}}
{{ include "piiguard.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.selector" -}}
app.kubernetes.io/name: piiguard
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A component's image, by digest when one is given, else by tag: (dict "ctx" $ "image" .Values.ingest.image) */}}
{{- define "piiguard.image" -}}
{{- $base := printf "%s/%s" .ctx.Values.image.registry .image.repository -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $base .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $base (.image.tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Pod annotations: user-supplied plus Prometheus scrape hints. */}}
{{- define "piiguard.podAnnotations" -}}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: "/metrics"
{{- end }}
{{- end -}}

{{/* ---- TLS --------------------------------------------------------------------- */}}

{{/* Name of the TLS Secret of an identity: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.tlsSecretName" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.tls.certManager.enabled -}}
{{- printf "%s-%s-tls" (include "piiguard.fullname" $ctx) .component -}}
{{- else -}}
{{- $name := index $ctx.Values.tls.existingSecrets .component -}}
{{- if not $name -}}
{{- fail (printf "tls.existingSecrets.%s must name a Secret (tls.crt, tls.key, ca.crt) when tls.certManager.enabled is false" .component) -}}
{{- end -}}
{{- $name -}}
{{- end -}}
{{- end -}}

{{/* ---- NATS -------------------------------------------------------------------- */}}

{{/* The bundled NATS StatefulSet's name (the NATS chart's nats.fullname). */}}
{{- define "piiguard.natsName" -}}
{{- $nats := .Values.nats -}}
{{- if $nats.fullnameOverride -}}
{{- $nats.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := $nats.nameOverride | default "nats" -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* NATS_URL: every server of the bundled cluster (comma-separated), or externalNats.url. */}}
{{- define "piiguard.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- $name := include "piiguard.natsName" . -}}
{{- $scheme := ternary "tls" "nats" .Values.tls.enabled -}}
{{- $count := 1 -}}
{{- if .Values.nats.config.cluster.enabled }}{{ $count = int .Values.nats.config.cluster.replicas }}{{ end -}}
{{- $urls := list -}}
{{- range $i := until $count -}}
{{- $urls = append $urls (printf "%s://%s-%d.%s-headless.%s.svc:%d" $scheme $name $i $name $.Release.Namespace (int $.Values.nats.config.nats.port | default 4222)) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else -}}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{- define "piiguard.natsUsersSecret" -}}
{{- .Values.nats.piiguard.auth.existingSecret | default (printf "%s-nats-users" (include "piiguard.fullname" .)) -}}
{{- end -}}

{{- define "piiguard.natsEncryptionSecret" -}}
{{- .Values.nats.piiguard.encryption.existingSecret | default (printf "%s-nats-encryption" (include "piiguard.fullname" .)) -}}
{{- end -}}

{{/*
Called in the NATS chart's context (its .Values are this chart's .Values.nats):
the server's users, one per component, with the subjects each may use. The
same table as piiguard.security.natsauth.permissions (what `piiguard up` runs;
tests/chart/test_chart_nats.py holds them equal): ingest publishes events,
detection consumes events and publishes verdicts, action consumes verdicts and
writes the effects bucket (ingest the Notion cursors' bucket), the operator manages streams, consumers and the
policy bucket and publishes no work subject, admin reads the audit trail and
dead letters and replays them (a job's to piiguard.jobs.>). No stage may create or update a stream (a
stream's republish setting could move messages onto another stage's subject),
and each component reads replies on its own inbox prefix only.
*/}}
{{- define "piiguard.natsStreamInfo" -}}
{{- $out := list -}}{{- range . }}{{ $out = append $out (printf "$JS.API.STREAM.INFO.%s" .) }}{{ end -}}
{{- toJson $out -}}
{{- end -}}
{{- define "piiguard.natsStreamRead" -}}
{{- toJson (list (printf "$JS.API.STREAM.INFO.%s" .) (printf "$JS.API.STREAM.MSG.GET.%s" .) (printf "$JS.API.DIRECT.GET.%s" .) (printf "$JS.API.DIRECT.GET.%s.>" .)) -}}
{{- end -}}
{{- define "piiguard.natsConsume" -}}
{{- toJson (list (printf "$JS.API.CONSUMER.CREATE.%s" .) (printf "$JS.API.CONSUMER.CREATE.%s.>" .) (printf "$JS.API.CONSUMER.DURABLE.CREATE.%s.>" .) (printf "$JS.API.CONSUMER.INFO.%s.>" .) (printf "$JS.API.CONSUMER.MSG.NEXT.%s.>" .) (printf "$JS.API.CONSUMER.DELETE.%s.>" .) (printf "$JS.ACK.%s.>" .) (printf "$JS.FC.%s.>" .)) -}}
{{- end -}}
{{- define "piiguard.natsRunJob" -}}
{{- toJson (list (printf "$JS.API.CONSUMER.INFO.PIIGUARD_SCHEDULES.jobs-%s" .) (printf "$JS.API.CONSUMER.MSG.NEXT.PIIGUARD_SCHEDULES.jobs-%s" .) (printf "$JS.ACK.PIIGUARD_SCHEDULES.jobs-%s.>" .)) -}}
{{- end -}}
{{- define "piiguard.natsKvRead" -}}
{{- $stream := printf "KV_%s" . -}}
{{- toJson (concat (include "piiguard.natsStreamRead" $stream | fromJsonArray) (include "piiguard.natsConsume" $stream | fromJsonArray)) -}}
{{- end -}}
{{- define "piiguard.natsPermissions" -}}
{{- $work := list "piiguard.events.>" "piiguard.verdicts.>" -}}
{{- $policies := include "piiguard.natsKvRead" "piiguard-policies" | fromJsonArray -}}
{{- $seen := concat (include "piiguard.natsKvRead" "piiguard-seen" | fromJsonArray) (list "$KV.piiguard-seen.>") -}}
{{- $sweep := concat (include "piiguard.natsKvRead" "piiguard-sweep" | fromJsonArray) (list "$KV.piiguard-sweep.>") -}}
{{- $bulkInfo := "$JS.API.CONSUMER.INFO.PIIGUARD_EVENTS.detection-bulk" -}}
{{- $jobs := concat (include "piiguard.natsKvRead" "piiguard-jobs" | fromJsonArray) (list "$KV.piiguard-jobs.>") -}}
{{- $publish := list -}}
{{- $deny := list -}}
{{- if eq . "ingest" -}}
{{- $notion := concat (include "piiguard.natsKvRead" "piiguard-notion" | fromJsonArray) (list "$KV.piiguard-notion.>") -}}
{{- $publish = concat (list "$JS.API.INFO" "piiguard.events.>" "piiguard.audit.>" "piiguard.dlq.notion.>") (include "piiguard.natsStreamInfo" (list "PIIGUARD_EVENTS") | fromJsonArray) (include "piiguard.natsStreamRead" "PIIGUARD_AUDIT" | fromJsonArray) $policies $notion (list "piiguard.dlq.ingest.>") (include "piiguard.natsStreamInfo" (list "PIIGUARD_SCHEDULES" "PIIGUARD_DLQ") | fromJsonArray) (include "piiguard.natsRunJob" "sweep" | fromJsonArray) $jobs $seen $sweep (list $bulkInfo "$JS.API.CONSUMER.CREATE.PIIGUARD_EVENTS.ingest-later.>" "$JS.API.CONSUMER.DURABLE.CREATE.PIIGUARD_EVENTS.ingest-later" "$JS.API.CONSUMER.INFO.PIIGUARD_EVENTS.ingest-later" "$JS.API.CONSUMER.MSG.NEXT.PIIGUARD_EVENTS.ingest-later" "$JS.ACK.PIIGUARD_EVENTS.ingest-later.>") -}}
{{- else if eq . "detection" -}}
{{- $publish = concat (list "$JS.API.INFO" "piiguard.verdicts.>" "piiguard.audit.>" "piiguard.dlq.detection.>") (include "piiguard.natsConsume" "PIIGUARD_EVENTS" | fromJsonArray) (include "piiguard.natsStreamInfo" (list "PIIGUARD_EVENTS" "PIIGUARD_VERDICTS" "PIIGUARD_DLQ" "PIIGUARD_AUDIT") | fromJsonArray) $policies -}}
{{- else if eq . "action" -}}
{{- $actions := concat (include "piiguard.natsKvRead" "piiguard-actions" | fromJsonArray) (list "$KV.piiguard-actions.>") -}}
{{- $publish = concat (list "$JS.API.INFO" "piiguard.audit.>" "piiguard.dlq.action.>") (include "piiguard.natsConsume" "PIIGUARD_VERDICTS" | fromJsonArray) (include "piiguard.natsStreamInfo" (list "PIIGUARD_VERDICTS" "PIIGUARD_DLQ" "PIIGUARD_AUDIT") | fromJsonArray) $actions $policies (include "piiguard.natsStreamRead" "PIIGUARD_AUDIT" | fromJsonArray) (include "piiguard.natsStreamInfo" (list "PIIGUARD_SCHEDULES") | fromJsonArray) (include "piiguard.natsRunJob" "digest" | fromJsonArray) (include "piiguard.natsRunJob" "tokencheck" | fromJsonArray) $jobs -}}
{{- else if eq . "operator" -}}
{{- $publish = list "$JS.API.>" "$KV.piiguard-policies.>" "piiguard.audit.>" "piiguard.schedules.>" -}}
{{- $deny = $work -}}
{{- else if eq . "admin" -}}
{{- $publish = concat (list "$JS.API.INFO") (include "piiguard.natsStreamRead" "PIIGUARD_AUDIT" | fromJsonArray) (include "piiguard.natsStreamRead" "PIIGUARD_DLQ" | fromJsonArray) (list "$JS.API.STREAM.MSG.DELETE.PIIGUARD_DLQ" "$JS.API.STREAM.PURGE.PIIGUARD_DLQ") $work (list "piiguard.audit.>" "piiguard.jobs.>") (include "piiguard.natsKvRead" "piiguard-notion" | fromJsonArray) (list "$KV.piiguard-notion.retry.>") (include "piiguard.natsStreamRead" "PIIGUARD_SCHEDULES" | fromJsonArray) (include "piiguard.natsConsume" "PIIGUARD_AUDIT" | fromJsonArray) $seen $sweep (list $bulkInfo) -}}
{{- end -}}
{{- $pub := dict "allow" $publish -}}
{{- if $deny }}{{ $_ := set $pub "deny" $deny }}{{ end -}}
{{- toJson (dict "publish" $pub "subscribe" (dict "allow" (list (printf "_INBOX_%s.>" .)))) -}}
{{- end -}}

{{- define "piiguard.natsServerConfig" -}}
{{- if .Values.piiguard.auth.enabled -}}
{{- $users := list -}}
{{- range $user := list "ingest" "detection" "action" "operator" "admin" -}}
{{- $users = append $users (dict "user" $user "password" (printf "<< $NATS_PASSWORD_%s >>" (upper $user)) "permissions" (include "piiguard.natsPermissions" $user | fromJson)) -}}
{{- end -}}
{{- dict "authorization" (dict "users" $users) | toYaml -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* In the NATS chart's context: JetStream encryption at rest. */}}
{{- define "piiguard.natsJetStreamConfig" -}}
{{- if .Values.piiguard.encryption.enabled -}}
cipher: {{ .Values.piiguard.encryption.cipher }}
key: "<< $JETSTREAM_ENCRYPTION_KEY >>"
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* In the NATS chart's context: the server's passwords and key, from Secrets. */}}
{{- define "piiguard.natsServerEnv" -}}
{{- $env := dict -}}
{{- if .Values.piiguard.auth.enabled -}}
{{- range $user := list "ingest" "detection" "action" "operator" "admin" -}}
{{- $_ := set $env (printf "NATS_PASSWORD_%s" (upper $user)) (dict "valueFrom" (dict "secretKeyRef" (dict "name" (include "piiguard.natsUsersSecret" (dict "Values" (dict "nats" $.Values) "Release" $.Release)) "key" $user))) -}}
{{- end -}}
{{- end -}}
{{- if .Values.piiguard.encryption.enabled -}}
{{- $_ := set $env "JETSTREAM_ENCRYPTION_KEY" (dict "valueFrom" (dict "secretKeyRef" (dict "name" (include "piiguard.natsEncryptionSecret" (dict "Values" (dict "nats" $.Values) "Release" $.Release)) "key" .Values.piiguard.encryption.key))) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* ---- environment --------------------------------------------------------------- */}}

{{/* Environment every component shares: (dict "ctx" $ "component" "ingest" "env" .Values.ingest.env) */}}
{{- define "piiguard.commonEnv" -}}
{{- $ctx := .ctx -}}
- name: NATS_URL
  value: {{ include "piiguard.natsUrl" $ctx | quote }}
- name: PIIGUARD_STREAM_REPLICAS
  value: {{ $ctx.Values.jetstream.replicas | quote }}
- name: PIIGUARD_METRICS_PORT
  value: {{ $ctx.Values.metrics.port | quote }}
- name: PIIGUARD_BIND_HOST
  value: "0.0.0.0"
- name: OTEL_SERVICE_NAME
  value: {{ printf "piiguard-%s" .component | quote }}
- name: PIIGUARD_POLICY_SOURCE
  value: "kv"
{{- include "piiguard.natsEnv" . }}
{{- include "piiguard.tlsEnv" . }}
{{- if $ctx.Values.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ $ctx.Values.slack.apiUrl | quote }}
{{- end }}
{{- /* The Notion integration's token: ingest polls, action trashes, detection refreshes
       an expired file URL; nobody else gets it. */}}
{{- if has .component (list "ingest" "detection" "action") }}
{{- with $ctx.Values.notion }}
{{- if .apiUrl }}
- name: NOTION_API_URL
  value: {{ .apiUrl | quote }}
{{- end }}
{{- if .tokenSecret.name }}
- name: NOTION_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .tokenSecret.name | quote }}
      key: {{ .tokenSecret.key | default "token" | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if $ctx.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $ctx.Values.otel.endpoint | quote }}
{{- else }}
- name: OTEL_TRACES_EXPORTER
  value: "none"
{{- end }}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* NATS credentials and CA of one component. */}}
{{- define "piiguard.natsEnv" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.nats.enabled }}
{{- if $ctx.Values.nats.piiguard.auth.enabled }}
- name: NATS_USER
  value: {{ .component | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "piiguard.natsUsersSecret" $ctx | quote }}
      key: {{ .component | quote }}
{{- end }}
{{- if $ctx.Values.tls.enabled }}
- name: NATS_TLS_CA
  value: /etc/piiguard/tls/ca.crt
- name: NATS_TLS_CERT
  value: /etc/piiguard/tls/tls.crt
- name: NATS_TLS_KEY
  value: /etc/piiguard/tls/tls.key
{{- end }}
{{- else }}
{{- with $ctx.Values.externalNats.credentialsSecret }}
{{- if eq $ctx.Values.externalNats.credentialsType "creds" }}
- name: NATS_CREDS
  value: /etc/piiguard/nats/nats.creds
{{- else }}
- name: NATS_USER
  value: {{ $.component | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ printf "%s-password" $.component | quote }}
{{- end }}
{{- end }}
{{- if $ctx.Values.externalNats.tls.caSecret }}
- name: NATS_TLS_CA
  value: /etc/piiguard/nats-ca/ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{/* mTLS files of one component (PIIGUARD_TLS_*), or the explicit plaintext opt-out. */}}
{{- define "piiguard.tlsEnv" -}}
{{- if .ctx.Values.tls.enabled }}
- name: PIIGUARD_TLS_CERT
  value: /etc/piiguard/tls/tls.crt
- name: PIIGUARD_TLS_KEY
  value: /etc/piiguard/tls/tls.key
- name: PIIGUARD_TLS_CA
  value: /etc/piiguard/tls/ca.crt
{{- else }}
- name: PIIGUARD_INSECURE_PLAINTEXT
  value: "true"
{{- end }}
{{- end -}}

{{/* Volume mounts and volumes for TLS and NATS credentials of one component. */}}
{{- define "piiguard.credentialMounts" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.tls.enabled }}
- name: tls
  mountPath: /etc/piiguard/tls
  readOnly: true
{{- end }}
{{- if not $ctx.Values.nats.enabled }}
{{- if and $ctx.Values.externalNats.credentialsSecret (eq $ctx.Values.externalNats.credentialsType "creds") }}
- name: nats-creds
  mountPath: /etc/piiguard/nats
  readOnly: true
{{- end }}
{{- if $ctx.Values.externalNats.tls.caSecret }}
- name: nats-ca
  mountPath: /etc/piiguard/nats-ca
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "piiguard.credentialVolumes" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ include "piiguard.tlsSecretName" . | quote }}
    defaultMode: 0440
{{- end }}
{{- if not $ctx.Values.nats.enabled }}
{{- if and $ctx.Values.externalNats.credentialsSecret (eq $ctx.Values.externalNats.credentialsType "creds") }}
- name: nats-creds
  secret:
    secretName: {{ $ctx.Values.externalNats.credentialsSecret | quote }}
    defaultMode: 0440
    items:
      - key: {{ printf "%s.creds" .component | quote }}
        path: nats.creds
{{- end }}
{{- with $ctx.Values.externalNats.tls.caSecret }}
- name: nats-ca
  secret:
    secretName: {{ . | quote }}
    defaultMode: 0444
    items:
      - key: {{ $ctx.Values.externalNats.tls.caKey | quote }}
        path: ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{/* ---- placement ------------------------------------------------------------------ */}}

{{/* Pull secrets, node selection and the spread over nodes: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.podPlacement" -}}
{{- $ctx := .ctx -}}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "piiguard.selector" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Namespaces the operator watches (empty: all of them). */}}
{{- define "piiguard.watchedNamespaces" -}}
{{- if .Values.operator.watch.allNamespaces -}}
{{- else if .Values.operator.watch.namespaces -}}
{{- join "," .Values.operator.watch.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Components that run, in a fixed order. */}}
{{- define "piiguard.components" -}}
{{- $out := list -}}
{{- range $c := list "ingest" "detection" "action" "operator" -}}
{{- if (index $.Values $c).enabled }}{{ $out = append $out $c }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
