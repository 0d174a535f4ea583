// JSON schemas (draft-07) for the CloudNativePG custom resources this program creates (API groups
// postgresql.cnpg.io and barmancloud.cnpg.io), for validating them offline: no kubernetes-models
// package covers these groups.
//
// A SUBSET written by hand from the operator's documented API (CloudNativePG 1.30 API reference:
// Cluster, Database, ScheduledBackup; Barman Cloud plugin v0.13 API reference: ObjectStore), field
// names, types, enums and patterns as documented there; not copied from the CRDs. Objects are closed
// (additionalProperties: false), so a misspelt or undocumented field fails validation instead of being
// pruned by the API server. Fields the program does not use are left out on purpose: using one means
// adding it here, from the documentation.
import {
    bool,
    closed,
    int,
    quantity,
    resource as kindOf,
    type Schema,
    schemaChecker,
    str,
    stringMap,
} from "./json-schema";

const dnsName = { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" } as const;
const list = (items: unknown, minItems = 0): Schema => ({ type: "array", items, ...(minItems ? { minItems } : {}) });
/** A reference to an object by name (LocalObjectReference). */
const nameRef = closed({ name: str }, ["name"]);
/** A key of a Secret (SecretKeySelector as the CRDs spell it: name and key, both required). */
const secretKey = closed({ name: str, key: str }, ["name", "key"]);

const metadata = closed({ name: dnsName, namespace: str, labels: stringMap, annotations: stringMap }, [
    "name",
    "namespace",
]);

const resource = (apiVersion: string, kind: string, spec: Schema) => kindOf(apiVersion, kind, metadata, spec);

// ---- Kubernetes core types the Cluster embeds (the fields we use).
const resources = closed({
    requests: closed({ cpu: quantity, memory: quantity }),
    limits: closed({ cpu: quantity, memory: quantity }),
});
const toleration = closed({
    key: str,
    operator: { enum: ["Equal", "Exists"] },
    value: str,
    effect: { enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] },
    tolerationSeconds: int,
});
const requirement = closed(
    { key: str, operator: { enum: ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] }, values: list(str) },
    ["key", "operator"],
);
const nodeSelectorTerm = closed({ matchExpressions: list(requirement), matchFields: list(requirement) });
const nodeAffinity = closed({
    requiredDuringSchedulingIgnoredDuringExecution: closed({ nodeSelectorTerms: list(nodeSelectorTerm, 1) }, [
        "nodeSelectorTerms",
    ]),
    preferredDuringSchedulingIgnoredDuringExecution: list(
        closed({ weight: { type: "integer", minimum: 1, maximum: 100 }, preference: nodeSelectorTerm }, [
            "weight",
            "preference",
        ]),
    ),
});
const labelSelector = closed({ matchLabels: stringMap, matchExpressions: list(requirement) });
const topologySpreadConstraint = closed(
    {
        maxSkew: { type: "integer", minimum: 1 },
        topologyKey: str,
        whenUnsatisfiable: { enum: ["DoNotSchedule", "ScheduleAnyway"] },
        labelSelector,
        minDomains: int,
    },
    ["maxSkew", "topologyKey", "whenUnsatisfiable"],
);
const envVar = closed({ name: str, value: str }, ["name"]);

// ---- postgresql.cnpg.io/v1
const storage = closed({ size: quantity, storageClass: str, resizeInUseVolumes: bool });
const pluginConfiguration = closed({ name: str, enabled: bool, isWALArchiver: bool, parameters: stringMap }, ["name"]);
const role = closed(
    {
        name: str,
        comment: str,
        ensure: { enum: ["present", "absent"] },
        login: bool,
        superuser: bool,
        createdb: bool,
        createrole: bool,
        inherit: bool,
        replication: bool,
        bypassrls: bool,
        connectionLimit: int,
        validUntil: str,
        inRoles: list(str),
        passwordSecret: nameRef,
        disablePassword: bool,
    },
    ["name"],
);
const recoveryTarget = closed({
    backupID: str,
    targetTLI: str,
    targetXID: str,
    targetName: str,
    targetLSN: str,
    targetTime: str,
    targetImmediate: bool,
    exclusive: bool,
});

export const clusterSchema = resource(
    "postgresql.cnpg.io/v1",
    "Cluster",
    closed(
        {
            instances: { type: "integer", minimum: 1 },
            imageName: str,
            enableSuperuserAccess: bool,
            enablePDB: bool,
            primaryUpdateStrategy: { enum: ["unsupervised", "supervised"] },
            primaryUpdateMethod: { enum: ["switchover", "restart"] },
            postgresql: closed({
                parameters: stringMap,
                pg_hba: list(str),
                synchronous: closed(
                    {
                        method: { enum: ["any", "first"] },
                        number: int,
                        dataDurability: { enum: ["required", "preferred"] },
                        maxStandbyNamesFromCluster: int,
                        failoverQuorum: bool,
                    },
                    ["method", "number"],
                ),
            }),
            bootstrap: closed({
                initdb: closed({
                    database: str,
                    owner: str,
                    secret: nameRef,
                    dataChecksums: bool,
                    encoding: str,
                    localeCollate: str,
                    localeCType: str,
                }),
                recovery: closed({
                    source: str,
                    database: str,
                    owner: str,
                    secret: nameRef,
                    recoveryTarget,
                    backup: nameRef,
                }),
            }),
            managed: closed({ roles: list(role) }),
            storage,
            walStorage: storage,
            resources,
            affinity: closed({
                enablePodAntiAffinity: bool,
                topologyKey: str,
                podAntiAffinityType: { enum: ["preferred", "required"] },
                nodeSelector: stringMap,
                tolerations: list(toleration),
                nodeAffinity,
            }),
            topologySpreadConstraints: list(topologySpreadConstraint),
            plugins: list(pluginConfiguration),
            externalClusters: list(closed({ name: str, plugin: pluginConfiguration }, ["name"])),
            serviceAccountTemplate: closed({ metadata: closed({ labels: stringMap, annotations: stringMap }) }, [
                "metadata",
            ]),
            inheritedMetadata: closed({ labels: stringMap, annotations: stringMap }),
        },
        ["instances"],
    ),
);

