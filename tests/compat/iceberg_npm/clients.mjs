// Real Iceberg clients from npm against `converge sandbox` (run by test_iceberg_npm_clients.py):
//   node clients.mjs <catalog base URL> <namespace> <table> <metadata file name>
// prints one JSON object with what each client saw. The APIs used are the installed packages'
// own (iceberg-js 0.8.1 dist/index.d.ts, icebird 0.3.1 types/*.d.ts):
//   iceberg-js: new IcebergRestCatalog({baseUrl, auth}), listNamespaces(), loadTable(id),
//     updateTable(id, body) (it POSTs the body it is given: a CommitTableRequest here, the
//     typed UpdateTableRequest of 0.8.1 being narrower than the REST API), IcebergError.status.
//   icebird: icebergMetadata({tableUrl, metadataFileName}), icebergManifests(metadata).
// icebird reads with the global fetch; Node's fetch has no file:// support, so file:// URLs are
// served from disk here (the table is on the sandbox's local warehouse).
import { readFile } from 'node:fs/promises'
import { IcebergError, IcebergRestCatalog } from 'iceberg-js'
import { icebergManifests, icebergMetadata } from 'icebird'

const [baseUrl, namespace, table, metadataFileName] = process.argv.slice(2)

const httpFetch = globalThis.fetch
const diskReads = []
globalThis.fetch = async (url, init) => {
  const u = String(url)
  if (!u.startsWith('file://')) return httpFetch(url, init)
  diskReads.push(u)
  try {
    return new Response(await readFile(new URL(u)), { status: 200 })
  } catch (e) {
    return new Response('', { status: 404, statusText: 'Not Found' })
  }
}

const out = {}
const catalog = new IcebergRestCatalog({ baseUrl, auth: { type: 'none' } })
out.namespaces = (await catalog.listNamespaces()).map(n => n.namespace)
const id = { namespace: [namespace], name: table }
const loaded = await catalog.loadTable(id)
out.location = loaded.location
out.uuid = loaded['table-uuid']
out.currentSnapshotId = String(loaded['current-snapshot-id'])

// A guarded commit, then one whose requirement fails (409). Not assert-ref-snapshot-id: both
// packages parse JSON into JS numbers, so a snapshot id above 2^53 (Java's ids are random
// 63-bit longs, the sandbox's too) comes back rounded and such a requirement could never hold.
const guard = [{ type: 'assert-table-uuid', uuid: loaded['table-uuid'] }]
const committed = await catalog.updateTable(id, {
  requirements: guard,
  updates: [{ action: 'set-properties', updates: { 'npm.client': 'iceberg-js' } }],
})
out.commitMetadataLocation = committed['metadata-location']
out.commitProperty = committed.metadata.properties['npm.client']
try {
  await catalog.updateTable(id, {
    requirements: [{ type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' }],
    updates: [{ action: 'set-properties', updates: { 'npm.client': 'never' } }],
  })
  out.conflictStatus = 200
} catch (e) {
  if (!(e instanceof IcebergError)) throw e
  out.conflictStatus = e.status
}

// icebird reads the same table from disk: metadata JSON, manifest list, manifests.
const md = await icebergMetadata({ tableUrl: loaded.location, metadataFileName })
out.icebird = { formatVersion: md['format-version'], uuid: md['table-uuid'],
  currentSnapshotId: String(md['current-snapshot-id']), snapshots: md.snapshots.length }
const manifests = await icebergManifests(md)
out.icebird.manifests = manifests.length
out.icebird.files = []
for (const m of manifests) {
  for (const e of m.entries) {
    out.icebird.files.push({
      status: Number(e.status),
      content: Number(e.data_file.content ?? 0),
      path: e.data_file.file_path,
      size: Number(e.data_file.file_size_in_bytes),
      records: Number(e.data_file.record_count),
      format: e.data_file.file_format,
      partition: Object.fromEntries(Object.entries(e.data_file.partition ?? {}).map(
        ([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
      sequenceNumber: e.sequence_number === undefined ? null : String(e.sequence_number),
    })
  }
}
out.diskReads = diskReads.length
console.log(JSON.stringify(out))
