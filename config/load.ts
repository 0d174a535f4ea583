// Reading a stack's configuration: every key in the project's namespace, merged over the tier
// defaults, validated as a whole. Any problem stops the program before a single resource is
// registered, listing every problem at once.
import * as pulumi from "@pulumi/pulumi";
import { tierDefaults } from "./defaults";
import { DISTRIBUTIONS, type Distribution, region as regionField, type Resources, TIERS, type Tier } from "./fields";
import { deepMerge, isPlain } from "./merge";
import {
    issueMessage,
    keyName,
    keyProblem,
    keysAt,
    plainIssues,
    PROJECT,
    shown,
    suggestion,
    valueAt,
} from "./messages";
import { profileOverrides, resolveProfile } from "./profiles";
import { readerTokenProblem } from "./reader-token";
import { crossFieldProblems } from "./rules";
import { type PlatformConfig, schema } from "./schema";

/** The keys this program reads (each declared, with type and description, in Pulumi.yaml). */
export const CONFIG_KEYS = [
    "tier",
    "region",
    "cluster",
    "domain",
    "layers",
    "images",
    "resources",
    "scheduling",
    "shop",
    "services",
    "mesh",
    "peers",
    "redisEnterprise",
    "cloudNativePg",
    "monitoring",
    "tls",
    "dns",
    "dnsCredentials",
    "backupCredentials",
    "meshReaderToken",
    "redisEnterpriseLicense",
] as const;

/** Keys holding credentials: never part of the plain `cfg` object, read as Pulumi secrets only. */
export const SECRET_CONFIG_KEYS = [
    "dnsCredentials",
    "backupCredentials",
    "meshReaderToken",
    "redisEnterpriseLicense",
] as const;

export const DNS_CREDENTIAL_KEYS = {
    aws: ["accessKeyId", "secretAccessKey"],
    google: ["serviceAccountKey"],
    azure: ["clientSecret"],
    cloudflare: ["apiToken"],
} as const;

/** Object stores the database backups go to, by the scheme of cloudNativePg.backup.destinationPath. */
export type ObjectStoreProvider = "s3" | "google" | "azure";
export const BACKUP_CREDENTIAL_KEYS: Record<ObjectStoreProvider, readonly string[]> = {
    s3: ["accessKeyId", "secretAccessKey"],
    google: ["applicationCredentials"],
    azure: ["storageAccount", "storageKey"],
};

/** The object store a destination path names: s3://, gs:// or an Azure Blob Storage URL. */
export function objectStoreProvider(destinationPath: string): ObjectStoreProvider {
    if (destinationPath.startsWith("gs://")) return "google";
    if (destinationPath.startsWith("https://")) return "azure";
    return "s3";
}

