{{/*
Names and labels, following the Helm chart best practices
(https://helm.sh/docs/chart_best_practices/labels/ and the `helm create` scaffold).
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "encourage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name: the release name alone when it already contains the chart name
("encourage" → encourage), else <release>-<chart>. 63 characters at most (DNS label).
*/}}
{{- define "encourage.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the operator's objects (Deployment, Service, ClusterRole…). */}}
{{- define "encourage.operatorName" -}}
{{- printf "%s-operator" (include "encourage.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "encourage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "encourage.labels" -}}
helm.sh/chart: {{ include "encourage.chart" . }}
{{ include "encourage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: encourage
{{- end }}

{{/* Labels that select the release's pods (immutable once deployed). */}}
{{- define "encourage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "encourage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the operator's objects. */}}
{{- define "encourage.operatorLabels" -}}
{{ include "encourage.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Selector of the operator pod. */}}
{{- define "encourage.operatorSelectorLabels" -}}
{{ include "encourage.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "encourage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "encourage.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image reference; the tag defaults to appVersion. */}}
{{- define "encourage.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
