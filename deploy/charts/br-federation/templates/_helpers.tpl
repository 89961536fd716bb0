{{/*
Names. They match the Go manager's chart, so `helm upgrade` from it adopts the same objects
(a Deployment's selector cannot change).
*/}}
{{- define "brfed.chartName" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<base>" or "<base>-<release>" with appendReleaseSuffix. */}}
{{- define "brfed.suffixed" -}}
{{- $base := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $root.Values.appendReleaseSuffix -}}
{{- printf "%s-%s" $base $root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $base -}}
{{- end -}}
{{- end -}}

{{- define "brfed.managerName" -}}
{{- include "brfed.suffixed" (list "br-federation-manager" .) -}}
{{- end -}}

{{- define "brfed.serviceAccountName" -}}
{{- include "brfed.suffixed" (list .Values.brFederationManager.serviceAccount .) -}}
{{- end -}}

{{/* Cluster-wide RBAC object names carry the release, as upstream's do. */}}
{{- define "brfed.rbacName" -}}
{{- printf "%s:br-federation-manager" .Release.Name -}}
{{- end -}}

{{- define "brfed.selectorLabels" -}}
app.kubernetes.io/name: {{ include "brfed.chartName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: br-federation-manager
{{- end -}}

{{- define "brfed.labels" -}}
{{ include "brfed.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{- end -}}

{{/* The one lock type the manager implements. */}}
{{- define "brfed.checkLeaderResourceLock" -}}
{{- $lock := .Values.brFederationManager.leaderResourceLock | default "leases" -}}
{{- if ne $lock "leases" -}}
{{- fail (printf "brFederationManager.leaderResourceLock: %q is not supported; brfed elects its leader on a coordination.k8s.io Lease only (use \"leases\" or leave it unset)" $lock) -}}
{{- end -}}
{{- end -}}
