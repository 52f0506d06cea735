{{/*
One pipeline stage: a Deployment running `piiguard <component>` and its Service.
Call with (dict "ctx" $ "component" "detection" "values" .Values.detection
"ports" (list (dict "name" "grpc" "port" 50052 "env" "PIIGUARD_GRPC_PORT"))).
*/}}
{{- define "piiguard.stage" -}}
{{- $ctx := .ctx -}}
{{- $sel := dict "ctx" $ctx "component" .component -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "piiguard.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "piiguard.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
automountServiceAccountToken: {{ .values.readSecrets | default false }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "piiguard.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "piiguard.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "piiguard.selector" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "piiguard.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
      {{- with (include "piiguard.podAnnotations" $ctx | trim) }}
      annotations:
        {{- . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "piiguard.fullname" $ctx }}-{{ .component }}
      automountServiceAccountToken: {{ .values.readSecrets | default false }}
      securityContext:
        {{- toYaml $ctx.Values.podSecurityContext | nindent 8 }}
      {{- include "piiguard.podPlacement" $ctx | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "piiguard.image" (dict "ctx" $ctx "repository" .values.repository) | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args: [{{ .component | quote }}]
          env:
            {{- range .ports }}
            - name: {{ .env }}
              value: {{ .port | quote }}
            {{- end }}
            {{- include "piiguard.commonEnv" (dict "ctx" $ctx "component" .component "env" .values.env) | nindent 12 }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          {{- $grpc := 0 }}
          {{- range .ports }}{{ if eq .name "grpc" }}{{ $grpc = .port }}{{ end }}{{ end }}
          readinessProbe:
            grpc:
              port: {{ $grpc }}
            periodSeconds: 5
          livenessProbe:
            grpc:
              port: {{ $grpc }}
            initialDelaySeconds: 30
            periodSeconds: 10
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $ctx.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "piiguard.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "piiguard.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  type: {{ (.values.service | default dict).type | default "ClusterIP" }}
  selector:
    {{- include "piiguard.selector" $sel | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      {{- if eq .name "grpc" }}
      appProtocol: grpc
      {{- end }}
    {{- end }}
{{- end -}}