export class ConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: string[],
    ) {
        super(
            `Stack "${stack}" has invalid configuration; nothing was deployed:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
    }
}

/**
 * What stands for a value the stack file holds encrypted (`secure: v1:...`, from `pulumi config set
 * --secret`) where the program runs offline (`npm run check`, the tests): set, secret, its content
 * unknown, so only the checks that need no content apply. Under `pulumi up` the CLI decrypts it.
 */
export const ENCRYPTED = "(encrypted in the stack file; not readable offline)";

/** What a stack gives for its secret keys: whether each is set, and whether it was set as a secret. */
export interface SecretKeys {
    dnsCredentials?: { value: unknown; secret: boolean };
    backupCredentials?: { value: unknown; secret: boolean };
    meshReaderToken?: { value: unknown; secret: boolean };
    redisEnterpriseLicense?: { value: unknown; secret: boolean };
}

/**
 * The stack's keys merged over its tier's defaults: the input the schema validates (without `stack`),
 * and the problems found before (unknown top-level keys; a tier or region missing, without which
 * there are no defaults). Tests use it to build bad inputs from a complete, valid one.
 */
export function withDefaults(
    stack: string,
    raw: Record<string, unknown>,
): { input?: Record<string, unknown>; given: Record<string, unknown>; problems: string[] } {
    const problems: string[] = [];
    const isKey = (k: string) => (CONFIG_KEYS as readonly string[]).includes(k);
    for (const key of Object.keys(raw).filter((k) => !isKey(k)))
        problems.push(`${keyName([key])}: ${keyProblem([], key, CONFIG_KEYS)}`);
    // Plain keys only: secret ones never enter the configuration object.
    const given = Object.fromEntries(
        Object.entries(raw).filter(([k]) => isKey(k) && !(SECRET_CONFIG_KEYS as readonly string[]).includes(k)),
    );
    const tier = raw.tier as Tier;
    const region = raw.region as string;
    const regionOk = regionField.safeParse(region).success;
    if (!TIERS.includes(tier))
        problems.push(
            `${keyName(["tier"])} = ${shown(tier)}: expected one of ${TIERS.join(", ")}; every stack file names its tier (there is no default)`,
        );
    if (!regionOk)
        problems.push(
            `${keyName(["region"])} = ${shown(region)}: expected a short region name such as us, eu or asia (local for a laptop); every stack file names its region (there is no default)`,
        );
    // Without a tier there are no defaults to merge over: report what is known and stop.
    if (!TIERS.includes(tier) || !regionOk) return { given, problems };

    const distribution = valueAt(raw, ["cluster", "distribution"]) as Distribution;
    const known = DISTRIBUTIONS.includes(distribution) ? distribution : undefined;
    const overrides = profileOverrides.safeParse(valueAt(raw, ["cluster", "profile"]) ?? {});
    const profile = known && overrides.success ? resolveProfile(known, overrides.data) : undefined;
    // Hosts under the domain follow the domain the stack names (kopi.<domain>).
    const domain = typeof raw.domain === "string" && raw.domain !== "" ? raw.domain : undefined;
    const base = tierDefaults(tier, region, stack, known, profile, domain);
    return { input: deepMerge(base, given) as Record<string, unknown>, given, problems };
}

/**
 * The schema's verdict on a stack's keys, before the rules across keys: the typed configuration, or
 * every problem in plain words (key, value given, what is expected).
 */
export function parseSchema(
    stack: string,
    raw: Record<string, unknown>,
): { cfg?: PlatformConfig; given: Record<string, unknown>; problems: string[] } {
    const { input, given, problems } = withDefaults(stack, raw);
    if (!input) return { given, problems };
    const merged = { stack, ...input };
    const result = schema.safeParse(merged);
    if (result.success) return { cfg: problems.length ? undefined : result.data, given, problems };
    for (const issue of plainIssues(result.error.issues, merged)) {
        if (issue.code === "unrecognized_keys") {
            const keys = keysAt(schema, issue.path);
            for (const k of issue.keys)
                problems.push(`${keyName([...issue.path, k])}: ${keyProblem(issue.path, k, keys)}`);
            continue;
        }
        const value = valueAt(merged, issue.path);
        problems.push(`${keyName(issue.path)} = ${shown(value)}: ${issueMessage(issue, value)}`);
    }
    return { given, problems };
}

/**
 * Validates raw stack configuration (key -> value, structured values parsed) and returns the typed
 * configuration, or throws one ConfigError listing every problem.
 */
export function parseConfig(stack: string, raw: Record<string, unknown>, secrets: SecretKeys = {}): PlatformConfig {
    const { cfg, given, problems } = parseSchema(stack, raw);
    if (!cfg) throw new ConfigError(stack, problems);
    problems.push(
        ...crossFieldProblems(
            cfg,
            given,
            Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, v !== undefined])),
        ).map(
            // The value as the stack file gave it, or (for a tier default) as the program would use it.
            // (Service entries merge by name: their index is the parsed list's.)
            (p) => {
                const value = p.path[0] === "services" ? undefined : valueAt(given, p.path);
                return `${keyName(p.path)} = ${shown(value ?? valueAt(cfg, p.path))}: ${p.message}`;
            },
        ),
    );
    problems.push(...dnsCredentialProblems(cfg, secrets.dnsCredentials));
    problems.push(...backupCredentialProblems(cfg, secrets.backupCredentials));
    problems.push(...readerTokenProblems(cfg, secrets.meshReaderToken));
    problems.push(...licenceProblems(cfg, secrets.redisEnterpriseLicense));
    if (problems.length > 0) throw new ConfigError(stack, problems);
    return cfg;
}

/** What the Kubernetes provider's own config keys would have set, and the key of this program that sets it. */
const PROVIDER_KEYS: Record<string, string> = {
    context: "cluster.context",
    cluster: "cluster.context",
    kubeconfig: "cluster.context (the kubeconfig itself comes from KUBECONFIG or ~/.kube/config)",
};

/**
 * Keys outside the project's namespace that look meant for this program but that nothing reads: the
 * Kubernetes provider's (every resource goes through the stack's own provider, configured from
 * `cluster`; stacks disable the default provider), and keys under a misspelt project name.
 */
export function namespaceProblems(flat: Record<string, string>): string[] {
    const out: string[] = [];
    for (const full of Object.keys(flat)) {
        const colon = full.indexOf(":");
        if (colon < 0) continue;
        const namespace = full.slice(0, colon);
        const key = full.slice(colon + 1);
        if (namespace === PROJECT || namespace === "pulumi") continue;
        if (namespace === "kubernetes")
            out.push(
                `${full} is ignored: every resource goes through the stack's own Kubernetes provider, configured from ${PROJECT}:cluster; ` +
                    `expected ${PROJECT}:${PROVIDER_KEYS[key] ?? "cluster"} instead`,
            );
        else if (suggestion(namespace, [PROJECT]))
            out.push(`${full}: unknown namespace "${namespace}"; did you mean "${PROJECT}:${key}"?`);
    }
    return out;
}

