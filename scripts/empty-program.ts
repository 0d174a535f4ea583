// The baseline for `npm run bench`: a Pulumi program that registers nothing.
export = () => Promise.resolve({});
