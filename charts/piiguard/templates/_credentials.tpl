{{/*
Least privilege for Slack and Notion credentials. A PiiPolicy names the
workspace's Secrets in its own namespace; the operator projects into the
release namespace one Secret per stage holding only what that stage needs:

  <fullname>-ingest-credentials     signing secret (and app token) per workspace
  <fullname>-detection-credentials  bot token per workspace (file downloads)
  <fullname>-action-credentials     bot and admin tokens per workspace

The chart creates them empty (templates/credentials.yaml); each stage may read
its own only (rbac.yaml, resourceNames), and only the operator reads the
workspaces' Secrets.
*/}}

{{- define "piiguard.credentialsSecret" -}}
{{- printf "%s-%s-credentials" (include "piiguard.fullname" .ctx) .component -}}
{{- end -}}

{{/* Environment only one component has: (dict "ctx" $ "component" "ingest") */}}
{{- define "piiguard.componentEnv" -}}
{{- $ctx := .ctx -}}
{{- if has .component (list "ingest" "detection" "action") }}
- name: PIIGUARD_CREDENTIALS_SECRET
  value: {{ include "piiguard.credentialsSecret" . | quote }}
{{- end }}
{{- if eq .component "ingest" }}
- name: PIIGUARD_SLACK_MODE
  value: {{ $ctx.Values.ingest.slackMode | default "http" | quote }}
{{- end }}
{{- if and (eq .component "ingest") $ctx.Values.ingest.apiTokensSecret }}
- name: PIIGUARD_INGEST_API_TOKENS_FILE
  value: /etc/piiguard/ingest-api/tokens
{{- end }}
{{- if eq .component "operator" }}
- name: PIIGUARD_CREDENTIALS_NAMESPACE
  value: {{ $ctx.Release.Namespace | quote }}
- name: PIIGUARD_CREDENTIALS_SECRETS
  value: {{ printf "ingest=%s,detection=%s,action=%s" (include "piiguard.credentialsSecret" (dict "ctx" $ctx "component" "ingest")) (include "piiguard.credentialsSecret" (dict "ctx" $ctx "component" "detection")) (include "piiguard.credentialsSecret" (dict "ctx" $ctx "component" "action")) | quote }}
{{- end }}
{{- end -}}
