{{/* Common names, labels and pod settings. */}}

{{- define "piiguard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "piiguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: piiguard
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.selector" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "piiguard.image" -}}
{{- $tag := .ctx.Values.image.tag | default .ctx.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .ctx.Values.image.registry .repository $tag -}}
{{- end -}}

{{/* Pod annotations: user-supplied plus optional Prometheus scrape hints. */}}
{{- define "piiguard.podAnnotations" -}}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- if .Values.prometheus.annotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.prometheus.port | quote }}
prometheus.io/path: {{ .Values.prometheus.path | quote }}
{{- end }}
{{- end -}}

{{/* Environment every component shares. */}}
{{- define "piiguard.commonEnv" -}}
- name: NATS_URL
  value: {{ .ctx.Values.nats.url | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "piiguard-%s" .component | quote }}
- name: PIIGUARD_POLICY_SOURCE
  value: "kv"
{{- if and .ctx.Values.slack.existingSecret (has .component (list "ingest" "action")) }}
{{- $slack := .ctx.Values.slack }}
- name: SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $slack.existingSecret | quote }}, key: {{ $slack.signingSecretKey | quote }}}
- name: SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $slack.existingSecret | quote }}, key: {{ $slack.botTokenKey | quote }}}
- name: SLACK_ADMIN_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $slack.existingSecret | quote }}, key: {{ $slack.adminTokenKey | quote }}}
{{- end }}
{{- if .ctx.Values.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ .ctx.Values.slack.apiUrl | quote }}
{{- end }}
{{- if .ctx.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .ctx.Values.otel.endpoint | quote }}
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

{{- define "piiguard.podPlacement" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Namespaces the operator watches (empty list: all of them). */}}
{{- define "piiguard.watchedNamespaces" -}}
{{- if .Values.operator.watch.allNamespaces -}}
{{- else if .Values.operator.watch.namespaces -}}
{{- join "," .Values.operator.watch.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}
