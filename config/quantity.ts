// Kubernetes resource quantities (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/),
// parsed to plain numbers: CPU in cores, memory and storage in bytes.

const SUFFIX: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};
const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export function isQuantity(q: string): boolean {
    return QUANTITY.test(q);
}

export function parseQuantity(q: string | number): number {
    if (typeof q === "number") return q;
    const m = QUANTITY.exec(q.trim());
    if (!m) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(q)}`);
    return Number(m[1]) * SUFFIX[m[2] ?? ""];
}

export const formatCpu = (cores: number) => `${Math.round(cores * 1000)}m`;
export const formatMemory = (bytes: number) => `${Math.ceil(bytes / 2 ** 20)}Mi`;
