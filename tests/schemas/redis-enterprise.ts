// JSON schemas (draft-07) for the Redis Enterprise custom resources this program creates
// (API group app.redislabs.com), for validating them offline: no kubernetes-models package covers
// this group.
//
// A SUBSET transcribed by hand from the operator's documented CRD fields (Redis Enterprise for
// Kubernetes 8.2 API reference and the CRDs of chart redis-enterprise-operator 8.2.0-12:
// RedisEnterpriseCluster v1, RedisEnterpriseRemoteCluster v1alpha1, RedisEnterpriseActiveActiveDatabase
// v1alpha1, RedisEnterpriseDatabase v1alpha1, and the access-control kinds new in 8.2:
// RedisEnterpriseUser, RedisEnterpriseACL, RedisEnterpriseRole, RedisEnterpriseRoleBinding,
// RedisEnterpriseClusterRole, RedisEnterpriseClusterRoleBinding, all v1alpha1); not copied from the CRDs. Objects we use are closed (additionalProperties: false), so a misspelt or undocumented
// field fails validation instead of being silently pruned by the API server. Fields the program does
// not use are left out on purpose: using one means adding it here, from the documentation.
import { bool, int, quantity, resource as kindOf, type Schema, schemaChecker, str, stringMap } from "./json-schema";

/** DNS-1123 label: object names the operator turns into Service and host names. */
const dnsLabel = { type: "string", pattern: "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$" } as const;
/** Redis Enterprise memory size, e.g. "100MB", "1GB" (the operator's documented format). */
const memorySize = { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?(MB|GB)$" } as const;

const metadata: Schema = {
    type: "object",
    required: ["name", "namespace"],
    properties: {
        name: dnsLabel,
        namespace: str,
        labels: stringMap,
        annotations: stringMap,
    },
    additionalProperties: false,
};

const resource = (apiVersion: string, kind: string, spec: Schema) => kindOf(apiVersion, kind, metadata, spec);

const resources: Schema = {
    type: "object",
    properties: {
        requests: { type: "object", properties: { cpu: quantity, memory: quantity }, additionalProperties: false },
        limits: { type: "object", properties: { cpu: quantity, memory: quantity }, additionalProperties: false },
    },
    additionalProperties: false,
};

const toleration: Schema = {
    type: "object",
    properties: {
        key: str,
        operator: { enum: ["Equal", "Exists"] },
        value: str,
        effect: { enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] },
        tolerationSeconds: int,
    },
    additionalProperties: false,
};

const TLS_MODES = ["disabled", "enabled", "replica_ssl"];
const PERSISTENCE = [
    "disabled",
    "aofEverySecond",
    "aofAlways",
    "snapshotEvery1Hour",
    "snapshotEvery6Hour",
    "snapshotEvery12Hour",
];

/** RedisEnterpriseCluster (REC), app.redislabs.com/v1. */
export const redisEnterpriseClusterSchema = resource("app.redislabs.com/v1", "RedisEnterpriseCluster", {
    type: "object",
    properties: {
        /** Number of Redis Enterprise nodes (pods); an odd number of at least 3 keeps a quorum. */
        nodes: { type: "integer", minimum: 3 },
        /** Admin user name; the credentials Secret (clusterCredentialSecretName, default: the REC name) holds username/password. */
        username: str,
        clusterCredentialSecretName: str,
        redisEnterpriseNodeResources: resources,
        persistentSpec: {
            type: "object",
            properties: {
                enabled: bool,
                volumeSize: quantity,
                storageClassName: str,
                enablePersistentVolumeResize: bool,
            },
            additionalProperties: false,
        },
        ingressOrRouteSpec: {
            type: "object",
            required: ["apiFqdnUrl", "dbFqdnSuffix", "method"],
            properties: {
                apiFqdnUrl: str,
                dbFqdnSuffix: str,
                method: { enum: ["openShiftRoute", "ingress", "istio"] },
                ingressAnnotations: stringMap,
            },
            additionalProperties: false,
        },
        /**
         * Secrets (keys tls.crt/cert/certificate, tls.key/key, optional ca.crt) of the certificates the
         * cluster presents instead of its self-signed ones.
         */
        certificates: {
            type: "object",
            properties: {
                apiCertificateSecretName: str,
                cmCertificateSecretName: str,
                metricsExporterCertificateSecretName: str,
                proxyCertificateSecretName: str,
                syncerCertificateSecretName: str,
            },
            additionalProperties: false,
        },
        /** Secret holding the cluster license; blank: the `license` field, or the trial. */
        licenseSecretName: str,
        securityContext: {
            type: "object",
            properties: {
                resourceLimits: {
                    type: "object",
                    properties: { allowAutoAdjustment: bool },
                    additionalProperties: false,
                },
                readOnlyRootFilesystemPolicy: {
                    type: "object",
                    required: ["enabled"],
                    properties: { enabled: bool },
                    additionalProperties: false,
                },
            },
            additionalProperties: false,
        },
        nodeSelector: stringMap,
        podTolerations: { type: "array", items: toleration },
        uiServiceType: { enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] },
    },
    additionalProperties: false,
});

