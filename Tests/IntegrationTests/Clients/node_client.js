// One lookup through node's dns.promises.Resolver (c-ares), for ClientLibraryTests.
//
// usage: node node_client.js PORT TYPE NAME      (TYPE is A or SRV)
//
// Asks 127.0.0.1:PORT only (setServers), over UDP; c-ares retries over TCP by itself when the answer comes
// back truncated. Prints one record a line, sorted: an address for A, "PRIORITY WEIGHT PORT TARGET." for SRV
// (c-ares drops the final dot of names; it is put back so every client prints the same). Any failure goes
// to stderr with exit status 1.
'use strict';
const { Resolver } = require('dns').promises;

async function main() {
  const [port, type, name] = process.argv.slice(2);
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${port}`]);
  let lines;
  if (type === 'SRV') {
    const records = await resolver.resolveSrv(name);
    lines = records.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name.endsWith('.') ? r.name : r.name + '.'}`);
  } else if (type === 'A') {
    lines = await resolver.resolve4(name);
  } else {
    throw new Error(`unsupported type ${type}`);
  }
  console.log(lines.sort().join('\n'));
}

main().catch((error) => {
  console.error(`error: ${error.code || error.name}: ${error.message}`);
  process.exit(1);
});
