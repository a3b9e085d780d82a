//! Descriptors for `core/v1` Pod, PodSpec, PodStatus and PodTemplateSpec (field numbers from `k8s.io/api/core/v1/generated.proto`).
//!
//! Covers the PodSpec fields DaemonSet templates and `kubectl run` use; rarer ones (most volume
//! plugins, topology spread, resource claims, ephemeral containers) are skipped as unknown.

use super::core::LOCAL_OBJECT_REFERENCE;
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::Kind::{
    Bool, Inline, Int, IntOrString, Msg, Quantity, QuantityMap, Str, StrMap, Time,
};
use super::schema::{Message, f};

pub(crate) static POD: Message = Message {
    name: "Pod",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&POD_SPEC)),
        f(3, "status", Msg(&POD_STATUS)),
    ],
};

pub(crate) static POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&POD_SPEC)),
    ],
};

static POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        f(1, "volumes", Msg(&VOLUME)).list(),
        f(20, "initContainers", Msg(&CONTAINER)).list(),
        f(2, "containers", Msg(&CONTAINER)).list(),
        f(3, "restartPolicy", Str),
        f(4, "terminationGracePeriodSeconds", Int).keep(),
        f(5, "activeDeadlineSeconds", Int).keep(),
        f(6, "dnsPolicy", Str),
        f(7, "nodeSelector", StrMap),
        f(8, "serviceAccountName", Str),
        f(9, "serviceAccount", Str),
        f(21, "automountServiceAccountToken", Bool).keep(),
        f(10, "nodeName", Str),
        f(11, "hostNetwork", Bool),
        f(12, "hostPID", Bool),
        f(13, "hostIPC", Bool),
        f(27, "shareProcessNamespace", Bool).keep(),
        f(14, "securityContext", Msg(&POD_SECURITY_CONTEXT)),
        f(15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)).list(),
        f(16, "hostname", Str),
        f(17, "subdomain", Str),
        f(18, "affinity", Msg(&AFFINITY)),
        f(19, "schedulerName", Str),
        f(22, "tolerations", Msg(&TOLERATION)).list(),
        f(23, "hostAliases", Msg(&HOST_ALIAS)).list(),
        f(24, "priorityClassName", Str),
        f(25, "priority", Int).keep(),
        f(26, "dnsConfig", Msg(&POD_DNS_CONFIG)),
        f(28, "readinessGates", Msg(&POD_READINESS_GATE)).list(),
        f(29, "runtimeClassName", Str).keep(),
        f(30, "enableServiceLinks", Bool).keep(),
        f(31, "preemptionPolicy", Str).keep(),
        f(32, "overhead", QuantityMap),
        f(35, "setHostnameAsFQDN", Bool).keep(),
        f(36, "os", Msg(&POD_OS)),
        f(37, "hostUsers", Bool).keep(),
    ],
};

// --- Containers ---

static CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        f(1, "name", Str).keep(),
        f(2, "image", Str),
        f(3, "command", Str).list(),
        f(4, "args", Str).list(),
        f(5, "workingDir", Str),
        f(6, "ports", Msg(&CONTAINER_PORT)).list(),
        f(19, "envFrom", Msg(&ENV_FROM_SOURCE)).list(),
        f(7, "env", Msg(&ENV_VAR)).list(),
        f(8, "resources", Msg(&RESOURCE_REQUIREMENTS)),
        f(24, "restartPolicy", Str).keep(),
        f(9, "volumeMounts", Msg(&VOLUME_MOUNT)).list(),
        f(10, "livenessProbe", Msg(&PROBE)),
        f(11, "readinessProbe", Msg(&PROBE)),
        f(22, "startupProbe", Msg(&PROBE)),
        f(12, "lifecycle", Msg(&LIFECYCLE)),
        f(13, "terminationMessagePath", Str),
        f(20, "terminationMessagePolicy", Str),
        f(14, "imagePullPolicy", Str),
        f(15, "securityContext", Msg(&SECURITY_CONTEXT)),
        f(16, "stdin", Bool),
        f(17, "stdinOnce", Bool),
        f(18, "tty", Bool),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        f(1, "name", Str),
        f(2, "hostPort", Int),
        f(3, "containerPort", Int).keep(),
        f(4, "protocol", Str),
        f(5, "hostIP", Str),
    ],
};

static ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[
        f(1, "name", Str).keep(),
        f(2, "value", Str),
        f(3, "valueFrom", Msg(&ENV_VAR_SOURCE)),
    ],
};

