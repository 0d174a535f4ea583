// A JSON schema (draft-07) of the Jaeger v2 configuration the program writes (the jaeger chart's
// `userconfig`), for validating it offline: Jaeger 2.19.0 (chart 4.11.1) exits at start on a key it
// does not know, a backend with two types, or a pipeline naming a component that is not configured.
//
// A SUBSET written by hand from Jaeger's configuration structs at v2.19.0 (cmd/internal/storageconfig,
// internal/storage/elasticsearch/config, internal/storage/v1/badger, the jaeger_query extension and
// the storage exporter) and the OpenTelemetry Collector components it embeds (otlp receiver, batch
// processor, healthcheckv2, service telemetry): key names and types as there, not copied. Objects are
// closed, so a misspelt key fails here as it would fail Jaeger. Keys the program does not use are left
// out on purpose: using one means adding it here, from the source.
import Ajv, { type ValidateFunction } from "ajv";

type Schema = Record<string, unknown>;

const str = { type: "string" } as const;
const bool = { type: "boolean" } as const;
const int = { type: "integer", minimum: 0 } as const;
const strings = { type: "array", items: { type: "string" } } as const;
/** Go time.Duration as text. */
const duration = { type: "string", pattern: "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$" } as const;
const hostPort = { type: "string", pattern: "^[^:]*:[0-9]{1,5}$" } as const;
const closed = (properties: Record<string, unknown>, required: string[] = []): Schema => ({
    type: "object",
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
});
const mapOf = (value: unknown): Schema => ({ type: "object", additionalProperties: value });

const tlsClient = closed({
    ca_file: str,
    ca_pem: str,
    cert_file: str,
    key_file: str,
    insecure: bool,
    insecure_skip_verify: bool,
    server_name_override: str,
    min_version: str,
    max_version: str,
    reload_interval: duration,
    include_system_ca_certs_pool: bool,
});
const indexOptions = closed({
    priority: int,
    date_layout: str,
    shards: { type: "integer", minimum: 1 },
    replicas: int,
    rollover_frequency: { enum: ["hour", "day"] },
});
const elasticsearch = closed(
    {
        server_urls: { type: "array", items: { type: "string", pattern: "^https?://" }, minItems: 1 },
        remote_read_clusters: strings,
        auth: closed({
            basic: closed({ username: str, password: str, password_file: str, reload_interval: duration }),
            bearer_token: closed({ file_path: str, from_context: bool, reload_interval: duration }),
            api_key: closed({ file_path: str, from_context: bool, reload_interval: duration }),
        }),
        tls: tlsClient,
        sniffing: closed({ enabled: bool, use_https: bool }),
        disable_health_check: bool,
        health_check_timeout_startup: duration,
        send_get_body_as: str,
        query_timeout: duration,
        http_compression: bool,
        custom_headers: mapOf(str),
        bulk_processing: closed({ max_bytes: int, max_actions: int, flush_interval: duration, workers: int }),
        version: int,
        log_level: { enum: ["debug", "info", "error"] },
        indices: closed({
            index_prefix: str,
            spans: indexOptions,
            services: indexOptions,
            dependencies: indexOptions,
            sampling: indexOptions,
        }),
        use_aliases: bool,
        create_mappings: bool,
        use_ilm: bool,
        max_doc_count: int,
        max_span_age: duration,
        service_cache_ttl: duration,
        adaptive_sampling_lookback: duration,
    },
    ["server_urls"],
);
const badger = closed({
    ttl: closed({ spans: duration }),
    directories: closed({ keys: str, values: str }),
    ephemeral: bool,
    consistency: bool,
    maintenance_interval: duration,
    metrics_update_interval: duration,
    read_only: bool,
});
const backend: Schema = {
    ...closed({ memory: closed({ max_traces: int }), badger, elasticsearch, opensearch: elasticsearch }),
    minProperties: 1,
    maxProperties: 1,
};
const endpoint = closed({ endpoint: hostPort });

const SCHEMA: Schema = {
    $schema: "http://json-schema.org/draft-07/schema#",
    ...closed(
        {
            service: closed(
                {
                    extensions: strings,
                    pipelines: mapOf(
                        closed({ receivers: strings, processors: strings, exporters: strings }, [
                            "receivers",
                            "exporters",
                        ]),
                    ),
                    telemetry: closed({
                        resource: mapOf(str),
                        metrics: closed({
                            level: { enum: ["none", "basic", "normal", "detailed"] },
                            readers: {
                                type: "array",
                                items: closed({
                                    pull: closed({
                                        exporter: closed({ prometheus: closed({ host: str, port: int }) }),
                                    }),
                                }),
                            },
                        }),
                        logs: closed({ level: { enum: ["debug", "info", "warn", "error"] } }),
                    }),
                },
                ["extensions", "pipelines"],
            ),
            extensions: closed({
                healthcheckv2: closed({
                    use_v2: bool,
                    http: closed({ endpoint: hostPort, status: closed({ enabled: bool, path: str }) }),
                }),
                jaeger_query: closed(
                    {
                        storage: closed({ traces: str, traces_archive: str, metrics: str }, ["traces"]),
                        http: endpoint,
                        grpc: endpoint,
                        base_path: str,
                        max_clock_skew_adjust: duration,
                        ui: closed({ config_file: str }),
                    },
                    ["storage"],
                ),
                jaeger_storage: closed({ backends: mapOf(backend) }, ["backends"]),
            }),
            receivers: closed({ otlp: closed({ protocols: closed({ grpc: endpoint, http: endpoint }) }) }),
            processors: closed({
                batch: closed({ timeout: duration, send_batch_size: int, send_batch_max_size: int }),
            }),
            exporters: closed({ jaeger_storage_exporter: closed({ trace_storage: str }, ["trace_storage"]) }),
        },
        ["service", "extensions", "receivers", "exporters"],
    ),
};

let validate: ValidateFunction | undefined;

/** Why Jaeger 2.19 would refuse this configuration at start (schema, then the references between parts). */
export function jaegerConfigProblems(config: any): string[] {
    validate ??= new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);
    if (!validate(config as unknown))
        return (validate.errors ?? []).map(
            (e) => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`,
        );
    const out: string[] = [];
    const defined = (kind: "receivers" | "processors" | "exporters" | "extensions") => Object.keys(config[kind] ?? {});
    for (const ext of config.service.extensions)
        if (!defined("extensions").includes(ext)) out.push(`service.extensions: ${ext} is not configured`);
    for (const [name, p] of Object.entries<any>(config.service.pipelines))
        for (const kind of ["receivers", "processors", "exporters"] as const)
            for (const c of p[kind] ?? [])
                if (!defined(kind).includes(c)) out.push(`pipeline ${name}: ${kind} ${c} is not configured`);
    const backends = Object.keys(config.extensions?.jaeger_storage?.backends ?? {});
    const query = config.extensions?.jaeger_query?.storage?.traces;
    if (query && !backends.includes(query)) out.push(`jaeger_query.storage.traces: no backend ${query}`);
    const exported = config.exporters?.jaeger_storage_exporter?.trace_storage;
    if (exported && !backends.includes(exported))
        out.push(`jaeger_storage_exporter.trace_storage: no backend ${exported}`);
    return out;
}