/**
 * The configuration from the flat "<namespace>:<key>" map the runtime holds (every key of every
 * namespace): namespace mistakes and every problem of the project's keys, reported together.
 */
export function parseFlatConfig(
    stack: string,
    flat: Record<string, string>,
    isSecret: (key: string) => boolean,
): PlatformConfig {
    const foreign = namespaceProblems(flat);
    const raw = rawFromFlat(flat);
    let cfg: PlatformConfig;
    try {
        const given = (key: (typeof SECRET_CONFIG_KEYS)[number]) =>
            raw[key] === undefined ? undefined : { value: raw[key], secret: isSecret(`${PROJECT}:${key}`) };
        // Every secret key, whether it is set and whether as a secret (a key added to SECRET_CONFIG_KEYS follows).
        cfg = parseConfig(stack, raw, Object.fromEntries(SECRET_CONFIG_KEYS.map((k) => [k, given(k)])));
    } catch (e) {
        if (e instanceof ConfigError && foreign.length > 0) throw new ConfigError(stack, [...foreign, ...e.problems]);
        throw e;
    }
    if (foreign.length > 0) throw new ConfigError(stack, foreign);
    return cfg;
}

/** Parses a config value as the Pulumi runtime hands it over (structured values arrive as JSON text). */
export function parseValue(text: string): unknown {
    if (/^[[{]/.test(text.trim())) {
        try {
            return JSON.parse(text);
        } catch {
            return text;
        }
    }
    if (text === "true" || text === "false") return text === "true";
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    return text;
}

/**
 * The project's config values from a flat "<namespace>:<key>" map, as the runtime (or a stack file)
 * gives them. Pulumi.yaml declares "{}" and "[]" as defaults of object keys: they mean "tier defaults".
 */
export function rawFromFlat(flat: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [full, text] of Object.entries(flat)) {
        if (!full.startsWith(`${PROJECT}:`)) continue;
        const key = full.slice(PROJECT.length + 1);
        // Nothing given: an empty value, an empty object or list, or a key left with nothing under it
        // in a stack file (YAML null, e.g. after its last line was deleted).
        if (text === "" || text === "{}" || text === "[]" || text === "null") continue;
        raw[key] = parseValue(text);
    }
    return raw;
}

/** Reads the current stack's configuration through the Pulumi runtime: every key of the project's namespace. */
export function loadConfig(): PlatformConfig {
    return parseFlatConfig(pulumi.getStack(), pulumi.runtime.allConfig(), isConfigSecret);
}

/**
 * Whether a config key was set as a secret. The runtime knows (PULUMI_CONFIG_SECRET_KEYS); its
 * accessor is marked internal, so an SDK without it is trusted rather than failing the check.
 */
function isConfigSecret(key: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return runtime.isConfigSecret?.(key) ?? true;
}

/** Problems with the secret `dnsCredentials` object, naming keys only (never values). */
function dnsCredentialProblems(cfg: PlatformConfig, given: SecretKeys["dnsCredentials"]): string[] {
    const key = keyName(["dnsCredentials"]);
    const provider = cfg.dns.provider;
    const writesDns = cfg.layers.externalDns || (cfg.layers.certManager && cfg.tls.issuer === "acme-dns01");
    if (given !== undefined && !writesDns)
        return [
            `${key} (value hidden) is ignored: nothing writes DNS records (layers.externalDns is false and tls.issuer is not acme-dns01); remove it with pulumi config rm dnsCredentials`,
        ];
    if (given === undefined) {
        return writesDns && provider === "cloudflare"
            ? [
                  `${key} (not set): expected a secret {apiToken} (Cloudflare has no workload identity): pulumi config set --secret --path dnsCredentials.apiToken <token>`,
              ]
            : [];
    }
    if (!given.secret)
        return [
            `${key} (value hidden): expected a secret value; set it with pulumi config set --secret --path dnsCredentials.<key> <value>`,
        ];
    const value = given.value;
    if (!isPlain(value) || Object.values(value).some((v) => typeof v !== "string" || v === ""))
        return [`${key} (value hidden): expected an object of non-empty strings`];
    if (!provider)
        return [`${key} (value hidden): expected dns.provider to say which provider the credentials are for`];
    const expected: readonly string[] = DNS_CREDENTIAL_KEYS[provider];
    const keys = Object.keys(value).sort();
    if (keys.join() !== [...expected].sort().join())
        return [
            `${key} has keys [${keys.join(", ")}]: expected exactly {${expected.join(", ")}} for dns.provider ${provider}`,
        ];
    if (provider === "azure" && (!cfg.dns.azure?.clientId || !cfg.dns.azure?.tenantId))
        return [
            `${keyName(["dns", "azure"])}: expected clientId and tenantId of the service principal whose clientSecret is in dnsCredentials`,
        ];
    return [];
}

/** Problems with the secret `meshReaderToken` (claims only; the value is never shown). */
function readerTokenProblems(cfg: PlatformConfig, given: SecretKeys["meshReaderToken"]): string[] {
    if (given === undefined) return [];
    const key = keyName(["meshReaderToken"]);
    if (!cfg.layers.multiCluster)
        return [
            `${key} (value hidden): is set but layers.multiCluster is false; remove it (no peer reads this cluster)`,
        ];
    if (!given.secret)
        return [
            `${key} (value hidden): expected a secret value; set it with pulumi config set --secret meshReaderToken "$(kubectl create token ...)"`,
        ];
    if (given.value === ENCRYPTED) return [];
    const problem = readerTokenProblem(given.value, Math.floor(Date.now() / 1000));
    return problem ? [`${key} (value hidden): ${problem}`] : [];
}

/** The start and end lines of a Redis Enterprise licence file. */
const LICENCE_MARKERS = [/-+ *LICENSE START *-+/, /-+ *LICENSE END *-+/];

/** Problems with the secret `redisEnterpriseLicense` (the value is never shown). */
function licenceProblems(cfg: PlatformConfig, given: SecretKeys["redisEnterpriseLicense"]): string[] {
    if (given === undefined) return [];
    const key = keyName(["redisEnterpriseLicense"]);
    const command = 'pulumi config set --secret redisEnterpriseLicense "$(cat license.key)"';
    if (!cfg.layers.redisEnterprise)
        return [
            `${key} (value hidden) is ignored: layers.redisEnterprise is false; remove it with pulumi config rm redisEnterpriseLicense`,
        ];
    if (!given.secret) return [`${key} (value hidden): expected a secret value; set it with ${command}`];
    const value = given.value;
    if (value === ENCRYPTED) return [];
    if (typeof value !== "string" || !LICENCE_MARKERS.every((m) => m.test(value)))
        return [
            `${key} (value hidden): expected the licence file's text, from its ----- LICENSE START ----- line to its ----- LICENSE END ----- line (not the file's name): ${command}`,
        ];
    return [];
}

/**
 * The Redis Enterprise licence from the secret config key `redisEnterpriseLicense` (validated by
 * loadConfig), as a Pulumi secret; undefined when the stack names a Secret of its own or runs the trial.
 */
export function redisEnterpriseLicense(): pulumi.Output<string> | undefined {
    const text = pulumi.runtime.getConfig(`${PROJECT}:redisEnterpriseLicense`);
    if (text === undefined || text === "") return undefined;
    return pulumi.secret(text);
}

/**
 * The reader token from the secret config key `meshReaderToken` (validated by loadConfig), as a
 * Pulumi secret; undefined when the pipeline has not minted one (the peers then report this region pending).
 */
export function meshReaderToken(): pulumi.Output<string> | undefined {
    const text = pulumi.runtime.getConfig(`${PROJECT}:meshReaderToken`);
    if (text === undefined || text === "") return undefined;
    return pulumi.secret(text);
}

/**
 * Problems with how the database backups reach their object store: workload identity
 * (cloudNativePg.backup.workloadIdentity) or the secret `backupCredentials`, with the keys the
 * store's provider needs. Names keys only, never values.
 */
function backupCredentialProblems(cfg: PlatformConfig, given: SecretKeys["backupCredentials"]): string[] {
    const key = keyName(["backupCredentials"]);
    const backup = cfg.cloudNativePg.backup;
    if (!cfg.layers.cloudNativePg || !backup.destinationPath)
        return given === undefined
            ? []
            : [
                  `${key} (value hidden) is ignored: layers.cloudNativePg is off or has no backup destination; remove it with pulumi config rm backupCredentials`,
              ];
    const provider = objectStoreProvider(backup.destinationPath);
    const expected = BACKUP_CREDENTIAL_KEYS[provider];
    if (given === undefined)
        return backup.workloadIdentity
            ? []
            : [
                  `${key} (not set): expected workload identity (cloudNativePg.backup.workloadIdentity.annotations) or a secret {${expected.join(", ")}} for ${backup.destinationPath}: pulumi config set --secret --path backupCredentials.${expected[0]} <value>`,
              ];
    if (!given.secret)
        return [
            `${key} (value hidden): expected a secret value; set it with pulumi config set --secret --path backupCredentials.<key> <value>`,
        ];
    const value = given.value;
    if (!isPlain(value) || Object.values(value).some((v) => typeof v !== "string" || v === ""))
        return [`${key} (value hidden): expected an object of non-empty strings`];
    const keys = Object.keys(value).sort();
    if (keys.join() !== [...expected].sort().join())
        return [
            `${key} has keys [${keys.join(", ")}]: expected exactly {${expected.join(", ")}} for ${backup.destinationPath}`,
        ];
    return [];
}

/** The object store credentials from the secret config key `backupCredentials`, as a Pulumi secret; undefined with workload identity. */
export function backupCredentials(): pulumi.Output<Record<string, string>> | undefined {
    const text = pulumi.runtime.getConfig(`${PROJECT}:backupCredentials`);
    if (text === undefined || text === "" || text === "{}") return undefined;
    return pulumi.secret(JSON.parse(text) as Record<string, string>);
}

/**
 * The DNS provider credentials from the secret config key `dnsCredentials` (validated by loadConfig),
 * as a Pulumi secret; undefined when the stack uses workload identity (or no DNS writer) instead.
 */
export function dnsCredentials(): pulumi.Output<Record<string, string>> | undefined {
    const text = pulumi.runtime.getConfig(`${PROJECT}:dnsCredentials`);
    if (text === undefined || text === "" || text === "{}") return undefined;
    return pulumi.secret(JSON.parse(text) as Record<string, string>);
}

/** Resources of a named workload: the tier's sizing table with the stack's overrides. */
export function resourcesFor(cfg: PlatformConfig, workload: string): Resources {
    const r = cfg.resources[workload];
    if (!r)
        throw new ConfigError(cfg.stack, [
            `${keyName(["resources", workload])} is not set: expected requests and limits for workload "${workload}"`,
        ]);
    return r;
}