/** RedisEnterpriseRemoteCluster (RERC), app.redislabs.com/v1alpha1. */
export const redisEnterpriseRemoteClusterSchema = resource(
    "app.redislabs.com/v1alpha1",
    "RedisEnterpriseRemoteCluster",
    {
        type: "object",
        required: ["recName", "recNamespace", "apiFqdnUrl"],
        properties: {
            recName: str,
            recNamespace: str,
            apiFqdnUrl: str,
            dbFqdnSuffix: str,
            apiPort: int,
            /** Documented format: redis-enterprise-<RERC name> (checked against metadata.name below). */
            secretName: { type: "string", pattern: "^redis-enterprise-" },
        },
        additionalProperties: false,
    },
);

const databaseSettings = {
    memorySize,
    replication: bool,
    shardCount: { type: "integer", minimum: 1 },
    databasePort: { type: "integer", minimum: 1, maximum: 65535 },
    /** Secret with key `password`; the operator creates one if it does not exist (not for Active-Active). */
    databaseSecretName: str,
    /** Whether the default user may connect (false: no database password at all; ACL users only). */
    defaultUser: bool,
    tlsMode: { enum: TLS_MODES },
    persistence: { enum: PERSISTENCE },
    evictionPolicy: str,
};

/** RedisEnterpriseActiveActiveDatabase (REAADB), app.redislabs.com/v1alpha1. */
export const redisEnterpriseActiveActiveDatabaseSchema = resource(
    "app.redislabs.com/v1alpha1",
    "RedisEnterpriseActiveActiveDatabase",
    {
        type: "object",
        required: ["participatingClusters"],
        properties: {
            participatingClusters: {
                type: "array",
                minItems: 2,
                items: {
                    type: "object",
                    required: ["name"],
                    properties: { name: str, namespace: str, externalReplicationPort: int },
                    additionalProperties: false,
                },
            },
            globalConfigurations: { type: "object", properties: databaseSettings, additionalProperties: false },
        },
        additionalProperties: false,
    },
);

/** RedisEnterpriseDatabase (REDB), app.redislabs.com/v1alpha1. */
export const redisEnterpriseDatabaseSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseDatabase", {
    type: "object",
    properties: {
        redisEnterpriseCluster: {
            type: "object",
            required: ["name"],
            properties: { name: str },
            additionalProperties: false,
        },
        ...databaseSettings,
    },
    additionalProperties: false,
});

// ---- Access control (operator 8.2.0-12 and later): users, ACLs, roles and their bindings.

/** A reference by name (1 to 253 characters), with a kind from `kinds` (empty meaning the first). */
const reference = (kinds: string[]): Schema => ({
    type: "object",
    required: ["name"],
    properties: { kind: { enum: ["", ...kinds] }, name: { type: "string", minLength: 1, maxLength: 253 } },
    additionalProperties: false,
});
/** Subjects of a binding: RedisEnterpriseUser objects of the namespace, at most 100, each once. */
const subjects: Schema = {
    type: "array",
    maxItems: 100,
    uniqueItems: true,
    items: reference(["RedisEnterpriseUser"]),
};
const CLUSTER_MANAGEMENT_ROLES = [
    "Admin",
    "ClusterMember",
    "ClusterViewer",
    "DBMember",
    "DBViewer",
    "UserManager",
    "None",
];

/** RedisEnterpriseUser: a user, its password in Secrets (key `password`) of the operator's namespace. */
export const redisEnterpriseUserSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseUser", {
    type: "object",
    properties: {
        username: str,
        email: str,
        authMethod: { enum: ["Basic", "Certificate"] },
        passwordMode: { enum: ["Single", "Rotatable"] },
        passwordSecrets: {
            type: "array",
            items: {
                type: "object",
                required: ["name"],
                properties: { name: { type: "string", minLength: 1, maxLength: 253 } },
                additionalProperties: false,
            },
        },
    },
    additionalProperties: false,
});

/** RedisEnterpriseACL: one Redis ACL rule string. */
export const redisEnterpriseAclSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseACL", {
    type: "object",
    required: ["acl"],
    properties: { acl: { type: "string", minLength: 1 } },
    additionalProperties: false,
});

