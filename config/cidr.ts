// Address ranges as numbers, for the questions configuration and NetworkPolicy builders ask of them:
// does one range contain another, do two overlap. IPv4 and IPv6 (never equal to each other).

export interface AddressRange {
    v6: boolean;
    first: bigint;
    last: bigint;
}

function address(text: string): { v6: boolean; n: bigint } {
    if (text.includes(":")) {
        const [head, tail = ""] = text.split("::");
        const groups = (s: string) => (s ? s.split(":") : []);
        const h = groups(head);
        const t = text.includes("::") ? groups(tail) : [];
        const all = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
        return { v6: true, n: all.reduce((a, g) => (a << 16n) + BigInt(parseInt(g || "0", 16)), 0n) };
    }
    return { v6: false, n: text.split(".").reduce((a, o) => (a << 8n) + BigInt(Number(o)), 0n) };
}

/** The first and last address of a CIDR range (host bits ignored). */
export function addressRange(cidr: string): AddressRange {
    const [ip, bits] = cidr.split("/");
    const { v6, n } = address(ip);
    const width = v6 ? 128n : 32n;
    const size = 1n << (width - BigInt(bits ?? width));
    const first = (n / size) * size;
    return { v6, first, last: first + size - 1n };
}

/** Whether `outer` contains every address of `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
    const o = addressRange(outer);
    const i = addressRange(inner);
    return o.v6 === i.v6 && o.first <= i.first && i.last <= o.last;
}

/** Whether two ranges share an address (CIDR ranges either nest or are apart). */
export function cidrsOverlap(a: string, b: string): boolean {
    return cidrContains(a, b) || cidrContains(b, a);
}
