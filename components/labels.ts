// Labels, from one place: the recommended app.kubernetes.io/* set on everything we create.

const MANAGED_BY = { "app.kubernetes.io/managed-by": "pulumi" } as const;

/** Recommended labels (app.kubernetes.io/*) plus `app`/`version`, which Istio telemetry reads. */
export function appLabels(name: string, partOf: string, component = name, version = "v1"): Record<string, string> {
    return {
        app: name,
        version,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": partOf,
        ...MANAGED_BY,
    };
}

/** The part of the platform an object belongs to, alone (namespaces, which carry guardrail labels besides). */
export const partOfLabel = (partOf: string): Record<string, string> => ({ "app.kubernetes.io/part-of": partOf });

/** The component label, to add to a set from the functions here. */
export const componentLabel = (component: string): Record<string, string> => ({
    "app.kubernetes.io/component": component,
});

/** The subset of labels that selects a workload's pods (stable across versions). */
export function selectorLabels(name: string): Record<string, string> {
    return { "app.kubernetes.io/name": name };
}

/** Labels of an object that belongs to a part of the platform but is no workload (ConfigMaps, Secrets, CRs). */
export function partLabels(partOf: string, extra: Record<string, string> = {}): Record<string, string> {
    return { "app.kubernetes.io/part-of": partOf, ...MANAGED_BY, ...extra };
}

/** The label every object the program creates carries (with `extra`), where no other set fits. */
export function managedLabels(extra: Record<string, string> = {}): Record<string, string> {
    return { ...MANAGED_BY, ...extra };
}

/** Labels of an object that belongs to one named app (its monitors, traffic rules). */
export function nameLabels(name: string, extra: Record<string, string> = {}): Record<string, string> {
    return { "app.kubernetes.io/name": name, ...MANAGED_BY, ...extra };
}