static ENV_VAR_SOURCE: Message = Message {
    name: "EnvVarSource",
    fields: &[
        f(1, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
        f(2, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)),
        f(3, "configMapKeyRef", Msg(&KEY_SELECTOR)),
        f(4, "secretKeyRef", Msg(&KEY_SELECTOR)),
    ],
};

static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "ObjectFieldSelector",
    fields: &[f(1, "apiVersion", Str), f(2, "fieldPath", Str).keep()],
};

static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "ResourceFieldSelector",
    fields: &[
        f(1, "containerName", Str),
        f(2, "resource", Str).keep(),
        f(3, "divisor", Quantity),
    ],
};

/// `ConfigMapKeySelector` and `SecretKeySelector` share this layout; the embedded
/// `LocalObjectReference` is inlined into JSON.
static KEY_SELECTOR: Message = Message {
    name: "KeySelector",
    fields: &[
        f(1, "localObjectReference", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "key", Str).keep(),
        f(3, "optional", Bool).keep(),
    ],
};

static ENV_FROM_SOURCE: Message = Message {
    name: "EnvFromSource",
    fields: &[
        f(1, "prefix", Str),
        f(2, "configMapRef", Msg(&ENV_SOURCE_REF)),
        f(3, "secretRef", Msg(&ENV_SOURCE_REF)),
    ],
};

/// `ConfigMapEnvSource` and `SecretEnvSource` share this layout.
static ENV_SOURCE_REF: Message = Message {
    name: "EnvSource",
    fields: &[
        f(1, "localObjectReference", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "optional", Bool).keep(),
    ],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        f(1, "limits", QuantityMap),
        f(2, "requests", QuantityMap),
        f(3, "claims", Msg(&RESOURCE_CLAIM)).list(),
    ],
};

static RESOURCE_CLAIM: Message = Message {
    name: "ResourceClaim",
    fields: &[f(1, "name", Str).keep(), f(2, "request", Str)],
};

static VOLUME_MOUNT: Message = Message {
    name: "VolumeMount",
    fields: &[
        f(1, "name", Str).keep(),
        f(2, "readOnly", Bool),
        f(7, "recursiveReadOnly", Str).keep(),
        f(3, "mountPath", Str).keep(),
        f(4, "subPath", Str),
        f(5, "mountPropagation", Str).keep(),
        f(6, "subPathExpr", Str),
    ],
};

/// The embedded `ProbeHandler` is inlined into JSON.
static PROBE: Message = Message {
    name: "Probe",
    fields: &[
        f(1, "handler", Inline(&PROBE_HANDLER)),
        f(2, "initialDelaySeconds", Int),
        f(3, "timeoutSeconds", Int),
        f(4, "periodSeconds", Int),
        f(5, "successThreshold", Int),
        f(6, "failureThreshold", Int),
        f(7, "terminationGracePeriodSeconds", Int).keep(),
    ],
};

static PROBE_HANDLER: Message = Message {
    name: "ProbeHandler",
    fields: &[
        f(1, "exec", Msg(&EXEC_ACTION)),
        f(2, "httpGet", Msg(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)),
        f(4, "grpc", Msg(&GRPC_ACTION)),
    ],
};

static EXEC_ACTION: Message = Message {
    name: "ExecAction",
    fields: &[f(1, "command", Str).list()],
};

static HTTP_GET_ACTION: Message = Message {
    name: "HTTPGetAction",
    fields: &[
        f(1, "path", Str),
        f(2, "port", IntOrString),
        f(3, "host", Str),
        f(4, "scheme", Str),
        f(5, "httpHeaders", Msg(&HTTP_HEADER)).list(),
    ],
};

static HTTP_HEADER: Message = Message {
    name: "HTTPHeader",
    fields: &[f(1, "name", Str).keep(), f(2, "value", Str).keep()],
};

static TCP_SOCKET_ACTION: Message = Message {
    name: "TCPSocketAction",
    fields: &[f(1, "port", IntOrString), f(2, "host", Str)],
};

static GRPC_ACTION: Message = Message {
    name: "GRPCAction",
    fields: &[f(1, "port", Int).keep(), f(2, "service", Str).keep()],
};

static LIFECYCLE: Message = Message {
    name: "Lifecycle",
    fields: &[
        f(1, "postStart", Msg(&LIFECYCLE_HANDLER)),
        f(2, "preStop", Msg(&LIFECYCLE_HANDLER)),
        f(3, "stopSignal", Str).keep(),
    ],
};

