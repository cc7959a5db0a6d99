{{/*
Chart name, truncated to the 63 characters a label value may hold.
*/}}
{{- define "madoguchi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: "<release>-<chart>", or the release name when it already contains the chart name.
Component suffixes ("-web", "-worker", "-migrate") are appended, so keep room for them.
*/}}
{{- define "madoguchi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "madoguchi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the lifetime of a release (Deployment selectors are immutable).
*/}}
{{- define "madoguchi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "madoguchi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Standard labels of every resource.
*/}}
{{- define "madoguchi.labels" -}}
helm.sh/chart: {{ include "madoguchi.chart" . }}
{{ include "madoguchi.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: madoguchi
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels and selector labels of one component. Call with (dict "ctx" $ "component" "web").
*/}}
{{- define "madoguchi.componentLabels" -}}
{{ include "madoguchi.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "madoguchi.componentSelectorLabels" -}}
{{ include "madoguchi.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
ServiceAccount of web and worker.
*/}}
{{- define "madoguchi.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "madoguchi.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Container image reference: repository@digest, or repository:tag (tag defaults to appVersion).
*/}}
{{- define "madoguchi.image" -}}
{{- $repo := required "image.repository is required (the registry path of the madoguchi image)" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag \"latest\" is not reproducible: pin a version or set image.digest" }}
{{- end }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{/*
Name of the CloudNativePG Cluster.
*/}}
{{- define "madoguchi.cnpg.clusterName" -}}
{{- default (printf "%s-pg" (include "madoguchi.fullname" .)) .Values.postgresql.cnpg.clusterName | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/*
Name of the Barman Cloud ObjectStore of this Cluster.
*/}}
{{- define "madoguchi.cnpg.objectStoreName" -}}
{{- default (printf "%s-store" (include "madoguchi.cnpg.clusterName" .)) .Values.postgresql.cnpg.backup.objectStoreName }}
{{- end }}

{{/*
Secret holding the PostgreSQL CA certificate; empty when none is mounted.
*/}}
{{- define "madoguchi.database.caSecretName" -}}
{{- if .Values.database.caSecret.name }}
{{- .Values.database.caSecret.name }}
{{- else if .Values.postgresql.cnpg.enabled }}
{{- printf "%s-ca" (include "madoguchi.cnpg.clusterName" .) }}
{{- end }}
{{- end }}

{{/*
Hook events of the migration Job.
*/}}
{{- define "madoguchi.migrations.hook" -}}
{{- if .Values.migrations.hook }}
{{- .Values.migrations.hook }}
{{- else if .Values.postgresql.cnpg.enabled }}
{{- "post-install,pre-upgrade" }}
{{- else }}
{{- "pre-install,pre-upgrade" }}
{{- end }}
{{- end }}

{{/*
Environment of every madoguchi container. Call with (dict "ctx" $ "owner" true|false): only the
migration Job gets the owner DSN.
*/}}
{{- define "madoguchi.env" -}}
{{- $v := .ctx.Values }}
{{- $secret := required "secrets.existingSecret is required: create the Secret first (see values.yaml)" $v.secrets.existingSecret -}}
- name: MADOGUCHI_BASE_DOMAIN
  value: {{ required "config.baseDomain is required (e.g. yoyaku.example.lg.jp)" $v.config.baseDomain | quote }}
- name: MADOGUCHI_LISTEN
  value: {{ printf ":%d" (int $v.web.containerPort) | quote }}
- name: MADOGUCHI_INTERNAL_ADDR
  value: {{ printf ":%d" (int $v.internal.port) | quote }}
{{- $sen := $v.redis.sentinel }}
{{- if $sen.enabled }}
{{- if or $v.redis.url $v.redis.urlSecretKey }}
{{- fail "redis.sentinel.enabled builds the Redis URL: leave redis.url and redis.urlSecretKey empty" }}
{{- end }}
{{- if not $sen.addresses }}
{{- fail "redis.sentinel.addresses is required (host:port of every sentinel)" }}
{{- end }}
{{- with $sen.passwordSecretKey }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- with $sen.sentinelPasswordSecretKey }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
- name: MADOGUCHI_REDIS_URL
  # $(…) is expanded by Kubernetes from the variables above.
  value: {{ printf "redis-sentinel://%s%s/%d?master=%s%s" (ternary ":$(REDIS_PASSWORD)@" "" (not (empty $sen.passwordSecretKey))) (join "," $sen.addresses) (int $sen.db) $sen.masterName (ternary "&sentinel_password=$(REDIS_SENTINEL_PASSWORD)" "" (not (empty $sen.sentinelPasswordSecretKey))) | quote }}
{{- else }}
- name: MADOGUCHI_REDIS_URL
{{- if $v.redis.urlSecretKey }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $v.redis.urlSecretKey }}
{{- else }}
  value: {{ required "redis.url (or redis.urlSecretKey, or redis.sentinel) is required" $v.redis.url | quote }}
{{- end }}
{{- end }}
- name: MADOGUCHI_SMTP_URL
{{- if $v.smtp.urlSecretKey }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $v.smtp.urlSecretKey }}
{{- else }}
  value: {{ required "smtp.url (or smtp.urlSecretKey) is required" $v.smtp.url | quote }}
{{- end }}
- name: MADOGUCHI_TRUSTED_PROXIES
  value: {{ join "," $v.config.trustedProxies | quote }}
