{{/*
PII Guard's alerts (a Prometheus rule file's `groups`), on the metric names of
docs/operations.md only. docs/operations.md says what to do when each fires.
*/}}
{{- define "piiguard.alertRules" -}}
{{- $r := .Values.metrics.prometheusRule -}}
groups:
  - name: piiguard
    rules:
      - alert: PiiGuardDeadLettersGrowing
        expr: sum by (stage, reason) (increase(piiguard_dead_letters_total[15m])) > 0
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "Messages are being dead-lettered by the {{`{{ $labels.stage }}`}} stage ({{`{{ $labels.reason }}`}})."
          description: "{{`{{ $value | humanize }}`}} dead letters in 15 minutes. Inspect with `piiguard dlq list`; see docs/operations.md#piiguarddeadlettersgrowing."
      - alert: PiiGuardConsumerBacklogHigh
        expr: max by (stage, workspace) (piiguard_consumer_pending) > {{ int $r.backlogThreshold }}
        for: {{ $r.backlogFor }}
        labels:
          severity: warning
        annotations:
          summary: "The {{`{{ $labels.stage }}`}} backlog of workspace {{`{{ $labels.workspace }}`}} is above {{ int $r.backlogThreshold }}."
          description: "{{`{{ $value | humanize }}`}} messages waiting for {{ $r.backlogFor }}. See docs/operations.md#piiguardconsumerbackloghigh."
      - alert: PiiGuardSlackAuthFailures
        expr: sum by (method, result) (increase(piiguard_api_calls_total{api="slack", result=~"invalid_auth|not_authed|token_revoked|token_expired|account_inactive|missing_scope|not_allowed_token_type|no_permission"}[10m])) > 0
        for: 0m
        labels:
          severity: critical
        annotations:
          summary: "Slack refuses PII Guard's token ({{`{{ $labels.result }}`}} on {{`{{ $labels.method }}`}})."
          description: "Leaks cannot be removed until the workspace's Secret holds a working token. See docs/operations.md#piiguardslackauthfailures."
      - alert: PiiGuardNotionAuthFailures
        expr: sum by (method, result) (increase(piiguard_api_calls_total{api="notion", result=~"unauthorized|restricted_resource|invalid_grant"}[10m])) > 0
        for: 0m
        labels:
          severity: critical
        annotations:
          summary: "Notion refuses PII Guard's token ({{`{{ $labels.result }}`}} on {{`{{ $labels.method }}`}})."
          description: "See docs/operations.md#piiguardnotionauthfailures."
      - alert: PiiGuardIngestRefusing
        expr: sum by (source) (rate(piiguard_events_received_total{outcome="refused"}[5m])) > 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "Ingest refuses {{`{{ $labels.source }}`}} events with 503 (JetStream unavailable or full)."
          description: "Slack retries a refused event only three times. See docs/operations.md#piiguardingestrefusing."
      - alert: PiiGuardDetectionLatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(piiguard_detection_seconds_bucket[5m]))) > {{ $r.detectionP99Seconds }}
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: "Detection p99 latency is {{`{{ $value | humanizeDuration }}`}} (above {{ $r.detectionP99Seconds }}s)."
          description: "See docs/operations.md#piiguarddetectionlatencyhigh."
      - alert: PiiGuardReconcileFailures
        expr: sum by (result) (increase(piiguard_reconcile_total{result!~"ok|success"}[15m])) > 0
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "The operator fails to reconcile PiiPolicies ({{`{{ $labels.result }}`}})."
          description: "Check `kubectl get piipolicies -A` and the operator's log. See docs/operations.md#piiguardreconcilefailures."
{{- end -}}