static LIFECYCLE_HANDLER: Message = Message {
    name: "LifecycleHandler",
    fields: &[
        f(1, "exec", Msg(&EXEC_ACTION)),
        f(2, "httpGet", Msg(&HTTP_GET_ACTION)),
        f(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)),
        f(4, "sleep", Msg(&SLEEP_ACTION)),
    ],
};

static SLEEP_ACTION: Message = Message {
    name: "SleepAction",
    fields: &[f(1, "seconds", Int).keep()],
};

static SECURITY_CONTEXT: Message = Message {
    name: "SecurityContext",
    fields: &[
        f(1, "capabilities", Msg(&CAPABILITIES)),
        f(2, "privileged", Bool).keep(),
        f(4, "runAsUser", Int).keep(),
        f(8, "runAsGroup", Int).keep(),
        f(5, "runAsNonRoot", Bool).keep(),
        f(6, "readOnlyRootFilesystem", Bool).keep(),
        f(7, "allowPrivilegeEscalation", Bool).keep(),
        f(9, "procMount", Str).keep(),
        f(11, "seccompProfile", Msg(&SECCOMP_PROFILE)),
    ],
};

static CAPABILITIES: Message = Message {
    name: "Capabilities",
    fields: &[f(1, "add", Str).list(), f(2, "drop", Str).list()],
};

static SECCOMP_PROFILE: Message = Message {
    name: "SeccompProfile",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "localhostProfile", Str).keep(),
    ],
};

// --- Pod-level settings ---

static POD_SECURITY_CONTEXT: Message = Message {
    name: "PodSecurityContext",
    fields: &[
        f(2, "runAsUser", Int).keep(),
        f(6, "runAsGroup", Int).keep(),
        f(3, "runAsNonRoot", Bool).keep(),
        f(4, "supplementalGroups", Int).list(),
        f(5, "fsGroup", Int).keep(),
        f(7, "sysctls", Msg(&SYSCTL)).list(),
        f(9, "fsGroupChangePolicy", Str).keep(),
        f(10, "seccompProfile", Msg(&SECCOMP_PROFILE)),
    ],
};

static SYSCTL: Message = Message {
    name: "Sysctl",
    fields: &[f(1, "name", Str).keep(), f(2, "value", Str).keep()],
};

static TOLERATION: Message = Message {
    name: "Toleration",
    fields: &[
        f(1, "key", Str),
        f(2, "operator", Str),
        f(3, "value", Str),
        f(4, "effect", Str),
        f(5, "tolerationSeconds", Int).keep(),
    ],
};

static HOST_ALIAS: Message = Message {
    name: "HostAlias",
    fields: &[f(1, "ip", Str).keep(), f(2, "hostnames", Str).list()],
};

static POD_DNS_CONFIG: Message = Message {
    name: "PodDNSConfig",
    fields: &[
        f(1, "nameservers", Str).list(),
        f(2, "searches", Str).list(),
        f(3, "options", Msg(&POD_DNS_CONFIG_OPTION)).list(),
    ],
};

static POD_DNS_CONFIG_OPTION: Message = Message {
    name: "PodDNSConfigOption",
    fields: &[f(1, "name", Str), f(2, "value", Str).keep()],
};

static POD_READINESS_GATE: Message = Message {
    name: "PodReadinessGate",
    fields: &[f(1, "conditionType", Str).keep()],
};

static POD_OS: Message = Message {
    name: "PodOS",
    fields: &[f(1, "name", Str).keep()],
};

// --- Affinity ---

static AFFINITY: Message = Message {
    name: "Affinity",
    fields: &[
        f(1, "nodeAffinity", Msg(&NODE_AFFINITY)),
        f(2, "podAffinity", Msg(&POD_AFFINITY)),
        f(3, "podAntiAffinity", Msg(&POD_AFFINITY)),
    ],
};

static NODE_AFFINITY: Message = Message {
    name: "NodeAffinity",
    fields: &[
        f(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Msg(&NODE_SELECTOR),
        ),
        f(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Msg(&PREFERRED_SCHEDULING_TERM),
        )
        .list(),
    ],
};

static NODE_SELECTOR: Message = Message {
    name: "NodeSelector",
    fields: &[f(1, "nodeSelectorTerms", Msg(&NODE_SELECTOR_TERM)).list()],
};

