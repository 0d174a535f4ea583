// The stacks this repository ships, and their configuration read through the program's own config
// module (config/files.ts): the tests see exactly what `pulumi up` would.
import * as path from "node:path";
import { readStackConfig, stackConfig as read, stackNames } from "../../config/files";
import type { PlatformConfig } from "../../config";
import { deepFreeze } from "./k8s";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STACKS = ["dev", "us", "eu", "asia"] as const;
export type StackName = (typeof STACKS)[number];

/** Pulumi.<stack>.yaml files present next to Pulumi.yaml (a test checks these are the STACKS). */
export const stackFiles = () => stackNames(ROOT);

export const stackConfig = (root: string, stack: string, overrides?: Record<string, unknown>, file?: string) =>
    read(root, stack, overrides, file);

/** Config overrides with each top-level undefined (a key removed) written as null, which JSON keeps. */
export const removalsAsNull = (overrides: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, v === undefined ? null : v]));

const configs = new Map<string, PlatformConfig>();

/**
 * The typed configuration of a shipped stack, as the program would read it (overrides applied last);
 * read once per stack and overrides, and shared, frozen, by every test that asks.
 */
export function configOf(stack: string, overrides: Record<string, unknown> = {}): PlatformConfig {
    // An override of undefined or null removes a key (config/files.ts): the same configuration, one entry.
    const key = JSON.stringify([stack, removalsAsNull(overrides)]);
    let cfg = configs.get(key);
    if (!cfg) configs.set(key, (cfg = deepFreeze(readStackConfig(ROOT, stack, overrides))));
    return cfg;
}