- name: MADOGUCHI_LOG_FORMAT
  value: {{ $v.config.logFormat | quote }}
- name: MADOGUCHI_DB_MAX_CONNS
  value: {{ $v.config.dbMaxConns | int | toString | quote }}
- name: MADOGUCHI_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int $v.config.shutdownTimeoutSeconds) | quote }}
- name: MADOGUCHI_SHUTDOWN_DRAIN
  value: {{ printf "%ds" (int $v.config.shutdownDrainSeconds) | quote }}
- name: MADOGUCHI_SECURE_COOKIES
  value: {{ $v.config.secureCookies | quote }}
- name: MADOGUCHI_CITIZEN_LOGIN_PER_MINUTE
  value: {{ $v.config.citizenLoginPerMinute | int | toString | quote }}
- name: MADOGUCHI_CITIZEN_CONCURRENCY
  value: {{ $v.config.citizenConcurrency | int | toString | quote }}
- name: MADOGUCHI_LIVE_MAX_STREAMS
  value: {{ $v.config.liveMaxStreams | int | toString | quote }}
- name: MADOGUCHI_AVAILABILITY_CACHE_TTL
  value: {{ $v.config.availabilityCacheTTL | quote }}
- name: MADOGUCHI_STATUS_SNAPSHOT_DIR
  value: {{ $v.config.statusSnapshotDir | quote }}
