{{/*
One pipeline stage: its ServiceAccount, a Deployment running `piiguard <component>`,
its internal gRPC Service (<fullname>-<component>-grpc) and, with more than one
pod, a PodDisruptionBudget. Call with (dict "ctx" $ "component" "detection"
"values" .Values.detection "ports" (list (dict "name" "grpc" "port" 50052 "env" "PIIGUARD_GRPC_PORT"))).
*/}}
{{- define "piiguard.stage" -}}
{{- $ctx := .ctx -}}
{{- $component := .component -}}
{{- $sel := dict "ctx" $ctx "component" $component -}}
{{- $fullname := include "piiguard.fullname" $ctx -}}
{{- $grpc := 0 }}
{{- range .ports }}{{ if eq .name "grpc" }}{{ $grpc = .port }}{{ end }}{{ end -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}-{{ $component }}
  labels:
    {{- include "piiguard.componentLabels" $sel | nindent 4 }}
  {{- with $ctx.Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# Reads only its own projected credentials Secret (rbac.yaml).
automountServiceAccountToken: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}-{{ $component }}
  labels:
    {{- include "piiguard.componentLabels" $sel | nindent 4 }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "piiguard.selector" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "piiguard.componentLabels" $sel | nindent 8 }}
      {{- with (include "piiguard.podAnnotations" $ctx | trim) }}
      annotations:
        {{- . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ $fullname }}-{{ $component }}
      automountServiceAccountToken: true
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      {{- include "piiguard.podPlacement" $sel | nindent 6 }}
      containers:
        - name: {{ $component }}
          image: {{ include "piiguard.image" (dict "ctx" $ctx "image" .values.image) | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args: [{{ $component | quote }}]
          env:
            {{- range .ports }}
            - name: {{ .env }}
              value: {{ .port | quote }}
            {{- end }}
            {{- include "piiguard.componentEnv" $sel | nindent 12 }}
            {{- include "piiguard.commonEnv" (dict "ctx" $ctx "component" $component "env" .values.env) | nindent 12 }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
            - name: metrics
              containerPort: {{ $ctx.Values.metrics.port }}
              protocol: TCP
          {{- /* kubelet's gRPC probe cannot present a client certificate: with mTLS the
                 probes check that the port accepts connections. */}}
          {{- $probe := ternary (dict "tcpSocket" (dict "port" "grpc")) (dict "grpc" (dict "port" $grpc)) $ctx.Values.tls.enabled }}
          {{- if eq $component "detection" }}
          # Detection loads spaCy's model before it serves: up to startupSeconds.
          startupProbe:
            {{- toYaml $probe | nindent 12 }}
            periodSeconds: 5
            failureThreshold: {{ div (int $ctx.Values.detection.startupSeconds) 5 }}
          {{- end }}
          readinessProbe:
            {{- toYaml $probe | nindent 12 }}
            periodSeconds: 5
          livenessProbe:
            {{- toYaml $probe | nindent 12 }}
            {{- if ne $component "detection" }}
            initialDelaySeconds: 30
            {{- end }}
            periodSeconds: 10
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "piiguard.credentialMounts" $sel | nindent 12 }}
            {{- if and (eq $component "ingest") $ctx.Values.ingest.apiTokensSecret }}
            - name: api-tokens
              mountPath: /etc/piiguard/ingest-api
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- include "piiguard.credentialVolumes" $sel | nindent 8 }}
        {{- if and (eq $component "ingest") $ctx.Values.ingest.apiTokensSecret }}
        - name: api-tokens
          secret:
            secretName: {{ $ctx.Values.ingest.apiTokensSecret | quote }}
            defaultMode: 0440
            items:
              - key: tokens
                path: tokens
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-{{ $component }}-grpc
  labels:
    {{- include "piiguard.componentLabels" $sel | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "piiguard.selector" $sel | nindent 4 }}
  ports:
    {{- range .ports }}
    {{- if ne .name "http" }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      appProtocol: grpc
    {{- end }}
    {{- end }}
    - name: metrics
      port: {{ $ctx.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
{{- include "piiguard.pdb" (dict "ctx" $ctx "component" $component "replicas" .values.replicas) }}
{{- end -}}

{{/* A PodDisruptionBudget when a component runs more than one pod. */}}
{{- define "piiguard.pdb" -}}
{{- if and .ctx.Values.podDisruptionBudget.enabled (gt (int .replicas) 1) }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "piiguard.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "piiguard.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .ctx.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "piiguard.selector" . | nindent 6 }}
{{- end }}
{{- end -}}
