// `source_ip`: the client address is in one of the listed ranges. The data
// is an address or CIDR range, or a list of them; a bare address is /32 or
// /128. Go's address semantics, see ../ip.ts.
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { networkContains, parseIp, parseNetwork, type IpNetwork } from '../ip.js';
import { typeName } from '../parse.js';

/** One buffer for the request's address: evaluation is synchronous, so it is never shared mid-use. */
const scratch = new Uint8Array(16);

export const sourceIp: CriterionSpec = {
  name: 'source_ip',
  reads: 'request',
  compile(data) {
    const entries = typeof data === 'string' ? [data] : data;
    if (!Array.isArray(entries)) return refused(`expected an address or CIDR range, or a list of them; not a ${typeName(data)}`);
    const networks: IpNetwork[] = [];
    for (const entry of entries) {
      if (typeof entry !== 'string') return refused(`expected an address or CIDR range, not a ${typeName(entry)}`);
      const network = parseNetwork(entry);
      if (network === null) return refused(`expected an IP address or CIDR range, got ${JSON.stringify(entry)}`);
      networks.push(network);
    }
    return compiled(
      requestTest('source-ip-ok', 'source-ip-unauthorized', (input) => {
        if (parseIp(input.request.ip, scratch) === 0) return false;
        for (let i = 0; i < networks.length; i++) if (networkContains(networks[i]!, scratch)) return true;
        return false;
      }),
    );
  },
};
