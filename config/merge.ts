// How a stack file's values combine with the tier defaults.

type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
const named = (v: unknown): v is Plain & { name: string } => isPlain(v) && typeof v.name === "string";

/**
 * Objects merge key by key. Lists of named entries (e.g. `services`) merge by `name`: an entry
 * naming an existing one changes it, a new name adds one (so `services: [{name: payment,
 * autoscaling: {maxReplicas: 20}}]` adjusts payment alone). Other lists and values replace.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
    if (override === undefined) return base;
    if (isPlain(base) && isPlain(override)) {
        const out: Plain = { ...base };
        for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
        return out;
    }
    if (Array.isArray(base) && Array.isArray(override) && base.every(named) && override.every(named)) {
        const out: unknown[] = [...base];
        const merged = new Set<string>();
        for (const entry of override) {
            const i = base.findIndex((b) => b.name === entry.name);
            // A second entry with the same name stays separate, so validation reports the duplicate.
            if (i >= 0 && !merged.has(entry.name)) {
                out[i] = deepMerge(base[i], entry);
                merged.add(entry.name);
            } else out.push(entry);
        }
        return out;
    }
    return override;
}