/** RedisEnterpriseRole: management role and/or ACL, on the REDBs its scopes select (by name or selector). */
export const redisEnterpriseRoleSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseRole", {
    type: "object",
    required: ["scopes"],
    properties: {
        managementRole: { enum: ["DBMember", "DBViewer", "None"] },
        scopes: {
            type: "array",
            minItems: 1,
            items: {
                type: "object",
                properties: {
                    kind: { enum: ["", "RedisEnterpriseDatabase", "bdb"] },
                    name: { type: "string", minLength: 1, maxLength: 253 },
                    selector: { type: "object", minProperties: 1, properties: { matchLabels: stringMap } },
                },
                // By name or by selector, not both (the CRD's oneOf).
                oneOf: [
                    { properties: { name: true }, required: ["name"] },
                    { properties: { selector: true }, required: ["selector"] },
                ],
                additionalProperties: false,
            },
        },
        acl: reference(["RedisEnterpriseACL", "redis_acl"]),
    },
    additionalProperties: false,
});

/** RedisEnterpriseClusterRole: management role and/or ACL on every REDB of the cluster. */
export const redisEnterpriseClusterRoleSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseClusterRole", {
    type: "object",
    properties: {
        managementRole: { enum: CLUSTER_MANAGEMENT_ROLES },
        acl: reference(["RedisEnterpriseACL", "redis_acl"]),
    },
    additionalProperties: false,
});

export const redisEnterpriseRoleBindingSchema = resource("app.redislabs.com/v1alpha1", "RedisEnterpriseRoleBinding", {
    type: "object",
    required: ["roleRef"],
    properties: { roleRef: reference(["RedisEnterpriseRole", "role"]), subjects },
    additionalProperties: false,
});

export const redisEnterpriseClusterRoleBindingSchema = resource(
    "app.redislabs.com/v1alpha1",
    "RedisEnterpriseClusterRoleBinding",
    {
        type: "object",
        required: ["roleRef"],
        properties: { roleRef: reference(["RedisEnterpriseClusterRole", "role"]), subjects },
        additionalProperties: false,
    },
);

export const REDIS_ENTERPRISE_SCHEMAS: Record<string, Schema> = {
    "app.redislabs.com/v1/RedisEnterpriseCluster": redisEnterpriseClusterSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseRemoteCluster": redisEnterpriseRemoteClusterSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseActiveActiveDatabase": redisEnterpriseActiveActiveDatabaseSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseDatabase": redisEnterpriseDatabaseSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseUser": redisEnterpriseUserSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseACL": redisEnterpriseAclSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseRole": redisEnterpriseRoleSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseClusterRole": redisEnterpriseClusterRoleSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseRoleBinding": redisEnterpriseRoleBindingSchema,
    "app.redislabs.com/v1alpha1/RedisEnterpriseClusterRoleBinding": redisEnterpriseClusterRoleBindingSchema,
};

/**
 * Problems of an app.redislabs.com object against its schema (empty when valid), or undefined when
 * the object is not of this API group.
 */
export const redisEnterpriseSchemaProblems = schemaChecker(
    /^app\.redislabs\.com\//,
    REDIS_ENTERPRISE_SCHEMAS,
    "tests/schemas/redis-enterprise.ts",
    (o) => {
        const problems: string[] = [];
        // Rules the CRDs state in CEL (x-kubernetes-validations), which JSON schema cannot.
        if (o.kind === "RedisEnterpriseUser" && o.spec?.authMethod === "Certificate" && o.spec.passwordSecrets?.length)
            problems.push("/spec/passwordSecrets must be empty for a Certificate user");
        if (
            o.kind === "RedisEnterpriseUser" &&
            o.spec?.authMethod !== "Certificate" &&
            !o.spec?.passwordSecrets?.length
        )
            problems.push("/spec/passwordSecrets must name a Secret (documented as required for password users)");
        for (const [i, scope] of (o.kind === "RedisEnterpriseRole" ? (o.spec?.scopes ?? []) : []).entries())
            if (scope.kind === "bdb" && !scope.name)
                problems.push(`/spec/scopes/${i} of kind bdb must name a database`);
        // A rule the documentation states but JSON schema cannot: the credentials Secret is named after the RERC.
        if (
            o.kind === "RedisEnterpriseRemoteCluster" &&
            o.spec?.secretName !== undefined &&
            o.spec.secretName !== `redis-enterprise-${o.metadata?.name}`
        )
            problems.push(
                `/spec/secretName must be redis-enterprise-${o.metadata?.name} (the operator's naming rule), got ${o.spec.secretName}`,
            );
        return problems;
    },
);
