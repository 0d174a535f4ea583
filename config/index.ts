// The one place stack configuration is read and validated. Everything else imports `loadConfig()`'s
// result (the typed PlatformConfig) or the pure helpers below.
export * from "./fields";
export * from "./schema";
export {
    CONFIG_KEYS,
    SECRET_CONFIG_KEYS,
    DNS_CREDENTIAL_KEYS,
    BACKUP_CREDENTIAL_KEYS,
    type ObjectStoreProvider,
    objectStoreProvider,
    backupCredentials,
    ConfigError,
    parseConfig,
    parseSchema,
    withDefaults,
    parseFlatConfig,
    namespaceProblems,
    loadConfig,
    dnsCredentials,
    meshReaderToken,
    redisEnterpriseLicense,
    resourcesFor,
    rawFromFlat,
    parseValue,
} from "./load";
export { PROJECT, LIBRARY_WORDING } from "./messages";
export { keyPaths, keysAt } from "./keys";
export { MESH_READER, MAX_READER_TOKEN_HOURS, jwtClaims, readerTokenProblem } from "./reader-token";
export { deepMerge } from "./merge";
export { IMAGES, CORE_SERVICE_FLOWS, tierDefaults } from "./defaults";
export { type ClusterProfile, PROFILES, resolveProfile } from "./profiles";
export { SIZING, WORKLOADS, type Workload } from "./sizing";
export { crossFieldProblems, type Problem } from "./rules";
export * from "./redis-databases";
export * from "./quantity";
export * from "./cidr";