- name: MADOGUCHI_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $v.secrets.keys.databaseURL }}
{{- if .owner }}
- name: MADOGUCHI_OWNER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $v.secrets.keys.ownerDatabaseURL }}
{{- end }}
- name: MADOGUCHI_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $v.secrets.keys.secretKey }}
{{- with $v.paging }}
{{- range $name, $val := dict "MADOGUCHI_PAGING_URL" .url "MADOGUCHI_PAGING_MAIL_FROM" .mailFrom "MADOGUCHI_PAGING_ACK_TIMEOUT" .ackTimeout "MADOGUCHI_PAGING_WATCHDOG_WINDOW" .watchdogWindow "MADOGUCHI_PAGING_DEGRADED_AFTER" .degradedAfter "MADOGUCHI_PAGING_FALLBACK_EVERY" .fallbackEvery "MADOGUCHI_PHONE_API_URL" .phone.apiURL "MADOGUCHI_PHONE_ACCOUNT" .phone.account "MADOGUCHI_PHONE_FROM" .phone.from }}
{{- if $val }}
- name: {{ $name }}
  value: {{ $val | quote }}
{{- end }}
{{- end }}
{{- range $name, $key := dict "MADOGUCHI_ALERTMANAGER_TOKEN" .alertmanagerTokenSecretKey "MADOGUCHI_PAGING_FALLBACK_CONTACTS" .fallbackContactsSecretKey "MADOGUCHI_PHONE_TOKEN" .phone.tokenSecretKey }}
{{- if $key }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- with $v.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Volumes and mounts shared by every madoguchi pod: a writable /tmp and the PostgreSQL CA.
Call with (dict "ctx" $ "tmpSizeLimit" "64Mi").
*/}}
{{- define "madoguchi.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .tmpSizeLimit | default "64Mi" }}
{{- $ca := include "madoguchi.database.caSecretName" .ctx }}
{{- if $ca }}
- name: postgresql-ca
  secret:
    secretName: {{ $ca }}
    items:
      - key: {{ .ctx.Values.database.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end }}

{{- define "madoguchi.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "madoguchi.database.caSecretName" . }}
- name: postgresql-ca
  mountPath: /etc/madoguchi/postgresql
  readOnly: true
{{- end }}
{{- end }}

{{/*
Topology spread of one component over zones (data centers) and nodes.
Call with (dict "ctx" $ "component" "web").
*/}}
{{- define "madoguchi.topologySpread" -}}
{{- $t := .ctx.Values.topologySpread -}}
- maxSkew: {{ $t.zone.maxSkew }}
  topologyKey: {{ $t.zone.topologyKey }}
  whenUnsatisfiable: {{ $t.zone.whenUnsatisfiable }}
  nodeTaintsPolicy: Honor
  matchLabelKeys:
    - pod-template-hash
  labelSelector:
    matchLabels:
      {{- include "madoguchi.componentSelectorLabels" . | nindent 6 }}
- maxSkew: {{ $t.hostname.maxSkew }}
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: {{ $t.hostname.whenUnsatisfiable }}
  nodeTaintsPolicy: Honor
  matchLabelKeys:
    - pod-template-hash
  labelSelector:
    matchLabels:
      {{- include "madoguchi.componentSelectorLabels" . | nindent 6 }}
{{- end }}

{{/*
Render-time checks of invariants the schema cannot express. Included once, from the web
Deployment; renders nothing or fails.
*/}}
{{- define "madoguchi.validate" -}}
{{- $v := .Values }}
{{- $shutdown := int $v.config.shutdownTimeoutSeconds }}
{{- $drain := int $v.config.shutdownDrainSeconds }}
{{- if le (int $v.web.terminationGracePeriodSeconds) (add (int $v.web.preStopSleepSeconds) $drain $shutdown) }}
{{- fail (printf "web.terminationGracePeriodSeconds (%d) must exceed web.preStopSleepSeconds (%d) + config.shutdownDrainSeconds (%d) + config.shutdownTimeoutSeconds (%d)" (int $v.web.terminationGracePeriodSeconds) (int $v.web.preStopSleepSeconds) $drain $shutdown) }}
{{- end }}
{{- if le (int $v.worker.terminationGracePeriodSeconds) $shutdown }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) must exceed config.shutdownTimeoutSeconds (%d)" (int $v.worker.terminationGracePeriodSeconds) $shutdown) }}
{{- end }}
{{- if $v.postgresql.cnpg.enabled }}
{{- $pg := $v.postgresql.cnpg }}
{{- if ge (int $pg.synchronous.number) (int $pg.instances) }}
{{- fail (printf "postgresql.cnpg.synchronous.number (%d) must be below postgresql.cnpg.instances (%d)" (int $pg.synchronous.number) (int $pg.instances)) }}
{{- end }}
{{- /* A restore must never be able to write into the store (bucket) it recovers from. */}}
{{- with (($pg.bootstrap).recovery) }}
{{- if $pg.backup.enabled }}
{{- $src := .source }}
{{- $own := include "madoguchi.cnpg.objectStoreName" $ }}
{{- $ownBucket := regexFind "^[a-z0-9]+://[^/]+" ($pg.backup.configuration.destinationPath | default "") }}
{{- range $pg.externalClusters }}
{{- if eq .name $src }}
{{- $store := (((.plugin).parameters).barmanObjectName) | default "" }}
{{- if eq $store $own }}
{{- fail (printf "postgresql.cnpg.bootstrap.recovery reads the ObjectStore %s that this cluster archives to: restore from a read-only store and archive elsewhere (or set backup.enabled false)" $store) }}
{{- end }}
{{- range $pg.extraObjectStores }}
{{- if and (eq .name $store) (eq (regexFind "^[a-z0-9]+://[^/]+" (.configuration.destinationPath | default "")) $ownBucket) }}
{{- fail (printf "postgresql.cnpg.backup would archive into %s, the bucket the recovery reads (%s): a restore must not be able to write to it" $ownBucket $store) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $pg.backup.enabled }}
{{- if ne (len (splitList " " (regexReplaceAll "\\s+" (trim $pg.backup.schedule) " "))) 6 }}
{{- fail (printf "postgresql.cnpg.backup.schedule %q must have six fields (seconds first), e.g. \"0 0 3 * * *\"" $pg.backup.schedule) }}
{{- end }}
{{- end }}
{{- $maxConns := int (index $pg.parameters "max_connections" | default "100") }}
{{- $web := ternary (int $v.web.autoscaling.maxReplicas) (int $v.web.replicas) $v.web.autoscaling.enabled }}
{{- $worker := ternary (int $v.worker.autoscaling.maxReplicas) (int $v.worker.replicas) $v.worker.autoscaling.enabled }}
{{- /* one surge pod per Deployment during a rolling update, plus the migration Job (2 connections) and the 3 superuser-reserved slots */}}
{{- $need := add (mul (add $web $worker 2) (int $v.config.dbMaxConns)) 2 3 }}
{{- if gt $need $maxConns }}
{{- fail (printf "connection budget: (web %d + worker %d + 2 surge pods) × config.dbMaxConns %d + migration 2 + reserved 3 = %d exceeds postgresql.cnpg.parameters.max_connections %d" $web $worker (int $v.config.dbMaxConns) $need $maxConns) }}
{{- end }}
{{- end }}
{{- end }}