static NODE_SELECTOR_TERM: Message = Message {
    name: "NodeSelectorTerm",
    fields: &[
        f(1, "matchExpressions", Msg(&NODE_SELECTOR_REQUIREMENT)).list(),
        f(2, "matchFields", Msg(&NODE_SELECTOR_REQUIREMENT)).list(),
    ],
};

static NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "NodeSelectorRequirement",
    fields: &[
        f(1, "key", Str).keep(),
        f(2, "operator", Str).keep(),
        f(3, "values", Str).list(),
    ],
};

static PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "PreferredSchedulingTerm",
    fields: &[
        f(1, "weight", Int).keep(),
        f(2, "preference", Msg(&NODE_SELECTOR_TERM)),
    ],
};

/// `PodAffinity` and `PodAntiAffinity` share this layout.
static POD_AFFINITY: Message = Message {
    name: "PodAffinity",
    fields: &[
        f(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Msg(&POD_AFFINITY_TERM),
        )
        .list(),
        f(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Msg(&WEIGHTED_POD_AFFINITY_TERM),
        )
        .list(),
    ],
};

static POD_AFFINITY_TERM: Message = Message {
    name: "PodAffinityTerm",
    fields: &[
        f(1, "labelSelector", Msg(&LABEL_SELECTOR)),
        f(2, "namespaces", Str).list(),
        f(3, "topologyKey", Str).keep(),
        f(4, "namespaceSelector", Msg(&LABEL_SELECTOR)),
        f(5, "matchLabelKeys", Str).list(),
        f(6, "mismatchLabelKeys", Str).list(),
    ],
};

static WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "WeightedPodAffinityTerm",
    fields: &[
        f(1, "weight", Int).keep(),
        f(2, "podAffinityTerm", Msg(&POD_AFFINITY_TERM)),
    ],
};

// --- Volumes ---

/// The embedded `VolumeSource` is inlined into JSON.
static VOLUME: Message = Message {
    name: "Volume",
    fields: &[
        f(1, "name", Str).keep(),
        f(2, "volumeSource", Inline(&VOLUME_SOURCE)),
    ],
};

static VOLUME_SOURCE: Message = Message {
    name: "VolumeSource",
    fields: &[
        f(1, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE)),
        f(2, "emptyDir", Msg(&EMPTY_DIR_VOLUME_SOURCE)),
        f(6, "secret", Msg(&SECRET_VOLUME_SOURCE)),
        f(10, "persistentVolumeClaim", Msg(&PVC_VOLUME_SOURCE)),
        f(16, "downwardAPI", Msg(&DOWNWARD_API_VOLUME_SOURCE)),
        f(19, "configMap", Msg(&CONFIG_MAP_VOLUME_SOURCE)),
        f(26, "projected", Msg(&PROJECTED_VOLUME_SOURCE)),
    ],
};

static HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "HostPathVolumeSource",
    fields: &[f(1, "path", Str).keep(), f(2, "type", Str).keep()],
};

static EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "EmptyDirVolumeSource",
    fields: &[f(1, "medium", Str), f(2, "sizeLimit", Quantity)],
};

static SECRET_VOLUME_SOURCE: Message = Message {
    name: "SecretVolumeSource",
    fields: &[
        f(1, "secretName", Str),
        f(2, "items", Msg(&KEY_TO_PATH)).list(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};

static PVC_VOLUME_SOURCE: Message = Message {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[f(1, "claimName", Str).keep(), f(2, "readOnly", Bool)],
};

static DOWNWARD_API_VOLUME_SOURCE: Message = Message {
    name: "DownwardAPIVolumeSource",
    fields: &[
        f(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)).list(),
        f(2, "defaultMode", Int).keep(),
    ],
};

static DOWNWARD_API_VOLUME_FILE: Message = Message {
    name: "DownwardAPIVolumeFile",
    fields: &[
        f(1, "path", Str).keep(),
        f(2, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
        f(3, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)),
        f(4, "mode", Int).keep(),
    ],
};

static CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "ConfigMapVolumeSource",
    fields: &[
        f(1, "localObjectReference", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Msg(&KEY_TO_PATH)).list(),
        f(3, "defaultMode", Int).keep(),
        f(4, "optional", Bool).keep(),
    ],
};

static KEY_TO_PATH: Message = Message {
    name: "KeyToPath",
    fields: &[
        f(1, "key", Str).keep(),
        f(2, "path", Str).keep(),
        f(3, "mode", Int).keep(),
    ],
};