export const databaseSchema = resource(
    "postgresql.cnpg.io/v1",
    "Database",
    closed(
        {
            cluster: nameRef,
            name: str,
            owner: str,
            ensure: { enum: ["present", "absent"] },
            databaseReclaimPolicy: { enum: ["delete", "retain"] },
        },
        ["cluster", "name", "owner"],
    ),
);

export const scheduledBackupSchema = resource(
    "postgresql.cnpg.io/v1",
    "ScheduledBackup",
    closed(
        {
            cluster: nameRef,
            // Six fields, seconds first (the documented difference from a Kubernetes CronJob).
            schedule: { type: "string", pattern: "^\\S+(\\s+\\S+){5}$" },
            method: { enum: ["barmanObjectStore", "volumeSnapshot", "plugin"] },
            pluginConfiguration: closed({ name: str, parameters: stringMap }, ["name"]),
            immediate: bool,
            suspend: bool,
            backupOwnerReference: { enum: ["none", "self", "cluster"] },
            target: { enum: ["primary", "prefer-standby"] },
        },
        ["cluster", "schedule"],
    ),
);

// ---- barmancloud.cnpg.io/v1
export const objectStoreSchema = resource(
    "barmancloud.cnpg.io/v1",
    "ObjectStore",
    closed(
        {
            retentionPolicy: { type: "string", pattern: "^[1-9][0-9]*[dwm]$" },
            configuration: closed(
                {
                    destinationPath: str,
                    endpointURL: str,
                    s3Credentials: closed({
                        accessKeyId: secretKey,
                        secretAccessKey: secretKey,
                        region: secretKey,
                        sessionToken: secretKey,
                        inheritFromIAMRole: bool,
                    }),
                    googleCredentials: closed({ applicationCredentials: secretKey, gkeEnvironment: bool }),
                    azureCredentials: closed({
                        connectionString: secretKey,
                        storageAccount: secretKey,
                        storageKey: secretKey,
                        storageSasToken: secretKey,
                        inheritFromAzureAD: bool,
                        useDefaultAzureCredentials: bool,
                    }),
                    wal: closed({
                        compression: { enum: ["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"] },
                        encryption: { enum: ["AES256", "aws:kms"] },
                        maxParallel: { type: "integer", minimum: 1 },
                    }),
                    data: closed({
                        compression: { enum: ["bzip2", "gzip", "lz4", "snappy"] },
                        encryption: { enum: ["AES256", "aws:kms"] },
                        jobs: { type: "integer", minimum: 1 },
                        immediateCheckpoint: bool,
                    }),
                },
                ["destinationPath"],
            ),
            instanceSidecarConfiguration: closed({ resources, env: list(envVar), retentionPolicyIntervalSeconds: int }),
        },
        ["configuration"],
    ),
);

export const CLOUDNATIVE_PG_SCHEMAS: Record<string, Schema> = {
    "postgresql.cnpg.io/v1/Cluster": clusterSchema,
    "postgresql.cnpg.io/v1/Database": databaseSchema,
    "postgresql.cnpg.io/v1/ScheduledBackup": scheduledBackupSchema,
    "barmancloud.cnpg.io/v1/ObjectStore": objectStoreSchema,
};

/**
 * Problems of a CloudNativePG object against its schema (empty when valid), or undefined when the
 * object is not of these API groups.
 */
export const cloudNativePgSchemaProblems = schemaChecker(
    /^(postgresql|barmancloud)\.cnpg\.io\//,
    CLOUDNATIVE_PG_SCHEMAS,
    "tests/schemas/cloudnative-pg.ts",
    (o) => {
        const problems: string[] = [];
        // Rules the documentation states but JSON schema cannot express.
        if (o.kind === "Cluster") {
            const spec = o.spec ?? {};
            const archivers = (spec.plugins ?? []).filter((p: any) => p.isWALArchiver);
            if (archivers.length > 1) problems.push("/spec/plugins at most one plugin may be the WAL archiver");
            const sync = spec.postgresql?.synchronous;
            if (sync && sync.number > (spec.instances ?? 1) - 1)
                problems.push(
                    `/spec/postgresql/synchronous/number ${sync.number} needs at least ${sync.number + 1} instances`,
                );
            const source = spec.bootstrap?.recovery?.source;
            if (source && !(spec.externalClusters ?? []).some((c: any) => c.name === source))
                problems.push(`/spec/bootstrap/recovery/source ${source} names no externalClusters entry`);
            if (spec.bootstrap && Object.keys(spec.bootstrap).length > 1)
                problems.push("/spec/bootstrap only one bootstrap method (initdb, recovery, pg_basebackup)");
        }
        return problems;
    },
);