static PROJECTED_VOLUME_SOURCE: Message = Message {
    name: "ProjectedVolumeSource",
    fields: &[
        f(1, "sources", Msg(&VOLUME_PROJECTION)).list(),
        f(2, "defaultMode", Int).keep(),
    ],
};

static VOLUME_PROJECTION: Message = Message {
    name: "VolumeProjection",
    fields: &[
        f(1, "secret", Msg(&OBJECT_PROJECTION)),
        f(2, "downwardAPI", Msg(&DOWNWARD_API_PROJECTION)),
        f(3, "configMap", Msg(&OBJECT_PROJECTION)),
        f(
            4,
            "serviceAccountToken",
            Msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION),
        ),
    ],
};

/// `SecretProjection` and `ConfigMapProjection` share this layout.
static OBJECT_PROJECTION: Message = Message {
    name: "Projection",
    fields: &[
        f(1, "localObjectReference", Inline(&LOCAL_OBJECT_REFERENCE)),
        f(2, "items", Msg(&KEY_TO_PATH)).list(),
        f(4, "optional", Bool).keep(),
    ],
};

static DOWNWARD_API_PROJECTION: Message = Message {
    name: "DownwardAPIProjection",
    fields: &[f(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)).list()],
};

static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = Message {
    name: "ServiceAccountTokenProjection",
    fields: &[
        f(1, "audience", Str),
        f(2, "expirationSeconds", Int).keep(),
        f(3, "path", Str).keep(),
    ],
};

// --- Status ---

static POD_STATUS: Message = Message {
    name: "PodStatus",
    fields: &[
        f(17, "observedGeneration", Int),
        f(1, "phase", Str),
        f(2, "conditions", Msg(&POD_CONDITION)).list(),
        f(3, "message", Str),
        f(4, "reason", Str),
        f(11, "nominatedNodeName", Str),
        f(5, "hostIP", Str),
        f(16, "hostIPs", Msg(&IP_ADDRESS)).list(),
        f(6, "podIP", Str),
        f(12, "podIPs", Msg(&IP_ADDRESS)).list(),
        f(7, "startTime", Time),
        f(10, "initContainerStatuses", Msg(&CONTAINER_STATUS)).list(),
        f(8, "containerStatuses", Msg(&CONTAINER_STATUS)).list(),
        f(9, "qosClass", Str),
        f(13, "ephemeralContainerStatuses", Msg(&CONTAINER_STATUS)).list(),
    ],
};

static POD_CONDITION: Message = Message {
    name: "PodCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(7, "observedGeneration", Int),
        f(2, "status", Str).keep(),
        f(3, "lastProbeTime", Time),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};

/// `PodIP` and `HostIP` share this layout.
static IP_ADDRESS: Message = Message {
    name: "PodIP",
    fields: &[f(1, "ip", Str).keep()],
};

static CONTAINER_STATUS: Message = Message {
    name: "ContainerStatus",
    fields: &[
        f(1, "name", Str).keep(),
        f(2, "state", Msg(&CONTAINER_STATE)),
        f(3, "lastState", Msg(&CONTAINER_STATE)),
        f(4, "ready", Bool).keep(),
        f(5, "restartCount", Int).keep(),
        f(6, "image", Str).keep(),
        f(7, "imageID", Str).keep(),
        f(8, "containerID", Str),
        f(9, "started", Bool).keep(),
        f(10, "allocatedResources", QuantityMap),
        f(11, "resources", Msg(&RESOURCE_REQUIREMENTS)),
    ],
};

static CONTAINER_STATE: Message = Message {
    name: "ContainerState",
    fields: &[
        f(1, "waiting", Msg(&CONTAINER_STATE_WAITING)),
        f(2, "running", Msg(&CONTAINER_STATE_RUNNING)),
        f(3, "terminated", Msg(&CONTAINER_STATE_TERMINATED)),
    ],
};

static CONTAINER_STATE_WAITING: Message = Message {
    name: "ContainerStateWaiting",
    fields: &[f(1, "reason", Str), f(2, "message", Str)],
};

static CONTAINER_STATE_RUNNING: Message = Message {
    name: "ContainerStateRunning",
    fields: &[f(1, "startedAt", Time)],
};

static CONTAINER_STATE_TERMINATED: Message = Message {
    name: "ContainerStateTerminated",
    fields: &[
        f(1, "exitCode", Int).keep(),
        f(2, "signal", Int),
        f(3, "reason", Str),
        f(4, "message", Str),
        f(5, "startedAt", Time),
        f(6, "finishedAt", Time),
        f(7, "containerID", Str),
    ],
};
